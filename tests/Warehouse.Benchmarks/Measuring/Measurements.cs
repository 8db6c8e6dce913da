namespace Warehouse.Benchmarks.Measuring;

/// <summary>What one bulk load measured. Seconds are wall time; PeakRssBytes is null for in-process work.</summary>
internal sealed record LoadMeasurement(
    string Engine,
    string Input,
    string Table,
    long Records,
    double Seconds,
    long? PeakRssBytes = null,
    double? LoaderSeconds = null,
    string? Note = null,
    bool IsBaseline = false,
    bool Failed = false)
{
    public double RecordsPerSecond => Seconds > 0 ? Records / Seconds : 0;
}

/// <summary>Timing of one view: rows read and the median of the repeated full reads.</summary>
internal sealed record ViewMeasurement(string Engine, string View, long Rows, double MedianSeconds, IReadOnlyList<double> Runs, string? Error = null);
