using Microsoft.Extensions.Configuration;
using Npgsql;
using Warehouse.Commands;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Views;

/// <summary>
/// Regression: on PostgreSQL, quality.eval_slices and quality.trace_slices cast timestamptz to date,
/// which follows the session's time zone, so a BI tool connecting as a login in New York saw a trace
/// started at 02:30 UTC on the day before. The days are UTC days on every engine and in every session.
/// </summary>
public sealed class PostgresUtcDayTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Slice_days_are_UTC_days_whatever_the_session_time_zone()
    {
        await using var database = await TestDatabases.PostgresAsync();
        var connection = database.Engine.ConnectionString;
        var traces = _files.Write("traces.jsonl",
            """{"source":"langfuse","trace_id":"tr-1","started_at":"2026-11-20T02:30:00Z","prompt_version":"refund-v4"}""" + "\n");
        var evals = _files.Write("evals.jsonl",
            """{"source":"promptfoo","eval_run_id":"run-1","case_id":"case-1","metric":"correctness","epoch":1,"score":1,"evaluated_at":"2026-11-20T23:30:00Z"}""" + "\n");
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await new Cli(output, error, new ConfigurationBuilder().Build())
            .InvokeAsync(["load", traces, evals, "--engine", "postgres", "--connection", connection], TestContext.Current.CancellationToken);
        Assert.True(exitCode == ExitCodes.Success, output.ToString() + error);

        foreach (var timeZone in new[] { "America/New_York", "Asia/Tokyo", "UTC" })
        {
            var session = new NpgsqlConnectionStringBuilder(connection) { Timezone = timeZone }.ConnectionString;
            await using var reader = new NpgsqlConnection(session);
            await reader.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = new NpgsqlCommand(
                "select (select cast(started_date as text) from quality.trace_slices), (select cast(evaluated_date as text) from quality.eval_slices), "
                + "current_setting('TimeZone'), (select cast(started_at as text) from quality.trace_summaries)", reader);
            await using var row = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
            Assert.True(await row.ReadAsync(TestContext.Current.CancellationToken));
            Assert.Equal(timeZone, row.GetString(2));
            Assert.Equal(("2026-11-20", "2026-11-20"), (row.GetString(0), row.GetString(1)));
        }
    }
}
