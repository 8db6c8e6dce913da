using System.Globalization;
using System.Text;
using Warehouse.Benchmarks.Generation;
using Warehouse.Benchmarks.Measuring;

namespace Warehouse.Benchmarks.Reporting;

/// <summary>
/// The run as markdown: the workload, a loads table with each figure's ratio to the native bulk
/// path measured in the same run, a views table, and each of issue 9's targets marked met or missed.
/// </summary>
internal static class MarkdownReport
{
    private const double MiB = 1024 * 1024;

    /// <summary>Issue 9's targets.</summary>
    private const double CsvShareOfCopy = 0.5;
    private const double OtlpSecondsPerMillionSpans = 20;
    private const double PeakRssLimitBytes = 512 * MiB;
    private const long TargetTraces = 1_000_000;
    private const long TargetEvals = 200_000;

    private static readonly Dictionary<string, double> ViewSecondsTarget = new(StringComparer.Ordinal)
    {
        ["duckdb"] = 1,
        ["postgres"] = 5,
    };

    public static string Build(BenchmarkOptions options, Workload workload, IReadOnlyList<LoadMeasurement> loads, IReadOnlyList<ViewMeasurement> views,
        IReadOnlyList<(string Engine, string Reason)> unreachable, IReadOnlyList<string> notes)
    {
        var text = new StringBuilder();
        Line(text, "# Warehouse benchmark");
        Line(text);
        Line(text, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores, {MachineMemory()}, .NET {Environment.Version}; "
            + $"scale: {options.Traces:N0} traces, {options.Evals:N0} eval records, {options.Spans:N0} OTLP spans; seed {options.Seed}; views median of {options.Repeat}.");
        Line(text);
        Line(text, "Reproduce: `dotnet run -c Release --project tests/Warehouse.Benchmarks -- "
            + $"--traces {options.Traces} --evals {options.Evals} --spans {options.Spans}`"
            + " (add `--postgres \"Host=...\"` or set WAREHOUSE_TEST_POSTGRES for PostgreSQL).");
        Line(text);
        Line(text, "| input file | records | MiB | generated in s |");
        Line(text, "|---|---:|---:|---:|");
        foreach (var file in workload.Files)
        {
            Line(text, $"| {Path.GetFileName(file.Path)} ({file.Description}) | {file.Records:N0} | {file.Bytes / MiB:N1} | {file.Seconds:N1} |");
        }

        foreach (var (engine, reason) in unreachable)
        {
            Line(text);
            Line(text, $"{engine}: {reason}; not measured.");
        }

        Line(text);
        Line(text, "## Loads");
        Line(text);
        Line(text, "Each `warehouse load` ran in its own process on a fresh, migrated database (the re-load and the later export "
            + "go into the database the first CSV load filled; eval files go into an empty eval table). *seconds* is the "
            + "process's wall time (start, migration check, file hash, load, commit); *loader s* is the loader's own time for "
            + "the file (`duration_ms`). *vs native COPY* is records/s divided by the records/s of the engine's native COPY of "
            + "the same table's canonical CSV in this run (for OTLP and promptfoo a reference only: other records, other files). "
            + "*peak RSS* is the child's VmHWM.");
        Line(text);
        Line(text, "| engine | input | table | records | seconds | records/s | vs native COPY | peak RSS MiB | loader s | target | note |");
        Line(text, "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (var load in loads)
        {
            var baseline = loads.FirstOrDefault(other => other.IsBaseline && other.Engine == load.Engine && other.Table == load.Table);
            var skipped = load.Note?.StartsWith("skipped", StringComparison.Ordinal) == true;
            var ratio = baseline is null || load.Failed || skipped ? "" : Format(load.RecordsPerSecond / baseline.RecordsPerSecond, "0.00");
            var note = load.Note;
            var capped = loads.FirstOrDefault(other => other.Input == BenchmarkRun.CappedCopyInput && other.Engine == load.Engine && other.Table == load.Table);
            if (load.Input == "canonical CSV" && capped is not null && !load.Failed)
            {
                note = $"{Format(load.RecordsPerSecond / capped.RecordsPerSecond, "0.00")} of COPY under the loader's caps" + (note is null ? "" : "; " + note);
            }

            Line(text, $"| {load.Engine} | {load.Input} | {load.Table} | {load.Records:N0} | {Format(load.Seconds, "0.00")} | "
                + $"{Format(load.RecordsPerSecond, "N0")} | {ratio} | {(load.PeakRssBytes is { } rss ? Format(rss / MiB, "N0") : "")} | "
                + $"{(load.LoaderSeconds is { } loader ? Format(loader, "0.00") : "")} | {LoadTarget(load, baseline)} | {note} |");
        }

        Line(text);
        Line(text, "## Views");
        Line(text);
        Line(text, $"`select * from quality.<view>`, every row read, on the database holding the canonical CSV traces and evals above, "
            + $"with comparison `{BenchmarkRun.ComparisonName}` (prompt_version refund-v3 → refund-v4) and one lock registered.");
        if (options.Traces != TargetTraces || options.Evals != TargetEvals)
        {
            Line(text, $"The view targets are stated for {TargetTraces:N0} traces and {TargetEvals:N0} eval records; this run has "
                + $"{options.Traces:N0} and {options.Evals:N0}, so met/missed here is indicative only.");
        }

        Line(text);
        Line(text, "| engine | view | rows | median s | runs s | target |");
        Line(text, "|---|---|---:|---:|---|---|");
        foreach (var view in views)
        {
            var runs = string.Join(" / ", view.Runs.Select(run => Format(run, "0.000")));
            Line(text, $"| {view.Engine} | {view.View} | {view.Rows:N0} | {(view.Error is null ? Format(view.MedianSeconds, "0.000") : "error")} | {runs} | "
                + $"{(view.Error is null ? ViewTarget(view) : view.Error)} |");
        }

        if (notes.Count > 0)
        {
            Line(text);
            foreach (var note in notes)
            {
                Line(text, "- " + note);
            }
        }

        Line(text);
        Line(text, "- The machine is shared and small: figures are wall times of one run and vary by 10-20 % between runs.");
        Line(text, "- The loader caps DuckDB's own memory (DuckDb:LoaderMemoryLimit, default 128MB, doubled and the file loaded again when a load outgrows it) and runs it on one thread (DuckDb:LoaderThreads); peak RSS is the whole process.");
        return text.ToString();
    }

    private static string LoadTarget(LoadMeasurement load, LoadMeasurement? baseline)
    {
        if (load.IsBaseline || load.PeakRssBytes is null || load.Failed)
        {
            return load.Failed ? "failed" : "";
        }

        var verdicts = new List<string>();
        if (load.Input == "canonical CSV" && baseline is not null)
        {
            var share = load.RecordsPerSecond / baseline.RecordsPerSecond;
            verdicts.Add($"≥ 50 % of COPY: {Verdict(share >= CsvShareOfCopy)}");
        }

        if (load.Engine == "duckdb" && load.Input.StartsWith("OTLP", StringComparison.Ordinal))
        {
            // Below a million spans process start and per-file work dominate: a linear scale-up would mislead.
            verdicts.Add(load.Records >= 1_000_000
                ? $"1M spans < 20 s: {Verdict(load.Seconds * 1_000_000 / load.Records < OtlpSecondsPerMillionSpans)}"
                : "1M spans < 20 s: not judged below 1M spans");
        }

        verdicts.Add($"RSS < 512 MiB: {Verdict(load.PeakRssBytes < PeakRssLimitBytes)}");
        return string.Join("; ", verdicts);
    }

    private static string ViewTarget(ViewMeasurement view) =>
        ViewSecondsTarget.TryGetValue(view.Engine, out var limit) ? $"< {limit:0} s: {Verdict(view.MedianSeconds < limit)}" : "—";

    private static string Verdict(bool met) => met ? "met" : "**missed**";

    private static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string MachineMemory()
    {
        try
        {
            var total = File.ReadLines("/proc/meminfo").First(line => line.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kilobytes = long.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return $"{kilobytes / 1048576.0:0.#} GiB RAM";
        }
        catch (Exception error) when (error is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            return "unknown RAM";
        }
    }

    private static void Line(StringBuilder text, string line = "") => text.Append(line).Append('\n');
}
