using System.CommandLine;
using Cronos;
using Warehouse.Engines;
using Warehouse.Loading;
using Warehouse.Migrations;

namespace Warehouse.Commands;

/// <summary>
/// Unattended loading from an inbox folder, once (`--once`, for cron, systemd timers, SQL Server
/// Agent, Kubernetes CronJobs) or on a cron schedule in one long-running process (`--cron`). Each
/// pass takes the loader lock, marks batches a killed loader left running as abandoned, loads every
/// ready file and moves it to the archive or to quarantine.
/// </summary>
public sealed class WatchCommand(Cli cli)
{
    public Command Build()
    {
        var inbox = new Option<string>("--inbox") { Description = "the folder files arrive in (searched recursively)", Required = true };
        var archive = new Option<string?>("--archive") { Description = "where loaded files go, in dated folders (default: <inbox>/.archive)" };
        var quarantine = new Option<string?>("--quarantine")
        {
            Description = "where files that cannot be loaded go, each with <file>.error.txt saying why (default: <inbox>/.quarantine)",
        };
        var cron = new Option<string?>("--cron") { Description = "run a pass on this cron schedule (5 fields, or 6 with seconds; local time) until stopped" };
        var once = new Option<bool>("--once") { Description = "run one pass and exit: 0 done, 1 a file was quarantined or the database was unavailable, 3 records rejected" };
        var wait = CreateWaitOption();
        var json = LoadReporter.CreateJsonOption();
        var settle = new Option<double>("--settle")
        {
            Description = "seconds a file must stay unchanged to count as completely written (default 2)",
            DefaultValueFactory = _ => 2,
        };
        var command = new Command("watch", "load files arriving in an inbox folder: loaded files to the archive, bad files to quarantine")
        {
            inbox, archive, quarantine, cron, once, wait, settle, json,
        };

        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var schedule = parseResult.GetValue(cron);
            var single = parseResult.GetValue(once);
            if (schedule is null == !single)
            {
                await cli.Error.WriteLineAsync("warehouse: watch needs either --once (one pass, for a scheduler) or --cron \"EXPR\" (a schedule of its own)");
                return ExitCodes.UsageError;
            }

            CronExpression? expression = null;
            if (schedule is not null)
            {
                try
                {
                    expression = CronExpression.Parse(schedule, schedule.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6
                        ? CronFormat.IncludeSeconds
                        : CronFormat.Standard);
                }
                catch (CronFormatException error)
                {
                    await cli.Error.WriteLineAsync($"warehouse: --cron \"{schedule}\" is not a cron expression ({error.Message})");
                    return ExitCodes.UsageError;
                }
            }

            var folders = InboxFolders.Resolve(parseResult.GetValue(inbox)!, parseResult.GetValue(archive), parseResult.GetValue(quarantine));
            if (!Directory.Exists(folders.Inbox))
            {
                await cli.Error.WriteLineAsync($"warehouse: the inbox {folders.Inbox} does not exist");
                return ExitCodes.UsageError;
            }

            var engine = cli.CreateLoaderEngine(parseResult);
            await using var reporter = LoadReporter.Create(cli, parseResult, json);
            var options = new PassOptions(reporter, folders, TimeSpan.FromSeconds(Math.Max(0, parseResult.GetValue(wait))),
                TimeSpan.FromSeconds(Math.Max(0, parseResult.GetValue(settle))));
            if (expression is null)
            {
                return await PassAsync(engine, options, cancellationToken);
            }

            await reporter.Note("watching", $"watching {folders.Inbox} on \"{schedule}\" (Ctrl+C or SIGTERM stops between passes)");
            while (true)
            {
                var next = expression.GetNextOccurrence(DateTimeOffset.Now, TimeZoneInfo.Local);
                if (next is null)
                {
                    await reporter.Note("stopped", $"the schedule \"{schedule}\" has no next run; stopping");
                    return ExitCodes.Success;
                }

                try
                {
                    await Task.Delay(next.Value - DateTimeOffset.Now is var delay && delay > TimeSpan.Zero ? delay : TimeSpan.Zero, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    await reporter.Note("stopped", "stopped");
                    return ExitCodes.Success;
                }

                await PassAsync(engine, options, cancellationToken);
            }
        });
    }

    private sealed record PassOptions(LoadReporter Reporter, InboxFolders Folders, TimeSpan Wait, TimeSpan Settle);

    /// <summary>`--wait`: how long a loader waits for another one on the same database (load and watch).</summary>
    public static Option<int> CreateWaitOption() => new("--wait")
    {
        Description = "seconds to wait for another loader on the same database to finish before giving up (default 600)",
        DefaultValueFactory = _ => 600,
    };

    /// <summary>
    /// Takes the loader lock for a command, saying so while it waits; null (after saying why on
    /// stderr) when another loader kept it for longer than the wait.
    /// </summary>
    public static async Task<IAsyncDisposable?> TakeLoaderLockAsync(Cli cli, WarehouseEngine engine, int waitSeconds, CancellationToken cancellationToken)
    {
        try
        {
            return await LoaderLock.AcquireAsync(engine, TimeSpan.FromSeconds(Math.Max(0, waitSeconds)), cancellationToken,
                message => cli.Error.WriteLine($"warehouse: {message}"));
        }
        catch (LoaderBusyException busy)
        {
            await cli.Error.WriteLineAsync($"warehouse: {busy.Message}");
            return null;
        }
    }

    private async Task<int> PassAsync(WarehouseEngine engine, PassOptions options, CancellationToken cancellationToken)
    {
        var reporter = options.Reporter;
        await using var held = await TakeLoaderLockAsync(cli, engine, (int)options.Wait.TotalSeconds, cancellationToken);
        if (held is null)
        {
            return ExitCodes.Failure;
        }

        new Migrator(engine).Migrate();
        var loader = new Loader(engine, settings: cli.SourceSettings)
        {
            OnRetry = message => reporter.Note("load_retry", message).GetAwaiter().GetResult(),
        };
        var abandoned = await loader.AbandonRunningBatchesAsync(cancellationToken);
        if (abandoned > 0)
        {
            await reporter.Note("abandoned_batches", $"marked {abandoned} batch(es) a stopped loader left running as failed (abandoned); their files load again");
        }

        var pass = new InboxPass(loader, new Inbox(options.Folders), options.Settle, happened => happened switch
        {
            InboxEvent.Starting starting => reporter.StartFile(starting.File),
            InboxEvent.Loaded loaded => reporter.Report(loaded.Result),
            InboxEvent.Archived archived => reporter.Archived(archived.File, archived.Target),
            InboxEvent.Quarantined quarantined => reporter.Quarantined(quarantined.File, quarantined.Reason, quarantined.Target),
            InboxEvent.Left left => reporter.Left(left.File, left.Why),
            InboxEvent.Problem problem => reporter.Problem(problem.File, problem.Message),
            _ => Task.CompletedTask,
        });
        var result = await pass.RunAsync(cancellationToken);
        await reporter.Note("pass_done",
            $"pass done: {result.Loaded} loaded, {result.Skipped} already loaded, {result.Quarantined} quarantined, {result.Left} left for the next run, "
            + $"{result.RejectedRecords} records rejected" + (result.Problems > 0 ? $", {result.Problems} problem(s) (see above)" : ""));
        return result.ExitCode;
    }
}
