using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Demo;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Reports;

/// <summary>
/// One report, opened once in headless Chromium for all of <see cref="ReportBrowserTests"/>: the demo
/// story (10,000 traces, 150 eval cases, the refund-v3 → refund-v4 comparison and a lock on a case
/// refund-v4 broke) plus hostile traces whose labels and input are HTML and script, written by
/// `warehouse report` on a temp DuckDB file. The rendered page is saved as a full-page PNG next to a
/// copy of the HTML under the test results folder.
/// </summary>
public sealed class ReportBrowserFixture : IAsyncLifetime
{
    public const string ScriptPayload = "<script>window.__pwned = 1</script>";

    public const string ImagePayload = "<img src=x onerror=\"window.__pwned=2\">";

    /// <summary>A trace URL that would run script if the report made it a link.</summary>
    public const string ScriptUrl = "javascript:window.__pwned=3";

    public const string LockName = "refund-came-back";

    /// <summary>How many hostile traces per prompt version: enough for the slice to have statistics.</summary>
    private const int HostileTracesPerVersion = 30;

    private readonly CanonicalFiles _files = new();
    private BrowserSession? _browser;
    private OfflinePage? _page;

    /// <summary>Why the tests skip (no browser on this machine), or null.</summary>
    public string? SkipReason { get; private set; }

    public OfflinePage Page => _page ?? throw new InvalidOperationException(SkipReason ?? "the report page is not open");

    public string ExecutablePath => _browser?.ExecutablePath ?? "";

    public string ArtifactFolder { get; private set; } = "";

    public string ScreenshotPath => Path.Combine(ArtifactFolder, "report.png");

    public string HtmlPath => Path.Combine(ArtifactFolder, "report.html");

    public string ReportOutput { get; private set; } = "";

    private string Database => Path.Combine(_files.Folder, "warehouse.duckdb");

    public async ValueTask InitializeAsync()
    {
        var executable = BrowserSession.FindExecutable(out var reason);
        if (executable is null)
        {
            SkipReason = reason;
            return;
        }

        var report = await WriteReportAsync(TestContext.Current.CancellationToken);
        ArtifactFolder = Path.Combine(ResultsDirectory(), "report-browser");
        Directory.CreateDirectory(ArtifactFolder);
        File.Copy(report, HtmlPath, overwrite: true);

        _browser = await BrowserSession.LaunchAsync(executable);
        _page = await _browser.OpenAsync(report);
        await _page.Page.ScreenshotAsync(ScreenshotPath, new PuppeteerSharp.ScreenshotOptions { FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        if (_page is not null)
        {
            await _page.DisposeAsync();
        }

        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _files.Dispose();
    }

    /// <summary>
    /// The folder `--results-directory` names (`dotnet test` passes it on to the test application, as
    /// `.ci/run` does), else TestResults beside the test assembly. Without the option `dotnet test` keeps
    /// the attachments (<see cref="TestContext.AddAttachment(string, byte[], string)"/>) in a TestResults
    /// folder of its own, which the test application is not told about.
    /// </summary>
    private static string ResultsDirectory()
    {
        var arguments = Environment.GetCommandLineArgs();
        for (var index = 0; index < arguments.Length; index++)
        {
            if (arguments[index] == "--results-directory" && index + 1 < arguments.Length)
            {
                return Path.GetFullPath(arguments[index + 1]);
            }

            if (arguments[index].StartsWith("--results-directory=", StringComparison.Ordinal))
            {
                return Path.GetFullPath(arguments[index]["--results-directory=".Length..]);
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "TestResults");
    }

    private async Task<string> WriteReportAsync(CancellationToken cancellationToken)
    {
        var demo = DemoDataGenerator.Generate(Path.Combine(_files.Folder, "demo"), traces: 10000, evalCases: 150);
        await RunOkAsync(cancellationToken, "load", demo.TraceFile, demo.EvalFile, demo.LateFeedbackFile, _files.Write("hostile.jsonl", HostileTraces()));
        await RunOkAsync(cancellationToken, "compare", "add", "--name", DemoStory.ComparisonName, "--key", "prompt_version",
            "--baseline", DemoDataGenerator.BaselinePromptVersion, "--candidate", DemoDataGenerator.CandidatePromptVersion);

        // A case refund-v3 passed and refund-v4 failed: the fixed bug that came back, now a lock.
        var broken = await RunOkAsync(cancellationToken, "query",
            "select v3.case_id from quality.eval_records as v3 inner join quality.eval_records as v4 "
            + "on v4.case_id = v3.case_id and v4.metric = v3.metric and v4.prompt_version = 'refund-v4' "
            + "where v3.prompt_version = 'refund-v3' and v3.metric = 'correctness' and v3.is_passed and not v4.is_passed "
            + "order by v3.case_id limit 1", "--format", "csv");
        var caseId = broken.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1].Trim();
        await RunOkAsync(cancellationToken, "lock", "add", "--name", LockName, "--dataset", DemoDataGenerator.DatasetId, "--case", caseId,
            "--metric", "correctness", "--incident", "https://tracker.example.com/INC-7", "--title", "Refund doubled " + ImagePayload);

        var report = Path.Combine(_files.Folder, "out", "report.html");
        ReportOutput = await RunOkAsync(cancellationToken, "report", "--out", report);
        return report;
    }

    /// <summary>
    /// Canonical trace_summaries rows whose labels are markup: complaints with every other seed reason
    /// too, so they head the seed candidates and form a coverage gap of their own.
    /// </summary>
    private static string HostileTraces()
    {
        var text = new StringBuilder();
        foreach (var version in new[] { DemoDataGenerator.BaselinePromptVersion, DemoDataGenerator.CandidatePromptVersion })
        {
            var firstDay = version == DemoDataGenerator.BaselinePromptVersion ? 1 : 15;
            for (var index = 0; index < HostileTracesPerVersion; index++)
            {
                var row = new Dictionary<string, object?>
                {
                    ["source"] = "langfuse",
                    ["trace_id"] = string.Create(CultureInfo.InvariantCulture, $"hostile-{version}-{index:D2}"),
                    // Inside the demo's online window of the version (baseline 1-14 November, candidate 15-28).
                    ["started_at"] = string.Create(CultureInfo.InvariantCulture, $"2026-11-{firstDay + index % 14:D2}T12:00:00Z"),
                    ["prompt_version"] = version,
                    ["feature"] = ScriptPayload,
                    ["intent"] = ImagePayload,
                    ["language"] = "en",
                    ["customer_tier"] = "consumer",
                    ["context_tokens"] = 1200,
                    ["latency_ms"] = 900,
                    ["is_error"] = true,
                    ["error_type"] = ImagePayload,
                    ["has_complaint"] = true,
                    ["feedback_score"] = 0.0,
                    ["has_tool_parse_failure"] = true,
                    ["has_json_parse_failure"] = true,
                    ["is_retrieval_empty"] = true,
                    ["trace_url"] = ScriptUrl,
                    ["input_preview"] = $"Refund please {ScriptPayload} {ImagePayload} & \"quotes\"",
                };
                text.Append(JsonSerializer.Serialize(row)).Append('\n');
            }
        }

        return text.ToString();
    }

    private async Task<string> RunOkAsync(CancellationToken cancellationToken, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await new Cli(output, error, new ConfigurationBuilder().Build())
            .InvokeAsync([.. args, "--connection", Database], cancellationToken);
        Assert.True(exitCode == ExitCodes.Success, $"{string.Join(' ', args)}: exit {exitCode}\n{output}\n{error}");
        return output.ToString();
    }
}
