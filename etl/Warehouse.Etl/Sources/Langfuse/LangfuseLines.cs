using System.Text;
using System.Text.Json;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.Langfuse;

/// <summary>
/// Records of a Langfuse JSON export as JSON objects with their record numbers: JSON Lines (line
/// numbers; blank lines skipped), or one JSON array of objects (the blob export's and the UI's
/// "JSON" format; item numbers), or one pretty-printed object (a single trace's "Download JSON").
/// A line that does not parse is one reject; a last line with no line break that does not parse
/// is named as cut off.
/// </summary>
internal static class LangfuseLines
{
    public readonly record struct Record(long Number, JsonElement? Value, string? Error, string? Text);

    public static IEnumerable<Record> Read(SourceFile file, CancellationToken cancellationToken)
    {
        var first = FirstCharacter(file.Head);
        if (first == '[')
        {
            return ArrayItems(file, cancellationToken);
        }

        return first == '{' && !file.FirstLineIsJsonObject ? WholeDocument(file) : Lines(file, cancellationToken);
    }

    private static char FirstCharacter(string head)
    {
        foreach (var character in head)
        {
            if (!char.IsWhiteSpace(character))
            {
                return character;
            }
        }

        return '\0';
    }

    private static IEnumerable<Record> Lines(SourceFile file, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        long number = 0;
        string? pending = null;
        long pendingNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            cancellationToken.ThrowIfCancellationRequested();
            number++;
            if (pending is not null)
            {
                yield return Parse(pendingNumber, pending, isLast: false);
                pending = null;
            }

            if (!string.IsNullOrWhiteSpace(line))
            {
                pending = line;
                pendingNumber = number;
            }
        }

        if (pending is not null)
        {
            yield return Parse(pendingNumber, pending, isLast: !EndsWithLineBreak(file));
        }
    }

    private static Record Parse(long number, string line, bool isLast)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return new Record(number, null, $"line {number} is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object", line);
            }

            return new Record(number, document.RootElement.Clone(), null, line);
        }
        catch (JsonException error)
        {
            var reason = isLast
                ? $"line {number} is cut off: the file ends in the middle of a record ({error.Message})"
                : $"line {number} is not valid JSON ({error.Message})";
            return new Record(number, null, reason, line);
        }
    }

    private static bool EndsWithLineBreak(SourceFile file)
    {
        if (file.IsGzip)
        {
            return true;
        }

        using var raw = SourceFile.OpenRaw(file.Path);
        if (raw.Length == 0)
        {
            return true;
        }

        raw.Seek(-1, SeekOrigin.End);
        return raw.ReadByte() == '\n';
    }

    private static IEnumerable<Record> ArrayItems(SourceFile file, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        using var tokens = new JsonTokenStream(stream);
        if (!tokens.TryReadToken(out var start, out _) || start != JsonTokenType.StartArray)
        {
            throw new JsonException("the document is not a JSON array");
        }

        long number = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var item = tokens.ReadValueOrEnd(out var ended);
            if (ended)
            {
                break;
            }

            number++;
            yield return item.ValueKind == JsonValueKind.Object
                ? new Record(number, item, null, null)
                : new Record(number, null, $"item {number} is a JSON {item.ValueKind.ToString().ToLowerInvariant()}, not an object", item.GetRawText());
        }

        if (tokens.TryReadToken(out var trailing, out _))
        {
            throw new JsonException($"unexpected {trailing} after the end of the array");
        }
    }

    private static IEnumerable<Record> WholeDocument(SourceFile file)
    {
        using var stream = file.Open();
        using var document = JsonDocument.Parse(stream);
        yield return new Record(1, document.RootElement.Clone(), null, null);
    }

    /// <summary>Property names of the first object in the head: a JSON line's, or the first item's of a top-level array.</summary>
    public static IReadOnlySet<string> FirstRecordKeys(SourceFile file)
    {
        if (file.FirstLineIsJsonObject || FirstCharacter(file.Head) == '{')
        {
            return file.TopLevelKeys;
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        if (FirstCharacter(file.Head) != '[')
        {
            return keys;
        }

        var bytes = Encoding.UTF8.GetBytes(file.Head);
        var reader = new Utf8JsonReader(bytes, isFinalBlock: false, default);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 2)
                {
                    keys.Add(reader.GetString()!);
                }
                else if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 1)
                {
                    break;
                }
            }
        }
        catch (JsonException)
        {
            // The probe ends mid-token; the names read so far count.
        }

        return keys;
    }
}
