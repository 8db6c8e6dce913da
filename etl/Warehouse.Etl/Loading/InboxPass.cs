using System.Data.Common;
using Warehouse.Engines;

namespace Warehouse.Loading;

/// <summary>Something one pass over the inbox did, for the operator's log.</summary>
public abstract record InboxEvent(string File)
{
    /// <summary>A ready file is about to be loaded.</summary>
    public sealed record Starting(string File) : InboxEvent(File);

    public sealed record Loaded(FileLoadResult Result) : InboxEvent(Result.FilePath);

    public sealed record Archived(string File, string Target) : InboxEvent(File);

    public sealed record Quarantined(string File, string Target, string Reason) : InboxEvent(File);

    public sealed record Left(string File, string Why) : InboxEvent(File);

    /// <summary>A file that was dealt with but could not be moved, or a pass that had to stop.</summary>
    public sealed record Problem(string File, string Message) : InboxEvent(File);
}

/// <summary>What one pass did, and the exit code a scheduler acts on.</summary>
public sealed record InboxPassResult(int Loaded, int Skipped, int Quarantined, int Left, long RejectedRecords, int Problems)
{
    /// <summary>1 when a file was quarantined or something went wrong, 3 when records were rejected, else 0 (an empty inbox is fine).</summary>
    public int ExitCode => Quarantined > 0 || Problems > 0 ? 1 : RejectedRecords > 0 ? 3 : 0;
}

/// <summary>
/// One pass of `watch`: every ready file in the inbox is loaded (one batch each); loaded files and
/// files identical to one already loaded go to the archive, files that cannot be loaded at all go
/// to quarantine with the reason, files still being written stay. A companion file (LangSmith
/// feedback beside its runs) follows its main file. When the database goes away for longer than
/// the loader's retries, the pass stops and every file not yet loaded stays in the inbox.
/// The caller holds the loader lock.
/// </summary>
public sealed class InboxPass(Loader loader, Inbox inbox, TimeSpan settle, Func<InboxEvent, Task> report, LoadOptions? options = null)
{
    public async Task<InboxPassResult> RunAsync(CancellationToken cancellationToken)
    {
        int loaded = 0, skipped = 0, quarantined = 0, left = 0, problems = 0;
        long rejected = 0;
        var (files, partial) = inbox.Scan();
        foreach (var file in partial)
        {
            left++;
            await report(new InboxEvent.Left(file, "named like a file still being uploaded"));
        }

        var (ready, busy) = await inbox.SettleAsync(files, settle, cancellationToken);
        foreach (var file in busy)
        {
            left++;
            await report(new InboxEvent.Left(file, $"still being written (changed within the last {settle.TotalSeconds:0.#} s)"));
        }

        // Where each file went, so a companion can follow its main file.
        var destinations = new Dictionary<string, bool>(StringComparer.Ordinal);
        var companions = new List<(string File, string Main)>();
        foreach (var file in ready)
        {
            if (!File.Exists(file.Path))
            {
                continue;
            }

            FileLoadResult result;
            await report(new InboxEvent.Starting(file.Path));
            try
            {
                result = await loader.LoadFileAsync(file.Path, options ?? new LoadOptions(), cancellationToken);
            }
            catch (DbException error)
            {
                problems++;
                await report(new InboxEvent.Problem(file.Path,
                    $"the database is unavailable ({error.Message}); this file and the ones after it stay in the inbox for the next run"));
                break;
            }

            await report(new InboxEvent.Loaded(result));
            switch (result.Status)
            {
                case FileLoadStatus.Skipped when result.ReadWithFile is { } main:
                    companions.Add((file.Path, main));
                    continue;
                case FileLoadStatus.Failed when result.BatchId is null && !File.Exists(file.Path):
                    continue;
                case FileLoadStatus.Failed:
                    quarantined++;
                    problems += await MoveAsync(file.Path, destinations, toArchive: false, result.Message ?? "the file could not be loaded", result.BatchId);
                    continue;
                case FileLoadStatus.Skipped:
                    skipped++;
                    break;
                default:
                    loaded++;
                    rejected += result.RowsRejected;
                    break;
            }

            problems += await MoveAsync(file.Path, destinations, toArchive: true, null, result.BatchId);
        }

        foreach (var (file, main) in companions)
        {
            if (destinations.TryGetValue(main, out var archived))
            {
                problems += await MoveAsync(file, destinations, archived, archived ? null : $"read with {main}, which was quarantined", null);
                quarantined += archived ? 0 : 1;
            }
            else
            {
                left++;
                await report(new InboxEvent.Left(file, $"waits for {Path.GetFileName(main)}, which it is read with"));
            }
        }

        return new InboxPassResult(loaded, skipped, quarantined, left, rejected, problems);
    }

    /// <summary>Moves a file; a move that fails (read-only or full archive) is reported, never swallowed. Returns 1 for a problem.</summary>
    private async Task<int> MoveAsync(string file, Dictionary<string, bool> destinations, bool toArchive, string? reason, long? batchId)
    {
        string target;
        try
        {
            target = toArchive ? inbox.Archive(file) : inbox.Quarantine(file, reason!, batchId);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            var what = toArchive
                ? "was loaded but could not be moved to the archive"
                : $"could not be loaded ({reason}) and could not be moved to quarantine";
            await report(new InboxEvent.Problem(file, $"{what}: {error.Message}; it stays in the inbox"
                + (toArchive ? " and will be skipped as identical next time" : "")));
            return 1;
        }

        destinations[file] = toArchive;
        await report(toArchive ? new InboxEvent.Archived(file, target) : new InboxEvent.Quarantined(file, target, reason!));
        return 0;
    }
}
