using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Commands;

/// <summary>`lock add|list|remove` end to end on DuckDB, and the lock in quality.lock_status.</summary>
public sealed class LockCommandTests : IDisposable
{
    private const string LocksHeader =
        "lock_name,title,incident_url,dataset_id,case_id,metric,min_score,source_trace_id,created_at,versions_passed,versions_failed,versions_missing";

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

    private Task<(int ExitCode, string Output, string Error)> AddIbanLockAsync(params string[] more) =>
        RunAsync(["lock", "add", "--name", "refund-german-iban", "--dataset", "refund-golden", "--case", "case-017", .. more]);

    /// <summary>
    /// Eval records on prompt refund-v3: case-017 (seeded from trace tr-017, passes), case-018 (no
    /// trace, fails), and trace tr-dup seeded two cases: case-020 in refund-golden and case-900 in
    /// refund-regressions.
    /// </summary>
    private async Task LoadEvalsAsync()
    {
        var evals = new StringBuilder(CanonicalFiles.EvalHeader).Append(",source_trace_id\n");
        foreach (var (caseId, dataset, score, trace) in new[]
        {
            ("case-017", "refund-golden", 0.9, "tr-017"),
            ("case-018", "refund-golden", 0.2, ""),
            ("case-020", "refund-golden", 0.8, "tr-dup"),
            ("case-900", "refund-regressions", 0.7, "tr-dup"),
        })
        {
            foreach (var metric in new[] { "correctness", "refusal_policy" })
            {
                evals.Append(CultureInfo.InvariantCulture,
                    $"promptfoo,run-1,{caseId},{metric},1,gpt-4o,refund-v3,{dataset},refund_request,enterprise,{score:0.0},"
                    + $"{(score >= 0.5 ? "true" : "false")},2026-11-20T10:00:00Z,100,{trace}\n");
            }
        }

        var load = await RunAsync("load", _files.Write("evals.csv", evals.ToString()));
        Assert.True(load.ExitCode == 0, load.Output + load.Error);
    }

    private static string[] CsvLines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Lock_add_list_and_remove_round_trip()
    {
        await LoadEvalsAsync();

        var added = await AddIbanLockAsync("--metric", "correctness", "--min-score", "0.75", "--trace", "tr-017",
            "--incident", "https://tracker.example.com/INC-42", "--title", "German IBAN refunds were refused");
        var csv = await RunAsync("lock", "list", "--format", "csv");
        var json = await RunAsync("lock", "list", "--format", "json");
        var table = await RunAsync("lock", "list");
        var removed = await RunAsync("lock", "remove", "--name", "refund-german-iban");
        var empty = await RunAsync("lock", "list");
        var emptyCsv = await RunAsync("lock", "list", "--format", "csv");

        Assert.True(added.ExitCode == 0, added.Error);
        Assert.Equal(
            "added lock 'refund-german-iban': dataset 'refund-golden' case 'case-017', metric 'correctness' score >= 0.75, trace 'tr-017', "
            + "incident https://tracker.example.com/INC-42",
            added.Output.TrimEnd());
        Assert.Equal("", added.Error);
        Assert.Equal(0, csv.ExitCode);
        var lines = CsvLines(csv.Output);
        Assert.Equal(LocksHeader, lines[0]);
        Assert.StartsWith(
            "refund-german-iban,German IBAN refunds were refused,https://tracker.example.com/INC-42,refund-golden,case-017,correctness,0.75,tr-017,",
            lines[1]);
        Assert.EndsWith(",5,0,0", lines[1]); // passed on every version key's value of the dataset's records
        Assert.Equal(2, lines.Length);
        using (var document = JsonDocument.Parse(json.Output))
        {
            var row = document.RootElement.EnumerateArray().Single();
            Assert.Equal("case-017", row.GetProperty("case_id").GetString());
            Assert.Equal(0.75, row.GetProperty("min_score").GetDouble());
            Assert.Equal(5, row.GetProperty("versions_passed").GetInt64());
            var createdAt = DateTimeOffset.Parse(row.GetProperty("created_at").GetString()!, CultureInfo.InvariantCulture);
            Assert.InRange(createdAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        }

        Assert.Equal(0, table.ExitCode);
        Assert.Contains("refund-german-iban", table.Output);
        Assert.Contains("(1 row)", table.Output);
        Assert.Equal(0, removed.ExitCode);
        Assert.Equal("removed lock 'refund-german-iban'", removed.Output.TrimEnd());
        Assert.Equal(0, empty.ExitCode);
        Assert.Contains("lock add", empty.Output);
        Assert.Equal([LocksHeader], CsvLines(emptyCsv.Output));
    }

    [Fact]
    public async Task Lock_add_without_metric_or_min_score_says_the_case_must_pass_on_every_metric()
    {
        await LoadEvalsAsync();

        var (exitCode, output, error) = await RunAsync("lock", "add", "--name", "n", "--dataset", "refund-golden", "--case", "case-018");
        var csv = await RunAsync("lock", "list", "--format", "csv");

        Assert.True(exitCode == 0, error);
        Assert.Equal("added lock 'n': dataset 'refund-golden' case 'case-018', every metric must pass", output.TrimEnd());
        Assert.StartsWith("n,,,refund-golden,case-018,,,,", CsvLines(csv.Output)[1]);
        Assert.EndsWith(",0,5,0", CsvLines(csv.Output)[1]); // case-018 fails on every version
    }

    [Fact]
    public async Task Lock_add_from_trace_finds_the_seeded_case_and_names_the_lock_after_it()
    {
        await LoadEvalsAsync();

        var (exitCode, output, error) = await RunAsync("lock", "add", "--from-trace", "tr-017", "--incident", "https://tracker.example.com/INC-7");
        var named = await RunAsync("lock", "add", "--from-trace", "tr-017", "--name", "iban", "--metric", "refusal_policy");
        var csv = await RunAsync("lock", "list", "--format", "csv");

        Assert.True(exitCode == 0, error);
        Assert.Equal(
            "added lock 'case-017': dataset 'refund-golden' case 'case-017', every metric must pass, trace 'tr-017', incident https://tracker.example.com/INC-7",
            output.TrimEnd());
        Assert.True(named.ExitCode == 0, named.Error);
        Assert.StartsWith("added lock 'iban': dataset 'refund-golden' case 'case-017', metric 'refusal_policy' must pass, trace 'tr-017'", named.Output);
        var lines = CsvLines(csv.Output);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("case-017,,https://tracker.example.com/INC-7,refund-golden,case-017,,,tr-017,", lines[1]);
        Assert.StartsWith("iban,,,refund-golden,case-017,refusal_policy,,tr-017,", lines[2]);
    }

    [Fact]
    public async Task Lock_add_from_trace_exits_2_when_no_eval_case_was_seeded_from_the_trace()
    {
        await LoadEvalsAsync();

        var (exitCode, _, error) = await RunAsync("lock", "add", "--from-trace", "tr-404");
        var list = await RunAsync("lock", "list", "--format", "csv");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("no eval record has source_trace_id 'tr-404'", error);
        Assert.Single(CsvLines(list.Output));
    }

    [Fact]
    public async Task Lock_add_from_trace_exits_2_listing_the_cases_when_several_were_seeded_from_the_trace()
    {
        await LoadEvalsAsync();

        var (exitCode, _, error) = await RunAsync("lock", "add", "--from-trace", "tr-dup");
        var narrowed = await RunAsync("lock", "add", "--from-trace", "tr-dup", "--dataset", "refund-regressions");
        var list = await RunAsync("lock", "list", "--format", "csv");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains(
            "2 eval cases have source_trace_id 'tr-dup': dataset 'refund-golden' case 'case-020', dataset 'refund-regressions' case 'case-900'",
            error);
        Assert.Contains("--dataset", error);
        Assert.True(narrowed.ExitCode == 0, narrowed.Error);
        Assert.StartsWith("added lock 'case-900': dataset 'refund-regressions' case 'case-900'", narrowed.Output);
        Assert.Equal(2, CsvLines(list.Output).Length);
    }

    [Fact]
    public async Task Lock_add_exits_2_for_an_existing_name_unless_replace_is_given()
    {
        await LoadEvalsAsync();
        await AddIbanLockAsync();

        var duplicate = await RunAsync("lock", "add", "--name", "refund-german-iban", "--dataset", "refund-golden", "--case", "case-018");
        var replaced = await RunAsync("lock", "add", "--name", "refund-german-iban", "--dataset", "refund-golden", "--case", "case-018",
            "--min-score", "0.1", "--replace");
        var list = await RunAsync("lock", "list", "--format", "csv");

        Assert.Equal(ExitCodes.UsageError, duplicate.ExitCode);
        Assert.Contains("a lock named 'refund-german-iban' already exists (dataset 'refund-golden' case 'case-017', every metric must pass)",
            duplicate.Error);
        Assert.Contains("--replace", duplicate.Error);
        Assert.Equal(0, replaced.ExitCode);
        Assert.Contains("replaced lock 'refund-german-iban': dataset 'refund-golden' case 'case-018', every metric score >= 0.1", replaced.Output);
        var rows = CsvLines(list.Output);
        Assert.Equal(2, rows.Length);
        Assert.StartsWith("refund-german-iban,,,refund-golden,case-018,,0.1,,", rows[1]);
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("-0.1")]
    [InlineData("high")]
    [InlineData("NaN")]
    [InlineData("0,8")]
    public async Task Lock_add_exits_2_for_a_min_score_outside_0_to_1(string minScore)
    {
        var (exitCode, _, error) = await AddIbanLockAsync("--min-score", minScore);
        var list = await RunAsync("lock", "list", "--format", "csv");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains($"--min-score '{minScore}' is not a number from 0 to 1", error);
        Assert.Single(CsvLines(list.Output));
    }

    [Theory]
    [InlineData("tracker.example.com/INC-42")]
    [InlineData("ftp://tracker.example.com/INC-42")]
    [InlineData("https://")]
    [InlineData("https://tracker.example.com/INC 42")]
    public async Task Lock_add_exits_2_for_an_incident_that_is_not_a_well_formed_url(string url)
    {
        var (exitCode, _, error) = await AddIbanLockAsync("--incident", url);

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains($"--incident '{url}' is not a well-formed http(s) URL", error);
    }

    [Theory]
    [InlineData("--name", 201)]
    [InlineData("--dataset", 201)]
    [InlineData("--case", 257)]
    [InlineData("--metric", 129)]
    [InlineData("--title", 501)]
    [InlineData("--trace", 201)]
    public async Task Lock_add_exits_2_for_a_value_longer_than_its_column(string option, int length)
    {
        var args = new Dictionary<string, string> { ["--name"] = "n", ["--dataset"] = "d", ["--case"] = "c" };
        args[option] = new string('x', length);

        var (exitCode, _, error) = await RunAsync(["lock", "add", .. args.SelectMany(pair => new[] { pair.Key, pair.Value })]);

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains($"{option} is {length} characters long; at most {length - 1} fit", error);
    }

    [Fact]
    public async Task Lock_add_exits_2_naming_the_missing_options_without_from_trace()
    {
        var (exitCode, _, error) = await RunAsync("lock", "add", "--name", "n");
        var blank = await RunAsync("lock", "add", "--name", " ", "--dataset", "d", "--case", "c");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("--dataset, --case are required", error);
        Assert.Contains("--from-trace", error);
        Assert.Equal(ExitCodes.UsageError, blank.ExitCode);
        Assert.Contains("--name must not be empty", blank.Error);
    }

    [Fact]
    public async Task Lock_add_stores_quotes_and_sql_verbatim()
    {
        const string name = "x'); drop table quality.locks; --";
        const string dataset = "golden \"v2\" $1 @name";
        const string caseId = "case'017' or 1=1";
        const string title = "Refund of \"50 €\" wasn't paid; select * from quality.locks";

        var added = await RunAsync("lock", "add", "--name", name, "--dataset", dataset, "--case", caseId, "--metric", "m@tric $2",
            "--trace", "tr'--", "--title", title, "--incident", "https://tracker.example.com/INC-42?q=a'b&x=%22");
        var json = await RunAsync("lock", "list", "--format", "json");
        var removed = await RunAsync("lock", "remove", "--name", name);

        Assert.True(added.ExitCode == 0, added.Error);
        Assert.Contains($"added lock '{name}'", added.Output);
        Assert.Contains("no eval record has dataset_id = 'golden \"v2\" $1 @name'", added.Error); // the typo hint; still saved
        using (var document = JsonDocument.Parse(json.Output))
        {
            var row = document.RootElement.EnumerateArray().Single();
            Assert.Equal(name, row.GetProperty("lock_name").GetString());
            Assert.Equal(dataset, row.GetProperty("dataset_id").GetString());
            Assert.Equal(caseId, row.GetProperty("case_id").GetString());
            Assert.Equal("m@tric $2", row.GetProperty("metric").GetString());
            Assert.Equal("tr'--", row.GetProperty("source_trace_id").GetString());
            Assert.Equal(title, row.GetProperty("title").GetString());
            Assert.Equal("https://tracker.example.com/INC-42?q=a'b&x=%22", row.GetProperty("incident_url").GetString());
        }

        Assert.Equal(0, removed.ExitCode);
        Assert.Contains($"removed lock '{name}'", removed.Output);
    }

    [Fact]
    public async Task Lock_remove_exits_2_for_an_unknown_name_and_lists_the_known_ones()
    {
        await AddIbanLockAsync();

        var (exitCode, _, error) = await RunAsync("lock", "remove", "--name", "refund-iban");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("no lock named 'refund-iban'; known locks: refund-german-iban", error);
    }

    [Fact]
    public async Task Lock_status_shows_the_lock_as_missing_for_a_version_that_did_not_run_the_case()
    {
        await LoadEvalsAsync();
        await AddIbanLockAsync();
        var comparison = await RunAsync("compare", "add", "--name", "refund-v4", "--key", "prompt_version", "--baseline", "refund-v3",
            "--candidate", "refund-v4");
        Assert.True(comparison.ExitCode == 0, comparison.Error);

        var status = await RunAsync("query",
            "select version, status from quality.lock_status where lock_name = 'refund-german-iban' and version_key = 'prompt_version' order by version",
            "--format", "csv");
        var versions = await RunAsync("lock", "list", "--versions", "--format", "csv");
        var summary = await RunAsync("lock", "list", "--format", "csv");

        Assert.True(status.ExitCode == 0, status.Error);
        Assert.Equal(["version,status", "refund-v3,passed", "refund-v4,missing"], CsvLines(status.Output));
        Assert.Equal(0, versions.ExitCode);
        var rows = CsvLines(versions.Output);
        Assert.Equal(
            "lock_name,version_key,version,status,metrics_checked,metrics_failed,lowest_score,last_evaluated_at,last_eval_run_id", rows[0]);
        Assert.Contains("refund-german-iban,prompt_version,refund-v3,passed,2,0,0.9,2026-11-20T10:00:00Z,run-1", rows);
        Assert.Contains("refund-german-iban,prompt_version,refund-v4,missing,0,0,,,", rows);
        Assert.EndsWith(",5,0,1", CsvLines(summary.Output)[1]);
    }

    [Fact]
    public async Task Lock_list_rejects_an_unknown_format()
    {
        var (exitCode, _, _) = await RunAsync("lock", "list", "--format", "xml");

        Assert.Equal(ExitCodes.UsageError, exitCode);
    }
}
