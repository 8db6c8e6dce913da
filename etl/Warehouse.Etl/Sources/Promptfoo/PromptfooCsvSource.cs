using System.Text;
using System.Text.Json;
using CsvHelper;
using Warehouse.Loading;
using Warehouse.Sources.Canonical;

namespace Warehouse.Sources.Promptfoo;

/// <summary>
/// promptfoo `-o results.csv` (current writer, <c>streamEvalCsv</c>): one row per test, then per prompt
/// column a group of cells <c>[provider] label</c> (output), <c>Status</c>, <c>Score</c>, <c>Named Scores</c>,
/// <c>Metric: &lt;name&gt;</c>…, <c>Grader Reason</c>, <c>Comment</c>. The names repeat per group, so the
/// header is read by position. What the CSV carries: the description, the vars, the provider and prompt
/// label per group, the status (PASS/FAIL/ERROR), the scores rounded to 2 decimals, the grader reason.
/// It has no test metadata, no evalId, no component results, no latency, cost, tokens or timestamp: slice
/// labels come only from vars (language from vars.language by default), is_passed of every metric is the
/// test's status, and the run id is derived from the content (<see cref="PromptfooRunIds"/>). Each group is
/// rebuilt as an EvaluateResult and mapped like JSON, so Keys overrides apply (e.g. "vars.tier").
/// Cells escaped against formula injection (a leading <c>'</c> before = + - @) are unescaped.
/// One record per row × group (record number = the row's line); rows come out as test × prompt column ×
/// metric. The older one-cell-per-prompt layout (`[PASS] (1.00)…`) is not read.
/// </summary>
public sealed class PromptfooCsvSource : SourceFormat
{
    public override string Name => "promptfoo-csv";

    public override string SourceName => PromptfooResultMapper.Source;

    public override string Kind => "eval";

    private static CsvReaderOptions Options() => new()
    {
        HasHeader = false,
        TrackLineNumbers = true,
        AllowLineBreaksInQuotes = true,
        SkipEmptyLines = true,
    };

    public override bool Detect(SourceFile file)
    {
        if (file.IsBinary || file.FirstLine.StartsWith('{') || !file.FirstLine.Contains("Status", StringComparison.Ordinal)
            || !file.FirstLine.Contains("Score", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            using var reader = CsvReader.Create(new MemoryStream(Encoding.UTF8.GetBytes(file.Head)), Options(), leaveOpen: false);
            return reader.Read() && CsvLayout.Parse(Cells(reader)) is not null;
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            return false;
        }
    }

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        var mapper = new PromptfooResultMapper(schema, file.Settings, () => PromptfooRunIds.FromContent(file, "csv"), PromptfooRunIds.ContentRule);
        using var stream = file.Open();
        using var reader = CsvReader.Create(stream, Options(), leaveOpen: false);
        if (!reader.Read())
        {
            yield break;
        }

        var headers = Cells(reader);
        var layout = CsvLayout.Parse(headers)
            ?? throw new LoadException($"{file.Path}: the header has no promptfoo prompt column ('[provider] label' followed by 'Status')");
        long testIdx = -1;
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            testIdx++;
            var lineNumber = reader.LineNumber;
            var rowNumber = reader.RowNumber;
            Func<string> rawText = () => reader.RowNumber == rowNumber
                ? Encoding.UTF8.GetString(reader.RawRecord).TrimEnd('\r', '\n')
                : "(the raw record is no longer available)";
            if (reader.FieldCount != headers.Count)
            {
                yield return new FieldRecord(lineNumber, schema.Columns.Count)
                {
                    ReadError = $"row has {reader.FieldCount} fields but the header has {headers.Count}",
                    RawText = rawText,
                };
                continue;
            }

            var cells = Cells(reader);
            foreach (var group in layout.Groups)
            {
                if (group.IsEmpty(cells))
                {
                    continue; // this prompt column did not run the test (a prompts: filter)
                }

                using var result = JsonDocument.Parse(layout.ToResult(cells, group, testIdx));
                foreach (var record in mapper.Map(result.RootElement, lineNumber, rawText, run: null))
                {
                    yield return record;
                }
            }
        }
    }

    private static List<string> Cells(CsvReader reader) =>
        Enumerable.Range(0, reader.FieldCount).Select(index => Unescape(reader.GetString(index))).ToList();

    /// <summary>promptfoo prefixes cells starting with = + - @ with a quote; take it off.</summary>
    private static string Unescape(string cell) =>
        cell.Length > 1 && cell[0] == '\'' && cell[1] is '=' or '+' or '-' or '@' ? cell[1..] : cell;
}

/// <summary>Where things are in a promptfoo CSV header: description, vars, and each prompt column's cells.</summary>
internal sealed record CsvLayout(int Description, IReadOnlyList<(string Name, int Column)> Vars, IReadOnlyList<CsvGroup> Groups)
{
    public static CsvLayout? Parse(IReadOnlyList<string> headers)
    {
        var names = headers.Select(header => header.Trim()).ToList();
        var starts = Enumerable.Range(0, names.Count)
            .Where(index => index + 1 < names.Count && names[index + 1] == "Status" && PromptHeader(names[index]) is not null)
            .ToList();
        if (starts.Count == 0)
        {
            return null;
        }

        var description = names[0] == "Description" ? 0 : -1;
        var vars = Enumerable.Range(description + 1, starts[0] - description - 1).Select(index => (names[index], index)).ToList();
        var groups = new List<CsvGroup>();
        for (var g = 0; g < starts.Count; g++)
        {
            var end = g + 1 < starts.Count ? starts[g + 1] : names.Count;
            var (provider, label) = PromptHeader(names[starts[g]])!.Value;
            int Find(string name) => Enumerable.Range(starts[g] + 1, end - starts[g] - 1).FirstOrDefault(index => names[index] == name, -1);
            var metrics = Enumerable.Range(starts[g] + 1, end - starts[g] - 1)
                .Where(index => names[index].StartsWith("Metric: ", StringComparison.Ordinal))
                .Select(index => (names[index]["Metric: ".Length..], index))
                .ToList();
            groups.Add(new CsvGroup(g, starts[g], provider, label, Find("Status"), Find("Score"), Find("Named Scores"), metrics,
                Find("Grader Reason"), Find("Comment")));
        }

        return new CsvLayout(description, vars, groups);
    }

    /// <summary>"[openai:chat:gpt-4o] refund-v4" → (provider, label).</summary>
    private static (string Provider, string Label)? PromptHeader(string header)
    {
        if (!header.StartsWith('['))
        {
            return null;
        }

        var close = header.IndexOf("] ", StringComparison.Ordinal);
        if (close < 0)
        {
            return header.EndsWith(']') && header.Length > 2 ? (header[1..^1], "") : null;
        }

        return (header[1..close], header[(close + 2)..].Trim());
    }

    /// <summary>The group as an EvaluateResult (JSON), for <see cref="PromptfooResultMapper"/>.</summary>
    public byte[] ToResult(IReadOnlyList<string> cells, CsvGroup group, long testIdx)
    {
        string? Cell(int column) => column >= 0 && cells[column].Trim() is { Length: > 0 } value ? value : null;

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("testIdx", testIdx);
            writer.WriteNumber("promptIdx", group.Index);
            writer.WriteStartObject("provider");
            writer.WriteString("id", group.Provider);
            writer.WriteEndObject();
            writer.WriteStartObject("prompt");
            writer.WriteString("label", group.Label);
            writer.WriteEndObject();

            void WriteVars()
            {
                writer.WriteStartObject("vars");
                foreach (var (name, column) in Vars)
                {
                    writer.WriteString(name, cells[column]);
                }

                writer.WriteEndObject();
            }

            WriteVars();
            writer.WriteStartObject("testCase");
            if (Cell(Description) is { } description)
            {
                writer.WriteString("description", description);
            }

            WriteVars();
            writer.WriteStartArray("assert");
            foreach (var (metric, _) in group.Metrics)
            {
                writer.WriteStartObject();
                writer.WriteString("metric", metric);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();

            var status = Cell(group.Status)?.ToUpperInvariant();
            switch (status)
            {
                case "PASS":
                    writer.WriteBoolean("success", true);
                    writer.WriteNumber("failureReason", 0);
                    break;
                case "FAIL":
                    writer.WriteBoolean("success", false);
                    writer.WriteNumber("failureReason", 1);
                    break;
                case "ERROR":
                    writer.WriteBoolean("success", false);
                    writer.WriteNumber("failureReason", 2);
                    break;
            }

            WriteText(writer, "score", Cell(group.Score));
            var reason = Cell(group.GraderReason);
            if (status is "FAIL" or "ERROR")
            {
                WriteText(writer, "error", reason);
            }

            writer.WriteStartObject("gradingResult");
            WriteText(writer, "reason", reason);
            WriteText(writer, "comment", Cell(group.Comment));
            writer.WriteEndObject();

            var scored = group.Metrics.Where(metric => Cell(metric.Column) is not null).ToList();
            if (scored.Count > 0)
            {
                writer.WriteStartObject("namedScores");
                foreach (var (metric, column) in scored)
                {
                    writer.WriteString(metric, Cell(column));
                }

                writer.WriteEndObject();
            }
            else if (group.Metrics.Count == 0 && Cell(group.NamedScores) is { } json)
            {
                // No metric columns: the Named Scores cell (JSON) is all there is; a broken one is kept as text
                // so that the mapper rejects the record with a reason.
                writer.WritePropertyName("namedScores");
                try
                {
                    using var named = JsonDocument.Parse(json);
                    named.RootElement.WriteTo(writer);
                }
                catch (JsonException)
                {
                    writer.WriteStringValue(json);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteText(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}

internal sealed record CsvGroup(
    int Index,
    int OutputColumn,
    string Provider,
    string Label,
    int Status,
    int Score,
    int NamedScores,
    IReadOnlyList<(string Metric, int Column)> Metrics,
    int GraderReason,
    int Comment)
{
    /// <summary>No output, status or score: the prompt column has no result for this test.</summary>
    public bool IsEmpty(IReadOnlyList<string> cells) =>
        new[] { OutputColumn, Status, Score }.All(column => column < 0 || cells[column].Trim().Length == 0);
}
