using System.Data.Common;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Commands;

/// <summary>`warehouse status`: recent batches, counts per status, rejects, quarantined files, the exit code, and no secrets.</summary>
public sealed class StatusCommandTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    private string Database => Path.Combine(_files.Folder, "warehouse.duckdb");

    private string QuarantineFolder => Path.Combine(_files.Folder, "quarantine");

    public void Dispose() => _files.Dispose();

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await new Cli(output, error, new ConfigurationBuilder().Build()).InvokeAsync(args, TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    private string EvalsWithOneReject() => _files.Write("evals.csv", CanonicalFiles.EvalHeader + "\n"
        + "promptfoo,r,c1,correctness,1,m,v3,ds,f,consumer,0.9,true,2026-11-20T10:00:00Z,10\n"
        + "promptfoo,r,c2,correctness,1,m,v3,ds,f,consumer,0.9,true,2026-13-45T10:00:00Z,10\n");

    private void Quarantine(string name, string? reason)
    {
        Directory.CreateDirectory(QuarantineFolder);
        File.WriteAllText(Path.Combine(QuarantineFolder, name), "a,b\n1,2\n");
        if (reason is not null)
        {
            File.WriteAllText(Path.Combine(QuarantineFolder, name + ".error.txt"), reason);
        }
    }

    [Fact]
    public async Task Status_lists_batches_counts_rejects_and_quarantined_files_and_exits_1()
    {
        var evals = EvalsWithOneReject();
        var unknown = _files.Write("other.csv", "a,b\n1,2\n");
        await RunAsync("load", evals, "--connection", Database);
        await RunAsync("load", unknown, "--connection", Database);
        Quarantine("other.csv", "\ncannot tell the kind of file: the first record has a, b\nsecond line of detail\n");
        Quarantine("orphan.jsonl", reason: null);

        var (exitCode, output, error) = await RunAsync("status", "--quarantine", QuarantineFolder, "--connection", Database);

        Assert.True(exitCode == ExitCodes.Failure, error);
        var lines = output.Split('\n').Select(line => line.TrimEnd('\r')).ToList();
        var words = lines.Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Contains(words, word => word.SequenceEqual(["loaded_with_rejects", "1", "2", "1", "1"]));
        Assert.Contains(words, word => word.Take(4).SequenceEqual(["1", "loaded_with_rejects", evals, "canonical-csv"]));
        Assert.Contains(words, word => word.Take(4).SequenceEqual(["2", "failed", unknown, "-"]));
        // The error column drops the path the file column shows, and a long message is cut to one short line.
        var failedLine = Assert.Single(lines, line => line.TrimStart().StartsWith("2  failed", StringComparison.Ordinal));
        Assert.Single(failedLine.Split(unknown).Skip(1));
        Assert.EndsWith("...", failedLine);
        Assert.Contains(lines, line => line.Contains(evals) && line.Contains("line 3  evaluated_at '2026-13-45T10:00:00Z' is not an ISO-8601 timestamp"));
        Assert.Contains($"Quarantine {QuarantineFolder}: 2 files waiting", output);
        Assert.Contains(lines, line => line.StartsWith("other.csv", StringComparison.Ordinal)
            && line.EndsWith("cannot tell the kind of file: the first record has a, b", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("orphan.jsonl", StringComparison.Ordinal) && line.EndsWith("(no .error.txt beside it)", StringComparison.Ordinal));
        Assert.DoesNotContain("other.csv.error.txt", output);
        Assert.Contains($"status: needs attention: the last load of {unknown} failed (batch 2); 2 files wait in quarantine", output);
    }

    [Fact]
    public async Task Status_exits_0_once_the_failed_file_loads_and_quarantine_is_empty()
    {
        var path = _files.Write("evals.csv", "a,b\n1,2\n");
        await RunAsync("load", path, "--connection", Database);
        var failing = await RunAsync("status", "--connection", Database);
        _files.EvalCsv("evals.csv", cases: 3);
        await RunAsync("load", path, "--connection", Database);
        Directory.CreateDirectory(QuarantineFolder);

        var (exitCode, output, _) = await RunAsync("status", "--quarantine", QuarantineFolder, "--connection", Database);

        Assert.Equal(ExitCodes.Failure, failing.ExitCode);
        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Contains($"Quarantine {QuarantineFolder}: empty", output);
        Assert.EndsWith("status: ok", output.TrimEnd());
    }

    [Fact]
    public async Task Status_of_an_empty_warehouse_says_so_and_exits_0()
    {
        var (exitCode, output, _) = await RunAsync("status", "--quarantine", Path.Combine(_files.Folder, "not-there"), "--connection", Database);

        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Contains("No batches yet", output);
        Assert.Contains("the folder does not exist", output);
        Assert.EndsWith("status: ok", output.TrimEnd());
    }

    [Fact]
    public async Task Status_batches_limits_the_list_and_rejects_a_count_below_1()
    {
        foreach (var index in Enumerable.Range(0, 3))
        {
            await RunAsync("load", _files.EvalCsv($"evals-{index}.csv", cases: 2, run: $"run-{index}"), "--connection", Database);
        }

        var (exitCode, output, _) = await RunAsync("status", "--batches", "2", "--connection", Database);
        var zero = await RunAsync("status", "--batches", "0", "--connection", Database);

        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Contains("Batches by status (3 in all)", output);
        Assert.Contains("Latest 2 batches, newest first", output);
        Assert.Contains("evals-2.csv", output);
        Assert.DoesNotContain("evals-0.csv", output);
        Assert.Equal(ExitCodes.UsageError, zero.ExitCode);
        Assert.Contains("--batches must be at least 1", zero.Error);
    }

    [Fact]
    public async Task Status_json_is_one_document_with_counts_batches_rejects_and_quarantine()
    {
        var evals = EvalsWithOneReject();
        await RunAsync("load", evals, "--connection", Database);
        Quarantine("bad.csv", "the file is empty");

        var (exitCode, output, _) = await RunAsync("status", "--json", "--quarantine", QuarantineFolder, "--connection", Database);

        Assert.Equal(ExitCodes.Failure, exitCode);
        using var document = JsonDocument.Parse(output);
        var root = document.RootElement;
        Assert.Equal("duckdb", root.GetProperty("engine").GetString());
        Assert.False(root.GetProperty("healthy").GetBoolean());
        Assert.Contains("1 file waits in quarantine", Assert.Single(root.GetProperty("problems").EnumerateArray()).GetString());
        var count = Assert.Single(root.GetProperty("counts").EnumerateArray());
        Assert.Equal(("loaded_with_rejects", 1, 2, 1, 1), (count.GetProperty("status").GetString(), count.GetProperty("batches").GetInt64(),
            count.GetProperty("rows_read").GetInt64(), count.GetProperty("rows_loaded").GetInt64(), count.GetProperty("rows_rejected").GetInt64()));
        var batch = Assert.Single(root.GetProperty("batches").EnumerateArray());
        Assert.Equal(evals, batch.GetProperty("file").GetString());
        Assert.Equal(1, batch.GetProperty("rows_inserted").GetInt64());
        Assert.True(batch.GetProperty("duration_ms").GetInt64() >= 0);
        Assert.EndsWith("Z", batch.GetProperty("started_at").GetString());
        var reject = Assert.Single(root.GetProperty("rejects").EnumerateArray());
        Assert.Equal(3, reject.GetProperty("record").GetInt64());
        var quarantined = Assert.Single(root.GetProperty("quarantine").GetProperty("files").EnumerateArray());
        Assert.Equal(Path.Combine(QuarantineFolder, "bad.csv"), quarantined.GetProperty("file").GetString());
        Assert.Equal("the file is empty", quarantined.GetProperty("reason").GetString());
    }

    /// <summary>
    /// On the server engines (where connection strings carry passwords): the listing works in each
    /// dialect (`top` on SQL Server, `limit` elsewhere), and the password never appears, whether in
    /// the connection shown, a batch's stored error or a quarantine reason file.
    /// </summary>
    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlserver")]
    public async Task Status_on_a_server_engine_lists_batches_and_masks_the_password(string engine)
    {
        await using var database = engine == "postgres" ? await TestDatabases.PostgresAsync() : await TestDatabases.SqlServerAsync();
        var connection = database.Engine.ConnectionString;
        var password = new DbConnectionStringBuilder { ConnectionString = connection }["Password"]?.ToString();
        Assert.False(string.IsNullOrEmpty(password));
        var loaded = await RunAsync("load", EvalsWithOneReject(), _files.Write("other.csv", "a,b\n1,2\n"), "--engine", engine, "--connection", connection);
        Assert.True(loaded.ExitCode == ExitCodes.Failure, loaded.Error);
        await using (var open = database.Engine.CreateConnection())
        {
            await open.ExecuteAsync(database.Engine.Sql("update etl.load_batches set error_message = @message where status = 'failed'"),
                new { message = $"login failed for user loader (password {password}) with {connection}" });
        }

        Quarantine("bad.csv", $"the database said: Password={password};");

        var plain = await RunAsync("status", "--quarantine", QuarantineFolder, "--engine", engine, "--connection", connection);
        var json = await RunAsync("status", "--json", "--quarantine", QuarantineFolder, "--engine", engine, "--connection", connection);

        Assert.True(plain.ExitCode == ExitCodes.Failure, plain.Error);
        Assert.Contains("loaded_with_rejects", plain.Output);
        Assert.Contains("line 3  evaluated_at", plain.Output);
        Assert.Contains("(password ***)", plain.Output);
        Assert.Contains("Password=***", plain.Output);
        Assert.DoesNotContain($"password {password}", plain.Output + plain.Error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain($"password={password}", plain.Output + plain.Error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(connection, plain.Output + json.Output);
        using var document = JsonDocument.Parse(json.Output);
        Assert.Equal(2, document.RootElement.GetProperty("batches").GetArrayLength());
        Assert.StartsWith("login failed for user loader (password ***)",
            document.RootElement.GetProperty("batches")[0].GetProperty("error").GetString());
        Assert.DoesNotContain($"password {password}", json.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain($"password={password}", json.Output, StringComparison.OrdinalIgnoreCase);
    }
}
