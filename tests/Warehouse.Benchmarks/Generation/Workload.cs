using System.Diagnostics;

namespace Warehouse.Benchmarks.Generation;

/// <summary>A generated input file: how many records the loader should read from it, and what it cost to write.</summary>
internal sealed record WorkloadFile(string Path, string Description, long Records, double Seconds)
{
    public long Bytes => new FileInfo(Path).Length;
}

/// <summary>
/// The synthetic exports of one run, written into the work folder before anything is measured.
/// Only the files the selected parts need are written.
/// </summary>
internal sealed class Workload
{
    public WorkloadFile? TracesCsv { get; private set; }

    /// <summary>The same traces as a later export: one in ten has a late complaint (the upsert path).</summary>
    public WorkloadFile? TracesCsvModified { get; private set; }

    public WorkloadFile? TracesJsonl { get; private set; }

    public WorkloadFile? EvalsCsv { get; private set; }

    public WorkloadFile? Otlp { get; private set; }

    /// <summary>The number of traces the OTLP spans describe.</summary>
    public long OtlpTraces { get; private set; }

    public WorkloadFile? Promptfoo { get; private set; }

    /// <summary>Canonical CSV traces at ten times the scale (--large-traces): the memory target must hold there too.</summary>
    public WorkloadFile? TracesCsvLarge { get; private set; }

    public IEnumerable<WorkloadFile> Files =>
        new[] { TracesCsv, TracesCsvModified, TracesJsonl, EvalsCsv, Otlp, Promptfoo, TracesCsvLarge }.OfType<WorkloadFile>();

    public static Workload Generate(BenchmarkOptions options, string folder, TextWriter log, CancellationToken cancellationToken)
    {
        var traces = new SyntheticTraces(options.Seed, options.Traces);
        var evals = new SyntheticEvals(options.Seed, options.Evals, traces);
        var workload = new Workload();
        var canonical = options.Runs("csv") || options.Runs("views");

        if (canonical)
        {
            workload.TracesCsv = Timed(log, Path.Combine(folder, "traces.csv"), "canonical CSV traces", path =>
                CanonicalWriters.WriteCsv(path, traces.Count, index => traces.Get(index), CanonicalColumns.Traces, cancellationToken));
            workload.EvalsCsv = Timed(log, Path.Combine(folder, "evals.csv"), "canonical CSV evals", path =>
                CanonicalWriters.WriteCsv(path, evals.Count, evals.Get, CanonicalColumns.Evals, cancellationToken));
        }

        if (options.Runs("csv"))
        {
            workload.TracesCsvModified = Timed(log, Path.Combine(folder, "traces-later-export.csv"), "canonical CSV traces, later export", path =>
                CanonicalWriters.WriteCsv(path, traces.Count, index => traces.Get(index, revision: 1), CanonicalColumns.Traces, cancellationToken));
        }

        if (options.Runs("jsonl"))
        {
            workload.TracesJsonl = Timed(log, Path.Combine(folder, "traces.jsonl"), "canonical JSONL traces", path =>
                CanonicalWriters.WriteJsonl(path, traces.Count, index => traces.Get(index), CanonicalColumns.Traces, cancellationToken));
        }

        if (options.Runs("otlp"))
        {
            // Enough traces for the spans: about four spans per trace, never fewer than two.
            var spanTraces = new SyntheticTraces(options.Seed + 1, Math.Max(1, options.Spans / 2));
            workload.Otlp = Timed(log, Path.Combine(folder, "traces.otlp.jsonl"), "OTLP/JSON spans", path =>
            {
                var (spans, traceCount) = OtlpTracesWriter.Write(path, spanTraces, options.Spans, cancellationToken);
                workload.OtlpTraces = traceCount;
                return spans;
            });
        }

        if (options.Runs("promptfoo"))
        {
            workload.Promptfoo = Timed(log, Path.Combine(folder, "promptfoo-results.json"), "promptfoo JSON eval records", path =>
                PromptfooResultsWriter.Write(path, evals, cancellationToken));
        }

        if (options.Runs("large"))
        {
            var large = new SyntheticTraces(options.Seed + 2, options.LargeTraces);
            workload.TracesCsvLarge = Timed(log, Path.Combine(folder, "traces-large.csv"), "canonical CSV traces, large", path =>
                CanonicalWriters.WriteCsv(path, large.Count, index => large.Get(index), CanonicalColumns.Traces, cancellationToken));
        }

        return workload;
    }

    private static WorkloadFile Timed(TextWriter log, string path, string description, Func<string, long> write)
    {
        var clock = Stopwatch.StartNew();
        var records = write(path);
        var file = new WorkloadFile(path, description, records, clock.Elapsed.TotalSeconds);
        log.WriteLine($"generated {description}: {records:N0} records, {file.Bytes / 1048576.0:N1} MiB in {file.Seconds:N1} s -> {path}");
        return file;
    }
}
