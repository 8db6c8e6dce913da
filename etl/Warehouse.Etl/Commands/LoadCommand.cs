using System.CommandLine;
using Warehouse.Loading;

namespace Warehouse.Commands;

/// <summary>
/// Loads files or folders, one batch per file, and prints a line per file. Exit code 1 when a
/// file could not be loaded at all (or nothing loaded), 3 when records were rejected.
/// </summary>
public sealed class LoadCommand(Cli cli)
{
    public Command Build()
    {
        var paths = new Argument<string[]>("path") { Description = "files or folders to load", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string?>("--format")
        {
            Description = "force a format instead of detecting it from the content: "
                + string.Join(", ", Sources.SourceDetector.Formats.Select(known => known.Name)),
        };
        var kind = new Option<string?>("--kind") { Description = "force the target table: eval or trace" };
        kind.AcceptOnlyFromAmong("eval", "trace");
        var force = new Option<bool>("--force") { Description = "load a file again even if an identical one was already loaded" };
        // One option per companion role the formats declare (--samples, --feedback, --examples).
        var companionOptions = Sources.SourceDetector.Formats
            .SelectMany(known => known.CompanionRoles.Select(role => (Role: role.Key, Description: role.Value)))
            .GroupBy(role => role.Role, StringComparer.Ordinal)
            .OrderBy(group => group.Key, StringComparer.Ordinal)
            .Select(group => (Role: group.Key, Option: new Option<string?>("--" + group.Key)
            {
                Description = string.Join("; ", group.Select(role => role.Description)),
            }))
            .ToList();
        var command = new Command("load", "load files or folders; the format is detected from the content")
        {
            paths, format, kind, force,
        };
        foreach (var (_, option) in companionOptions)
        {
            command.Options.Add(option);
        }

        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var engine = cli.OpenWarehouse(parseResult, out _);
            var companions = new Dictionary<string, string>();
            foreach (var (role, option) in companionOptions)
            {
                if (parseResult.GetValue(option) is { Length: > 0 } companion)
                {
                    companions[role] = companion;
                }
            }

            var options = new LoadOptions(parseResult.GetValue(format), parseResult.GetValue(kind), parseResult.GetValue(force), companions);
            var files = Loader.ExpandPaths(parseResult.GetValue(paths)!, engine.IsOwnFile).ToList();
            if (files.Count == 0)
            {
                await cli.Error.WriteLineAsync("warehouse: no files to load in the given folders");
                return ExitCodes.Failure;
            }

            var loader = new Loader(engine, settings: cli.SourceSettings);
            var results = new List<FileLoadResult>();
            foreach (var file in files)
            {
                var result = await loader.LoadFileAsync(file, options, cancellationToken);
                results.Add(result);
                await Report(result);
            }

            return ExitCodeFor(results);
        });
    }

    public static int ExitCodeFor(IReadOnlyCollection<FileLoadResult> results)
    {
        if (results.Any(result => result.Status == FileLoadStatus.Failed)
            || results.All(result => result.Status != FileLoadStatus.Skipped && result.RowsLoaded == 0))
        {
            return ExitCodes.Failure;
        }

        return results.Any(result => result.RowsRejected > 0) ? ExitCodes.LoadedWithRejects : ExitCodes.Success;
    }

    /// <summary>Line-based formats number records by line; document formats by index.</summary>
    private static string RecordWord(string? format) =>
        format is null || format.EndsWith("csv", StringComparison.Ordinal) || format.EndsWith("jsonl", StringComparison.Ordinal) ? "line" : "record";

    private async Task Report(FileLoadResult result)
    {
        switch (result.Status)
        {
            case FileLoadStatus.Failed:
                await cli.Error.WriteLineAsync($"warehouse: {result.Message}");
                await cli.Output.WriteLineAsync($"failed   {result.FilePath}" + (result.BatchId is { } id ? $" (batch {id})" : ""));
                break;
            case FileLoadStatus.Skipped:
                await cli.Output.WriteLineAsync($"skipped  {result.FilePath}: {result.Message}");
                break;
            case var _ when result.Traces is { } traces:
                // Trace-store exports: the file's records are spans and feedback; what changes is traces.
                await cli.Output.WriteLineAsync(
                    $"loaded   {result.FilePath} -> {result.Table} as {result.Format}, batch {result.BatchId}: "
                    + $"{result.RowsRead} spans/records read, {result.RowsLoaded} kept, {result.RowsRejected} rejected; "
                    + $"{traces.RolledUp} traces rolled up ({result.RowsInserted} new, {result.RowsUpdated} updated, {result.RowsUnchanged} unchanged)"
                    + (traces.Waiting > 0 ? $", {traces.Waiting} with feedback only, waiting for their spans" : ""));
                await ReportRejects(result);
                break;
            default:
                await cli.Output.WriteLineAsync(
                    $"loaded   {result.FilePath} -> {result.Table} as {result.Format}, batch {result.BatchId}: "
                    + $"{result.RowsRead} read, {result.RowsLoaded} loaded ({result.RowsInserted} new, {result.RowsUpdated} updated, "
                    + $"{result.RowsUnchanged} unchanged), {result.RowsRejected} rejected");
                await ReportRejects(result);
                break;
        }
    }

    private async Task ReportRejects(FileLoadResult result)
    {
        foreach (var reject in result.FirstRejects ?? [])
        {
            // A trace that could not be rolled up has no line of its own (record 0): its reason names the trace.
            var where = reject.RecordNumber > 0 ? $" {RecordWord(result.Format)} {reject.RecordNumber}" : "";
            await cli.Error.WriteLineAsync($"warehouse: {result.FilePath}{where}: {reject.Reason}");
        }

        if (result.RowsRejected > 0)
        {
            var more = result.RowsRejected - (result.FirstRejects?.Count ?? 0);
            await cli.Error.WriteLineAsync($"warehouse: {result.FilePath}: " + (more > 0 ? $"and {more} more; " : "") + result.Message);
        }
    }
}
