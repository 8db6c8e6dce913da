using System.Text;
using Warehouse.Sources.Canonical;
using Warehouse.Sources.Parquet;

namespace Warehouse.Sources.Braintrust;

/// <summary>
/// Lines of a JSON Lines stream with their 1-based numbers (blank lines skipped), and whether the
/// stream ended with a line break. A last line that is not valid JSON and has no line break after
/// it is a file cut off mid-record (an interrupted export or download), not one bad record.
/// </summary>
internal sealed class BraintrustLines(SourceFile file)
{
    public bool EndsWithLineBreak { get; private set; } = true;

    /// <summary>
    /// The file's events as JSON text, one per record: its lines, or, for the Parquet form of an
    /// export, each row as a JSON object (object-valued columns such as scores and metadata are
    /// written by the export as JSON text and are embedded as JSON again).
    /// </summary>
    public IEnumerable<(long LineNumber, string Line)> Read(CancellationToken cancellationToken) =>
        ParquetTable.IsParquet(file) ? ParquetRows(cancellationToken) : TextLines(cancellationToken);

    /// <summary>
    /// Export conventions: text that is a JSON object or array embedded as written, floats and
    /// NaN or infinite doubles as the loader's text, timestamps ISO 8601 UTC.
    /// </summary>
    private static readonly ParquetJsonOptions RowJson = new()
    {
        Text = (writer, _, text) =>
        {
            if (LooksLikeJson(text))
            {
                writer.WriteRawValue(text, skipInputValidation: false);
            }
            else
            {
                writer.WriteStringValue(text);
            }
        },
        Value = (_, value) => value is float || (value is double number && !double.IsFinite(number)) ? CanonicalParquetSource.Text(value)! : value,
    };

    private IEnumerable<(long LineNumber, string Line)> ParquetRows(CancellationToken cancellationToken)
    {
        var columns = ParquetTable.ColumnNames(file.Path);
        foreach (var (rowNumber, values) in ParquetTable.Rows(file.Path, cancellationToken))
        {
            yield return (rowNumber, ParquetJson.Object(columns, values, RowJson));
        }
    }

    private static bool LooksLikeJson(string text)
    {
        var trimmed = text.AsSpan().Trim();
        if (trimmed.Length < 2 || !((trimmed[0] == '{' && trimmed[^1] == '}') || (trimmed[0] == '[' && trimmed[^1] == ']')))
        {
            return false;
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(text);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private IEnumerable<(long LineNumber, string Line)> TextLines(CancellationToken cancellationToken)
    {
        using var stream = file.Open();
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
