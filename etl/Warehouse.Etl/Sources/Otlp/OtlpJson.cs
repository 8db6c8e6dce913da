using System.Globalization;
using System.Text;
using System.Text.Json;

using Warehouse.Sources.Json;

namespace Warehouse.Sources.Otlp;

/// <summary>
/// The OTLP/JSON encoding (protobuf JSON mapping): KeyValue attribute lists whose AnyValue is one
/// of stringValue, boolValue, intValue (a decimal string or a number), doubleValue, arrayValue,
/// kvlistValue, bytesValue; hex trace and span ids; 64-bit nanosecond times as strings or numbers.
/// </summary>
internal static class OtlpJson
{
    /// <summary>
    /// The longest export request line read: a collector batches spans into lines of a few MB, so
    /// this is generous; a longer line is rejected unread instead of being held in memory.
    /// </summary>
    public const int MaxLineBytes = 64 * 1024 * 1024;

    /// <summary>An attribute list as (key, text) pairs; arrays and key-value lists become JSON text.</summary>
    public static List<KeyValuePair<string, string?>> Attributes(JsonElement owner)
    {
        var pairs = new List<KeyValuePair<string, string?>>();
        Attributes(owner, pairs);
        return pairs;
    }

    /// <summary><see cref="Attributes(JsonElement)"/> into a list the caller reuses (cleared first).</summary>
    public static void Attributes(JsonElement owner, List<KeyValuePair<string, string?>> pairs)
    {
        pairs.Clear();
        if (owner.ValueKind != JsonValueKind.Object || !owner.TryGetProperty("attributes"u8, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        pairs.EnsureCapacity(list.GetArrayLength());
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("key"u8, out var key) && key.ValueKind == JsonValueKind.String)
            {
                pairs.Add(new(Utf8Strings.Get(key), item.TryGetProperty("value"u8, out var value) ? Text(value) : null));
            }
        }
    }

    /// <summary>An AnyValue as text: scalars as written, arrays and lists as JSON; null when empty.</summary>
    public static string? Text(JsonElement anyValue)
    {
        if (anyValue.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in anyValue.EnumerateObject())
        {
            var value = property.Value;
            if (property.NameEquals("stringValue"u8))
            {
                return value.ValueKind == JsonValueKind.String ? Utf8Strings.Get(value) : value.GetRawText();
            }

            if (property.NameEquals("boolValue"u8))
            {
                return value.ValueKind switch { JsonValueKind.True => "true", JsonValueKind.False => "false", _ => value.ToString() };
            }

            if (property.NameEquals("intValue"u8) || property.NameEquals("doubleValue"u8))
            {
                return value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
            }

            if (property.NameEquals("bytesValue"u8))
            {
                return value.GetString();
            }

            if (property.NameEquals("arrayValue"u8) || property.NameEquals("kvlistValue"u8))
            {
                return Json(anyValue);
            }
        }

        return null;
    }

    private static string Json(JsonElement anyValue)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, anyValue);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Write(Utf8JsonWriter writer, JsonElement anyValue)
    {
        if (anyValue.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in anyValue.EnumerateObject())
            {
                var value = property.Value;
                switch (property.Name)
                {
                    case "stringValue" or "bytesValue":
                        writer.WriteStringValue(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText());
                        return;
                    case "boolValue":
                        writer.WriteBooleanValue(value.ValueKind == JsonValueKind.True);
                        return;
                    case "intValue" or "doubleValue":
                        if (double.TryParse(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText(),
                                NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
                        {
                            writer.WriteNumberValue(number);
                        }
                        else
                        {
                            writer.WriteStringValue(value.ToString());
                        }

                        return;
                    case "arrayValue":
                        writer.WriteStartArray();
                        if (value.TryGetProperty("values", out var items) && items.ValueKind == JsonValueKind.Array)
                        {
                            foreach (var item in items.EnumerateArray())
                            {
                                Write(writer, item);
                            }
                        }

                        writer.WriteEndArray();
                        return;
                    case "kvlistValue":
                        writer.WriteStartObject();
                        if (value.TryGetProperty("values", out var pairs) && pairs.ValueKind == JsonValueKind.Array)
                        {
                            foreach (var pair in pairs.EnumerateArray())
                            {
                                if (pair.TryGetProperty("key", out var key))
                                {
                                    writer.WritePropertyName(key.GetString() ?? "");
                                    if (pair.TryGetProperty("value", out var inner))
                                    {
                                        Write(writer, inner);
                                    }
                                    else
                                    {
                                        writer.WriteNullValue();
                                    }
                                }
                            }
                        }

                        writer.WriteEndObject();
                        return;
                }
            }
        }

        writer.WriteNullValue();
    }

    /// <summary>A hex id of the given byte length, lowercased; the reason when it is not one.</summary>
    public static bool TryId(JsonElement owner, string name, int bytes, out string? id, out string? problem)
    {
        id = null;
        problem = null;
        if (!owner.TryGetProperty(name, out var value))
        {
            return true;
        }

        // Most ids: a string of unescaped hex digits, not all zeros, read from the line's bytes without an interim string.
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value);
        if (raw.Length == bytes * 2 + 2 && raw[0] == (byte)'"' && IsLiveHexId(raw[1..^1]))
        {
            Span<char> lower = stackalloc char[bytes * 2];
            for (var index = 0; index < lower.Length; index++)
            {
                // ASCII letters lowercased; digits already have the bit.
                lower[index] = (char)(raw[index + 1] | 0x20);
            }

            id = new string(lower);
            return true;
        }

        if (value.ValueKind == JsonValueKind.Null
            || (value.ValueKind == JsonValueKind.String && value.GetString()!.Length == 0))
        {
            return true;
        }

        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        if (text.Length != bytes * 2 || !text.All(char.IsAsciiHexDigit))
        {
            problem = $"{name} '{Shorten(text)}' is not {bytes * 2} hex digits";
            return false;
        }

        if (text.All(character => character == '0'))
        {
            problem = $"{name} is all zeros (an invalid id)";
            return false;
        }

        id = text.ToLowerInvariant();
        return true;
    }

    /// <summary>Hex digits (either case), not all of them zeros: an id as written, with nothing to unescape.</summary>
    private static bool IsLiveHexId(ReadOnlySpan<byte> hex)
    {
        var zeros = true;
        foreach (var digit in hex)
        {
            if (!char.IsAsciiHexDigit((char)digit))
            {
                return false;
            }

            zeros &= digit == (byte)'0';
        }

        return !zeros;
    }

    /// <summary>A nanosecond time (decimal string or number) as UTC; the reason when it is not one.</summary>
    public static bool TryTime(JsonElement owner, string name, out DateTime? time, out string? problem)
    {
        time = null;
        problem = null;
        if (!owner.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        // Most times: a string of plain digits, read from the line's bytes without an interim string.
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value);
        if (raw.Length > 2 && raw[0] == (byte)'"' && raw[1..^1].IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0
            && System.Buffers.Text.Utf8Parser.TryParse(raw[1..^1], out ulong plain, out var used) && used == raw.Length - 2
            && TryTime(plain, out time))
        {
            return true;
        }

        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var nanos))
        {
            problem = $"{name} '{Shorten(text)}' is not a count of nanoseconds";
            return false;
        }

        if (!TryTime(nanos, out time))
        {
            problem = $"{name} {text} is beyond any date";
            return false;
        }

        return true;
    }

    /// <summary>Nanoseconds since the Unix epoch as UTC (0: no time); false when beyond any date.</summary>
    private static bool TryTime(ulong nanos, out DateTime? time)
    {
        time = null;
        if (nanos == 0)
        {
            return true;
        }

        var ticks = nanos / 100;
        if (ticks > (ulong)(DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks))
        {
            return false;
        }

        time = DateTime.UnixEpoch.AddTicks((long)ticks);
        return true;
    }

    public static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");

    public static IEnumerable<JsonElement> Array(JsonElement owner, string name) =>
        owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray()
            : [];

    /// <summary>
    /// The array an object's property holds, else an empty one, as the struct enumerator: a span's events are looked
    /// for on every span, and the boxed enumerator of the other overload was 90 MB of a million-span load's garbage.
    /// </summary>
    public static JsonElement.ArrayEnumerator Array(JsonElement owner, ReadOnlySpan<byte> name) =>
        (owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value
            : EmptyArray).EnumerateArray();

    /// <summary>An empty JSON array (its document lives as long as the process).</summary>
    private static readonly JsonElement EmptyArray = JsonDocument.Parse("[]").RootElement;

    /// <summary>True when the file is one pretty-printed request (its first line a lone brace), not JSON Lines.</summary>
    public static bool IsOneDocument(SourceFile file) => file.FirstLine.Trim() == "{";

    /// <summary>
    /// One line's export request; the document keeps the bytes (no copy), so they must outlive it. The
    /// reason instead when the line is not a JSON object.
    /// </summary>
    public static (JsonDocument? Document, string? Problem) ParseLine(ReadOnlyMemory<byte> bytes)
    {
        JsonDocument? parsed = null;
        try
        {
            parsed = JsonDocument.Parse(bytes);
            if (parsed.RootElement.ValueKind == JsonValueKind.Object)
            {
                return (parsed, null);
            }

            parsed.Dispose();
            return (null, "the line is not a JSON object");
        }
        catch (JsonException error)
        {
            parsed?.Dispose();
            return (null, $"the line is not valid JSON, or is cut off ({error.Message})");
        }
    }

    /// <summary>
    /// The export requests of a file: one per line (the collector's file exporter), or one JSON
    /// document for the whole file. A line that does not parse is yielded with its reason.
    /// </summary>
    public static IEnumerable<(long Number, JsonDocument? Document, string? Problem, Func<string> Raw)> Requests(SourceFile file, CancellationToken cancellationToken)
    {
        // Lines, unless the file is one pretty-printed document (its first line is a lone brace). A
        // collector's line can be far longer than the detection probe, so "the probe saw no complete
        // first line" does not mean "not JSON Lines".
        if (IsOneDocument(file))
        {
            // A pretty-printed single request (what an SDK's console or file exporter may write).
            using var stream = file.Open();
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(stream);
            }
            catch (JsonException error)
            {
                throw new JsonException($"the OTLP/JSON document does not parse: {error.Message}", error);
            }

            yield return (1, document, null, () => "");
            yield break;
        }

        using var lines = file.Open();
        foreach (var line in OtlpLines.Read(lines, MaxLineBytes, cancellationToken))
        {
            var (parsed, problem) = line.Problem is null ? ParseLine(line.Bytes) : (null, line.Problem);
            if (problem is not null)
            {
                var text = line.Evidence();
                yield return (line.Number, null, problem, () => text);
            }
            else
            {
                yield return (line.Number, parsed, null, line.Evidence);
            }
        }
    }
}
