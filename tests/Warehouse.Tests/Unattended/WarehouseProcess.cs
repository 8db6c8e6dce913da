using System.Diagnostics;
using Warehouse.Engines;

namespace Warehouse.Tests.Unattended;

/// <summary>The real console as a child process (the `warehouse.dll` built beside the tests), so tests can run two at once or kill one.</summary>
public sealed class WarehouseProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _output;
    private readonly Task<string> _error;

    private WarehouseProcess(Process process)
    {
        _process = process;
        _output = process.StandardOutput.ReadToEndAsync();
        _error = process.StandardError.ReadToEndAsync();
    }

    public static WarehouseProcess Start(WarehouseEngine engine, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "warehouse.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.ArgumentList.Add("--engine");
        start.ArgumentList.Add(engine.Name);
        start.ArgumentList.Add("--connection");
        start.ArgumentList.Add(engine.ConnectionString);
        // The child must not pick up the developer's settings.
        start.Environment.Remove("WAREHOUSE_ENGINE");
        start.Environment.Remove("WAREHOUSE_CONNECTION");
        return new WarehouseProcess(Process.Start(start)!);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>kill -9: no chance to clean up.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async Task<(int ExitCode, string Output, string Error)> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException($"the warehouse process did not finish within {timeout}; output so far: {await _output}{await _error}");
        }

        return (_process.ExitCode, await _output, await _error);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
