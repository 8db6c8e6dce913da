using Warehouse.Loading;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.Promptfoo;

/// <summary>
/// promptfoo `-o results.json` (and `promptfoo export eval`): the <c>OutputFile</c> document. Two
/// passes over the stream: the run level (evalId, config, shareableUrl, metadata, results.timestamp,
/// results.prompts) without the results array, then the results streamed one at a time. Record number =
/// 1-based index in results.results. Mapping: <see cref="PromptfooResultMapper"/>.
/// </summary>
public sealed class PromptfooJsonSource : SourceFormat
{
    private static readonly string[] ResultsPath = ["results", "results"];

    // Arrays the run-level pass leaves empty so its memory does not grow with the file: the
    // streamed results, version-2 exports' results.table, and newer exports' traces and blobs.
    private static readonly IReadOnlyList<string>[] BulkyArrays = [ResultsPath, ["results", "table"], ["traces"], ["blobAssets"]];

    public override string Name => "promptfoo-json";

    public override string SourceName => PromptfooResultMapper.Source;

    public override string Kind => "eval";

    /// <summary>An object with results and evalId; without evalId, results whose first items show promptIdx and testIdx.</summary>
    public override bool Detect(SourceFile file) =>
        file.TopLevelKeys.Contains("results")
        && (file.TopLevelKeys.Contains("evalId")
            || (file.Head.Contains("\"promptIdx\"", StringComparison.Ordinal) && file.Head.Contains("\"testIdx\"", StringComparison.Ordinal)));

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken)
    {
        System.Text.Json.JsonDocument run;
        using (var stream = file.Open())
        {
            run = JsonDocuments.WithoutArrays(stream, BulkyArrays);
        }

        using (run)
        {
            // An export without evalId (not written by current versions) gets the JSONL rule's id.
            var mapper = new PromptfooResultMapper(schema, file.Settings, () => DeriveRunId(file, cancellationToken), PromptfooRunIds.ResultIdsRule);
            using var items = file.Open();
            long index = 0;
            foreach (var item in JsonDocuments.ArrayItems(items, ResultsPath))
            {
                cancellationToken.ThrowIfCancellationRequested();
                index++;
                var result = item;
                foreach (var record in mapper.Map(result, index, () => result.GetRawText(), run.RootElement))
                {
                    yield return record;
                }
            }
        }
    }

    private static string DeriveRunId(SourceFile file, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        return PromptfooRunIds.FromResultKeys(
            JsonDocuments.ArrayItems(stream, ResultsPath).Select(item =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                return PromptfooRunIds.ResultKey(item, item.GetRawText());
            }), "json");
    }
}
