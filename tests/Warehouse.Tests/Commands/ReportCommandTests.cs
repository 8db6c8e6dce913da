using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Demo;
using Warehouse.Reporting;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Commands;

/// <summary>
/// `warehouse report` through the Cli, read as text (the browser test in Reports/ reads it through
/// Chromium): the demo story is in the file, every chart is well-formed inline SVG with its own clip
/// ids, hostile metadata is escaped everywhere (tables, chart labels, links), the options and the
/// empty cases behave, and DuckDB and PostgreSQL tell the same story from the same files.
/// </summary>
public sealed partial class ReportCommandTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    private string Database => Path.Combine(_files.Folder, "warehouse.duckdb");

    public void Dispose() => _files.Dispose();

    /// <summary>
    /// A complaint trace whose every label and link is an attack on the page; flagged for every seed reason
    /// and the newest, so it tops the seed candidates table.
    /// </summary>
    private const string HostileTrace =
        """
        {"source":"langfuse","trace_id":"<script>alert('trace')</script>","started_at":"2026-11-30T12:00:00Z","model_version":"gpt-4o","prompt_version":"refund-v4","feature":"<script>window.__pwned = 1</script>","intent":"<img src=x onerror=\"window.__pwned=2\">","language":"en","customer_tier":"enterprise\" onmouseover=\"alert(1)","has_complaint":true,"feedback_score":0.1,"is_error":true,"has_json_parse_failure":true,"has_tool_parse_failure":true,"is_retrieval_empty":true,"trace_url":"javascript:alert(document.cookie)","input_preview":"</td></tr></table><script>window.__pwned = 3</script>&amp;"}

        """;

    [Fact]
    public async Task Report_on_the_demo_shows_the_offline_online_contradiction()
    {
        await LoadDemoAsync(Database);
        var path = Path.Combine(_files.Folder, "out", "report.html");

        var (exitCode, output, error) = await RunAsync(Database, "report", "--out", path);

        Assert.True(exitCode == ExitCodes.Success, output + error);
        Assert.Contains($"comparison {DemoStory.ComparisonName}", output);
        var html = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        foreach (var section in new[] { "headline", "forest", "divergences", "locks", "trend", "coverage", "seeds", "load-health" })
        {
            Assert.Contains($"data-section=\"{section}\"", html);
        }

        Assert.Equal(["forest", "trend-online", "trend-offline", "slice-mix"], ChartKinds(html));
        Assert.Contains("<strong>offline:</strong> improved", html);
        Assert.Contains("<strong>online:</strong> regressed", html);
        Assert.Contains("Offline and online disagree", html);
        Assert.Contains("data-divergence-type=\"offline_win_online_loss\"", html);
        // The overall complaint rate of the story, and where it broke: enterprise and long contexts.
        var complaints = OverallComplaintRate().Match(html);
        Assert.True(complaints.Success, "no overall complaint rate in the headline");
        Assert.True(double.Parse(complaints.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)
            > double.Parse(complaints.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1, complaints.Value);
        var forest = ChartText(html, "forest");
        Assert.Contains(forest, label => label.Contains("enterprise", StringComparison.Ordinal));
        Assert.Contains(forest, label => label.Contains("8k-32k", StringComparison.Ordinal) || label.Contains(">=32k", StringComparison.Ordinal));
        Assert.Contains(ChartText(html, "slice-mix"), label => label.StartsWith("context: >=32k", StringComparison.Ordinal));
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(Path.GetDirectoryName(path)!), file => file.Contains(".tmp-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Report_charts_are_well_formed_svg_with_their_own_clip_paths()
    {
        await LoadDemoAsync(Database);
        var path = Path.Combine(_files.Folder, "report.html");
        await RunOkAsync(Database, "report", "--out", path);

        var html = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        var charts = SvgElements(html).ToList();
        Assert.Equal(4, charts.Count);
        var ids = new List<string>();
        foreach (var svg in charts)
        {
            var document = XDocument.Parse(svg);
            Assert.NotNull(document.Root!.Attribute("viewBox"));
            Assert.Contains(document.Descendants(), element => element.Name.LocalName is "polyline" or "path" or "rect" or "line");
            ids.AddRange(document.Descendants().Select(element => (string?)element.Attribute("id")).OfType<string>());
        }

        // A clip path id used twice on one page makes the browser clip every later chart by the first one.
        Assert.NotEmpty(ids);
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Report_escapes_hostile_trace_metadata_in_tables_charts_and_links()
    {
        await LoadDemoAsync(Database);
        await RunOkAsync(Database, "load", _files.Write("hostile.jsonl", HostileTrace));
        var path = Path.Combine(_files.Folder, "report.html");
        await RunOkAsync(Database, "report", "--out", path);

        var html = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("javascript:", html.Replace("javascript:alert(document.cookie)", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"javascript", html, StringComparison.OrdinalIgnoreCase);
        // Quotes in text content are only text; in a tag they would open an attribute.
        Assert.DoesNotMatch("<[^>]*\\son[a-z]+=", html);
        Assert.Contains("&lt;script&gt;window.__pwned = 1&lt;/script&gt;", html);
        Assert.Contains("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;window.__pwned = 3&lt;/script&gt;&amp;amp;", html);
        // The hostile feature is a slice with a complaint and no eval cases: it reaches the slice mix chart's labels too.
        Assert.Contains(ChartText(html, "slice-mix"), label => label.StartsWith("feature: <script>", StringComparison.Ordinal));
        // The document is still one page: the injected closing tags did not end the table or the body early.
        Assert.Equal(Regex.Count(html, "<table"), Regex.Count(html, "</table>"));
        Assert.Single(Regex.Matches(html, "</body>"));
        Assert.Contains("content=\"default-src 'none'", html);
    }

    [Fact]
    public async Task Report_with_comparison_shows_only_that_comparison()
    {
        await LoadDemoAsync(Database);
        await RunOkAsync(Database, "compare", "add", "--name", "a-a", "--key", "prompt_version", "--baseline", "refund-v3", "--candidate", "refund-v3",
            "--baseline-from", "2026-11-01", "--baseline-to", "2026-11-08", "--candidate-from", "2026-11-08", "--candidate-to", "2026-11-15");
        var both = Path.Combine(_files.Folder, "both.html");
        var one = Path.Combine(_files.Folder, "one.html");

        await RunOkAsync(Database, "report", "--out", both);
        var (exitCode, output, error) = await RunAsync(Database, "report", "--out", one, "--comparison", "a-a");

        Assert.True(exitCode == ExitCodes.Success, output + error);
        Assert.Equal(2, Regex.Count(await File.ReadAllTextAsync(both, TestContext.Current.CancellationToken), "<article class=\"comparison\""));
        var html = await File.ReadAllTextAsync(one, TestContext.Current.CancellationToken);
        Assert.Single(Regex.Matches(html, "<article class=\"comparison\""));
        Assert.Contains("data-comparison=\"a-a\"", html);
        Assert.DoesNotContain($"data-comparison=\"{DemoStory.ComparisonName}\"", html);
    }

    [Fact]
    public async Task Report_refuses_an_unknown_comparison_and_names_the_known_ones()
    {
        await LoadDemoAsync(Database);
        var path = Path.Combine(_files.Folder, "report.html");

        var (exitCode, _, error) = await RunAsync(Database, "report", "--out", path, "--comparison", "refund-v9");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("refund-v9", error);
        Assert.Contains(DemoStory.ComparisonName, error);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Report_refuses_a_folder_as_out()
    {
        var (exitCode, _, error) = await RunAsync(Database, "report", "--out", _files.Folder);

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("must name a file", error);
    }

    [Fact]
    public async Task Report_on_an_empty_warehouse_says_what_is_missing()
    {
        var path = Path.Combine(_files.Folder, "empty.html");

        var (exitCode, output, error) = await RunAsync(Database, "report", "--out", path);

        Assert.True(exitCode == ExitCodes.Success, output + error);
        Assert.Contains("no comparison registered", output);
        var html = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        Assert.Contains("data-section=\"no-comparisons\"", html);
        Assert.Contains("Nothing has been loaded yet.", html);
        Assert.Contains("No production traces yet, so no slice mix.", html);
        Assert.Empty(ChartKinds(html));
    }

    [Fact]
    public async Task Report_replaces_an_existing_file_whole()
    {
        var path = _files.Write("report.html", new string('x', 1_000_000));

        await RunOkAsync(Database, "report", "--out", path);

        var html = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("xxxx", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_on_PostgreSQL_tells_the_same_story_as_on_DuckDB()
    {
        await using var postgres = await TestDatabases.PostgresAsync();
        var connection = postgres.Engine.ConnectionString;
        await LoadDemoAsync(Database);
        await LoadDemoAsync(connection, "--engine", "postgres");
        var duckPath = Path.Combine(_files.Folder, "duckdb.html");
        var postgresPath = Path.Combine(_files.Folder, "postgres.html");

        await RunOkAsync(Database, "report", "--out", duckPath);
        await RunOkAsync(connection, "report", "--out", postgresPath, "--engine", "postgres");

        var duck = Comparable(await File.ReadAllTextAsync(duckPath, TestContext.Current.CancellationToken));
        var pg = Comparable(await File.ReadAllTextAsync(postgresPath, TestContext.Current.CancellationToken));
        Assert.Equal(Sections(duck), Sections(pg));
        Assert.Equal(TableCells(duck, "divergences"), TableCells(pg, "divergences"));
        Assert.Equal(TableCells(duck, "definite-deltas"), TableCells(pg, "definite-deltas"));
        Assert.Equal(TableCells(duck, "coverage-gaps"), TableCells(pg, "coverage-gaps"));
        Assert.Equal(TableCells(duck, "trend-online"), TableCells(pg, "trend-online"));
        Assert.Equal(ChartText(duck, "forest"), ChartText(pg, "forest"));
        Assert.Equal(OverallComplaintRate().Match(duck).Value, OverallComplaintRate().Match(pg).Value);
    }

    // --- helpers ----------------------------------------------------------------------------------

    private async Task LoadDemoAsync(string connection, params string[] engine)
    {
        // The same seed every time: both engines of one test load the same files' content.
        var files = DemoDataGenerator.Generate(Path.Combine(_files.Folder, "demo-" + Guid.NewGuid().ToString("N")[..8]), traces: 6000, evalCases: 150);
        await RunOkAsync(connection, ["load", files.TraceFile, files.EvalFile, files.LateFeedbackFile, .. engine]);
        await RunOkAsync(connection, ["compare", "add", "--name", DemoStory.ComparisonName, "--key", "prompt_version",
            "--baseline", DemoDataGenerator.BaselinePromptVersion, "--candidate", DemoDataGenerator.CandidatePromptVersion, .. engine]);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string connection, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await new Cli(output, error, new ConfigurationBuilder().Build())
            .InvokeAsync([.. args, "--connection", connection], TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    private static async Task RunOkAsync(string connection, params string[] args)
    {
        var (exitCode, output, error) = await RunAsync(connection, args);
        Assert.True(exitCode is ExitCodes.Success, $"{string.Join(' ', args)} exited {exitCode}: {output}{error}");
    }

    private static List<string> ChartKinds(string html) =>
        ChartKind().Matches(html).Select(match => match.Groups[1].Value).ToList();

    private static IEnumerable<string> SvgElements(string html) =>
        SvgElement().Matches(html).Select(match => match.Value);

    /// <summary>The text elements of one chart, unescaped (what a reader sees).</summary>
    private static List<string> ChartText(string html, string kind)
    {
        var start = html.IndexOf($"data-chart=\"{kind}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {kind} chart");
        var svg = SvgElement().Match(html, start).Value;
        return XDocument.Parse(svg).Descendants().Where(element => element.Name.LocalName == "text").Select(element => element.Value).ToList();
    }

    private static List<string> TableCells(string html, string table)
    {
        var start = html.IndexOf($"data-table=\"{table}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {table} table");
        var end = html.IndexOf("</table>", start, StringComparison.Ordinal);
        return Cell().Matches(html[start..end]).Select(match => match.Groups[1].Value).ToList();
    }

    private static List<string> Sections(string html) =>
        Section().Matches(html).Select(match => match.Groups[1].Value).ToList();

    /// <summary>The report without what legitimately differs: when it was made and on which engine.</summary>
    private static string Comparable(string html) =>
        Generated().Replace(html, "<p>Generated …");

    [GeneratedRegex("overall complaint_rate ([0-9.]+) % → ([0-9.]+) %")]
    private static partial Regex OverallComplaintRate();

    [GeneratedRegex("<figure class=\"chart\" data-chart=\"([^\"]+)\"")]
    private static partial Regex ChartKind();

    [GeneratedRegex("<svg .*?</svg>", RegexOptions.Singleline)]
    private static partial Regex SvgElement();

    [GeneratedRegex("<td[^>]*>(.*?)</td>", RegexOptions.Singleline)]
    private static partial Regex Cell();

    [GeneratedRegex("data-section=\"([^\"]+)\"")]
    private static partial Regex Section();

    [GeneratedRegex("<p>Generated [^<]*")]
    private static partial Regex Generated();
}
