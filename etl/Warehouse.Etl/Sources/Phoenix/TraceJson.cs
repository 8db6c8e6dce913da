using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Sources.Canonical;
using Warehouse.Sources.Json;
using Warehouse.Traces;

namespace Warehouse.Sources.Phoenix;

/// <summary>A record that cannot be read: its reason becomes the record's reject.</summary>
internal sealed class RecordProblem(string message) : Exception(message);

/// <summary>
/// What the Phoenix and Opik trace formats share: the items of a REST page (`{"data": [...]}`,
/// `{"content": [...]}`), a bare JSON array of them, or JSON Lines of them (a line may also be a
/// whole page), streamed item by item; the first item's keys for detection; and lenient readers of
/// ids, numbers and timestamps that say what is wrong with a value.
/// </summary>
internal static partial class TraceJson
{
    /// <summary>One item of an export: the element, or why it cannot be read.</summary>
    public readonly record struct Item(long Number, JsonElement Element, string? Error, Func<string> Raw);

    /// <summary>
    /// The items of a page document (the array at <paramref name="arrayProperty"/>), a bare array, or
    /// JSON Lines (each line an item, or a page whose items are read in turn). Items are numbered from 1
    /// in a document; lines keep their line numbers. A line that is not JSON is one error item; a
    /// document cut off inside the array throws (the loader fails the file).
    /// </summary>
    public static IEnumerable<Item> Items(SourceFile file, string arrayProperty, CancellationToken cancellationToken)
    {
        if (file.FirstLineIsJsonObject && !IsSinglePage(file, arrayProperty))
        {
            return Lines(file, arrayProperty, cancellationToken);
        }

        return file.Head.TrimStart().StartsWith('[') ? BareArray(file, cancellationToken) : PageArray(file, arrayProperty, cancellationToken);
    }

    /// <summary>A one-line page document (the whole file is one line): read as a document.</summary>
    private static bool IsSinglePage(SourceFile file, string arrayProperty) =>
        file.TopLevelKeys.Contains(arrayProperty) && file.Head.TrimEnd().Length == file.FirstLine.Length;

    private static IEnumerable<Item> Lines(SourceFile file, string arrayProperty, CancellationToken cancellationToken)
    {
        using var stream = new NonFiniteNumberStream(file.Open());
        foreach (var (lineNumber, line) in JsonLines.Read(stream, cancellationToken))
        {
            JsonElement element;
            string? error = null;
            try
            {
                using var document = JsonDocument.Parse(line);
                element = document.RootElement.Clone();
            }
            catch (JsonException parse)
            {
                element = default;
                error = $"line {lineNumber} is not valid JSON ({parse.Message})";
            }

            if (error is not null)
            {
                yield return new Item(lineNumber, default, error, () => line);
                continue;
            }

            if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(arrayProperty, out var items) && items.ValueKind == JsonValueKind.Array)
            {
                foreach (var inner in items.EnumerateArray())
                {
                    yield return new Item(lineNumber, inner, ObjectProblem(inner), () => inner.GetRawText());
                }

                continue;
            }

            yield return new Item(lineNumber, element, ObjectProblem(element), () => line);
        }
    }

    private static IEnumerable<Item> BareArray(SourceFile file, CancellationToken cancellationToken)
    {
        using var tokens = new JsonTokenStream(new NonFiniteNumberStream(file.Open()));
        if (!tokens.TryReadToken(out var first, out _) || first != JsonTokenType.StartArray)
        {
            throw new JsonException("the document is not a JSON array");
        }

        long number = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var element = tokens.ReadValueOrEnd(out var ended);
            if (ended)
            {
                break;
            }

            number++;
            yield return new Item(number, element, ObjectProblem(element), () => element.GetRawText());
        }

        if (tokens.TryReadToken(out var trailing, out _))
        {
            throw new JsonException($"unexpected {trailing} after the end of the array");
        }
    }

    private static IEnumerable<Item> PageArray(SourceFile file, string arrayProperty, CancellationToken cancellationToken)
    {
        using var stream = new NonFiniteNumberStream(file.Open());
        long number = 0;
        foreach (var element in JsonDocuments.ArrayItems(stream, [arrayProperty]))
        {
            cancellationToken.ThrowIfCancellationRequested();
            number++;
            var item = element;
            yield return new Item(number, item, ObjectProblem(item), () => item.GetRawText());
        }
    }

    private static string? ObjectProblem(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object ? null : $"the item is a JSON {element.ValueKind.ToString().ToLowerInvariant()}, not an object";

    /// <summary>
    /// The property names of the export's first item, from the 64 KiB probe: the first object of the
    /// array at one of <paramref name="arrayProperties"/> in a page document, of a bare array, or the
    /// first JSON line (or the first item of a page on that line). Empty when the probe shows none.
    /// </summary>
    public static HashSet<string> FirstItemKeys(SourceFile file, params string[] arrayProperties)
    {
        if (file.IsBinary || file.Head.Length == 0)
        {
            return [];
        }

        var head = file.FirstLineIsJsonObject ? file.FirstLine : file.Head;
        var trimmed = head.TrimStart();
        if (trimmed.StartsWith('['))
        {
            return KeysAt(trimmed, arrayProperty: null);
        }

        if (!trimmed.StartsWith('{'))
        {
            return [];
        }

        foreach (var property in arrayProperties)
        {
            if ((file.FirstLineIsJsonObject ? TopKeys(file.FirstLine) : file.TopLevelKeys).Contains(property))
            {
                return KeysAt(trimmed, property);
            }
        }

        return file.FirstLineIsJsonObject ? file.TopLevelKeys.ToHashSet() : [];
    }

    private static HashSet<string> TopKeys(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.EnumerateObject().Select(property => property.Name).ToHashSet()
                : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    /// <summary>The keys of the first object in the array (at the top level, or under a top-level property), reading as far as the text goes.</summary>
    private static HashSet<string> KeysAt(string text, string? arrayProperty)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, isFinalBlock: false, default);
        var itemDepth = arrayProperty is null ? 1 : 2;
        var inArray = arrayProperty is null;
        try
        {
            while (reader.Read())
            {
                if (!inArray)
                {
                    if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals(arrayProperty!))
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.StartArray)
                        {
                            return keys;
                        }

                        inArray = true;
                    }

                    continue;
                }

                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == itemDepth + 1)
                {
                    keys.Add(reader.GetString()!);
                }
                else if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == itemDepth)
                {
                    return keys;
                }
                else if (reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == itemDepth - 1)
                {
                    return keys;
                }
            }
        }
        catch (JsonException)
        {
            // A cut-off or Python-flavoured probe: the keys read so far count.
        }

        return keys;
    }

    // ---- values ----

    public static JsonElement? Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
            ? value
            : null;

    /// <summary>A string property (numbers and booleans as written); null when absent, null or blank.</summary>
    public static string? Text(JsonElement element, string name) => Property(element, name) is { } value ? JsonText.Of(value) : null;

    /// <summary>
    /// An id: a non-blank string (or an integer) without whitespace or control characters; null when
    /// absent and <paramref name="required"/> is false.
    /// </summary>
    public static string? Id(JsonElement? value, string field, bool required)
    {
        if (value is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return required ? throw new RecordProblem($"the record has no {field}") : null;
        }

        string text;
        if (element.ValueKind == JsonValueKind.String)
        {
            text = element.GetString()!.Trim();
        }
        else if (element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var integer))
        {
            text = integer.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            throw new RecordProblem($"{field} is {Shown(element)}, not an id");
        }

        if (text.Length == 0)
        {
            return required ? throw new RecordProblem($"{field} is empty") : null;
        }

        if (text.Length > 200 || text.Any(character => char.IsWhiteSpace(character) || char.IsControl(character)))
        {
            throw new RecordProblem($"{field} {Shown(element)} is not an id (too long, or it contains spaces or control characters)");
        }

        return text;
    }

    /// <summary>A timestamp: ISO-8601 with Z, an offset or none (naive is UTC), to UTC; fractions past 100 ns are dropped.</summary>
    public static DateTime? Time(JsonElement? value, string field)
    {
        if (value is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            throw new RecordProblem($"{field} is {Shown(element)}, not a timestamp");
        }

        return Time(element.GetString(), field);
    }

    public static DateTime? Time(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (Traces.TraceTime.TryParse(text, out var parsed))
        {
            return parsed;
        }

        throw new RecordProblem($"{field} '{Shorten(text)}' is not a timestamp");
    }

    /// <summary>A count: an integer (or an integral number, or a string holding one); null when absent.</summary>
    public static long? Count(JsonElement? value, string field)
    {
        if (Number(value, field) is not { } number)
        {
            return null;
        }

        if (number < 0 || number != Math.Floor(number) || number > long.MaxValue)
        {
            throw new RecordProblem($"{field} {Shown(value!.Value)} is not a whole number of tokens");
        }

        return (long)number;
    }

    /// <summary>A number, or a string holding one (NaN and infinities read as absent); null when absent.</summary>
    public static double? Number(JsonElement? value, string field)
    {
        if (value is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }

        if (element.ValueKind == JsonValueKind.Number)
        {
            return element.GetDouble();
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            var text = element.GetString()!.Trim();
            if (text.Length == 0 || text.Equals("nan", StringComparison.OrdinalIgnoreCase) || text.Equals("null", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
            {
                return double.IsFinite(parsed) ? parsed : null;
            }
        }

        throw new RecordProblem($"{field} {Shown(element)} is not a number");
    }

    /// <summary>A score in 0..1, or null when the source's scale is another (it still counts by its label).</summary>
    public static double? UnitScore(double? score) => score is >= 0 and <= 1 ? score : null;

    /// <summary>An error type for the trace row: short (≤ 200 characters).</summary>
    public static string? ErrorType(string? text)
    {
        var trimmed = text?.Trim();
        return string.IsNullOrEmpty(trimmed) ? null : trimmed.Length <= 200 ? trimmed : trimmed[..200];
    }

    /// <summary>Up to 2000 characters of user input.</summary>
    public static string? Preview(string? text)
    {
        var trimmed = text?.Trim();
        return string.IsNullOrEmpty(trimmed) ? null : trimmed.Length <= 2000 ? trimmed : trimmed[..2000];
    }

    public static string Shown(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"'{Shorten(element.GetString()!)}'",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => Shorten(element.GetRawText()),
    };

    private static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");

    /// <summary>Fractional seconds past 7 digits (Java's nanoseconds), which .NET does not parse.</summary>

    /// <summary>
    /// Flattens a value to dotted names with JSON values: objects by property, arrays that hold
    /// objects by index (`retrieval.documents.0.document.id`), scalars and arrays of scalars as they are.
    /// </summary>
    public static void FlattenValues(JsonElement value, string prefix, List<KeyValuePair<string, JsonElement>> into, int depth = 0)
    {
        if (value.ValueKind == JsonValueKind.Object && depth < 12)
        {
            foreach (var property in value.EnumerateObject())
            {
                FlattenValues(property.Value, prefix.Length == 0 ? property.Name : prefix + "." + property.Name, into, depth + 1);
            }
        }
        else if (value.ValueKind == JsonValueKind.Array && depth < 12 && value.EnumerateArray().Any(item => item.ValueKind is JsonValueKind.Object or JsonValueKind.Array))
        {
            var index = 0;
            foreach (var item in value.EnumerateArray())
            {
                FlattenValues(item, prefix + "." + index.ToString(CultureInfo.InvariantCulture), into, depth + 1);
                index++;
            }
        }
        else if (prefix.Length > 0)
        {
            into.Add(new(prefix, value));
        }
    }

    /// <summary>`key:value` / `key=value` tags as (tags.key, value) pairs for the key rules; plain tags say nothing.</summary>
    public static void TagPairs(JsonElement? tags, List<KeyValuePair<string, string?>> into)
    {
        if (tags is not { ValueKind: JsonValueKind.Array } array)
        {
            return;
        }

        foreach (var tag in array.EnumerateArray())
        {
            if (tag.ValueKind == JsonValueKind.String && tag.GetString() is { } text)
            {
                var separator = text.IndexOfAny([':', '=']);
                if (separator > 0 && separator < text.Length - 1)
                {
                    into.Add(new("tags." + text[..separator].Trim(), text[(separator + 1)..].Trim()));
                }
            }
        }
    }

    /// <summary>Sets a part's JSON parse failure flag from its error's type and message.</summary>
    public static void MarkJsonFailure(TracePart part, TraceRules rules, params string?[] texts)
    {
        if (part.IsError && texts.Any(rules.IsJsonParseError))
        {
            part.JsonParseFailure = true;
        }
    }
}
