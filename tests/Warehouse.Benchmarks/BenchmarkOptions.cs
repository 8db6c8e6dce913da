namespace Warehouse.Benchmarks;

/// <summary>What to generate and measure; bound from the command line (see Program.cs).</summary>
internal sealed record BenchmarkOptions
{
    public static readonly string[] AllParts = ["csv", "jsonl", "otlp", "promptfoo", "views", "large"];

    public static readonly string[] AllEngines = ["duckdb", "postgres", "sqlserver"];

    public long Traces { get; init; } = 1_000_000;

    public long Evals { get; init; } = 200_000;

    public long Spans { get; init; } = 1_000_000;

    /// <summary>Rows of the large canonical CSV that part "large" loads to check the memory target at ten times the scale.</summary>
    public long LargeTraces { get; init; } = 10_000_000;

    public IReadOnlySet<string> Engines { get; init; } = new HashSet<string>(AllEngines, StringComparer.Ordinal);

    public int Repeat { get; init; } = 3;

    public string? Work { get; init; }

    public bool Keep { get; init; }

    public IReadOnlySet<string> Only { get; init; } = new HashSet<string>(AllParts, StringComparer.Ordinal);

    public string? Postgres { get; init; }

    public string? SqlServer { get; init; }

    public string? Report { get; init; }

    public int Seed { get; init; } = 20261120;

    /// <summary>The warehouse.dll to run; default the one built beside this benchmark.</summary>
    public string? Warehouse { get; init; }

    public bool Runs(string part) => Only.Contains(part);
}
