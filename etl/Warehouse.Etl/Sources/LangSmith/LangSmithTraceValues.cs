using System.Globalization;
using System.Text.Json;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.LangSmith;

/// <summary>
/// Lenient readers for the values of a LangSmith run or feedback row as a trace: numbers may be
/// JSON numbers or numeric strings (Decimal costs are serialised as strings), timestamps ISO-8601
/// with `Z`, an offset or none (naive = UTC). A value that is present but is not what it should be
/// is an error with the field's name, so the record is rejected rather than silently emptied.
/// </summary>
internal static class LangSmithTraceValues
{
    public sealed class BadValueException(string message) : Exception(message);

    public static JsonElement? At(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Object && JsonPath.Resolve(element, JsonPath.Parse(path)) is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } found
            ? found
            : null;

    public static string? Text(JsonElement element, string path) => At(element, path) is { } found ? JsonText.Of(found) : null;

    /// <summary>A string value (numbers as written); objects and arrays are not text.</summary>
    public static string? Scalar(JsonElement element, string path) =>
        At(element, path) is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Array) } found ? JsonText.Of(found) : null;

    public static JsonElement? Object(JsonElement element, string path) => At(element, path) is { ValueKind: JsonValueKind.Object } found ? found : null;

    public static long? Count(JsonElement element, string path)
    {
        if (At(element, path) is not { } found)
        {
            return null;
        }

        if (found.ValueKind == JsonValueKind.Number && found.TryGetInt64(out var integer))
        {
            return integer;
        }

        var text = found.ValueKind is JsonValueKind.String or JsonValueKind.Number ? (found.ValueKind == JsonValueKind.String ? found.GetString()! : found.GetRawText()).Trim() : null;
        if (string.IsNullOrEmpty(text))
        {
            return found.ValueKind == JsonValueKind.String ? null : throw new BadValueException($"{path} is a JSON {Kind(found)}, not a count");
        }

        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out integer))
        {
            return integer;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number == Math.Floor(number) && Math.Abs(number) < 9e15)
        {
            return (long)number;
        }

        throw new BadValueException($"{path} '{Shorten(text)}' is not a whole number");
    }

    public static double? Number(JsonElement element, string path)
    {
        if (At(element, path) is not { } found)
        {
            return null;
        }

        var text = found.ValueKind switch
        {
            JsonValueKind.Number => found.GetRawText(),
            JsonValueKind.String => found.GetString()!.Trim(),
            _ => throw new BadValueException($"{path} is a JSON {Kind(found)}, not a number"),
        };
        if (text.Length == 0)
        {
            return null;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
            ? number
            : throw new BadValueException($"{path} '{Shorten(text)}' is not a number");
    }

    public static bool? Flag(JsonElement element, string path)
    {
        if (At(element, path) is not { } found)
        {
            return null;
        }

        return found.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => Warehouse.Traces.TraceRules.Truth(JsonText.Of(found)) ?? throw new BadValueException($"{path} '{Shorten(found.ToString())}' is not true or false"),
        };
    }

    public static DateTime? Time(JsonElement element, string path) => Time(Scalar(element, path), path);

    public static DateTime? Time(string? text, string name)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return Warehouse.Traces.TraceTime.TryParse(text, out var value)
            ? value
            : throw new BadValueException($"{name} '{Shorten(text.Trim())}' is not a timestamp");
    }

    /// <summary>A JSON line as a document, or why it is not JSON.</summary>
    public static (JsonDocument? Document, string? Error) ParseLine(string line)
    {
        try
        {
            return (JsonDocument.Parse(line), null);
        }
        catch (JsonException error)
        {
            return (null, $"line is not valid JSON ({error.Message})");
        }
    }

    public static string Kind(JsonElement element) => element.ValueKind.ToString().ToLowerInvariant();

    public static string Shorten(string text, int length = 60) => text.Length <= length ? text : string.Concat(text.AsSpan(0, length - 3), "...");
}
