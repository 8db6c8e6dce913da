using System.Globalization;
using System.Text.Json;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.Langfuse;

/// <summary>A value in a Langfuse record that cannot be read (a number that is not a number, a timestamp that does not parse): the record is rejected with this reason.</summary>
internal sealed class LangfuseRecordException(string message) : Exception(message);

/// <summary>
/// Lenient reading of one Langfuse record, whichever export it came in: the public API and the UI
/// exports name fields in camelCase, the blob-storage export in ClickHouse's snake_case; numbers
/// may be strings (CSV, ClickHouse's quoted 64-bit integers); objects may be JSON text (CSV,
/// Parquet string columns); timestamps are ISO 8601 with a zone, zone-less UTC
/// (`2025-06-03 10:15:02.120000`), or JSON-quoted inside a CSV cell (`"2025-06-03T10:15:02.120Z"`).
/// </summary>
internal static class LangfuseValues
{
    /// <summary>The first of the names the record has with a value that is not null.</summary>
    public static JsonElement? Field(JsonElement record, params string[] names)
    {
        if (record.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var name in names)
        {
            if (record.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>Text of the first named field that has some (blank is none).</summary>
    public static string? Text(JsonElement record, params string[] names) =>
        Field(record, names) is { } value ? JsonText.Of(value)?.Trim() is { Length: > 0 } text ? text : null : null;

    /// <summary>A field holding an object or array, also when it is written as JSON text; null when absent or blank.</summary>
    public static JsonElement? Structured(JsonElement record, params string[] names) =>
        Field(record, names) is { } value ? Structured(value) : null;

    public static JsonElement? Structured(JsonElement value)
    {
        if (value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
        {
            return value;
        }

        if (value.ValueKind == JsonValueKind.String && value.GetString() is { } text && LooksLikeJson(text))
        {
            try
            {
                using var document = JsonDocument.Parse(text);
                return document.RootElement.Clone();
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>JSON text that is an object, an array or a quoted string.</summary>
    public static bool LooksLikeJson(string text)
    {
        var trimmed = text.AsSpan().Trim();
        return trimmed.Length >= 2
               && ((trimmed[0] == '{' && trimmed[^1] == '}') || (trimmed[0] == '[' && trimmed[^1] == ']') || (trimmed[0] == '"' && trimmed[^1] == '"'));
    }

    /// <summary>A number (JSON number or numeric text) as a decimal; null when absent or blank; garbage is a reject.</summary>
    public static decimal? Decimal(JsonElement record, string what, params string[] names) =>
        Field(record, names) is { } value ? Decimal(value, what) : null;

    public static decimal? Decimal(JsonElement value, string what)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                if (value.TryGetDecimal(out var exact))
                {
                    return exact;
                }

                return ToDecimal(value.GetDouble(), what, value.GetRawText());
            case JsonValueKind.String:
                var text = Unquote(value.GetString()!.Trim());
                if (text.Length == 0 || text.Equals("null", StringComparison.OrdinalIgnoreCase))
                {
                    return null;
                }

                if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
                {
                    return parsed;
                }

                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var wide))
                {
                    return ToDecimal(wide, what, text);
                }

                throw new LangfuseRecordException($"{what} '{Shorten(text)}' is not a number");
            case JsonValueKind.True:
                return 1m;
            case JsonValueKind.False:
                return 0m;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return null;
            default:
                throw new LangfuseRecordException($"{what} is a JSON {value.ValueKind.ToString().ToLowerInvariant()}, not a number");
        }
    }

    private static decimal ToDecimal(double number, string what, string raw)
    {
        if (!double.IsFinite(number) || Math.Abs(number) > 7.9e27)
        {
            throw new LangfuseRecordException($"{what} '{Shorten(raw)}' is not a usable number");
        }

        return (decimal)number;
    }

    public static long? Count(JsonElement record, string what, params string[] names) =>
        Decimal(record, what, names) is { } value ? ToCount(value, what) : null;

    public static long ToCount(decimal value, string what) =>
        value < 0 || value != decimal.Truncate(value) || value > long.MaxValue
            ? throw new LangfuseRecordException($"{what} '{value.ToString(CultureInfo.InvariantCulture)}' is not a whole, non-negative count")
            : (long)value;

    /// <summary>A timestamp as UTC; zone-less text is UTC; null when absent or blank; garbage is a reject.</summary>
    public static DateTime? Time(JsonElement record, string what, params string[] names)
    {
        if (Field(record, names) is not { } value)
        {
            return null;
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = Unquote(value.GetString()!.Trim());
                if (text.Length == 0)
                {
                    return null;
                }

                if (Traces.TraceTime.TryParse(text, out var parsed))
                {
                    return parsed;
                }

                throw new LangfuseRecordException($"{what} '{Shorten(text)}' is not a timestamp");
            case JsonValueKind.Number when value.TryGetInt64(out var epoch) && epoch > 0:
                // Epoch milliseconds (a JSON export of a DateTime64 with date_time_output_format=unix_timestamp).
                return epoch < 100_000_000_000 ? DateTime.UnixEpoch.AddSeconds(epoch) : DateTime.UnixEpoch.AddMilliseconds(epoch);
            default:
                throw new LangfuseRecordException($"{what} '{Shorten(value.GetRawText())}' is not a timestamp");
        }
    }

    public static bool? Flag(JsonElement record, params string[] names) => Field(record, names) is { } value
        ? value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => Traces.TraceRules.Truth(JsonText.Of(value)),
        }
        : null;

    /// <summary>One level of JSON string quoting taken off (the UI CSV's timestamp cells read `"2025-…Z"`).</summary>
    public static string Unquote(string text)
    {
        if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
        {
            try
            {
                return JsonSerializer.Deserialize<string>(text) ?? "";
            }
            catch (JsonException)
            {
                return text[1..^1];
            }
        }

        return text;
    }

    public static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");

    public static double? ToDouble(decimal? value) => value is { } exact ? (double)exact : null;
}
