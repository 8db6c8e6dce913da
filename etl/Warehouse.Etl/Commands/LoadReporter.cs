using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using Warehouse.Engines;
using Warehouse.Loading;

namespace Warehouse.Commands;

/// <summary>How a <see cref="LoadReporter"/> reports.</summary>
/// <param name="Json">One JSON object per line per event on stdout, for log shippers (nothing per file on stderr).</param>
/// <param name="ConnectionString">The warehouse's connection string: its secrets are scrubbed from every message printed.</param>
/// <param name="Progress">Force the progress display on or off; null: shown only when stdout is a terminal and not --json.</param>
/// <param name="Clock">The clock for JSON timestamps and durations; null: the system clock.</param>
public sealed record LoadReporterOptions(bool Json = false, string? ConnectionString = null, bool? Progress = null, TimeProvider? Clock = null);

/// <summary>
/// The one place that tells the operator what happened to each file, for `load` and `watch`:
/// plain lines (one per file on stdout, rejects and failures as sentences on stderr), JSON lines
/// (`--json`: one object per event on stdout), and, when stdout is a terminal, a live progress
/// display while a long file loads. The display is cleared before any line is printed, so what
/// stays on screen is exactly what a redirected run writes; it never appears when stdout is
/// redirected (cron, CI, tests, log files).
/// </summary>
public sealed class LoadReporter : IAsyncDisposable
{
    /// <summary>How long a file loads before the progress display appears (fast files never flicker).</summary>
    private static readonly TimeSpan DefaultShowProgressAfter = TimeSpan.FromMilliseconds(750);

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly TextWriter _output;
    private readonly TextWriter _error;
    private readonly string? _connectionString;
    private readonly TimeProvider _clock;
    private readonly IAnsiConsole? _progressConsole;
    private readonly TimeSpan _showProgressAfter;
    private readonly Dictionary<string, long> _expectedSizes = new(StringComparer.Ordinal);
    private long _bytesDone;
    private int _filesStarted;
    private long _fileStartedAt;
    private string? _currentFile;
    private CancellationTokenSource? _liveStop;
    private Task? _live;

    public LoadReporter(Cli cli, LoadReporterOptions options)
        : this(cli.Output, cli.Error, options, progressConsole: null, DefaultShowProgressAfter)
    {
    }

    /// <summary>For tests: any writers, and the progress display drawn on the console given (null: decided from stdout).</summary>
    internal LoadReporter(TextWriter output, TextWriter error, LoadReporterOptions options, IAnsiConsole? progressConsole, TimeSpan showProgressAfter)
    {
        _output = output;
        _error = error;
        Json = options.Json;
        _connectionString = string.IsNullOrEmpty(options.ConnectionString) ? null : options.ConnectionString;
        _clock = options.Clock ?? TimeProvider.System;
        _showProgressAfter = showProgressAfter;
        var showProgress = !Json && (options.Progress ?? (progressConsole is not null || CanShowProgress(output, Json)));
        _progressConsole = showProgress ? progressConsole ?? TerminalConsole() : null;
    }

    /// <summary>True for JSON lines.</summary>
    public bool Json { get; }

    /// <summary>True when a long file shows a live progress display.</summary>
    public bool ShowsProgress => _progressConsole is not null;

    /// <summary>The `--json` option; each command that reports loads adds its own instance.</summary>
    public static Option<bool> CreateJsonOption() => new("--json")
    {
        Description = "print one JSON object per line per event (for log shippers) instead of text",
    };

    /// <summary>The reporter for a command invocation: --json from <paramref name="json"/>, secrets from the resolved connection.</summary>
    public static LoadReporter Create(Cli cli, ParseResult parseResult, Option<bool> json) =>
        new(cli, new LoadReporterOptions(parseResult.GetValue(json), cli.Settings(parseResult).Connection));

    /// <summary>
    /// A progress display only on a real terminal: stdout is the process's console, not
    /// redirected, not a dumb terminal, and the output is not JSON.
    /// </summary>
    public static bool CanShowProgress(TextWriter output, bool json) =>
        CanShowProgress(output, json, Console.IsOutputRedirected, Environment.GetEnvironmentVariable("TERM"));

    internal static bool CanShowProgress(TextWriter output, bool json, bool outputRedirected, string? term) =>
        !json && !outputRedirected && ReferenceEquals(output, Console.Out) && !string.Equals(term, "dumb", StringComparison.Ordinal);

    /// <summary>
    /// Optional: the files about to load, so the progress display can say "file 3 of 10" and
    /// weigh the overall bar by their sizes. Files not announced still report normally.
    /// </summary>
    public void ExpectFiles(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            var fullPath = Path.GetFullPath(file);
            _expectedSizes[fullPath] = SizeOf(fullPath);
        }
    }

    /// <summary>A file starts loading: a "file_started" JSON line, or (on a terminal) the progress display after a moment.</summary>
    public async Task StartFile(string path)
    {
        await StopProgressAsync();
        _currentFile = Path.GetFullPath(path);
        _fileStartedAt = _clock.GetTimestamp();
        _filesStarted++;
        if (Json)
        {
            await WriteJsonAsync("info", "file_started", _currentFile);
        }
        else if (_progressConsole is not null)
        {
            _liveStop = new CancellationTokenSource();
            _live = ShowProgressAsync(_progressConsole, _currentFile, _liveStop.Token);
        }
    }

    /// <summary>What became of a file: the plain line (and stderr sentences), or one JSON line.</summary>
    public async Task Report(FileLoadResult result)
    {
        await StopProgressAsync();
        long? durationMs = string.Equals(_currentFile, result.FilePath, StringComparison.Ordinal)
            ? (long)_clock.GetElapsedTime(_fileStartedAt).TotalMilliseconds
            : null;
        _bytesDone += _expectedSizes.GetValueOrDefault(result.FilePath);
        _currentFile = null;
        if (Json)
        {
            await WriteResultJsonAsync(result, durationMs);
        }
        else
        {
            await WriteResultTextAsync(result);
        }
    }

    /// <summary>watch: a loaded file was moved to the archive ("archived X to Y").</summary>
    public Task Archived(string path, string destination) =>
        WriteEventAsync("info", "file_archived", path, $"archived {path} to {destination}", destination: destination);

    /// <summary>watch: a file that cannot be loaded was moved to quarantine ("quarantined X: reason", or "quarantined X to Y: reason").</summary>
    public Task Quarantined(string path, string reason, string? destination = null) =>
        WriteEventAsync("warning", "file_quarantined", path,
            $"quarantined {path}" + (destination is null ? "" : $" to {destination}") + $": {Scrub(reason)}", Scrub(reason), destination);

    /// <summary>watch: a file was left where it is for now ("left X: still being written").</summary>
    public Task Left(string path, string reason = "still being written") =>
        WriteEventAsync("info", "file_left", path, $"left     {path}: {Scrub(reason)}", Scrub(reason));

    /// <summary>watch: something went wrong with a file outside its load (it could not be moved): a sentence on stderr, or an error line.</summary>
    public async Task Problem(string path, string message)
    {
        await StopProgressAsync();
        if (Json)
        {
            await WriteJsonAsync("error", "file_problem", path, message: Scrub(message));
        }
        else
        {
            await _error.WriteLineAsync($"warehouse: {path}: {Scrub(message)}");
        }
    }

    /// <summary>
    /// A line about the run rather than a file ("pass done: ...", "watching ... on ..."): printed
    /// as it is, or as a JSON line with this event name, no file and the text as its message.
    /// </summary>
    public async Task Note(string eventName, string message)
    {
        await StopProgressAsync();
        if (Json)
        {
            await WriteJsonAsync("info", eventName, file: null, message: Scrub(message));
        }
        else
        {
            await _output.WriteLineAsync(Scrub(message));
        }
    }

    public async ValueTask DisposeAsync() => await StopProgressAsync();

    private async Task WriteEventAsync(string level, string eventName, string path, string line, string? message = null, string? destination = null)
    {
        await StopProgressAsync();
        if (Json)
        {
            await WriteJsonAsync(level, eventName, path, message: message, destination: destination);
        }
        else
        {
            await _output.WriteLineAsync(line);
        }
    }

    private async Task WriteResultTextAsync(FileLoadResult result)
    {
        switch (result.Status)
        {
            case FileLoadStatus.Failed:
                await _error.WriteLineAsync($"warehouse: {Scrub(result.Message)}");
                await _output.WriteLineAsync($"failed   {result.FilePath}" + (result.BatchId is { } id ? $" (batch {id})" : ""));
                break;
            case FileLoadStatus.Skipped:
                await _output.WriteLineAsync($"skipped  {result.FilePath}: {Scrub(result.Message)}");
                break;
            case var _ when result.Traces is { } traces:
                // Trace-store exports: the file's records are spans and feedback; what changes is traces.
                await _output.WriteLineAsync(
                    $"loaded   {result.FilePath} -> {result.Table} as {result.Format}, batch {result.BatchId}: "
                    + $"{result.RowsRead} spans/records read, {result.RowsLoaded} kept, {result.RowsRejected} rejected; "
                    + $"{traces.RolledUp} traces rolled up ({result.RowsInserted} new, {result.RowsUpdated} updated, {result.RowsUnchanged} unchanged)"
                    + (traces.Waiting > 0 ? $", {traces.Waiting} with feedback only, waiting for their spans" : ""));
                await WriteRejectsTextAsync(result);
                break;
            default:
                await _output.WriteLineAsync(
                    $"loaded   {result.FilePath} -> {result.Table} as {result.Format}, batch {result.BatchId}: "
                    + $"{result.RowsRead} read, {result.RowsLoaded} loaded ({result.RowsInserted} new, {result.RowsUpdated} updated, "
                    + $"{result.RowsUnchanged} unchanged), {result.RowsRejected} rejected");
                await WriteRejectsTextAsync(result);
                break;
        }
    }

    private async Task WriteRejectsTextAsync(FileLoadResult result)
    {
        foreach (var reject in result.FirstRejects ?? [])
        {
            await _error.WriteLineAsync($"warehouse: {result.FilePath}{Where(result, reject)}: {Scrub(reject.Reason)}");
        }

        if (result.RowsRejected > 0)
        {
            var more = result.RowsRejected - (result.FirstRejects?.Count ?? 0);
            await _error.WriteLineAsync($"warehouse: {result.FilePath}: " + (more > 0 ? $"and {more} more; " : "") + Scrub(result.Message));
        }
    }

    /// <summary>" line 3" or " record 3"; nothing for a trace that could not be rolled up (record 0: its reason names the trace).</summary>
    private static string Where(FileLoadResult result, RejectedRecord reject) =>
        reject.RecordNumber > 0 ? $" {RecordWord(result.Format)} {reject.RecordNumber}" : "";

    /// <summary>Line-based formats number records by line; document formats by index.</summary>
    internal static string RecordWord(string? format) =>
        format is null || format.EndsWith("csv", StringComparison.Ordinal) || format.EndsWith("jsonl", StringComparison.Ordinal) ? "line" : "record";

    private static (string Level, string Event, string Status) Classify(FileLoadResult result) => result.Status switch
    {
        FileLoadStatus.Failed => ("error", "file_failed", "failed"),
        FileLoadStatus.Skipped => ("info", "file_skipped", "skipped"),
        FileLoadStatus.LoadedWithRejects => ("warning", "file_loaded", "loaded_with_rejects"),
        _ when result.RowsRejected > 0 => ("warning", "file_loaded", "loaded_with_rejects"),
        _ => ("info", "file_loaded", "loaded"),
    };

    private Task WriteResultJsonAsync(FileLoadResult result, long? durationMs)
    {
        var (level, eventName, status) = Classify(result);
        return WriteJsonAsync(level, eventName, result.FilePath, result, status, Scrub(result.Message), durationMs: durationMs);
    }

    /// <summary>
    /// One event as one line. Every line has the same keys (null where they do not apply), so a
    /// log shipper's schema stays fixed: timestamp, level, event, file, batch_id, format, table,
    /// status, counts, duration_ms, destination, message, rejects. A reject's "record" is its line
    /// for line-based formats and its index for document formats (0: a trace, named in the reason).
    /// </summary>
    private async Task WriteJsonAsync(string level, string eventName, string? file, FileLoadResult? result = null, string? status = null,
        string? message = null, string? destination = null, long? durationMs = null)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", _clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("level", level);
            json.WriteString("event", eventName);
            json.WriteString("file", file);
            WriteNullable(json, "batch_id", result?.BatchId);
            json.WriteString("format", result?.Format);
            json.WriteString("table", result?.Table);
            json.WriteString("status", status);
            if (result is null)
            {
                json.WriteNull("counts");
            }
            else
            {
                json.WriteStartObject("counts");
                json.WriteNumber("read", result.RowsRead);
                json.WriteNumber("loaded", result.RowsLoaded);
                json.WriteNumber("rejected", result.RowsRejected);
                json.WriteNumber("inserted", result.RowsInserted);
                json.WriteNumber("updated", result.RowsUpdated);
                json.WriteNumber("unchanged", result.RowsUnchanged);
                if (result.Traces is { } traces)
                {
                    json.WriteNumber("traces_touched", traces.Touched);
                    json.WriteNumber("traces_rolled_up", traces.RolledUp);
                    json.WriteNumber("traces_waiting", traces.Waiting);
                    json.WriteNumber("traces_rejected", traces.Rejected);
                }

                json.WriteEndObject();
            }

            WriteNullable(json, "duration_ms", durationMs);
            json.WriteString("destination", destination);
            json.WriteString("message", message);
            json.WriteStartArray("rejects");
            foreach (var reject in result?.FirstRejects ?? [])
            {
                json.WriteStartObject();
                json.WriteNumber("record", reject.RecordNumber);
                json.WriteString("reason", Scrub(reject.Reason));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        await _output.WriteLineAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private string? Scrub(string? message) =>
        message is null || _connectionString is null ? message : ConnectionStrings.Scrub(message, _connectionString);

    private static long SizeOf(string path)
    {
        try
        {
            return File.Exists(path) ? new FileInfo(path).Length : 0;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The process's stdout as Spectre sees it; null when it cannot draw a live display there.</summary>
    private static IAnsiConsole? TerminalConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Detect,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        return console.Profile.Capabilities is { Interactive: true, Ansi: true } ? console : null;
    }

    /// <summary>
    /// Waits a moment, then draws the file being loaded (with "file N of M" and a bar weighted by
    /// the sizes of the files announced) until stopped; AutoClear removes it before the next line.
    /// The loader reports no progress inside a file, so the current file shows a spinner and the
    /// time it has taken.
    /// </summary>
    private async Task ShowProgressAsync(IAnsiConsole console, string file, CancellationToken stop)
    {
        try
        {
            await Task.Delay(_showProgressAfter, stop);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var size = _expectedSizes.TryGetValue(file, out var known) ? known : SizeOf(file);
        var total = _expectedSizes.Values.Sum();
        var ofCount = _expectedSizes.Count > 1 ? $"file {_filesStarted} of {_expectedSizes.Count}: " : "";
        var description = Markup.Escape($"{ofCount}{Path.GetFileName(file)} ({FormatBytes(size)})");
        try
        {
            await DrawAsync(console, description, total, stop);
        }
        catch (Exception error) when (error is IOException or InvalidOperationException)
        {
            // The display is a courtesy: a terminal that goes away (closed ssh session) must not fail the load.
        }
    }

    private async Task DrawAsync(IAnsiConsole console, string description, long total, CancellationToken stop)
    {
        await console.Progress()
            .AutoClear(true)
            .HideCompleted(false)
            .Columns(new SpinnerColumn(), new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(description, autoStart: true, maxValue: Math.Max(1, total));
                if (_expectedSizes.Count > 1 && total > 0)
                {
                    task.Value = _bytesDone;
                }
                else
                {
                    task.IsIndeterminate = true;
                }

                try
                {
                    await Task.Delay(Timeout.Infinite, stop);
                }
                catch (OperationCanceledException)
                {
                    // Stopped: the display is cleared when this returns.
                }
            });
    }

    private async Task StopProgressAsync()
    {
        if (_live is null)
        {
            return;
        }

        await _liveStop!.CancelAsync();
        try
        {
            await _live;
        }
        finally
        {
            _liveStop.Dispose();
            _liveStop = null;
            _live = null;
        }
    }

    private static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KB",
        _ => $"{bytes} B",
    };
}
