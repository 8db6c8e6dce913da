using System.Globalization;
using System.Text;

namespace Warehouse.Tests.Support;

/// <summary>Writes small canonical files for tests, in a temp folder removed on dispose.</summary>
public sealed class CanonicalFiles : IDisposable
{
    public const string EvalHeader =
        "source,eval_run_id,case_id,metric,epoch,model_version,prompt_version,dataset_id,feature,customer_tier,score,is_passed,evaluated_at,context_tokens";

    public CanonicalFiles()
    {
        Folder = Path.Combine(Path.GetTempPath(), TestDatabases.NewName("wh_files"));
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public string Write(string name, string content)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    /// <summary>An eval CSV of <paramref name="cases"/> cases × 2 metrics, deterministic values.</summary>
    public string EvalCsv(string name, int cases, string promptVersion = "refund-v3", string run = "run-1")
    {
        var text = new StringBuilder(EvalHeader).Append('\n');
        for (var index = 0; index < cases; index++)
        {
            foreach (var metric in new[] { "correctness", "refusal_policy" })
            {
                var score = (index % 10) / 10.0;
                text.Append(CultureInfo.InvariantCulture,
                    $"promptfoo,{run},case-{index:D6},{metric},1,gpt-4o,{promptVersion},refund-golden,refund_request,{(index % 3 == 0 ? "enterprise" : "consumer")},{score:0.0},{(score >= 0.5 ? "true" : "false")},2026-11-20T10:00:00Z,{index * 10}\n");
            }
        }

        return Write(name, text.ToString());
    }

    /// <summary>A trace JSONL of <paramref name="traces"/> traces; complaint and feedback as given.</summary>
    public string TraceJsonl(string name, int traces, bool complaint = false, double? feedback = null, int firstTrace = 0)
    {
        var text = new StringBuilder();
        for (var index = firstTrace; index < firstTrace + traces; index++)
        {
            var feedbackJson = feedback is null ? "null" : feedback.Value.ToString(CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture,
                $$$"""{"source":"langfuse","trace_id":"tr-{{{index:D6}}}","started_at":"2026-11-{{{1 + index % 28:D2}}}T12:00:00Z","prompt_version":"refund-v4","customer_tier":"{{{(index % 2 == 0 ? "enterprise" : "consumer")}}}","latency_ms":{{{100 + index}}},"is_error":{{{(index % 50 == 0 ? "true" : "false")}}},"has_complaint":{{{(complaint ? "true" : "false")}}},"feedback_score":{{{feedbackJson}}},"context_tokens":{{{index * 7}}},"input_preview":"Wo bleibt meine Rückerstattung, \"bitte\"?","attributes":{"region":"eu"}}""");
            text.Append('\n');
        }

        return Write(name, text.ToString());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Temp files are best effort.
        }
    }
}
