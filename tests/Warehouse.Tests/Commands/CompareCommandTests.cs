using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Commands;

/// <summary>`compare add|list|remove` and `deltas` end to end on DuckDB.</summary>
public sealed class CompareCommandTests : IDisposable
{
    private const string SliceDeltasHeader =
        "comparison_name,compare_key,baseline,candidate,side,metric,higher_is_better,slice_level,feature,intent,language,customer_tier,"
        + "output_format,context_band,n_baseline,n_candidate,n_pairs,value_baseline,value_candidate,delta,ci_low,ci_high,"
        + "statistical_test,z_score,p_value,p_adjusted,cases_regressed,cases_improved,verdict";

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

    private Task<(int ExitCode, string Output, string Error)> AddRefundComparisonAsync(params string[] more) =>
        RunAsync(["compare", "add", "--name", "refund-v4", "--key", "prompt_version", "--baseline", "refund-v3", "--candidate", "refund-v4", .. more]);

    /// <summary>
    /// 80 cases run on refund-v3 and refund-v4 (paired), half enterprise, half consumer: v4 loses 0.4
    /// on every enterprise case and gains 0.1 on every consumer case. 200 traces per version: v4 has
    /// half its enterprise traces complaining (v3: 5 %), and is 200 ms faster everywhere.
    /// </summary>
    private async Task LoadRefundStoryAsync()
    {
        var evals = new StringBuilder(CanonicalFiles.EvalHeader).Append('\n');
        for (var index = 0; index < 80; index++)
        {
            var enterprise = index % 2 == 0;
            var baseScore = (enterprise ? 0.6 : 0.5) + index % 3 * 0.1;
            foreach (var (version, score) in new[] { ("refund-v3", baseScore), ("refund-v4", enterprise ? baseScore - 0.4 : baseScore + 0.1) })
            {
                evals.Append(CultureInfo.InvariantCulture,
                    $"promptfoo,run-{version},case-{index:D3},correctness,1,gpt-4o,{version},refund-golden,refund_request,"
                    + $"{(enterprise ? "enterprise" : "consumer")},{score:0.0},{(score >= 0.5 ? "true" : "false")},2026-11-20T10:00:00Z,100\n");
            }
        }

        var traces = new StringBuilder();
        foreach (var version in new[] { "refund-v3", "refund-v4" })
        {
            for (var index = 0; index < 200; index++)
            {
                var enterprise = index % 2 == 0;
                var complaint = version == "refund-v4" && enterprise ? index % 4 == 0 : index % 20 == 1;
                var latency = (version == "refund-v4" ? 800 : 1000) + index % 50;
                traces.Append(CultureInfo.InvariantCulture,
                    $$"""{"source":"langfuse","trace_id":"{{version}}-{{index:D4}}","started_at":"2026-11-{{1 + index % 28:D2}}T12:00:00Z","prompt_version":"{{version}}","feature":"refund_request","customer_tier":"{{(enterprise ? "enterprise" : "consumer")}}","latency_ms":{{latency}},"is_error":{{(index % 50 == 0 ? "true" : "false")}},"has_complaint":{{(complaint ? "true" : "false")}}}""");
                traces.Append('\n');
            }
        }

        var load = await RunAsync("load", _files.Write("evals.csv", evals.ToString()), _files.Write("traces.jsonl", traces.ToString()));
        Assert.True(load.ExitCode == 0, load.Output + load.Error);
    }

    /// <summary>The rows of the deltas table: the cells between the dashed rule and the closing count.</summary>
    private static List<string> TableRows(string output)
    {
        var lines = output.Split('\n').Select(line => line.TrimEnd('\r')).ToList();
        var rule = lines.FindIndex(line => line.StartsWith("----------", StringComparison.Ordinal));
        Assert.True(rule > 0, output);
        return lines.Skip(rule + 1).TakeWhile(line => line.Length > 0 && !line.StartsWith('(')).ToList();
    }

    private static string VerdictOf(string tableRow) => tableRow.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1];

    [Fact]
    public async Task Compare_add_list_and_remove_round_trip()
    {
        var added = await AddRefundComparisonAsync("--baseline-from", "2026-11-01", "--baseline-to", "2026-11-15T00:00:00+02:00",
            "--candidate-from", "2026-11-15T08:30:00");
        var csv = await RunAsync("compare", "list", "--format", "csv");
        var json = await RunAsync("compare", "list", "--format", "json");
        var removed = await RunAsync("compare", "remove", "--name", "refund-v4");
        var empty = await RunAsync("compare", "list");

        Assert.True(added.ExitCode == 0, added.Error);
        Assert.Contains("added comparison 'refund-v4': prompt_version refund-v3 -> refund-v4", added.Output);
        Assert.Equal(0, csv.ExitCode);
        var lines = csv.Output.Split('\n');
        Assert.Equal("comparison_name,compare_key,baseline,candidate,baseline_from,baseline_to,candidate_from,candidate_to,created_at", lines[0]);
        Assert.StartsWith(
            "refund-v4,prompt_version,refund-v3,refund-v4,2026-11-01T00:00:00Z,2026-11-14T22:00:00Z,2026-11-15T08:30:00Z,,", lines[1]);
        using (var document = JsonDocument.Parse(json.Output))
        {
            var row = document.RootElement.EnumerateArray().Single();
            Assert.Equal("refund-v3", row.GetProperty("baseline").GetString());
            Assert.Equal(JsonValueKind.Null, row.GetProperty("candidate_to").ValueKind);
            var createdAt = DateTimeOffset.Parse(row.GetProperty("created_at").GetString()!, CultureInfo.InvariantCulture);
            Assert.InRange(createdAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        }

        Assert.Equal(0, removed.ExitCode);
        Assert.Contains("removed comparison 'refund-v4'", removed.Output);
        Assert.Equal(0, empty.ExitCode);
        Assert.Contains("compare add", empty.Output);
    }

    [Fact]
    public async Task Compare_add_exits_2_for_a_key_that_is_not_a_version_key_and_lists_the_keys()
    {
        var (exitCode, _, error) = await RunAsync("compare", "add", "--name", "n", "--key", "prompt", "--baseline", "a", "--candidate", "b");
        var list = await RunAsync("compare", "list", "--format", "csv");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("--key 'prompt' is not a version key", error);
        Assert.Contains("model_version, prompt_version, retriever_version, guardrail_version, experiment_bucket", error);
        Assert.Single(list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Compare_add_exits_2_for_an_existing_name_unless_replace_is_given()
    {
        await AddRefundComparisonAsync();

        var duplicate = await RunAsync("compare", "add", "--name", "refund-v4", "--key", "model_version", "--baseline", "gpt-4o", "--candidate", "gpt-5");
        var replaced = await RunAsync("compare", "add", "--name", "refund-v4", "--key", "model_version", "--baseline", "gpt-4o", "--candidate", "gpt-5",
            "--replace");
        var list = await RunAsync("compare", "list", "--format", "csv");

        Assert.Equal(ExitCodes.UsageError, duplicate.ExitCode);
        Assert.Contains("'refund-v4' already exists", duplicate.Error);
        Assert.Contains("--replace", duplicate.Error);
        Assert.Equal(0, replaced.ExitCode);
        Assert.Contains("replaced comparison 'refund-v4': model_version gpt-4o -> gpt-5", replaced.Output);
        var rows = list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, rows.Length);
        Assert.StartsWith("refund-v4,model_version,gpt-4o,gpt-5,", rows[1]);
    }

    [Theory]
    [InlineData("--baseline-from", "2026-13-45")]
    [InlineData("--baseline-to", "yesterday")]
    [InlineData("--candidate-from", "20/11/2026")]
    [InlineData("--candidate-to", "2026-11-20T25:00:00Z")]
    public async Task Compare_add_exits_2_for_a_bad_timestamp_and_names_the_option(string option, string value)
    {
        var (exitCode, _, error) = await AddRefundComparisonAsync(option, value);

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains($"{option} '{value}' is not an ISO-8601 timestamp", error);
    }

    [Fact]
    public async Task Compare_add_exits_2_for_a_window_that_ends_before_it_starts()
    {
        var (exitCode, _, error) = await AddRefundComparisonAsync("--candidate-from", "2026-11-20", "--candidate-to", "2026-11-10");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("--candidate-from must be before --candidate-to", error);
    }

    [Fact]
    public async Task Compare_remove_exits_2_for_an_unknown_name_and_lists_the_known_ones()
    {
        await AddRefundComparisonAsync();

        var (exitCode, _, error) = await RunAsync("compare", "remove", "--name", "refund-v5");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("no comparison named 'refund-v5'", error);
        Assert.Contains("known comparisons: refund-v4", error);
    }

    [Fact]
    public async Task Compare_add_warns_about_a_value_no_record_carries_but_still_saves_it()
    {
        await LoadRefundStoryAsync();

        var typo = await RunAsync("compare", "add", "--name", "typo", "--key", "prompt_version", "--baseline", "refund-v3", "--candidate", "refund_v4");
        var correct = await AddRefundComparisonAsync();
        var list = await RunAsync("compare", "list", "--format", "csv");

        Assert.Equal(0, typo.ExitCode);
        Assert.Contains("no eval record or trace has prompt_version = 'refund_v4' (--candidate)", typo.Error);
        Assert.Contains("refund-v3, refund-v4", typo.Error);
        Assert.DoesNotContain("'refund-v3'", typo.Error);
        Assert.Equal(0, correct.ExitCode);
        Assert.Equal("", correct.Error);
        Assert.Contains("\ntypo,", list.Output);
    }

    [Fact]
    public async Task Deltas_without_comparisons_suggests_compare_add()
    {
        var (exitCode, output, _) = await RunAsync("deltas");

        Assert.Equal(0, exitCode);
        Assert.Contains("warehouse compare add --name", output);
    }

    [Fact]
    public async Task Deltas_exits_2_for_an_unknown_comparison_and_lists_the_known_ones()
    {
        await AddRefundComparisonAsync();

        var (exitCode, _, error) = await RunAsync("deltas", "--comparison", "refund-v9");

        Assert.Equal(ExitCodes.UsageError, exitCode);
        Assert.Contains("no comparison named 'refund-v9'; known comparisons: refund-v4", error);
    }

    [Fact]
    public async Task Deltas_lists_regressions_first_then_improvements_and_counts_the_rest()
    {
        await LoadRefundStoryAsync();
        await AddRefundComparisonAsync();

        var (exitCode, output, error) = await RunAsync("deltas", "--comparison", "refund-v4");

        Assert.True(exitCode == 0, error);
        var rows = TableRows(output);
        var verdicts = rows.Select(VerdictOf).ToList();
        Assert.Equal("regressed", verdicts[0]);
        Assert.Contains("improved", verdicts);
        Assert.All(verdicts, verdict => Assert.Contains(verdict, new[] { "regressed", "improved" }));
        Assert.Equal(verdicts.OrderBy(verdict => Array.IndexOf(DeltasCommand.Verdicts, verdict)), verdicts);

        // The enterprise slice regressed offline (scores) and online (complaints); latency improved everywhere.
        Assert.Contains(rows, row => row.Contains("mean_score:correctness", StringComparison.Ordinal)
            && row.Contains("feature=refund_request, customer_tier=enterprise", StringComparison.Ordinal) && VerdictOf(row) == "regressed");
        Assert.Contains(rows, row => row.Contains("complaint_rate", StringComparison.Ordinal)
            && row.Contains("customer_tier=enterprise", StringComparison.Ordinal) && row.Contains(" pp [", StringComparison.Ordinal)
            && VerdictOf(row) == "regressed");
        Assert.Contains(rows, row => row.Contains("mean_latency_ms", StringComparison.Ordinal) && row.Contains(" overall ", StringComparison.Ordinal)
            && row.Contains("-200 ms [", StringComparison.Ordinal) && VerdictOf(row) == "improved");

        // error_rate is the same on both versions: counted, but listed only with --all.
        Assert.Matches(@"offline\s+\d+ regressed, \d+ improved, \d+ unchanged, \d+ insufficient_data", output);
        Assert.Matches(@"online\s+\d+ regressed, \d+ improved, [1-9]\d* unchanged, \d+ insufficient_data", output);
        Assert.DoesNotContain(rows, row => row.Contains("error_rate", StringComparison.Ordinal));
        Assert.Contains("use --all", output);

        var all = await RunAsync("deltas", "--comparison", "refund-v4", "--all");
        var allVerdicts = TableRows(all.Output).Select(VerdictOf).ToList();
        Assert.Contains("unchanged", allVerdicts);
        Assert.Equal(allVerdicts.OrderBy(verdict => Array.IndexOf(DeltasCommand.Verdicts, verdict)), allVerdicts);
        Assert.Contains(TableRows(all.Output), row => row.Contains("error_rate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deltas_side_filters_the_table_and_the_counts()
    {
        await LoadRefundStoryAsync();
        await AddRefundComparisonAsync();

        var (exitCode, output, error) = await RunAsync("deltas", "--side", "online", "--all");
        var badSide = await RunAsync("deltas", "--side", "both");

        Assert.True(exitCode == 0, error);
        var rows = TableRows(output);
        Assert.NotEmpty(rows);
        Assert.All(rows, row => Assert.Equal("online", row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]));
        Assert.DoesNotMatch(@"offline\s+\d+ regressed", output);
        Assert.Equal(ExitCodes.UsageError, badSide.ExitCode);
    }

    [Fact]
    public async Task Deltas_csv_prints_the_view_rows_with_the_view_header()
    {
        await LoadRefundStoryAsync();
        await AddRefundComparisonAsync();

        var (exitCode, output, error) = await RunAsync("deltas", "--comparison", "refund-v4", "--side", "offline", "--format", "csv");
        var all = await RunAsync("query", "select count(*) from quality.slice_deltas where side = 'offline'", "--format", "csv");

        Assert.True(exitCode == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(SliceDeltasHeader, lines[0]);
        Assert.Equal(int.Parse(all.Output.Split('\n')[1], CultureInfo.InvariantCulture), lines.Length - 1);
        Assert.All(lines.Skip(1), line => Assert.StartsWith("refund-v4,prompt_version,refund-v3,refund-v4,offline,", line));
        Assert.EndsWith(",regressed", lines[1]);
    }

    [Theory]
    [InlineData("complaint_rate", 0.052, 0.021, 0.083, "+5.2 pp [+2.1, +8.3]")]
    [InlineData("pass_rate:correctness", -0.1, -0.15, -0.05, "-10.0 pp [-15.0, -5.0]")]
    [InlineData("mean_score:correctness", 0.052, 0.021, 0.083, "+0.052 [+0.021, +0.083]")]
    [InlineData("mean_latency_ms", -200.4, -210.0, -190.9, "-200 ms [-210, -191]")]
    [InlineData("mean_cost_usd", 0.0021, -0.0004, 0.0046, "+0.0021 USD [-0.0004, +0.0046]")]
    public void Delta_is_shown_in_the_metric_unit_with_its_interval(string metric, double delta, double low, double high, string expected)
    {
        Assert.Equal(expected, DeltasCommand.Delta(metric, delta, low, high));
    }

    [Fact]
    public void Slice_names_only_the_labels_that_are_not_rolled_up()
    {
        Assert.Equal("overall", DeltasCommand.Slice([("feature", "*"), ("customer_tier", "*")]));
        Assert.Equal("feature=refund_request, customer_tier=enterprise",
            DeltasCommand.Slice([("feature", "refund_request"), ("intent", "*"), ("customer_tier", "enterprise"), ("context_band", "*")]));
        Assert.Equal("12.5%", DeltasCommand.Value("complaint_rate", 0.125));
        Assert.Equal("+0.050", DeltasCommand.Delta("mean_score:x", 0.05, null, null));
    }
}
