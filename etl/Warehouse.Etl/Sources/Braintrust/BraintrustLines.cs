using System.Text;

namespace Warehouse.Sources.Braintrust;

/// <summary>
/// Lines of a JSON Lines stream with their 1-based numbers (blank lines skipped), and whether the
/// stream ended with a line break. A last line that is not valid JSON and has no line break after
/// it is a file cut off mid-record (an interrupted export or download), not one bad record.
/// </summary>
internal sealed class BraintrustLines(Stream stream)
{
    public bool EndsWithLineBreak { get; private set; } = true;

    public IEnumerable<(long LineNumber, string Line)> Read(CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var buffer = new char[1 << 16];
        var line = new StringBuilder();
        long lineNumber = 0;
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var start = 0;
            for (var index = 0; index < read; index++)
            {
                if (buffer[index] != '\n')
                {
                    continue;
                }

                line.Append(buffer, start, index - start);
                start = index + 1;
                lineNumber++;
                var text = line.ToString().TrimEnd('\r');
                line.Clear();
                if (!string.IsNullOrWhiteSpace(text))
                {
                    yield return (lineNumber, text);
                }
            }

            line.Append(buffer, start, read - start);
            EndsWithLineBreak = start == read;
        }

        if (line.Length > 0)
        {
            lineNumber++;
            var text = line.ToString().TrimEnd('\r');
            if (!string.IsNullOrWhiteSpace(text))
            {
                EndsWithLineBreak = false;
                yield return (lineNumber, text);
            }
            else
            {
                EndsWithLineBreak = true;
            }
        }
    }
}
