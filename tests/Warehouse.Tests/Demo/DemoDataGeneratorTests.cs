using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsvHelper;
using Warehouse.Demo;

namespace Warehouse.Tests.Demo;

/// <summary>
/// The demo must tell the story of DESIGN section 1 from its own data: the rates are recomputed
/// here from the written files (CSV read by CsvHelper, JSON by System.Text.Json), independently of
/// the generator's code.
/// </summary>
public sealed class DemoDataGeneratorTests(DemoDataGeneratorTests.DefaultDemo demo, ITestOutputHelper output)
    : IClassFixture<DemoDataGeneratorTests.DefaultDemo>
{
    [Fact]
    public void Generate_writes_identical_bytes_for_the_same_seed()
    {
        using var other = new TempDirectory();
        var again = DemoDataGenerator.Generate(other.Path);

        Assert.Equal(File.ReadAllBytes(demo.Files.EvalFile), File.ReadAllBytes(again.EvalFile));
        Assert.Equal(File.ReadAllBytes(demo.Files.TraceFile), File.ReadAllBytes(again.TraceFile));
        Assert.Equal(File.ReadAllBytes(demo.Files.LateFeedbackFile), File.ReadAllBytes(again.LateFeedbackFile));
        Assert.Equal(demo.Files with { EvalFile = "", TraceFile = "", LateFeedbackFile = "", EvalFiles = [], TraceFiles = [], LateFeedbackFiles = [] },
            again with { EvalFile = "", TraceFile = "", LateFeedbackFile = "", EvalFiles = [], TraceFiles = [], LateFeedbackFiles = [] });
        Assert.Equal(demo.Files.EvalFiles.Select(Path.GetFileName), again.EvalFiles.Select(Path.GetFileName));
    }

    [Fact]
    public void Generate_writes_different_data_for_another_seed()
    {
        using var first = new TempDirectory();
        var seven = DemoDataGenerator.Generate(first.Path, seed: 7, traces: 2000, evalCases: 100);
        using var second = new TempDirectory();
        var eight = DemoDataGenerator.Generate(second.Path, seed: 8, traces: 2000, evalCases: 100);

        Assert.NotEqual(File.ReadAllBytes(seven.TraceFile), File.ReadAllBytes(eight.TraceFile));
        Assert.NotEqual(File.ReadAllBytes(seven.EvalFile), File.ReadAllBytes(eight.EvalFile));
    }

    [Fact]
    public void Generate_writes_utf8_without_bom_and_lf_line_endings()
    {
        foreach (var path in new[] { demo.Files.EvalFile, demo.Files.TraceFile, demo.Files.LateFeedbackFile })
        {
            var bytes = File.ReadAllBytes(path);
            Assert.False(bytes is [0xEF, 0xBB, 0xBF, ..], $"{path} starts with a byte order mark");
            Assert.Equal((byte)'\n', bytes[^1]);
            var text = File.ReadAllText(path);
            Assert.DoesNotContain("\r", text);
        }

        Assert.Contains("Rückerstattung", File.ReadAllText(demo.Files.TraceFile));
    }

    [Fact]
    public void Generate_writes_the_promised_counts()
    {
        Assert.Equal(600 * 2 * 2, demo.Files.EvalRecords);
        Assert.Equal(24000, demo.Files.Traces);
        Assert.Equal(demo.EvalRows.Count, demo.Files.EvalRecords);
        Assert.Equal(demo.Traces.Count, demo.Files.Traces);
        Assert.Equal(demo.LateFeedback.Count, demo.Files.LateFeedbackTraces);
        Assert.InRange(demo.LateFeedback.Count / (double)demo.Traces.Count, 0.02, 0.04);
        Assert.Equal(demo.Traces.Count, demo.Traces.Select(trace => trace.TraceId).Distinct().Count());
        Assert.Equal(demo.LateFeedback.Count, demo.LateFeedback.Select(trace => trace.TraceId).Distinct().Count());

        using var small = new TempDirectory();
        var files = DemoDataGenerator.Generate(small.Path, seed: 1, traces: 1001, evalCases: 37);
        Assert.Equal(37 * 4, files.EvalRecords);
        Assert.Equal(37 * 4 + 1, File.ReadLines(files.EvalFile).Count());
        Assert.Equal(1001, File.ReadLines(files.TraceFile).Count());
        Assert.Equal(files.LateFeedbackTraces, File.ReadLines(files.LateFeedbackFile).Count());
    }

    [Fact]
    public void Generate_writes_exactly_the_table_columns()
    {
        var loaderColumns = new[] { "_batch_id", "_loaded_at", "context_band" };
        var evalColumns = MigrationColumns("0002_create_eval_records.sql").Except(loaderColumns).ToList();
        var traceColumns = MigrationColumns("0003_create_trace_summaries.sql").Except(loaderColumns).ToList();

        Assert.Equal(evalColumns, demo.EvalHeader);
        foreach (var path in new[] { demo.Files.TraceFile, demo.Files.LateFeedbackFile })
        {
            foreach (var line in File.ReadLines(path).Take(200))
            {
                using var document = JsonDocument.Parse(line);
                Assert.Equal(traceColumns, document.RootElement.EnumerateObject().Select(property => property.Name).ToList());
            }
        }
    }

    [Fact]
    public void Generate_writes_typed_json_values()
    {
        foreach (var line in File.ReadLines(demo.Files.TraceFile).Take(2000))
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            foreach (var flag in new[] { "is_error", "has_complaint", "has_tool_parse_failure", "has_json_parse_failure", "is_retrieval_empty" })
            {
                Assert.True(root.GetProperty(flag).ValueKind is JsonValueKind.True or JsonValueKind.False, flag);
            }

            foreach (var number in new[] { "latency_ms", "cost_usd", "input_tokens", "output_tokens", "context_tokens" })
            {
                Assert.Equal(JsonValueKind.Number, root.GetProperty(number).ValueKind);
            }

            var startedAt = root.GetProperty("started_at").GetString()!;
            Assert.EndsWith("Z", startedAt);
            Assert.True(DateTime.TryParse(startedAt, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out _));
            var attributes = root.GetProperty("attributes").GetString()!;
            using var parsedAttributes = JsonDocument.Parse(attributes);
            Assert.Equal(JsonValueKind.Object, parsedAttributes.RootElement.ValueKind);
            Assert.Equal(root.GetProperty("is_error").GetBoolean(), root.GetProperty("error_type").ValueKind == JsonValueKind.String);
        }

        Assert.All(demo.EvalRows, row =>
        {
            using var attributes = JsonDocument.Parse(row.Attributes);
            Assert.Equal(JsonValueKind.Object, attributes.RootElement.ValueKind);
        });
    }

    [Fact]
    public void Generate_writes_late_feedback_that_only_adds_a_complaint_and_lowers_the_score()
    {
        var originals = File.ReadLines(demo.Files.TraceFile)
            .Select(line => JsonSerializer.Deserialize<JsonElement>(line))
            .ToDictionary(root => root.GetProperty("trace_id").GetString()!);

        foreach (var line in File.ReadLines(demo.Files.LateFeedbackFile))
        {
            var late = JsonSerializer.Deserialize<JsonElement>(line);
            var original = originals[late.GetProperty("trace_id").GetString()!];
            Assert.Equal(original.GetProperty("source").GetString(), late.GetProperty("source").GetString());
            Assert.False(original.GetProperty("has_complaint").GetBoolean());
            Assert.True(late.GetProperty("has_complaint").GetBoolean());
            Assert.True(late.GetProperty("feedback_score").GetDouble() < original.GetProperty("feedback_score").GetDouble());

            foreach (var property in original.EnumerateObject())
            {
                if (property.Name is "has_complaint" or "feedback_score")
                {
                    continue;
                }

                Assert.Equal(property.Value.GetRawText(), late.GetProperty(property.Name).GetRawText());
            }
        }
    }

    [Fact]
    public void Generate_runs_the_same_cases_on_both_prompt_versions()
    {
        var baselineCases = demo.Correctness("refund-v3").Select(row => row.CaseId).ToList();
        var candidateCases = demo.Correctness("refund-v4").Select(row => row.CaseId).ToList();

        Assert.Equal(600, baselineCases.Distinct().Count());
        Assert.Equal(baselineCases.Order(), candidateCases.Order());
        Assert.Equal(2, demo.EvalRows.Select(row => row.EvalRunId).Distinct().Count());
        Assert.All(demo.EvalRows, row => Assert.Equal("promptfoo", row.Source));
        Assert.Equal(
            demo.EvalRows.Count,
            demo.EvalRows.Select(row => (row.EvalRunId, row.CaseId, row.Metric)).Distinct().Count());
    }

    [Fact]
    public void Generate_links_some_eval_cases_to_existing_traces_and_leaves_some_features_unknown()
    {
        var traceIds = demo.Traces.Select(trace => trace.TraceId).ToHashSet();
        var linked = demo.Correctness("refund-v3").Where(row => row.SourceTraceId is not null).ToList();

        Assert.InRange(linked.Count / 600.0, 0.02, 0.08);
        Assert.All(linked, row => Assert.Contains(row.SourceTraceId!, traceIds));
        Assert.InRange(demo.Correctness("refund-v3").Count(row => row.Feature is null), 1, 20);
    }

    [Fact]
    public void Generate_tells_offline_that_v4_is_better()
    {
        var baseline = demo.Correctness("refund-v3").ToDictionary(row => row.CaseId, row => row.IsPassed);
        var candidate = demo.Correctness("refund-v4").ToDictionary(row => row.CaseId, row => row.IsPassed);
        var baselinePassRate = baseline.Values.Count(passed => passed) / (double)baseline.Count;
        var candidatePassRate = candidate.Values.Count(passed => passed) / (double)candidate.Count;
        var improved = baseline.Count(pair => !pair.Value && candidate[pair.Key]);
        var regressed = baseline.Count(pair => pair.Value && !candidate[pair.Key]);
        var concordant = baseline.Count(pair => pair.Value == candidate[pair.Key]) / (double)baseline.Count;
        output.WriteLine(
            $"offline correctness pass rate v3 {baselinePassRate:P1}, v4 {candidatePassRate:P1}; improved {improved}, regressed {regressed}, concordant {concordant:P1}");

        Assert.InRange(baselinePassRate, 0.80, 0.88);
        Assert.InRange(candidatePassRate, 0.86, 0.93);
        Assert.True(candidatePassRate > baselinePassRate + 0.02);
        Assert.True(improved > 2 * regressed);
        Assert.True(concordant > 0.85, "the same case should tend to pass or fail on both versions");
        Assert.All(demo.EvalRows.Where(row => row.Metric == "correctness"), row => Assert.Equal(row.Score >= 0.5, row.IsPassed));
    }

    [Fact]
    public void Generate_tells_online_that_v4_hurts_enterprise_and_long_contexts()
    {
        var traces = demo.TracesAfterLateFeedback();
        double Rate(IEnumerable<Trace> rows, Func<Trace, bool> flag)
        {
            var list = rows.ToList();
            return list.Count(flag) / (double)list.Count;
        }

        IEnumerable<Trace> On(string promptVersion, Func<Trace, bool> slice) =>
            traces.Where(trace => trace.PromptVersion == promptVersion && slice(trace));

        bool IsEnterprise(Trace trace) => trace.CustomerTier == "enterprise";
        bool IsLong(Trace trace) => trace.ContextTokens >= 8192;
        bool IsShortNonEnterprise(Trace trace) => !IsEnterprise(trace) && !IsLong(trace);

        var enterpriseBaseline = Rate(On("refund-v3", IsEnterprise), trace => trace.HasComplaint);
        var enterpriseCandidate = Rate(On("refund-v4", IsEnterprise), trace => trace.HasComplaint);
        var longBaseline = Rate(On("refund-v3", IsLong), trace => trace.HasComplaint);
        var longCandidate = Rate(On("refund-v4", IsLong), trace => trace.HasComplaint);
        var shortBaseline = Rate(On("refund-v3", IsShortNonEnterprise), trace => trace.HasComplaint);
        var shortCandidate = Rate(On("refund-v4", IsShortNonEnterprise), trace => trace.HasComplaint);
        var jsonBaseline = Rate(On("refund-v3", IsEnterprise), trace => trace.HasJsonParseFailure);
        var jsonCandidate = Rate(On("refund-v4", IsEnterprise), trace => trace.HasJsonParseFailure);
        var latencyBaseline = On("refund-v3", IsEnterprise).Where(trace => !trace.IsError).Average(trace => trace.LatencyMs);
        var latencyCandidate = On("refund-v4", IsEnterprise).Where(trace => !trace.IsError).Average(trace => trace.LatencyMs);
        output.WriteLine($"complaint rate enterprise v3 {enterpriseBaseline:P2}, v4 {enterpriseCandidate:P2}");
        output.WriteLine($"complaint rate >=8k v3 {longBaseline:P2}, v4 {longCandidate:P2}");
        output.WriteLine($"complaint rate short consumer/smb v3 {shortBaseline:P2}, v4 {shortCandidate:P2}");
        output.WriteLine($"json parse failure enterprise v3 {jsonBaseline:P2}, v4 {jsonCandidate:P2}");
        output.WriteLine($"mean latency enterprise (no error) v3 {latencyBaseline:F0} ms, v4 {latencyCandidate:F0} ms");

        Assert.True(enterpriseCandidate > 1.6 * enterpriseBaseline && enterpriseCandidate - enterpriseBaseline > 0.03);
        Assert.True(longCandidate > 1.6 * longBaseline && longCandidate - longBaseline > 0.03);
        Assert.True(shortCandidate <= shortBaseline + 0.01, "v4 should be as good on short consumer and smb turns");
        Assert.True(jsonCandidate > 2 * jsonBaseline);
        Assert.InRange(latencyCandidate / latencyBaseline, 1.15, 1.45);
    }

    [Fact]
    public void Generate_keeps_production_base_rates()
    {
        var baseline = demo.TracesAfterLateFeedback().Where(trace => trace.PromptVersion == "refund-v3").ToList();
        double Rate(Func<Trace, bool> flag) => baseline.Count(flag) / (double)baseline.Count;

        Assert.Equal(12000, baseline.Count);
        Assert.InRange(Rate(trace => trace.HasComplaint), 0.03, 0.055);
        Assert.InRange(Rate(trace => trace.IsError), 0.01, 0.035);
        // A tool output that fails to parse counts as a JSON parse failure too: about 1 % + 1 %.
        Assert.InRange(Rate(trace => trace.HasJsonParseFailure), 0.01, 0.035);
        Assert.All(baseline.Where(trace => trace.HasToolParseFailure), trace => Assert.True(trace.HasJsonParseFailure));
        Assert.InRange(Rate(trace => trace.HasToolParseFailure), 0.005, 0.02);
        Assert.InRange(Rate(trace => trace.IsRetrievalEmpty), 0.02, 0.04);
        Assert.InRange(Rate(trace => trace.FeedbackScore is not null), 0.25, 0.35);
        Assert.All(baseline, trace => Assert.True(trace.StartedAt < new DateTime(2026, 11, 15, 0, 0, 0, DateTimeKind.Utc)));
    }

    [Fact]
    public void Generate_makes_the_eval_mix_miss_long_contexts_and_enterprise()
    {
        var cases = demo.Correctness("refund-v3").ToList();
        var evalLongShare = cases.Count(row => row.ContextTokens >= 8192) / (double)cases.Count;
        var traceLongShare = demo.Traces.Count(trace => trace.ContextTokens >= 8192) / (double)demo.Traces.Count;
        var evalEnterpriseShare = cases.Count(row => row.CustomerTier == "enterprise") / (double)cases.Count;
        var traceEnterpriseShare = demo.Traces.Count(trace => trace.CustomerTier == "enterprise") / (double)demo.Traces.Count;
        output.WriteLine($">=8k share eval {evalLongShare:P1}, traces {traceLongShare:P1}; enterprise share eval {evalEnterpriseShare:P1}, traces {traceEnterpriseShare:P1}");

        Assert.InRange(evalLongShare, 0.01, 0.08);
        Assert.InRange(traceLongShare, 0.20, 0.30);
        Assert.InRange(evalEnterpriseShare, 0.06, 0.15);
        Assert.InRange(traceEnterpriseShare, 0.30, 0.40);
    }

    private static List<string> MigrationColumns(string script)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "db", "duckdb", "migrations", script);
        var columnLine = new Regex(@"^\s+([a-z_]+)\s+(varchar|integer|bigint|double|boolean|timestamp)\b");
        return File.ReadLines(path)
            .Select(line => columnLine.Match(line))
            .Where(match => match.Success)
            .Select(match => match.Groups[1].Value)
            .ToList();
    }

    public sealed record EvalRow(
        string Source, string EvalRunId, string CaseId, string Metric, string PromptVersion,
        string? Feature, string CustomerTier, long ContextTokens, double Score, bool IsPassed,
        string? SourceTraceId, string Attributes);

    public sealed record Trace(
        string TraceId, string PromptVersion, string CustomerTier, long ContextTokens, DateTime StartedAt,
        double LatencyMs, bool IsError, bool HasComplaint, double? FeedbackScore,
        bool HasToolParseFailure, bool HasJsonParseFailure, bool IsRetrievalEmpty);

    /// <summary>The demo at its defaults, generated once for the class and read back.</summary>
    public sealed class DefaultDemo : IDisposable
    {
        private readonly TempDirectory _directory = new();

        public DefaultDemo()
        {
            Files = DemoDataGenerator.Generate(_directory.Path);
            (EvalHeader, EvalRows) = ReadEvals(Files.EvalFile);
            Traces = File.ReadLines(Files.TraceFile).Select(ParseTrace).ToList();
            LateFeedback = File.ReadLines(Files.LateFeedbackFile).Select(ParseTrace).ToList();
        }

        public DemoFiles Files { get; }
        public IReadOnlyList<string> EvalHeader { get; }
        public IReadOnlyList<EvalRow> EvalRows { get; }
        public IReadOnlyList<Trace> Traces { get; }
        public IReadOnlyList<Trace> LateFeedback { get; }

        public IEnumerable<EvalRow> Correctness(string promptVersion) =>
            EvalRows.Where(row => row.Metric == "correctness" && row.PromptVersion == promptVersion);

        /// <summary>Traces as the warehouse holds them once the late export has updated its rows.</summary>
        public List<Trace> TracesAfterLateFeedback()
        {
            var latest = Traces.ToDictionary(trace => trace.TraceId);
            foreach (var late in LateFeedback)
            {
                latest[late.TraceId] = late;
            }

            return latest.Values.ToList();
        }

        public void Dispose() => _directory.Dispose();

        private static (List<string> Header, List<EvalRow> Rows) ReadEvals(string path)
        {
            using var csv = CsvReader.FromFile(path);
            var header = csv.Headers.ToList();
            var rows = new List<EvalRow>();
            while (csv.Read())
            {
                string? Optional(string column) => csv.GetString(column) is { Length: > 0 } value ? value : null;
                rows.Add(new EvalRow(
                    Source: csv.GetString("source"),
                    EvalRunId: csv.GetString("eval_run_id"),
                    CaseId: csv.GetString("case_id"),
                    Metric: csv.GetString("metric"),
                    PromptVersion: csv.GetString("prompt_version"),
                    Feature: Optional("feature"),
                    CustomerTier: csv.GetString("customer_tier"),
                    ContextTokens: long.Parse(csv.GetString("context_tokens"), CultureInfo.InvariantCulture),
                    Score: double.Parse(csv.GetString("score"), CultureInfo.InvariantCulture),
                    IsPassed: bool.Parse(csv.GetString("is_passed")),
                    SourceTraceId: Optional("source_trace_id"),
                    Attributes: csv.GetString("attributes")));
            }

            return (header, rows);
        }

        private static Trace ParseTrace(string line)
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var feedback = root.GetProperty("feedback_score");
            return new Trace(
                TraceId: root.GetProperty("trace_id").GetString()!,
                PromptVersion: root.GetProperty("prompt_version").GetString()!,
                CustomerTier: root.GetProperty("customer_tier").GetString()!,
                ContextTokens: root.GetProperty("context_tokens").GetInt64(),
                StartedAt: DateTime.Parse(root.GetProperty("started_at").GetString()!, CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
                LatencyMs: root.GetProperty("latency_ms").GetDouble(),
                IsError: root.GetProperty("is_error").GetBoolean(),
                HasComplaint: root.GetProperty("has_complaint").GetBoolean(),
                FeedbackScore: feedback.ValueKind == JsonValueKind.Null ? null : feedback.GetDouble(),
                HasToolParseFailure: root.GetProperty("has_tool_parse_failure").GetBoolean(),
                HasJsonParseFailure: root.GetProperty("has_json_parse_failure").GetBoolean(),
                IsRetrievalEmpty: root.GetProperty("is_retrieval_empty").GetBoolean());
        }
    }

    private sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("warehouse-demo-").FullName;

        public void Dispose()
        {
            if (Directory.Exists(Path))
            {
                Directory.Delete(Path, recursive: true);
            }
        }
    }
}
