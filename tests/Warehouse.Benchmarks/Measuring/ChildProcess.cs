using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Warehouse.Benchmarks.Measuring;

/// <summary>How a `warehouse` child process ended: exit code, wall time, peak RSS and its output.</summary>
internal sealed record ChildResult(int ExitCode, double Seconds, long? PeakRssBytes, string Output, string Error);

/// <summary>
/// Runs the built `warehouse` (warehouse.dll under the `dotnet` host, which runs it in the same
/// process, so the process measured is the loader itself, DuckDB's native memory included) and
/// measures it from outside: wall time from start to exit, and peak resident memory.
/// Peak RSS is VmHWM from /proc/&lt;pid&gt;/status, polled every few milliseconds while the child runs.
/// VmHWM is the kernel's high-water mark of the resident set, so it only grows and the last
/// reading before exit is the peak; what the poll can miss is growth in the last interval before
/// the process exits, which for a loader ending in a commit is small. On systems without /proc
/// the peak is not reported.
/// </summary>
internal static class ChildProcess
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    public static async Task<ChildResult> RunWarehouseAsync(string warehouseDll, string workingDirectory, IEnumerable<string> arguments,
        CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(warehouseDll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The child reads WAREHOUSE_* too: only the command line may decide where it loads.
        start.Environment.Remove("WAREHOUSE_ENGINE");
        start.Environment.Remove("WAREHOUSE_CONNECTION");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        var output = new StringBuilder();
        var error = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started");
        var statusPath = $"/proc/{process.Id.ToString(CultureInfo.InvariantCulture)}/status";
        var readOutput = PumpAsync(process.StandardOutput, output);
        var readError = PumpAsync(process.StandardError, error);
        long? peak = null;
        using (cancellationToken.Register(() => TryKill(process)))
        {
            while (!process.HasExited)
            {
                if (ReadHighWaterMark(statusPath) is { } reading)
                {
                    peak = Math.Max(peak ?? 0, reading);
                }

                await Task.Delay(PollInterval, CancellationToken.None);
            }

            await process.WaitForExitAsync(CancellationToken.None);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        await Task.WhenAll(readOutput, readError);
        cancellationToken.ThrowIfCancellationRequested();
        return new ChildResult(process.ExitCode, seconds, peak, output.ToString(), error.ToString());
    }

    /// <summary>VmHWM in bytes, or null once the process is gone (or without /proc).</summary>
    private static long? ReadHighWaterMark(string statusPath)
    {
        try
        {
            foreach (var line in File.ReadLines(statusPath))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var digits = line.AsSpan(6).Trim();
                    digits = digits[..digits.IndexOf(' ')];
                    return long.Parse(digits, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
            // The process exited between the check and the read.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            into.Append(buffer, 0, read);
        }
    }

    private static void TryKill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
