using Warehouse.Loading;

namespace Warehouse.Sources.Promptfoo;

/// <summary>
/// promptfoo `-o results.jsonl`: one bare <c>EvaluateResult</c> per line, no wrapper, no evalId, no
/// prompts/config (current writers); older writers also put evalId on every line and could leave two
/// results on one line (`}{`), which is read as two records of that line. Record number = the line.
/// The run id, when no line carries one, is derived from the set of result ids
/// (<see cref="PromptfooRunIds"/>), which a first pass over the file computes only when needed.
/// </summary>
public sealed class PromptfooJsonlSource : SourceFormat
{
    public override string Name => "promptfoo-jsonl";

    public override string SourceName => PromptfooResultMapper.Source;

    public override string Kind => "eval";

    public override bool Detect(SourceFile file) =>
        file.FirstLine.StartsWith('{') && file.FirstLine.EndsWith('}')
        && file.TopLevelKeys.Contains("testIdx") && file.TopLevelKeys.Contains("promptIdx")
        && !file.TopLevelKeys.Contains("results")
        && (file.TopLevelKeys.Contains("success") || file.TopLevelKeys.Contains("score")
            || file.TopLevelKeys.Contains("gradingResult") || file.TopLevelKeys.Contains("namedScores"));

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        var mapper = new PromptfooResultMapper(schema, file.Settings, () => DeriveRunId(file, cancellationToken), PromptfooRunIds.ResultIdsRule);
        using var stream = file.Open();
        foreach (var line in PromptfooJsonLines.Read(stream, cancellationToken))
        {
            var text = line.Text;
            if (line.Error is not null)
            {
                yield return new FieldRecord(line.LineNumber, schema.Columns.Count) { ReadError = line.Error, RawText = () => text };
                continue;
            }

            foreach (var record in mapper.Map(line.Value, line.LineNumber, () => text, run: null))
            {
                yield return record;
            }
        }
    }

    private static string DeriveRunId(SourceFile file, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        return PromptfooRunIds.FromResultKeys(
            PromptfooJsonLines.Read(stream, cancellationToken).Select(line => PromptfooRunIds.ResultKey(line.Value, line.Text)),
            "jsonl");
    }
}
