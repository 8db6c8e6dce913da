using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Warehouse.Demo;

/// <summary>
/// The demo's offline half as the tools write it: the baseline as promptfoo's `-o results.json`,
/// the candidate as an Inspect AI JSON log, so `demo` exercises the real adapters. Both grade
/// every case pass/fail (an llm-rubric in promptfoo, C/I in Inspect) so that a score means the
/// same on both sides; the canonical generator keeps the continuous judge scores.
/// </summary>
public static partial class DemoDataGenerator
{
    public const string PromptfooFileName = "promptfoo-refund-v3.json";
    public const string InspectFileName = "inspect-refund-v4.json";

    private const string PromptfooProvider = "openai:chat:" + ModelVersion;
    private const string InspectModel = "openai/" + ModelVersion;
    private const string PromptTemplate = "You are the refund assistant. Answer the customer using the policy excerpts.\nTicket: {{ticket}}";

    private static readonly JsonWriterOptions IndentedJson = new() { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static int WriteToolFormatEvals(string directory, int evalSeed, int evalCases, List<SeedTrace> complaintTraces,
        out string promptfooFile, out string inspectFile)
    {
        promptfooFile = Path.GetFullPath(Path.Combine(directory, PromptfooFileName));
        inspectFile = Path.GetFullPath(Path.Combine(directory, InspectFileName));
        WritePromptfooRun(promptfooFile, ReplayEvalCases(evalSeed, evalCases, complaintTraces));
        WriteInspectLog(inspectFile, ReplayEvalCases(evalSeed, evalCases, complaintTraces), evalCases);
        return evalCases * 4;
    }

    /// <summary>The same draws, in the same order, as the canonical writer: both versions see the same cases.</summary>
    private static IEnumerable<EvalCase> ReplayEvalCases(int evalSeed, int evalCases, List<SeedTrace> complaintTraces)
    {
        var random = new Random(evalSeed);
        var seededCases = 0;
        for (var index = 0; index < evalCases; index++)
        {
            yield return DrawEvalCase(random, index, complaintTraces, ref seededCases);
        }
    }

    private static void WritePromptfooRun(string path, IEnumerable<EvalCase> cases)
    {
        var evalId = "eval-2026-11-20-" + BaselinePromptVersion;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var json = new Utf8JsonWriter(stream, IndentedJson);
        json.WriteStartObject();
        json.WriteString("evalId", evalId);
        json.WriteStartObject("results");
        json.WriteNumber("version", 3);
        json.WriteString("timestamp", FormatTimestamp(BaselineEvalStart));
        json.WriteStartArray("prompts");
        json.WriteStartObject();
        json.WriteString("raw", PromptTemplate);
        json.WriteString("label", BaselinePromptVersion);
        json.WriteString("provider", PromptfooProvider);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteStartArray("results");
        var index = 0;
        var successes = 0;
        foreach (var evalCase in cases)
        {
            var outcome = evalCase.Baseline;
            var correct = outcome.CorrectnessScore >= 0.5;
            var refusal = outcome.PassesRefusalPolicy;
            successes += correct && refusal ? 1 : 0;
            json.WriteStartObject();
            json.WriteString("id", DeterministicId(evalId, index));
            json.WriteNumber("testIdx", index);
            json.WriteNumber("promptIdx", 0);
            json.WriteStartObject("prompt");
            json.WriteString("raw", PromptTemplate.Replace("{{ticket}}", Description(evalCase), StringComparison.Ordinal));
            json.WriteString("label", BaselinePromptVersion);
            json.WriteEndObject();
            json.WriteStartObject("provider");
            json.WriteString("id", PromptfooProvider);
            json.WriteEndObject();
            json.WriteBoolean("success", correct && refusal);
            json.WriteNumber("score", ((correct ? 1 : 0) + (refusal ? 1 : 0)) / 2.0);
            json.WriteStartObject("namedScores");
            json.WriteNumber(CorrectnessMetric, correct ? 1 : 0);
            json.WriteNumber(RefusalPolicyMetric, refusal ? 1 : 0);
            json.WriteEndObject();
            json.WriteStartObject("gradingResult");
            json.WriteBoolean("pass", correct && refusal);
            json.WriteNumber("score", ((correct ? 1 : 0) + (refusal ? 1 : 0)) / 2.0);
            json.WriteStartArray("componentResults");
            WriteComponent(json, correct, "llm-rubric", "The answer applies the refund policy correctly.", CorrectnessMetric);
            WriteComponent(json, refusal, "javascript", "file://asserts/refusal_policy.js", RefusalPolicyMetric);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteNumber("latencyMs", (long)Math.Round(outcome.LatencyMs));
            json.WriteNumber("cost", outcome.CostUsd);
            json.WriteStartObject("tokenUsage");
            json.WriteNumber("prompt", evalCase.InputTokens);
            json.WriteNumber("completion", outcome.OutputTokens);
            json.WriteNumber("total", evalCase.InputTokens + outcome.OutputTokens);
            json.WriteEndObject();
            json.WriteStartObject("testCase");
            json.WriteString("description", Description(evalCase));
            json.WriteStartObject("vars");
            json.WriteString("language", evalCase.Language);
            json.WriteEndObject();
            json.WritePropertyName("metadata");
            WriteCaseMetadata(json, evalCase);
            json.WriteEndObject();
            json.WriteEndObject();
            index++;
        }

        json.WriteEndArray();
        json.WriteStartObject("stats");
        json.WriteNumber("successes", successes);
        json.WriteNumber("failures", index - successes);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartObject("config");
        json.WriteString("description", "Refund bot golden set, " + BaselinePromptVersion);
        json.WriteStartObject("metadata");
        WriteRunMetadata(json);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteComponent(Utf8JsonWriter json, bool pass, string type, string value, string metric)
    {
        json.WriteStartObject();
        json.WriteBoolean("pass", pass);
        json.WriteNumber("score", pass ? 1 : 0);
        json.WriteString("reason", pass ? "Assertion passed" : "The answer does not meet the criterion.");
        json.WriteStartObject("assertion");
        json.WriteString("type", type);
        json.WriteString("value", value);
        json.WriteString("metric", metric);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteInspectLog(string path, IEnumerable<EvalCase> cases, int evalCases)
    {
        var evalId = "eval-2026-11-20-" + CandidatePromptVersion;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var json = new Utf8JsonWriter(stream, IndentedJson);
        json.WriteStartObject();
        json.WriteNumber("version", 2);
        json.WriteString("status", "success");
        json.WriteStartObject("eval");
        json.WriteString("eval_id", evalId);
        json.WriteString("run_id", "run-" + evalId);
        json.WriteString("created", CandidateEvalStart.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture));
        json.WriteString("task", "refund_bot");
        json.WriteString("task_id", "task-refund-bot");
        json.WriteNumber("task_version", 4);
        json.WriteStartObject("dataset");
        json.WriteString("name", DatasetId);
        json.WriteNumber("samples", evalCases);
        json.WriteEndObject();
        json.WriteString("model", InspectModel);
        json.WriteStartObject("model_roles");
        json.WriteStartObject("grader");
        json.WriteString("model", "openai/gpt-4o-mini-2024-07-18");
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartObject("metadata");
        json.WriteString("prompt_version", CandidatePromptVersion);
        WriteRunMetadata(json);
        json.WriteEndObject();
        json.WriteStartArray("scorers");
        foreach (var scorer in new[] { CorrectnessMetric, RefusalPolicyMetric })
        {
            json.WriteStartObject();
            json.WriteString("name", scorer);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartArray("samples");
        var index = 0;
        foreach (var evalCase in cases)
        {
            var outcome = evalCase.Candidate;
            var completedAt = CandidateEvalStart.AddSeconds(index * SecondsPerEvalCase);
            json.WriteStartObject();
            json.WriteString("id", evalCase.CaseId);
            json.WriteNumber("epoch", 1);
            json.WriteString("input", Description(evalCase));
            json.WriteStartObject("output");
            json.WriteString("model", ModelVersion);
            json.WriteStartObject("usage");
            json.WriteNumber("input_tokens", evalCase.InputTokens);
            json.WriteNumber("output_tokens", outcome.OutputTokens);
            json.WriteNumber("total_tokens", evalCase.InputTokens + outcome.OutputTokens);
            json.WriteEndObject();
            json.WriteNumber("time", Math.Round(outcome.LatencyMs / 1000.0, 3));
            json.WriteEndObject();
            json.WriteStartObject("scores");
            WriteInspectScore(json, CorrectnessMetric, outcome.CorrectnessScore >= 0.5);
            WriteInspectScore(json, RefusalPolicyMetric, outcome.PassesRefusalPolicy);
            json.WriteEndObject();
            json.WritePropertyName("metadata");
            WriteCaseMetadata(json, evalCase);
            json.WriteNumber("total_time", Math.Round(outcome.LatencyMs / 1000.0, 3));
            json.WriteNumber("total_cost", outcome.CostUsd);
            json.WriteString("completed_at", completedAt.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture));
            json.WriteEndObject();
            index++;
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteInspectScore(Utf8JsonWriter json, string scorer, bool correct)
    {
        json.WriteStartObject(scorer);
        json.WriteString("value", correct ? "C" : "I");
        json.WriteString("explanation", correct ? "GRADE: C" : "GRADE: I");
        json.WriteEndObject();
    }

    private static void WriteCaseMetadata(Utf8JsonWriter json, EvalCase evalCase)
    {
        json.WriteStartObject();
        json.WriteString("case_id", evalCase.CaseId);
        if (evalCase.Feature is not null)
        {
            json.WriteString("feature", evalCase.Feature);
        }

        json.WriteString("intent", evalCase.Intent);
        json.WriteString("language", evalCase.Language);
        json.WriteString("customer_tier", evalCase.CustomerTier);
        json.WriteString("output_format", evalCase.OutputFormat);
        json.WriteNumber("context_tokens", evalCase.ContextTokens);
        if (evalCase.SourceTraceId is not null)
        {
            json.WriteString("source_trace_id", evalCase.SourceTraceId);
        }

        json.WriteEndObject();
    }

    private static void WriteRunMetadata(Utf8JsonWriter json)
    {
        json.WriteString("retriever_version", RetrieverVersion);
        json.WriteString("guardrail_version", GuardrailVersion);
        json.WriteString("experiment_bucket", OfflineBucket);
        json.WriteString("dataset_id", DatasetId);
        json.WriteString("dataset_version", DatasetVersion);
        json.WriteString("judge_version", JudgeVersion);
    }

    private static string Description(EvalCase evalCase) => $"{evalCase.CaseId}: {TestDescriptionsByIntent[evalCase.Intent]}";

    private static string DeterministicId(string run, int index)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{run}/{index}"));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }
}
