using System.Text.Encodings.Web;
using System.Text.Json;

namespace Warehouse.Benchmarks.Generation;

/// <summary>
/// promptfoo `eval -o results.json` (results version 3): one eval with two prompt columns (the
/// baseline and candidate prompt versions), every case a test, two named scores per result, so
/// a test yields four eval records. Written with one Utf8JsonWriter that is flushed to disk every
/// few results, so the document is never held in memory however many results it has.
/// </summary>
internal static class PromptfooResultsWriter
{
    private const int FlushBytes = 1 << 20;
    private const string Template = "You are the refund assistant. Answer the customer using the policy excerpts.\nTicket: {{ticket}}";
    private const string Provider = "openai:chat:" + SyntheticEvals.ModelVersion;

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes enough tests for <paramref name="records"/> eval records; returns the records the loader will read.</summary>
    public static long Write(string path, SyntheticEvals evals, CancellationToken cancellationToken)
    {
        var evalId = "eval-bench-2026-11-20";
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var json = new Utf8JsonWriter(stream, JsonOptions);
        json.WriteStartObject();
        json.WriteString("evalId", evalId);
        json.WriteStartObject("results");
        json.WriteNumber("version", 3);
        json.WriteString("timestamp", "2026-11-20T09:00:00.000Z");
        json.WriteStartArray("prompts");
        foreach (var version in SyntheticEvals.Versions)
        {
            json.WriteStartObject();
            json.WriteString("raw", Template);
            json.WriteString("label", version);
            json.WriteString("provider", Provider);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("results");
        long records = 0, successes = 0, results = 0;
        for (long caseIndex = 0; caseIndex < evals.Cases; caseIndex++)
        {
            var evalCase = evals.Case(caseIndex);
            for (var version = 0; version < SyntheticEvals.Versions.Length; version++)
            {
                var correctness = evals.Outcome(evalCase, version, 0);
                var refusal = evals.Outcome(evalCase, version, 1);
                var success = correctness.IsPassed && refusal.IsPassed;
                successes += success ? 1 : 0;
                WriteResult(json, evalId, caseIndex, version, correctness, refusal, success);
                records += SyntheticEvals.Metrics.Length;
                results++;
            }

            if (json.BytesPending > FlushBytes)
            {
                cancellationToken.ThrowIfCancellationRequested();
                json.Flush();
            }
        }

        json.WriteEndArray();
        json.WriteStartObject("stats");
        json.WriteNumber("successes", successes);
        json.WriteNumber("failures", results - successes);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartObject("config");
        json.WriteString("description", "Refund bot golden sets, refund-v3 vs refund-v4");
        json.WriteStartObject("metadata");
        json.WriteString("dataset_version", "v7");
        json.WriteString("judge_version", SyntheticEvals.JudgeVersion);
        json.WriteString("retriever_version", "kb-2026-10");
        json.WriteString("guardrail_version", "guard-2");
        json.WriteString("experiment_bucket", "offline");
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
        return records;
    }

    private static void WriteResult(Utf8JsonWriter json, string evalId, long caseIndex, int version, SyntheticEval correctness, SyntheticEval refusal,
        bool success)
    {
        var evalCase = correctness.Case;
        var description = $"{evalCase.Feature}/{evalCase.Intent} {evalCase.CaseId}";
        json.WriteStartObject();
        json.WriteString("id", $"{evalId}-{caseIndex}-{version}");
        json.WriteNumber("testIdx", caseIndex);
        json.WriteNumber("promptIdx", version);
        json.WriteStartObject("prompt");
        json.WriteString("raw", Template.Replace("{{ticket}}", description, StringComparison.Ordinal));
        json.WriteString("label", correctness.PromptVersion);
        json.WriteEndObject();
        json.WriteStartObject("provider");
        json.WriteString("id", Provider);
        json.WriteEndObject();
        json.WriteBoolean("success", success);
        json.WriteNumber("score", (correctness.Score + refusal.Score) / 2);
        json.WriteStartObject("namedScores");
        json.WriteNumber(correctness.Metric, correctness.Score);
        json.WriteNumber(refusal.Metric, refusal.Score);
        json.WriteEndObject();
        json.WriteStartObject("gradingResult");
        json.WriteBoolean("pass", success);
        json.WriteNumber("score", (correctness.Score + refusal.Score) / 2);
        json.WriteStartArray("componentResults");
        Component(json, correctness.IsPassed, correctness.Score, "llm-rubric", "The answer applies the refund policy correctly.", correctness.Metric);
        Component(json, refusal.IsPassed, refusal.Score, "javascript", "file://asserts/refusal_policy.js", refusal.Metric);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteNumber("latencyMs", (long)correctness.LatencyMs);
        json.WriteNumber("cost", correctness.CostUsd);
        json.WriteStartObject("tokenUsage");
        json.WriteNumber("prompt", correctness.InputTokens);
        json.WriteNumber("completion", correctness.OutputTokens);
        json.WriteNumber("total", correctness.InputTokens + correctness.OutputTokens);
        json.WriteEndObject();
        json.WriteStartObject("testCase");
        json.WriteString("description", description);
        json.WriteStartObject("vars");
        json.WriteString("ticket", description);
        json.WriteString("language", evalCase.Language);
        json.WriteEndObject();
        json.WriteStartObject("metadata");
        json.WriteString("case_id", evalCase.CaseId);
        json.WriteString("dataset_id", evalCase.DatasetId);
        json.WriteString("feature", evalCase.Feature);
        json.WriteString("intent", evalCase.Intent);
        json.WriteString("customer_tier", evalCase.CustomerTier);
        json.WriteString("output_format", evalCase.OutputFormat);
        json.WriteNumber("context_tokens", evalCase.ContextTokens);
        if (evalCase.SourceTraceId is { } trace)
        {
            json.WriteString("source_trace_id", trace);
        }

        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void Component(Utf8JsonWriter json, bool pass, double score, string type, string value, string metric)
    {
        json.WriteStartObject();
        json.WriteBoolean("pass", pass);
        json.WriteNumber("score", score);
        json.WriteString("reason", pass ? "Assertion passed" : "The answer does not meet the criterion.");
        json.WriteStartObject("assertion");
        json.WriteString("type", type);
        json.WriteString("value", value);
        json.WriteString("metric", metric);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
