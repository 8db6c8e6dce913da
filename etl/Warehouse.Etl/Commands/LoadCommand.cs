using System.CommandLine;
using Warehouse.Loading;

namespace Warehouse.Commands;

/// <summary>
/// Loads files or folders, one batch per file, and reports each file through
/// <see cref="LoadReporter"/> (a line per file, or JSON lines with --json). Exit code 1 when a
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
        var json = LoadReporter.CreateJsonOption();
        var wait = WatchCommand.CreateWaitOption();
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
            paths, format, kind, force, json, wait,
        };
        foreach (var (_, option) in companionOptions)
        {
            command.Options.Add(option);
        }

        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            // One loader at a time per database: the lock is taken before the schema is touched.
            var engine = cli.CreateLoaderEngine(parseResult);
            await using var held = await WatchCommand.TakeLoaderLockAsync(cli, engine, parseResult.GetValue(wait), cancellationToken);
            if (held is null)
            {
                return ExitCodes.Failure;
            }

            new Migrations.Migrator(engine).Migrate();
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

            await using var reporter = LoadReporter.Create(cli, parseResult, json);
            var loader = new Loader(engine, settings: cli.SourceSettings) { OnRetry = message => reporter.Note("load_retry", message).GetAwaiter().GetResult() };
            if (await loader.AbandonRunningBatchesAsync(cancellationToken) is > 0 and var abandoned)
            {
                await reporter.Note("abandoned_batches", $"marked {abandoned} batch(es) a stopped loader left running as failed (abandoned); nothing of them was kept");
            }

            var results = new List<FileLoadResult>();
            reporter.ExpectFiles(files);
            foreach (var file in files)
            {
                await reporter.StartFile(file);
                var result = await loader.LoadFileAsync(file, options, cancellationToken);
                results.Add(result);
                await reporter.Report(result);
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
}
