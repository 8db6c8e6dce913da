using System.Text.Json;
using Warehouse.Benchmarks.Databases;

namespace Warehouse.Benchmarks.Measuring;

/// <summary>`warehouse load` and the other commands the benchmark needs, each in its own child process.</summary>
internal sealed class WarehouseCommands(string warehouseDll, string workFolder)
{
    /// <summary>
    /// `warehouse load FILE --json` into <paramref name="database"/>: wall time and peak RSS of the
    /// process, and the loader's own time for the file (its `duration_ms`, without process start,
    /// migration check and file hashing before `file_started`).
    /// </summary>
    public async Task<LoadMeasurement> LoadAsync(BenchmarkDatabase database, string input, string table, string file, long records,
        bool force, CancellationToken cancellationToken)
    {
        var result = await RunAsync(database, ["load", file, "--json", .. force ? new[] { "--force" } : []], cancellationToken);
        string? status = null, message = null;
        double? loaderSeconds = null;
        long? read = null, rejected = null;
        foreach (var line in result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            if (root.GetProperty("event").GetString() is not ("file_loaded" or "file_skipped" or "file_failed"))
            {
                continue;
            }

            status = root.GetProperty("status").GetString();
            message = root.TryGetProperty("message", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
            loaderSeconds = root.TryGetProperty("duration_ms", out var duration) && duration.ValueKind == JsonValueKind.Number
                ? duration.GetDouble() / 1000
                : null;
            if (root.TryGetProperty("counts", out var counts) && counts.ValueKind == JsonValueKind.Object)
            {
                read = counts.GetProperty("read").GetInt64();
                rejected = counts.GetProperty("rejected").GetInt64();
            }
        }

        var failed = result.ExitCode is not (0 or 3) || status is null or "failed";
        var note = failed
            ? $"exit {result.ExitCode}: {FirstLine(message ?? result.Error)}"
            : status == "skipped" ? "skipped: identical file"
            : rejected > 0 ? $"{rejected:N0} records rejected"
            : read is { } counted && counted != records ? $"loader read {counted:N0}" : null;
        return new LoadMeasurement(database.EngineName, input, table, status == "skipped" ? records : read ?? records, result.Seconds,
            result.PeakRssBytes, loaderSeconds, note, Failed: failed);
    }

    /// <summary>Runs a warehouse command that must succeed (compare add, lock add).</summary>
    public async Task RunCheckedAsync(BenchmarkDatabase database, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await RunAsync(database, arguments, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"warehouse {arguments[0]} {arguments[1]} failed (exit {result.ExitCode}): {FirstLine(result.Error)}");
        }
    }

    private Task<ChildResult> RunAsync(BenchmarkDatabase database, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ChildProcess.RunWarehouseAsync(warehouseDll, workFolder,
            ["--engine", database.EngineName, "--connection", database.ConnectionString, .. arguments], cancellationToken);

    private static string FirstLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
}
