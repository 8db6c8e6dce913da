using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using System.Xml.Schema;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Demo;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Commands;

/// <summary>`gate` end to end on DuckDB: locks, slice regressions, JUnit XML, pinned baselines.</summary>
public sealed class GateCommandTests : IDisposable
{
    /// <summary>
    /// The common JUnit XML schema CI servers read (the Jenkins xunit plugin's junit-10.xsd, the
    /// de-facto reference of the format GitHub Actions reporters and Azure Pipelines accept).
    /// </summary>
    private const string JUnitSchema = """
        <?xml version="1.0" encoding="UTF-8"?>
        <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified" attributeFormDefault="unqualified">
          <xs:element name="failure">
            <xs:complexType mixed="true">
              <xs:attribute name="type" type="xs:string" use="optional"/>
              <xs:attribute name="message" type="xs:string" use="optional"/>
            </xs:complexType>
          </xs:element>
          <xs:element name="error">
            <xs:complexType mixed="true">
              <xs:attribute name="type" type="xs:string" use="optional"/>
              <xs:attribute name="message" type="xs:string" use="optional"/>
            </xs:complexType>
          </xs:element>
          <xs:element name="properties">
            <xs:complexType>
              <xs:sequence>
                <xs:element ref="property" maxOccurs="unbounded"/>
              </xs:sequence>
            </xs:complexType>
          </xs:element>
          <xs:element name="property">
            <xs:complexType>
              <xs:attribute name="name" type="xs:string" use="required"/>
              <xs:attribute name="value" type="xs:string" use="required"/>
            </xs:complexType>
          </xs:element>
          <xs:element name="skipped">
            <xs:complexType mixed="true">
              <xs:attribute name="message" type="xs:string" use="optional"/>
            </xs:complexType>
          </xs:element>
          <xs:element name="system-err" type="xs:string"/>
          <xs:element name="system-out" type="xs:string"/>
          <xs:element name="testcase">
            <xs:complexType>
              <xs:sequence>
                <xs:element ref="skipped" minOccurs="0" maxOccurs="1"/>
                <xs:element ref="error" minOccurs="0" maxOccurs="unbounded"/>
                <xs:element ref="failure" minOccurs="0" maxOccurs="unbounded"/>
                <xs:element ref="system-out" minOccurs="0" maxOccurs="unbounded"/>
                <xs:element ref="system-err" minOccurs="0" maxOccurs="unbounded"/>
              </xs:sequence>
              <xs:attribute name="name" type="xs:string" use="required"/>
              <xs:attribute name="assertions" type="xs:string" use="optional"/>
              <xs:attribute name="time" type="xs:string" use="optional"/>
              <xs:attribute name="classname" type="xs:string" use="optional"/>
              <xs:attribute name="status" type="xs:string" use="optional"/>
            </xs:complexType>
          </xs:element>
          <xs:element name="testsuite">
            <xs:complexType>
              <xs:sequence>
                <xs:element ref="properties" minOccurs="0" maxOccurs="1"/>
                <xs:element ref="testcase" minOccurs="0" maxOccurs="unbounded"/>
                <xs:element ref="system-out" minOccurs="0" maxOccurs="1"/>
                <xs:element ref="system-err" minOccurs="0" maxOccurs="1"/>
              </xs:sequence>
              <xs:attribute name="name" type="xs:string" use="required"/>
              <xs:attribute name="tests" type="xs:string" use="required"/>
              <xs:attribute name="failures" type="xs:string" use="optional"/>
              <xs:attribute name="errors" type="xs:string" use="optional"/>
              <xs:attribute name="time" type="xs:string" use="optional"/>
              <xs:attribute name="disabled" type="xs:string" use="optional"/>
              <xs:attribute name="skipped" type="xs:string" use="optional"/>
              <xs:attribute name="timestamp" type="xs:string" use="optional"/>
              <xs:attribute name="hostname" type="xs:string" use="optional"/>
              <xs:attribute name="id" type="xs:string" use="optional"/>
              <xs:attribute name="package" type="xs:string" use="optional"/>
            </xs:complexType>
          </xs:element>
          <xs:element name="testsuites">
            <xs:complexType>
              <xs:sequence>
                <xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/>
              </xs:sequence>
              <xs:attribute name="name" type="xs:string" use="optional"/>
              <xs:attribute name="time" type="xs:string" use="optional"/>
              <xs:attribute name="tests" type="xs:string" use="optional"/>
              <xs:attribute name="failures" type="xs:string" use="optional"/>
              <xs:attribute name="disabled" type="xs:string" use="optional"/>
              <xs:attribute name="errors" type="xs:string" use="optional"/>
            </xs:complexType>
          </xs:element>
        </xs:schema>
        """;

    private readonly CanonicalFiles _files = new();

    private string Database => Path.Combine(_files.Folder, "warehouse.duckdb");

    public void Dispose() => _files.Dispose();

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var configuration = new ConfigurationBuilder().Build();
        var exitCode = await new Cli(output, error, configuration)
            .InvokeAsync([.. args, "--connection", Database], TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    private async Task RunOkAsync(params string[] args)
    {
        var (exitCode, output, error) = await RunAsync(args);
        Assert.True(exitCode == 0, $"{string.Join(' ', args)}: exit {exitCode}\n{output}\n{error}");
    }

    private static string LastLine(string output) => output.TrimEnd().Split('\n')[^1].TrimEnd('\r');

    /// <summary>
    /// 80 paired cases of `correctness` on <paramref name="candidate"/> against refund-v3, half
    /// enterprise, half consumer, and 200 traces per version. <paramref name="enterpriseShift"/> and
    /// <paramref name="consumerShift"/> move the candidate's scores; <paramref name="complaints"/>
    /// makes half the candidate's enterprise traces complain (refund-v3: 5 %).
    /// </summary>
    private async Task LoadStoryAsync(string candidate = "refund-v4", double enterpriseShift = 0, double consumerShift = 0,
        bool complaints = false, bool withBaseline = true)
    {
        var evals = new StringBuilder(CanonicalFiles.EvalHeader).Append('\n');
        for (var index = 0; index < 80; index++)
        {
            var enterprise = index % 2 == 0;
            var baseScore = (enterprise ? 0.6 : 0.5) + index % 3 * 0.1;
            var versions = new List<(string Version, double Score)> { (candidate, baseScore + (enterprise ? enterpriseShift : consumerShift)) };
            if (withBaseline)
            {
                versions.Insert(0, ("refund-v3", baseScore));
            }

            foreach (var (version, score) in versions)
            {
                evals.Append(CultureInfo.InvariantCulture,
                    $"promptfoo,run-{version},case-{index:D3},correctness,1,gpt-4o,{version},refund-golden,refund_request,"
                    + $"{(enterprise ? "enterprise" : "consumer")},{score:0.00},{(score >= 0.5 ? "true" : "false")},2026-11-20T10:00:00Z,100\n");
            }
        }

        var traces = new StringBuilder();
        foreach (var version in withBaseline ? new[] { "refund-v3", candidate } : [candidate])
        {
            for (var index = 0; index < 200; index++)
            {
                var enterprise = index % 2 == 0;
                var complaint = complaints && version == candidate && enterprise ? index % 4 == 0 : index % 20 == 1;
                traces.Append(CultureInfo.InvariantCulture,
                    $$"""{"source":"langfuse","trace_id":"{{version}}-{{index:D4}}","started_at":"2026-11-{{1 + index % 28:D2}}T12:00:00Z","prompt_version":"{{version}}","feature":"refund_request","customer_tier":"{{(enterprise ? "enterprise" : "consumer")}}","latency_ms":{{1000 + index % 50}},"is_error":false,"has_complaint":{{(complaint ? "true" : "false")}}}""");
                traces.Append('\n');
            }
        }

        await RunOkAsync("load", _files.Write($"evals-{candidate}.csv", evals.ToString()), _files.Write($"traces-{candidate}.jsonl", traces.ToString()));
    }

    /// <summary>Lock cases run under their own metric, so that they never move the story's slices.</summary>
    private async Task LoadLockCaseAsync(string caseId, string version, double score, string run = "lock-run")
    {
        var csv = CanonicalFiles.EvalHeader + "\n"
            + string.Create(CultureInfo.InvariantCulture,
                $"promptfoo,{run}-{version},{caseId},lock_check,1,gpt-4o,{version},refund-golden,refund_request,enterprise,{score:0.00},{(score >= 0.5 ? "true" : "false")},2026-11-21T10:00:00Z,100\n");
        await RunOkAsync("load", _files.Write($"lock-{caseId}-{version}.csv", csv));
    }

    private Task AddLockAsync(string name, string caseId, double? minScore = null) =>
        RunOkAsync("query",
            "insert into quality.locks (lock_name, title, incident_url, dataset_id, case_id, metric, min_score, source_trace_id, created_at) values "
            + $"('{name}', 'Refund amount doubled', 'https://example.test/INC-{name}', 'refund-golden', '{caseId}', null, "
            + $"{(minScore is { } min ? min.ToString(CultureInfo.InvariantCulture) : "null")}, null, timestamp '2026-11-20 09:00:00')");

    private Task AddComparisonAsync(string name = "refund-v4", string baseline = "refund-v3", string candidate = "refund-v4") =>
        RunOkAsync("compare", "add", "--name", name, "--key", "prompt_version", "--baseline", baseline, "--candidate", candidate);

    private static XDocument ValidJUnit(string path)
    {
        var schemas = new XmlSchemaSet();
        using (var reader = XmlReader.Create(new StringReader(JUnitSchema)))
        {
            schemas.Add(null, reader);
        }

        var problems = new List<string>();
        var settings = new XmlReaderSettings { ValidationType = ValidationType.Schema, Schemas = schemas };
        settings.ValidationFlags |= XmlSchemaValidationFlags.ReportValidationWarnings;
        settings.ValidationEventHandler += (_, args) => problems.Add($"{args.Severity}: {args.Message}");
        using (var reader = XmlReader.Create(path, settings))
        {
            while (reader.Read())
            {
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        return XDocument.Load(path);
    }

    private static XElement TestCase(XDocument junit, string name) =>
        junit.Descendants("testcase").Single(testCase => (string?)testCase.Attribute("name") == name);

    [Fact]
    public async Task A_lock_passing_on_the_baseline_and_failing_on_the_candidate_fails_the_gate_and_is_named()
    {
        await LoadStoryAsync();
        await LoadLockCaseAsync("case-refund-amount", "refund-v3", 0.9);
        await LoadLockCaseAsync("case-refund-amount", "refund-v4", 0.2);
        await LoadLockCaseAsync("case-greeting", "refund-v3", 1.0);
        await LoadLockCaseAsync("case-greeting", "refund-v4", 1.0);
        await AddLockAsync("lock-refund-amount", "case-refund-amount", minScore: 0.5);
        await AddLockAsync("lock-greeting", "case-greeting");
        await AddComparisonAsync();
        var junitPath = Path.Combine(_files.Folder, "reports", "gate.xml");

        var (exitCode, output, error) = await RunAsync("gate", "--comparison", "refund-v4", "--junit", junitPath);

        Assert.True(exitCode == ExitCodes.Failure, output + error);
        Assert.Matches(@"failed\s+lock-refund-amount\s+lowest score 0\.2 < min_score 0\.5; 1 of 1 metric failed in run lock-run-refund-v4\s+\(baseline refund-v3: passed\)", output);
        Assert.Matches(@"passed\s+lock-greeting", output);
        Assert.Equal("gate: FAILED (1 locks failed, 0 missing, 0 slices regressed)", LastLine(output));
        var junit = ValidJUnit(junitPath);
        var failure = TestCase(junit, "lock-refund-amount").Element("failure");
        Assert.NotNull(failure);
        Assert.Equal("failed", (string?)failure.Attribute("type"));
        Assert.Contains("lowest score 0.2 < min_score 0.5", (string?)failure.Attribute("message"));
        Assert.Contains("https://example.test/INC-lock-refund-amount", failure.Value);
        Assert.Equal("refund-v4.locks", (string?)TestCase(junit, "lock-refund-amount").Attribute("classname"));
        Assert.Empty(TestCase(junit, "lock-greeting").Elements());
    }

    [Fact]
    public async Task A_lock_never_run_on_the_candidate_is_missing_and_fails_the_gate()
    {
        await LoadStoryAsync();
        await LoadLockCaseAsync("case-old-bug", "refund-v3", 0.9);
        await AddLockAsync("lock-old-bug", "case-old-bug");
        await AddComparisonAsync();
        var junitPath = Path.Combine(_files.Folder, "gate.xml");

        var (exitCode, output, error) = await RunAsync("gate", "--comparison", "refund-v4", "--junit", junitPath);

        Assert.True(exitCode == ExitCodes.Failure, output + error);
        Assert.Matches(@"missing\s+lock-old-bug\s+no result for case case-old-bug of refund-golden on prompt_version refund-v4", output);
        Assert.Equal("gate: FAILED (0 locks failed, 1 missing, 0 slices regressed)", LastLine(output));
        var failure = TestCase(ValidJUnit(junitPath), "lock-old-bug").Element("failure");
        Assert.NotNull(failure);
        Assert.Equal("missing", (string?)failure.Attribute("type"));
    }

    [Fact]
    public async Task An_A_A_comparison_passes()
    {
        // Candidate scores and traces identical to the baseline's, and a lock passing on both.
        await LoadStoryAsync();
        await LoadLockCaseAsync("case-greeting", "refund-v3", 1.0);
        await LoadLockCaseAsync("case-greeting", "refund-v4", 1.0);
        await AddLockAsync("lock-greeting", "case-greeting");
        await AddComparisonAsync();

        var (exitCode, output, error) = await RunAsync("gate", "--comparison", "refund-v4");

        Assert.True(exitCode == ExitCodes.Success, output + error);
        Assert.Contains("offline: ", output);
        Assert.Contains("online: ", output);
        Assert.DoesNotContain("regressed slices:", output);
        Assert.Equal("gate: PASSED (0 locks failed, 0 missing, 0 slices regressed)", LastLine(output));
    }

    [Fact]
    public async Task The_demo_passes_an_A_A_comparison_and_fails_refund_v4_online()
    {
        var folder = Path.Combine(_files.Folder, "demo");
        var files = DemoDataGenerator.Generate(folder, traces: 10000, evalCases: 150);
        await RunOkAsync("load", files.TraceFile, files.EvalFile, files.LateFeedbackFile);
        await AddComparisonAsync(DemoStory.ComparisonName, DemoDataGenerator.BaselinePromptVersion, DemoDataGenerator.CandidatePromptVersion);
        await RunOkAsync("compare", "add", "--name", "a-a", "--key", "prompt_version",
            "--baseline", "refund-v3", "--candidate", "refund-v3",
            "--baseline-from", "2026-11-01", "--baseline-to", "2026-11-08",
            "--candidate-from", "2026-11-08", "--candidate-to", "2026-11-15");

        var aa = await RunAsync("gate", "--comparison", "a-a");
        var online = await RunAsync("gate", "--comparison", DemoStory.ComparisonName, "--side", "online");
        var offline = await RunAsync("gate", "--comparison", DemoStory.ComparisonName, "--side", "offline");

        Assert.True(aa.ExitCode == ExitCodes.Success, aa.Output + aa.Error);
        Assert.Equal("gate: PASSED (0 locks failed, 0 missing, 0 slices regressed)", LastLine(aa.Output));
        Assert.True(online.ExitCode == ExitCodes.Failure, online.Output + online.Error);
        Assert.Matches(@"online\s+complaint_rate\s+overall: baseline [0-9.]+%, candidate [0-9.]+%, delta \+", online.Output);
        Assert.True(offline.ExitCode == ExitCodes.Success, offline.Output + offline.Error);
    }

    /// <summary>
    /// The issue's acceptance case on the demo's realistic data: a lock on a case refund-v4 broke
    /// and the online regressions fail the gate together, both named, the lock in the JUnit file;
    /// an identical twin of refund-v3 (two windows of the same version) passes with the lock checked.
    /// </summary>
    [Fact]
    public async Task On_the_demo_a_broken_lock_and_a_regressed_slice_fail_the_gate_together_and_an_identical_twin_passes()
    {
        var folder = Path.Combine(_files.Folder, "demo");
        var files = DemoDataGenerator.Generate(folder, traces: 10000, evalCases: 150);
        await RunOkAsync("load", files.TraceFile, files.EvalFile, files.LateFeedbackFile);
        await AddComparisonAsync(DemoStory.ComparisonName, DemoDataGenerator.BaselinePromptVersion, DemoDataGenerator.CandidatePromptVersion);
        await RunOkAsync("compare", "add", "--name", "twin", "--key", "prompt_version",
            "--baseline", "refund-v3", "--candidate", "refund-v3",
            "--baseline-from", "2026-11-01", "--baseline-to", "2026-11-08",
            "--candidate-from", "2026-11-08", "--candidate-to", "2026-11-15");
        // A case refund-v3 passed and refund-v4 failed: the fixed bug that came back.
        var (_, broken, _) = await RunAsync("query",
            "select v3.case_id from quality.eval_records as v3 inner join quality.eval_records as v4 "
            + "on v4.case_id = v3.case_id and v4.metric = v3.metric and v4.prompt_version = 'refund-v4' "
            + "where v3.prompt_version = 'refund-v3' and v3.metric = 'correctness' and v3.is_passed and not v4.is_passed "
            + "order by v3.case_id limit 1", "--format", "csv");
        var caseId = broken.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1].Trim();
        await RunOkAsync("lock", "add", "--name", "refund-came-back", "--dataset", DemoDataGenerator.DatasetId, "--case", caseId,
            "--metric", "correctness", "--incident", "https://tracker.example.com/INC-7");
        var junit = Path.Combine(_files.Folder, "gate.xml");

        var failed = await RunAsync("gate", "--comparison", DemoStory.ComparisonName, "--junit", junit);
        var twin = await RunAsync("gate", "--comparison", "twin");

        Assert.True(failed.ExitCode == ExitCodes.Failure, failed.Output + failed.Error);
        Assert.Contains("refund-came-back", failed.Output);
        Assert.Contains("complaint_rate", failed.Output);
        Assert.StartsWith("gate: FAILED (1 locks failed, 0 missing, ", LastLine(failed.Output));
        var lockCase = XDocument.Load(junit).Descendants("testcase").Single(testcase => (string?)testcase.Attribute("name") == "refund-came-back");
        Assert.NotNull(lockCase.Element("failure"));
        Assert.True(twin.ExitCode == ExitCodes.Success, twin.Output + twin.Error);
        Assert.Equal("gate: PASSED (0 locks failed, 0 missing, 0 slices regressed)", LastLine(twin.Output));
        Assert.Contains("refund-came-back", twin.Output);
    }

    [Fact]
    public async Task A_regressed_slice_fails_the_gate_and_is_named_with_its_numbers()
    {
        await LoadStoryAsync(enterpriseShift: -0.4, consumerShift: 0.1, complaints: true);
        await AddComparisonAsync();
        var junitPath = Path.Combine(_files.Folder, "gate.xml");

        var both = await RunAsync("gate", "--comparison", "refund-v4", "--junit", junitPath);
        var offline = await RunAsync("gate", "--comparison", "refund-v4", "--side", "offline");

        Assert.True(both.ExitCode == ExitCodes.Failure, both.Output + both.Error);
        Assert.Contains("regressed slices:", both.Output);
        Assert.Matches(
            @"offline\s+mean_score:correctness\s+feature=refund_request, customer_tier=enterprise: baseline 0\.698, candidate 0\.298, delta -0\.400 \[-0\.400, -0\.400\], p_adjusted <0\.0001",
            both.Output);
        Assert.Matches(
            @"online\s+complaint_rate\s+feature=refund_request, customer_tier=enterprise: baseline [0-9.]+%, candidate 50\.0%, delta \+[0-9.]+ pp \[\+[0-9.]+, \+[0-9.]+\], p_adjusted [<0-9.]+",
            both.Output);
        Assert.Matches(@"gate: FAILED \(0 locks failed, 0 missing, [1-9][0-9]* slices regressed\)", LastLine(both.Output));
        var junit = ValidJUnit(junitPath);
        var regressed = TestCase(junit, "complaint_rate [feature=refund_request, customer_tier=enterprise]");
        Assert.Equal("refund-v4.online", (string?)regressed.Attribute("classname"));
        Assert.Equal("regressed", (string?)regressed.Element("failure")?.Attribute("type"));
        Assert.Empty(TestCase(junit, "mean_score:correctness [feature=refund_request, customer_tier=consumer]").Elements());

        Assert.Equal(ExitCodes.Failure, offline.ExitCode);
        Assert.DoesNotContain("complaint_rate", offline.Output);
        Assert.DoesNotContain("online:", offline.Output);
    }

    [Fact]
    public async Task Alpha_tightens_or_loosens_the_p_adjusted_threshold()
    {
        // Consumer scores drop by 0.1 on a third of the consumer cases only: a small, real regression.
        await LoadStoryAsync(enterpriseShift: 0, consumerShift: 0);
        var evals = new StringBuilder(CanonicalFiles.EvalHeader).Append('\n');
        for (var index = 0; index < 80; index++)
        {
            var enterprise = index % 2 == 0;
            var baseScore = (enterprise ? 0.6 : 0.5) + index % 3 * 0.1;
            var score = !enterprise && index % 3 == 0 ? baseScore - 0.1 : baseScore;
            evals.Append(CultureInfo.InvariantCulture,
                $"promptfoo,run-refund-v5,case-{index:D3},correctness,1,gpt-4o,refund-v5,refund-golden,refund_request,"
                + $"{(enterprise ? "enterprise" : "consumer")},{score:0.00},{(score >= 0.5 ? "true" : "false")},2026-11-20T10:00:00Z,100\n");
        }

        await RunOkAsync("load", _files.Write("evals-v5.csv", evals.ToString()));
        await AddComparisonAsync("refund-v5", candidate: "refund-v5");

        var strict = await RunAsync("gate", "--comparison", "refund-v5", "--side", "offline", "--alpha", "0.000000000001");
        var loose = await RunAsync("gate", "--comparison", "refund-v5", "--side", "offline", "--alpha", "0.5");

        Assert.True(strict.ExitCode == ExitCodes.Success, strict.Output + strict.Error);
        Assert.Contains("p_adjusted < 1E-12", strict.Output);
        Assert.True(loose.ExitCode == ExitCodes.Failure, loose.Output + loose.Error);
        Assert.Matches(@"offline\s+mean_score:correctness\s+feature=refund_request, customer_tier=consumer: ", loose.Output);
    }

    [Fact]
    public async Task A_written_baseline_gates_a_later_candidate_against_the_accepted_values()
    {
        // Accept refund-v4 (worse for enterprise than refund-v3, as the team decided), with one lock
        // passing and one lock already failing on it.
        await LoadStoryAsync(enterpriseShift: -0.2);
        await LoadLockCaseAsync("case-greeting", "refund-v4", 1.0);
        await LoadLockCaseAsync("case-known-bug", "refund-v4", 0.1);
        await AddLockAsync("lock-greeting", "case-greeting");
        await AddLockAsync("lock-known-bug", "case-known-bug");
        await AddComparisonAsync();
        var pinnedPath = Path.Combine(_files.Folder, "baselines", "refund.json");

        var written = await RunAsync("gate", "--comparison", "refund-v4", "--write-baseline", pinnedPath);

        Assert.Equal(ExitCodes.Failure, written.ExitCode);
        Assert.Contains($"wrote the accepted baseline to {pinnedPath}: prompt_version refund-v4", written.Output);
        using (var document = JsonDocument.Parse(File.ReadAllText(pinnedPath)))
        {
            var root = document.RootElement;
            Assert.Equal(GateCommand.BaselineFormat, root.GetProperty("format").GetString());
            Assert.Equal("refund-v4", root.GetProperty("candidate").GetString());
            var overall = root.GetProperty("slices").EnumerateArray().Single(slice =>
                slice.GetProperty("side").GetString() == "offline" && slice.GetProperty("metric").GetString() == "mean_score:correctness"
                && slice.GetProperty("slice_level").GetString() == "overall");
            Assert.InRange(overall.GetProperty("value").GetDouble(), 0.54, 0.56);
            Assert.Equal(80, overall.GetProperty("n").GetInt64());
            Assert.True(overall.GetProperty("ci_half_width").GetDouble() >= 0);
            var locks = root.GetProperty("locks").EnumerateArray()
                .ToDictionary(item => item.GetProperty("lock_name").GetString()!, item => item.GetProperty("status").GetString());
            Assert.Equal("passed", locks["lock-greeting"]);
            Assert.Equal("failed", locks["lock-known-bug"]);
        }

        // The same candidate against its own accepted values passes, although it is still worse than refund-v3.
        var same = await RunAsync("gate", "--comparison", "refund-v4", "--baseline-from", pinnedPath);
        Assert.True(same.ExitCode == ExitCodes.Success, same.Output + same.Error);
        Assert.Contains("against the accepted baseline", same.Output);
        Assert.Equal("gate: PASSED (0 locks failed, 0 missing, 0 slices regressed)", LastLine(same.Output));

        // refund-v5 loses 0.3 on consumer cases and breaks the greeting lock; the known bug stays failing (accepted).
        await LoadStoryAsync("refund-v5", enterpriseShift: -0.2, consumerShift: -0.3, withBaseline: false);
        await LoadLockCaseAsync("case-greeting", "refund-v5", 0.0);
        await LoadLockCaseAsync("case-known-bug", "refund-v5", 0.1);
        await AddComparisonAsync("refund-v5", baseline: "refund-v4", candidate: "refund-v5");
        var junitPath = Path.Combine(_files.Folder, "pinned.xml");

        var later = await RunAsync("gate", "--comparison", "refund-v5", "--baseline-from", pinnedPath, "--junit", junitPath);

        Assert.True(later.ExitCode == ExitCodes.Failure, later.Output + later.Error);
        Assert.Matches(@"failed\s+lock-greeting", later.Output);
        Assert.Matches(@"failed\s+lock-known-bug.*not passed when the baseline was accepted", later.Output);
        Assert.Matches(
            @"offline\s+mean_score:correctness\s+feature=refund_request, customer_tier=consumer: worse than accepted: accepted 0\.600, candidate 0\.300, change -0\.300, tolerance ±0\.[0-9]+",
            later.Output);
        Assert.DoesNotMatch(@"offline\s+mean_score:correctness\s+feature=refund_request, customer_tier=enterprise:", later.Output);
        Assert.Matches(@"gate: FAILED \(1 locks failed, 0 missing, [1-9][0-9]* slices regressed\)", LastLine(later.Output));
        var junit = ValidJUnit(junitPath);
        Assert.Contains("(passed in the accepted baseline)", (string?)TestCase(junit, "lock-greeting").Element("failure")?.Attribute("message"));
        Assert.Empty(TestCase(junit, "lock-known-bug").Elements());
    }

    [Fact]
    public async Task The_junit_file_has_one_valid_testcase_per_lock_and_per_checked_slice_metric()
    {
        await LoadStoryAsync(enterpriseShift: -0.4, complaints: true);
        await LoadLockCaseAsync("case-greeting", "refund-v4", 1.0);
        await AddLockAsync("lock-greeting", "case-greeting");
        await AddLockAsync("lock-<never-run> & \"quoted\"", "case-nowhere");
        await AddComparisonAsync();
        var junitPath = Path.Combine(_files.Folder, "gate.xml");
        var rows = await RunAsync("query", "select count(*) from quality.slice_deltas where comparison_name = 'refund-v4'", "--format", "csv");

        var (exitCode, output, _) = await RunAsync("gate", "--comparison", "refund-v4", "--junit", junitPath);

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Contains($"wrote JUnit XML to {junitPath}", output);
        var bytes = File.ReadAllBytes(junitPath);
        Assert.False(bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF, "no byte order mark");
        var junit = ValidJUnit(junitPath);
        var root = junit.Root!;
        Assert.Equal("testsuites", root.Name.LocalName);
        var suites = root.Elements("testsuite").ToList();
        Assert.Equal(["refund-v4 locks", "refund-v4 offline slice deltas", "refund-v4 online slice deltas"],
            suites.Select(suite => (string)suite.Attribute("name")!));
        foreach (var suite in suites)
        {
            var cases = suite.Elements("testcase").ToList();
            Assert.Equal(cases.Count, (int)suite.Attribute("tests")!);
            Assert.Equal(cases.Count(testCase => testCase.Element("failure") is not null), (int)suite.Attribute("failures")!);
            Assert.Equal(cases.Count(testCase => testCase.Element("skipped") is not null), (int)suite.Attribute("skipped")!);
            Assert.Equal(0, (int)suite.Attribute("errors")!);
            Assert.All(cases, testCase =>
            {
                Assert.False(string.IsNullOrEmpty((string?)testCase.Attribute("classname")));
                Assert.False(string.IsNullOrEmpty((string?)testCase.Attribute("name")));
                Assert.All(testCase.Elements("failure"), failure => Assert.False(string.IsNullOrEmpty((string?)failure.Attribute("message"))));
            });
        }

        var all = root.Descendants("testcase").ToList();
        Assert.Equal(all.Count, (int)root.Attribute("tests")!);
        Assert.Equal(all.Count(testCase => testCase.Element("failure") is not null), (int)root.Attribute("failures")!);
        Assert.Equal(2 + int.Parse(rows.Output.Split('\n')[1], CultureInfo.InvariantCulture), all.Count);
        Assert.Equal(all.Count, all.Select(testCase => $"{testCase.Attribute("classname")}|{testCase.Attribute("name")}").Distinct().Count());
        Assert.Equal("missing", (string?)TestCase(junit, "lock-<never-run> & \"quoted\"").Element("failure")?.Attribute("type"));
    }

    [Fact]
    public async Task Usage_errors_exit_2_with_one_sentence()
    {
        await AddComparisonAsync();
        var notABaseline = _files.Write("not-a-baseline.json", """{"slices": []}""");

        var unknown = await RunAsync("gate", "--comparison", "nope");
        var both = await RunAsync("gate", "--comparison", "refund-v4", "--baseline-from", "a.json", "--write-baseline", "b.json");
        var alpha = await RunAsync("gate", "--comparison", "refund-v4", "--alpha", "1.5");
        var side = await RunAsync("gate", "--comparison", "refund-v4", "--side", "sideways");
        var missingFile = await RunAsync("gate", "--comparison", "refund-v4", "--baseline-from", Path.Combine(_files.Folder, "absent.json"));
        var wrongFile = await RunAsync("gate", "--comparison", "refund-v4", "--baseline-from", notABaseline);
        var noComparison = await RunAsync("gate");

        Assert.Equal(ExitCodes.UsageError, unknown.ExitCode);
        Assert.Contains("no comparison named 'nope'; known comparisons: refund-v4", unknown.Error);
        Assert.Equal(ExitCodes.UsageError, both.ExitCode);
        Assert.Contains("--baseline-from and --write-baseline exclude each other", both.Error);
        Assert.Equal(ExitCodes.UsageError, alpha.ExitCode);
        Assert.Contains("--alpha 1.5 is not a significance level", alpha.Error);
        Assert.Equal(ExitCodes.UsageError, side.ExitCode);
        Assert.Equal(ExitCodes.UsageError, missingFile.ExitCode);
        Assert.Contains("absent.json could not be read", missingFile.Error);
        Assert.Equal(ExitCodes.UsageError, wrongFile.ExitCode);
        Assert.Contains("is not a gate baseline", wrongFile.Error);
        Assert.Equal(ExitCodes.UsageError, noComparison.ExitCode);
    }
}
