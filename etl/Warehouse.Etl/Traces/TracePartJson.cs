using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Warehouse.Sources.Json;

namespace Warehouse.Traces;

/// <summary>
/// A part's body in etl.trace_parts: the part as JSON without its trace and part id (those are
/// columns) and without default values, enums by name, properties in declaration order. The text
/// is the reflection serializer's with <see cref="Options"/>, byte for byte, so bodies stored by
/// earlier versions compare equal on a re-load and read back the same.
/// <para>
/// Written and read by hand with Utf8JsonWriter and Utf8JsonReader: a million-span load writes a
/// body per span and the roll-up reads every one back, and the serializer's metadata-driven path
/// (source-generated metadata, no fast path with runtime options) took 2.5 s to write and 3.6 s
/// to read them (dotnet-trace, 1M OTLP spans). A body this reader does not expect (an escaped or
/// unknown property name, a number where a name goes, a key twice) is read by the serializer, so
/// every body the serializer reads still reads the same.
/// </para>
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

    /// <summary>The serializer's writer settings for <see cref="Options"/> (its encoder; no indentation).</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = Options.Encoder, SkipValidation = true };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static string Serialize(TracePart part) => Encoding.UTF8.GetString(SerializeToUtf8Bytes(part));

    /// <summary>The body as UTF-8 bytes: what the staging table takes.</summary>
    public static byte[] SerializeToUtf8Bytes(TracePart part) => SerializeToSpan(part).ToArray();

    /// <summary>The body as UTF-8 bytes in this thread's buffer: valid until the thread's next call.</summary>
    internal static ReadOnlySpan<byte> SerializeToSpan(TracePart part)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        writer.Reset(buffer);
        if (!TryWrite(writer, part))
        {
            return JsonSerializer.SerializeToUtf8Bytes(part, Context.TracePart);
        }

        writer.Flush();
        return buffer.WrittenSpan;
    }

    public static TracePart Deserialize(string body) => Deserialize(Encoding.UTF8.GetBytes(body));

    /// <summary>A body as UTF-8 bytes (as the roll-up's buckets hold it).</summary>
    public static TracePart Deserialize(ReadOnlySpan<byte> body) =>
        TryRead(body) ?? JsonSerializer.Deserialize(body, Context.TracePart) ?? throw new JsonException("a trace part's body is null");

    /// <summary>Writes what the serializer writes (WhenWritingDefault: no null, false, 0 or default enum); false for an enum value without a name.</summary>
    private static bool TryWrite(Utf8JsonWriter writer, TracePart part)
    {
        if ((uint)part.Kind > (uint)PartKind.Feedback || (uint)part.Role > (uint)SpanRole.Agent)
        {
            return false;
        }

        writer.WriteStartObject();
        if (part.Kind != default)
        {
            writer.WriteString("Kind"u8, KindName(part.Kind));
        }

        String(writer, "ParentId"u8, part.ParentId);
        Flag(writer, "IsRoot"u8, part.IsRoot);
        String(writer, "Name"u8, part.Name);
        if (part.Role != default)
        {
            writer.WriteString("Role"u8, RoleName(part.Role));
        }

        Time(writer, "Start"u8, part.Start);
        Time(writer, "End"u8, part.End);
        Number(writer, "DurationMs"u8, part.DurationMs);
        String(writer, "Model"u8, part.Model);
        Count(writer, "InputTokens"u8, part.InputTokens);
        Count(writer, "OutputTokens"u8, part.OutputTokens);
        Number(writer, "CostUsd"u8, part.CostUsd);
        Flag(writer, "TotalsCoverTrace"u8, part.TotalsCoverTrace);
        Flag(writer, "IsError"u8, part.IsError);
        String(writer, "ErrorType"u8, part.ErrorType);
        Flag(writer, "JsonParseFailure"u8, part.JsonParseFailure);
        Flag(writer, "RetrievalEmpty"u8, part.RetrievalEmpty);
        Map(writer, "Keys"u8, part.Keys);
        Map(writer, "DerivedKeys"u8, part.DerivedKeys);
        Flag(writer, "Complaint"u8, part.Complaint);
        String(writer, "SessionId"u8, part.SessionId);
        String(writer, "TraceUrl"u8, part.TraceUrl);
        String(writer, "InputPreview"u8, part.InputPreview);
        String(writer, "FeedbackName"u8, part.FeedbackName);
        Number(writer, "FeedbackScore"u8, part.FeedbackScore);
        String(writer, "FeedbackLabel"u8, part.FeedbackLabel);
        String(writer, "FeedbackComment"u8, part.FeedbackComment);
        Time(writer, "FeedbackAt"u8, part.FeedbackAt);
        Map(writer, "Attributes"u8, part.Attributes);
        writer.WriteEndObject();
        return true;
    }

    private static void String(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void Flag(Utf8JsonWriter writer, ReadOnlySpan<byte> name, bool value)
    {
        if (value)
        {
            writer.WriteBoolean(name, true);
        }
    }

    private static void Flag(Utf8JsonWriter writer, ReadOnlySpan<byte> name, bool? value)
    {
        if (value is { } flag)
        {
            writer.WriteBoolean(name, flag);
        }
    }

    private static void Time(Utf8JsonWriter writer, ReadOnlySpan<byte> name, DateTime? value)
    {
        if (value is { } time)
        {
            writer.WriteString(name, time);
        }
    }

    private static void Number(Utf8JsonWriter writer, ReadOnlySpan<byte> name, double? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    private static void Count(Utf8JsonWriter writer, ReadOnlySpan<byte> name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    private static void Map(Utf8JsonWriter writer, ReadOnlySpan<byte> name, Dictionary<string, string>? map)
    {
        if (map is null)
        {
            return;
        }

        writer.WriteStartObject(name);
        foreach (var (key, value) in map)
        {
            writer.WritePropertyName(key);
            if (value is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                writer.WriteStringValue(value);
            }
        }

        writer.WriteEndObject();
    }

    private static ReadOnlySpan<byte> KindName(PartKind kind) => kind switch
    {
        PartKind.Trace => "Trace"u8,
        PartKind.Span => "Span"u8,
        _ => "Feedback"u8,
    };

    private static ReadOnlySpan<byte> RoleName(SpanRole role) => role switch
    {
        SpanRole.Other => "Other"u8,
        SpanRole.Model => "Model"u8,
        SpanRole.Tool => "Tool"u8,
        SpanRole.Retrieval => "Retrieval"u8,
        _ => "Agent"u8,
    };

    /// <summary>The part, when the body is exactly what <see cref="TryWrite"/> writes (any property order); null for anything else.</summary>
    internal static TracePart? TryRead(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        var part = new TracePart();
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                // Trailing content is the serializer's to refuse.
                return reader.Read() ? null : part;
            }

            if (reader.TokenType != JsonTokenType.PropertyName || reader.ValueIsEscaped)
            {
                return null;
            }

            var name = reader.ValueSpan;
            if (!reader.Read() || !TryReadProperty(ref reader, name, part))
            {
                return null;
            }
        }

        return null;
    }

    private static bool TryReadProperty(ref Utf8JsonReader reader, ReadOnlySpan<byte> name, TracePart part)
    {
        switch (name.Length > 0 ? name[0] : (byte)0)
        {
            case (byte)'A' when name.SequenceEqual("Attributes"u8):
                return TryMap(ref reader, out var attributes) && Set(part.Attributes = attributes);
            case (byte)'C' when name.SequenceEqual("CostUsd"u8):
                return TryNumber(ref reader, out var cost) && Set(part.CostUsd = cost);
            case (byte)'C' when name.SequenceEqual("Complaint"u8):
                return TryFlag(ref reader, out var complaint) && Set(part.Complaint = complaint);
            case (byte)'D' when name.SequenceEqual("DurationMs"u8):
                return TryNumber(ref reader, out var duration) && Set(part.DurationMs = duration);
            case (byte)'D' when name.SequenceEqual("DerivedKeys"u8):
                return TryMap(ref reader, out var derived) && Set(part.DerivedKeys = derived);
            case (byte)'E' when name.SequenceEqual("End"u8):
                return TryTime(ref reader, out var end) && Set(part.End = end);
            case (byte)'E' when name.SequenceEqual("ErrorType"u8):
                return TryString(ref reader, out var errorType) && Set(part.ErrorType = errorType);
            case (byte)'F' when name.SequenceEqual("FeedbackName"u8):
                return TryString(ref reader, out var feedbackName) && Set(part.FeedbackName = feedbackName);
            case (byte)'F' when name.SequenceEqual("FeedbackScore"u8):
                return TryNumber(ref reader, out var score) && Set(part.FeedbackScore = score);
            case (byte)'F' when name.SequenceEqual("FeedbackLabel"u8):
                return TryString(ref reader, out var label) && Set(part.FeedbackLabel = label);
            case (byte)'F' when name.SequenceEqual("FeedbackComment"u8):
                return TryString(ref reader, out var comment) && Set(part.FeedbackComment = comment);
            case (byte)'F' when name.SequenceEqual("FeedbackAt"u8):
                return TryTime(ref reader, out var feedbackAt) && Set(part.FeedbackAt = feedbackAt);
            case (byte)'I' when name.SequenceEqual("IsRoot"u8):
                return TryFlag(ref reader, out var isRoot) && isRoot is not null && Set(part.IsRoot = isRoot.Value);
            case (byte)'I' when name.SequenceEqual("InputTokens"u8):
                return TryCount(ref reader, out var input) && Set(part.InputTokens = input);
            case (byte)'I' when name.SequenceEqual("IsError"u8):
                return TryFlag(ref reader, out var isError) && isError is not null && Set(part.IsError = isError.Value);
            case (byte)'I' when name.SequenceEqual("InputPreview"u8):
                return TryString(ref reader, out var preview) && Set(part.InputPreview = preview);
            case (byte)'J' when name.SequenceEqual("JsonParseFailure"u8):
                return TryFlag(ref reader, out var jsonParse) && jsonParse is not null && Set(part.JsonParseFailure = jsonParse.Value);
            case (byte)'K' when name.SequenceEqual("Kind"u8):
                return TryKind(ref reader, part);
            case (byte)'K' when name.SequenceEqual("Keys"u8):
                return TryMap(ref reader, out var keys) && Set(part.Keys = keys);
            case (byte)'M' when name.SequenceEqual("Model"u8):
                return TryString(ref reader, out var model) && Set(part.Model = model);
            case (byte)'N' when name.SequenceEqual("Name"u8):
                return TryString(ref reader, out var partName) && Set(part.Name = partName);
            case (byte)'O' when name.SequenceEqual("OutputTokens"u8):
                return TryCount(ref reader, out var output) && Set(part.OutputTokens = output);
            case (byte)'P' when name.SequenceEqual("ParentId"u8):
                return TryString(ref reader, out var parent) && Set(part.ParentId = parent);
            case (byte)'R' when name.SequenceEqual("Role"u8):
                return TryRole(ref reader, part);
            case (byte)'R' when name.SequenceEqual("RetrievalEmpty"u8):
                return TryFlag(ref reader, out var empty) && Set(part.RetrievalEmpty = empty);
            case (byte)'S' when name.SequenceEqual("Start"u8):
                return TryTime(ref reader, out var start) && Set(part.Start = start);
            case (byte)'S' when name.SequenceEqual("SessionId"u8):
                return TryString(ref reader, out var session) && Set(part.SessionId = session);
            case (byte)'T' when name.SequenceEqual("TotalsCoverTrace"u8):
                return TryFlag(ref reader, out var totals) && totals is not null && Set(part.TotalsCoverTrace = totals.Value);
            case (byte)'T' when name.SequenceEqual("TraceUrl"u8):
                return TryString(ref reader, out var url) && Set(part.TraceUrl = url);
            default:
                return false;
        }
    }

    /// <summary>Lets an assignment stand in a condition.</summary>
    private static bool Set<T>(T _) => true;

    private static bool TryString(ref Utf8JsonReader reader, out string? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return true;
            case JsonTokenType.String:
                value = Utf8Strings.Get(ref reader);
                return true;
            default:
                return false;
        }
    }

    private static bool TryFlag(ref Utf8JsonReader reader, out bool? value)
    {
        value = reader.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => null,
        };
        return value is not null || reader.TokenType == JsonTokenType.Null;
    }

    private static bool TryNumber(ref Utf8JsonReader reader, out double? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var number))
        {
            value = number;
            return true;
        }

        return false;
    }

    private static bool TryCount(ref Utf8JsonReader reader, out long? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number))
        {
            value = number;
            return true;
        }

        return false;
    }

    private static bool TryTime(ref Utf8JsonReader reader, out DateTime? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType == JsonTokenType.String && reader.TryGetDateTime(out var time))
        {
            value = time;
            return true;
        }

        return false;
    }

    /// <summary>A map of strings to strings; a null value or a key twice is left to the serializer.</summary>
    private static bool TryMap(ref Utf8JsonReader reader, out Dictionary<string, string>? map)
    {
        map = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return true;
            }

            var key = Utf8Strings.Get(ref reader);
            if (!reader.Read() || reader.TokenType != JsonTokenType.String || !map.TryAdd(key, Utf8Strings.Get(ref reader)))
            {
                return false;
            }
        }

        return false;
    }

    private static bool TryKind(ref Utf8JsonReader reader, TracePart part)
    {
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
        {
            return false;
        }

        var text = reader.ValueSpan;
        if (text.SequenceEqual("Span"u8))
        {
            part.Kind = PartKind.Span;
        }
        else if (text.SequenceEqual("Trace"u8))
        {
            part.Kind = PartKind.Trace;
        }
        else if (text.SequenceEqual("Feedback"u8))
        {
            part.Kind = PartKind.Feedback;
        }
        else
        {
            return false;
        }

        return true;
    }

    private static bool TryRole(ref Utf8JsonReader reader, TracePart part)
    {
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
        {
            return false;
        }

        var text = reader.ValueSpan;
        if (text.SequenceEqual("Model"u8))
        {
            part.Role = SpanRole.Model;
        }
        else if (text.SequenceEqual("Other"u8))
        {
            part.Role = SpanRole.Other;
        }
        else if (text.SequenceEqual("Tool"u8))
        {
            part.Role = SpanRole.Tool;
        }
        else if (text.SequenceEqual("Retrieval"u8))
        {
            part.Role = SpanRole.Retrieval;
        }
        else if (text.SequenceEqual("Agent"u8))
        {
            part.Role = SpanRole.Agent;
        }
        else
        {
            return false;
        }

        return true;
    }
}

[JsonSerializable(typeof(TracePart))]
internal sealed partial class TracePartJsonContext : JsonSerializerContext;
