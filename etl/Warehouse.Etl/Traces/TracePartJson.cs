using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Warehouse.Traces;

/// <summary>
/// A part's body in etl.trace_parts: the part as JSON without its trace and part id (those are
/// columns) and without default values, enums by name. Source-generated, so writing a million
/// parts and reading them back for the roll-up costs no reflection; the text is the same as the
/// reflection serializer's with <see cref="Options"/>, so bodies stored by earlier versions compare
/// equal and read back the same.
/// </summary>
public static class TracePartJson
{
    /// <summary>The options the body has always been written with (the reflection serializer's).</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    private static readonly TracePartJsonContext Context = new(new JsonSerializerOptions(Options));

    public static string Serialize(TracePart part) => JsonSerializer.Serialize(part, Context.TracePart);

    public static TracePart Deserialize(string body) => JsonSerializer.Deserialize(body, Context.TracePart)
        ?? throw new JsonException("a trace part's body is null");

    /// <summary>A body as UTF-8 bytes (as the roll-up's buckets hold it).</summary>
    public static TracePart Deserialize(ReadOnlySpan<byte> body) => JsonSerializer.Deserialize(body, Context.TracePart)
        ?? throw new JsonException("a trace part's body is null");
}

[JsonSerializable(typeof(TracePart))]
internal sealed partial class TracePartJsonContext : JsonSerializerContext;
