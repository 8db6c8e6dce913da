using System.Globalization;
using System.Text;
using Warehouse.Sources.Canonical;

namespace Warehouse.Sources.Otlp;

/// <summary>
/// The lines of a collector's JSON Lines file as UTF-8 bytes, numbered and checked exactly as
/// <see cref="JsonLines.ReadChecked"/> does (LF, CRLF or a lone CR end a line; a byte order mark
/// is skipped; blank lines are skipped but counted; a line that is not UTF-8 or is longer than the
/// limit comes with its problem), without turning each line into a string: a collector's line
/// holds hundreds of spans (~0.5 MB), and decoding it to UTF-16 only for the JSON parser to encode
/// it back cost most of the reading time and gigabytes of garbage per million spans.
/// </summary>
internal sealed class OtlpLines
{
    /// <summary>How much of an over-long line is kept as the reject's evidence (as in <see cref="JsonLines"/>).</summary>
    private const int EvidenceBytes = 64 * 1024;

    private const int ReadSize = 1 << 16;

    /// <summary>One line: its bytes are valid until the next line is read.</summary>
    public readonly record struct Line(long Number, ReadOnlyMemory<byte> Bytes, string? Problem, string? Text)
    {
        /// <summary>The line as text (U+FFFD for bytes that are not UTF-8), for a reject's evidence.</summary>
        public string Evidence() => Text ?? Encoding.UTF8.GetString(Bytes.Span);
    }

    public static IEnumerable<Line> Read(Stream stream, int maxLineBytes, CancellationToken cancellationToken)
    {
        var buffer = new byte[ReadSize * 2];
        int start = 0, end = 0;
        long number = 0;
        var first = true;
        var afterCr = false;
        var eof = false;
        while (true)
        {
            // Find the end of the line that starts at `start`, reading more as needed.
            var scanned = start;
            var newline = -1;
            long skipped = 0;
            byte[]? evidence = null;
            while (true)
            {
                if (afterCr && start < end)
                {
                    // A CR ended the last line at the end of a read: a LF right after it belongs to it.
                    if (buffer[start] == (byte)'\n')
                    {
                        start++;
                        scanned = start;
                    }

                    afterCr = false;
                }

                var found = buffer.AsSpan(scanned, end - scanned).IndexOfAny((byte)'\n', (byte)'\r');
                if (found >= 0)
                {
                    newline = scanned + found;
                    break;
                }

                scanned = end;
                if (eof)
                {
                    break;
                }

                if (skipped == 0 && end - start > maxLineBytes)
                {
                    // Over the limit: keep its start as evidence and read on to its end without holding it.
                    evidence = buffer.AsSpan(start, Math.Min(EvidenceBytes, end - start)).ToArray();
                }

                if (evidence is not null)
                {
                    skipped += end - start;
                    start = end = scanned = 0;
                }
                else if (start > 0 && (end - start) < buffer.Length / 2)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    scanned -= start;
                    start = 0;
                }
                else if (end + ReadSize > buffer.Length)
                {
                    var grown = new byte[Math.Max(buffer.Length * 2, end - start + ReadSize * 2)];
                    buffer.AsSpan(start, end - start).CopyTo(grown);
                    end -= start;
                    scanned -= start;
                    start = 0;
                    buffer = grown;
                }

                cancellationToken.ThrowIfCancellationRequested();
                var read = stream.ReadAtLeast(buffer.AsSpan(end, Math.Min(ReadSize, buffer.Length - end)), first ? 3 : 1, throwOnEndOfStream: false);
                if (read == 0)
                {
                    eof = true;
                    continue;
                }

                if (first)
                {
                    first = false;
                    // A byte order mark is skipped (only whole, in the first read; a stream gives at least 3 bytes at once).
                    if (end - start == 0 && read >= 3 && buffer[end] == 0xEF && buffer[end + 1] == 0xBB && buffer[end + 2] == 0xBF)
                    {
                        start += 3;
                        scanned = start;
                    }
                }

                end += read;
            }

            var lineEnd = newline >= 0 ? newline : end;
            var length = skipped + (lineEnd - start);
            if (newline < 0 && length == 0)
            {
                yield break;
            }

            number++;
            if (evidence is not null || length > maxLineBytes)
            {
                var kept = evidence ?? buffer.AsSpan(start, Math.Min(EvidenceBytes, lineEnd - start)).ToArray();
                var problem = string.Create(CultureInfo.InvariantCulture,
                    $"line is {length:N0} bytes long, longer than the {maxLineBytes / (1024 * 1024)} MiB a record may take; it was skipped unread");
                yield return new Line(number, ReadOnlyMemory<byte>.Empty, problem, Encoding.UTF8.GetString(kept));
            }
            else
            {
                var bytes = buffer.AsMemory(start, lineEnd - start);
                if (!IsBlank(bytes.Span))
                {
                    yield return System.Text.Unicode.Utf8.IsValid(bytes.Span)
                        ? new Line(number, bytes, null, null)
                        : new Line(number, bytes, JsonLines.NotUtf8(bytes.Span, "line"), null);
                }
            }

            if (newline < 0)
            {
                yield break;
            }

            start = newline + 1;
            if (buffer[newline] == (byte)'\r')
            {
                if (start < end)
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

    /// <summary>Blank as <see cref="string.IsNullOrWhiteSpace"/> reads the decoded line.</summary>
    private static bool IsBlank(ReadOnlySpan<byte> bytes)
    {
        foreach (var value in bytes)
        {
            if (value >= 0x80)
            {
                return string.IsNullOrWhiteSpace(Encoding.UTF8.GetString(bytes));
            }

            if (!char.IsWhiteSpace((char)value))
            {
                return false;
            }
        }

        return true;
    }
}
