using System.Text;
using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.Canonical;

/// <summary>
/// JSON Lines whose keys are the table's columns. Numbers and booleans are read as the text the
/// file holds, then typed by the same rules as CSV; nested objects are kept as JSON text. A line
/// longer than <see cref="JsonLines.MaxLineBytes"/> is rejected without being held in memory, and
/// a line with bytes that are not UTF-8 is rejected rather than guessed at.
/// </summary>
public sealed class CanonicalJsonlSource : SourceFormat
{
    public const string FormatName = "canonical-jsonl";

    public override string Name => FormatName;

    public override string SourceName => "canonical";

    public override string Kind => "eval";

    public override int DetectionPriority => 0;

    // A first line longer than the detection probe is judged by the keys the probe saw.
    public override bool Detect(SourceFile file) =>
        (file.FirstLineIsJsonObject || file.FirstLineIsCutOff) && CanonicalKind.Of(file.TopLevelKeys) is not null;

    public override TableSchema SchemaFor(SourceFile file, string? forcedKind) =>
        CanonicalKind.Resolve(file, file.TopLevelKeys, forcedKind);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        foreach (var line in JsonLines.ReadChecked(stream, JsonLines.MaxLineBytes, cancellationToken))
        {
            if (line.Problem is not null)
            {
                var raw = line.Text;
                yield return new FieldRecord(line.Number, schema.Columns.Count) { ReadError = line.Problem, RawText = () => raw };
                continue;
            }

            yield return Parse(schema, line.Text, line.Number);
        }
    }

    private static FieldRecord Parse(TableSchema schema, string line, long lineNumber)
    {
        var record = new FieldRecord(lineNumber, schema.Columns.Count) { RawText = () => line };
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                record.ReadError = $"line is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object";
                return record;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = JsonText.Of(property.Value);
                var ordinal = schema.Ordinal(property.Name);
                if (ordinal >= 0)
                {
                    record.Values[ordinal] = value;
                }
                else if (value is not null)
                {
                    record.AddExtra(property.Name, value);
                }
            }
        }
        catch (JsonException error)
        {
            record.ReadError = $"line is not valid JSON ({error.Message})";
        }

        return record;
    }
}

/// <summary>A line of a JSON Lines stream: its 1-based number, its text, and why it cannot be read (then the text is evidence only).</summary>
/// <summary>One line as <see cref="JsonLines.ReadChecked"/> read it; <see cref="TooLong"/> when only its start was kept.</summary>
public readonly record struct JsonLine(long Number, string Text, string? Problem, bool TooLong = false);

/// <summary>Lines of a JSON Lines stream with their 1-based numbers, blank lines skipped.</summary>
public static class JsonLines
{
    /// <summary>The longest line a canonical record may take; a longer one is skipped without being held.</summary>
    public const int MaxLineBytes = 16 * 1024 * 1024;

    /// <summary>How much of an over-long line is kept as the reject's evidence.</summary>
    private const int EvidenceBytes = 64 * 1024;

    /// <summary>
    /// Lines with their numbers, for readers that reject a record by its JSON alone: text that is not
    /// UTF-8 comes with U+FFFD in place of the bad bytes, and a line longer than
    /// <see cref="MaxLineBytes"/> fails the file with its line number instead of being held in memory.
    /// </summary>
    public static IEnumerable<(long LineNumber, string Line)> Read(Stream stream, CancellationToken cancellationToken)
    {
        foreach (var line in ReadChecked(stream, MaxLineBytes, cancellationToken))
        {
            if (line.TooLong)
            {
                throw new LoadException($"line {line.Number}: {line.Problem}");
            }

            yield return (line.Number, line.Text);
        }
    }

    /// <summary>
    /// Lines as <see cref="Read"/> numbers them (a line ends at LF, CRLF or a lone CR; a UTF-8 byte order
    /// mark is skipped), read as bytes: a line longer than <paramref name="maxLineBytes"/> is yielded with
    /// its length as the problem and only its first 64 KiB as text, and a line that is not valid UTF-8
    /// with the offset of the first bad byte (its text has U+FFFD in place of the bad bytes).
    /// </summary>
    public static IEnumerable<JsonLine> ReadChecked(Stream stream, int maxLineBytes, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        var line = new MemoryStream();
        long lineNumber = 0, lineLength = 0;
        bool started = false, afterCr = false;
        int read;
        while ((read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var start = 0;
            if (!started)
            {
                started = true;
                if (read >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF)
                {
                    start = 3;
                }
            }

            if (afterCr && start < read && buffer[start] == (byte)'\n')
            {
                start++;
            }

            afterCr = false;
            while (start < read)
            {
                var span = buffer.AsSpan(start, read - start);
                var end = span.IndexOfAny((byte)'\n', (byte)'\r');
                var piece = end < 0 ? span : span[..end];
                if (lineLength + piece.Length <= maxLineBytes)
                {
                    line.Write(piece);
                }
                else
                {
                    // Over the limit: keep only the first 64 KiB as evidence from here on.
                    line.SetLength(Math.Min(line.Length, EvidenceBytes));
                }

                if (lineLength + piece.Length > maxLineBytes && line.Length < EvidenceBytes)
                {
                    line.Write(piece[..(int)Math.Min(piece.Length, EvidenceBytes - line.Length)]);
                }

                lineLength += piece.Length;
                if (end < 0)
                {
                    break;
                }

                var isCarriageReturn = span[end] == (byte)'\r';
                lineNumber++;
                if (Finish(line, lineNumber, lineLength, maxLineBytes) is { } complete)
                {
                    yield return complete;
                }

                line.SetLength(0);
                lineLength = 0;
                start += end + 1;
                if (isCarriageReturn)
                {
                    if (start < read)
                    {
                        if (buffer[start] == (byte)'\n')
                        {
                            start++;
                        }
                    }
                    else
                    {
                        afterCr = true;
                    }
                }
            }
        }

        if (lineLength > 0)
        {
            lineNumber++;
            if (Finish(line, lineNumber, lineLength, maxLineBytes) is { } last)
            {
                yield return last;
            }
        }
    }

    private static JsonLine? Finish(MemoryStream line, long lineNumber, long lineLength, int maxLineBytes)
    {
        var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
        var text = Encoding.UTF8.GetString(bytes);
        if (lineLength > maxLineBytes)
        {
            return new JsonLine(lineNumber, text, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"line is {lineLength:N0} bytes long, longer than the {maxLineBytes / (1024 * 1024)} MiB a record may take; it was skipped unread"), TooLong: true);
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return System.Text.Unicode.Utf8.IsValid(bytes) ? new JsonLine(lineNumber, text, null) : new JsonLine(lineNumber, text, NotUtf8(bytes, "line"));
    }

    /// <summary>Why a record with bytes that are not UTF-8 is rejected, naming the first bad byte.</summary>
    public static string NotUtf8(ReadOnlySpan<byte> bytes, string what)
    {
        var chars = new char[bytes.Length];
        System.Text.Unicode.Utf8.ToUtf16(bytes, chars, out var valid, out _, replaceInvalidSequences: false);
        return $"{what} is not valid UTF-8 (byte 0x{bytes[valid]:X2} at byte {valid + 1} of the {what}); save the file as UTF-8";
    }
}
