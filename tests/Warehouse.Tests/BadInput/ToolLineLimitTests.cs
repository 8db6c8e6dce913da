using Warehouse.Loading;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.BadInput;

/// <summary>
/// A line of 17 MB in a tool's JSON Lines export is never held whole: a trace store's reader
/// rejects that line and loads the rest; an eval tool's reader (which needs every line of a run)
/// fails the file, naming the line.
/// </summary>
public sealed class ToolLineLimitTests : DatabaseSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();

    private string WithHugeLine(string fixture, string name)
    {
        var path = Path.Combine(Files.Folder, name);
        File.Copy(fixture, path);
        using var writer = File.AppendText(path);
        writer.Write("{\"request_id\":\"");
        writer.Write(new string('a', 17 * 1024 * 1024));
        writer.Write("\"}\n");
        return path;
    }

    [Fact]
    public async Task A_trace_store_line_over_the_limit_is_rejected_and_the_rest_loads()
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "trace", "helicone", "requests.jsonl");
        var path = WithHugeLine(fixture, "requests.jsonl");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        var reject = Assert.Single(result.FirstRejects!);
        Assert.Contains("longer than the 16 MiB a record may take", reject.Reason);
        Assert.Equal(1L, result.RowsRejected);
        Assert.True(result.RowsInserted > 0);
        Assert.Equal(result.RowsInserted, await ScalarAsync<long>("select count(*) from quality.trace_summaries"));
    }

    [Fact]
    public async Task An_eval_tool_line_over_the_limit_fails_the_file_naming_the_line()
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "promptfoo", "refund-eval.jsonl");
        var path = WithHugeLine(fixture, "refund-eval.jsonl");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("longer than the 16 MiB a record may take", result.Message);
        Assert.Contains($"line {File.ReadLines(fixture).Count() + 1}", result.Message);
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from quality.eval_records"));
    }
}
