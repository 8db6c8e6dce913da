using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Reports;

/// <summary>
/// The saved queries of reports/sql/ run on every engine: on a database loaded through the console
/// (`load`, `compare add`, `lock add`, including a file with a rejected record) each file runs
/// without error, returns at least one row, and returns exactly the columns its outer select
/// lists, in order. Each subclass says only how to get a database; an engine that is not here
/// skips with a reason.
/// </summary>
public abstract class SavedQuerySuite : DatabaseSuite
{
    private const string Comparison = "refund-v3-to-v4";

    [Fact]
    public async Task SavedQuery_runs_and_returns_the_columns_of_its_select_list_on_loaded_data()
    {
        await LoadStoryAsync();
        var queries = SavedQueryFiles.All();
        Assert.NotEmpty(queries);

        var failures = new List<string>();
        foreach (var query in queries)
        {
            try
            {
                var (columns, rows) = await RunAsync(query.Sql);
                if (query.Columns is null)
                {
                    failures.Add($"{query.FileName}: its outer select list cannot be read (see {nameof(SavedQueryFileTests)})");
                }
                else if (!columns.SequenceEqual(query.Columns, StringComparer.Ordinal))
                {
                    failures.Add($"{query.FileName}: returned ({string.Join(", ", columns)}), its select lists ({string.Join(", ", query.Columns)})");
                }

                if (rows == 0)
                {
                    failures.Add($"{query.FileName}: returned no rows on the loaded story");
                }
            }
            catch (Exception error) when (error is System.Data.Common.DbException or InvalidOperationException)
            {
                failures.Add($"{query.FileName}: {error.GetType().Name}: {error.Message}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} problem(s) with {queries.Count} saved queries on {Engine.Name}:\n" + string.Join("\n", failures));
    }

    private async Task<(List<string> Columns, int Rows)> RunAsync(string sql)
    {
        await using var connection = await Engine.OpenAsync(Token);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(Token);
        var columns = Enumerable.Range(0, reader.FieldCount).Select(index => reader.GetName(index).ToLowerInvariant()).ToList();
        var rows = 0;
        while (await reader.ReadAsync(Token))
        {
            rows++;
        }

        return (columns, rows);
    }

    private async Task<int> CliAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await new Cli(output, error, new ConfigurationBuilder().Build())
            .InvokeAsync([.. args, "--engine", Engine.Name, "--connection", Engine.ConnectionString], Token);
        Assert.True(exitCode is ExitCodes.Success or ExitCodes.LoadedWithRejects, $"{string.Join(' ', args)}: exit {exitCode}\n{output}\n{error}");
        return exitCode;
    }

    /// <summary>
    /// refund-v3 against refund-v4 on prompt_version: 40 cases run on both (the candidate scores
    /// 0.2 higher: offline improved), 120 traces per version (the candidate's enterprise traces
    /// complain a third of the time: online regressed, so a divergence), billing traces with
    /// complaints and no eval cases (coverage gaps, seed candidates), a lock on one case, and a
    /// trace file with one unreadable line (a rejected record).
    /// </summary>
    private async Task LoadStoryAsync()
    {
        var evals = new StringBuilder(CanonicalFiles.EvalHeader).Append('\n');
        for (var index = 0; index < 40; index++)
        {
            var tier = index % 2 == 0 ? "enterprise" : "consumer";
            foreach (var (version, shift) in new[] { ("refund-v3", 0.0), ("refund-v4", 0.2) })
            {
                var score = 0.4 + index % 5 * 0.1 + shift;
                evals.Append(CultureInfo.InvariantCulture,
                    $"promptfoo,run-{version},case-{index:D3},correctness,1,gpt-4o,{version},refund-golden,refund_request,{tier},{score:0.00},{(score >= 0.7 ? "true" : "false")},2026-11-{10 + index % 3:D2}T10:00:00Z,{index * 500}\n");
            }
        }

        var traces = new StringBuilder();
        foreach (var version in new[] { "refund-v3", "refund-v4" })
        {
            for (var index = 0; index < 120; index++)
            {
                var enterprise = index % 2 == 0;
                var complaint = version == "refund-v4" && enterprise ? index % 3 == 0 : index % 20 == 1;
                var feature = index % 10 == 9 ? "billing" : "refund_request";
                traces.Append(CultureInfo.InvariantCulture,
                    $$"""{"source":"langfuse","trace_id":"{{version}}-{{index:D4}}","started_at":"2026-11-{{1 + index % 14:D2}}T12:00:00Z","prompt_version":"{{version}}","feature":"{{feature}}","customer_tier":"{{(enterprise ? "enterprise" : "consumer")}}","latency_ms":{{900 + index % 40}},"cost_usd":{{0.001 * (1 + index % 7)}},"is_error":{{(index % 25 == 0 ? "true" : "false")}},"has_complaint":{{(complaint ? "true" : "false")}},"feedback_score":{{(complaint ? "0.1" : "0.9")}},"context_tokens":{{index * 300}}}""");
                traces.Append('\n');
            }
        }

        await CliAsync("load", Files.Write("evals.csv", evals.ToString()), Files.Write("traces.jsonl", traces.ToString()));
        var partial = await CliAsync("load", Files.Write("late-traces.jsonl",
            """
            {"source":"langfuse","trace_id":"late-0001","started_at":"2026-11-15T12:00:00Z","prompt_version":"refund-v4","feature":"refund_request","has_complaint":true}
            {"source":"langfuse","trace_id":
            """));
        Assert.Equal(ExitCodes.LoadedWithRejects, partial);
        await CliAsync("compare", "add", "--name", Comparison, "--key", "prompt_version", "--baseline", "refund-v3", "--candidate", "refund-v4");
        await CliAsync("lock", "add", "--name", "lock-case-000", "--dataset", "refund-golden", "--case", "case-000", "--incident", "https://example.test/INC-1");
    }
}

public sealed class DuckDbSavedQueryTests : SavedQuerySuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class PostgresSavedQueryTests : SavedQuerySuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class SqlServerSavedQueryTests : SavedQuerySuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}

/// <summary>
/// The saved query files themselves, without a database: every file parses as T-SQL (SQL Server
/// 2022 grammar, ScriptDom) as one select whose columns can be read, and the files in reports/sql/
/// are exactly the ones the console embeds for `warehouse report`.
/// </summary>
public sealed class SavedQueryFileTests
{
    [Fact]
    public void SavedQuery_parses_as_one_tsql_select_with_named_columns()
    {
        var queries = SavedQueryFiles.All();

        var failures = queries
            .Where(query => query.TsqlErrors.Count > 0 || query.Columns is null)
            .Select(query => query.TsqlErrors.Count > 0
                ? $"{query.FileName} does not parse as T-SQL: {string.Join("; ", query.TsqlErrors)}"
                : $"{query.FileName}: name every column of the outer select (an alias, a column, or select * from a CTE)")
            .ToList();

        Assert.NotEmpty(queries);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void SavedQuery_files_are_exactly_the_files_the_console_embeds()
    {
        var onDisk = SavedQueryFiles.All().Select(query => query.FileName).ToList();
        var embedded = SavedQueryFiles.EmbeddedFileNames();

        var differences = onDisk.Except(embedded).Select(file => $"reports/sql/{file} is not embedded in the console (rebuild; the glob is in etl/Warehouse.Etl/Warehouse.Etl.csproj)")
            .Concat(embedded.Except(onDisk).Select(file => $"the console embeds reports/sql/{file}, which is not in reports/sql/ (rebuild)"))
            .ToList();
        Assert.NotEmpty(onDisk);
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }

    [Fact]
    public void Read_follows_select_star_into_the_final_cte_and_reports_tsql_errors()
    {
        var portable = SavedQueryFiles.Read("portable.sql", """
            with
            widgets as (select widget_id, widget_name from quality.widgets),
            final as (select widget_id, upper(widget_name) as loud_name, count(*) as n from widgets group by widget_id, widget_name)
            select * from final order by widget_id;
            """);
        var postgresOnly = SavedQueryFiles.Read("postgres_only.sql", "select widget_id from quality.widgets limit 5");

        Assert.Empty(portable.TsqlErrors);
        Assert.Equal(["widget_id", "loud_name", "n"], portable.Columns);
        Assert.NotEmpty(postgresOnly.TsqlErrors);
        Assert.Null(postgresOnly.Columns);
    }
}
