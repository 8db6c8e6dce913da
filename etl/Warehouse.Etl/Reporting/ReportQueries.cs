using System.Data.Common;
using System.Reflection;
using Dapper;
using Warehouse.Engines;

namespace Warehouse.Reporting;

/// <summary>
/// The saved SQL in reports/sql/, embedded in the console: the report runs exactly the files users
/// open in their SQL client or BI tool, so the two cannot tell different stories.
/// </summary>
public static class ReportQueries
{
    private const string Prefix = "reports/sql/";

    public const string Headline = "headline";
    public const string SliceDeltas = "slice_deltas";
    public const string Divergences = "divergences";
    public const string CoverageGaps = "coverage_gaps";
    public const string SliceMix = "slice_mix";
    public const string LockBoard = "lock_board";
    public const string SeedCandidates = "seed_candidates";
    public const string TrendOnline = "trend_online";
    public const string TrendOffline = "trend_offline";
    public const string LoadBatches = "load_batches";
    public const string RejectedRecords = "rejected_records";

    public static readonly string[] All =
        [Headline, SliceDeltas, Divergences, CoverageGaps, SliceMix, LockBoard, SeedCandidates, TrendOnline, TrendOffline, LoadBatches, RejectedRecords];

    /// <summary>The names of the embedded files (<c>headline.sql</c>, …).</summary>
    public static IReadOnlyList<string> EmbeddedFiles() =>
        typeof(ReportQueries).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(Prefix, StringComparison.Ordinal))
            .Select(name => name[Prefix.Length..])
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>The text of reports/sql/<paramref name="name"/>.sql, without its trailing semicolon.</summary>
    public static string Text(string name)
    {
        using var stream = typeof(ReportQueries).Assembly.GetManifestResourceStream(Prefix + name + ".sql")
            ?? throw new InvalidOperationException($"reports/sql/{name}.sql is not embedded in the console; rebuild it.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().TrimEnd().TrimEnd(';');
    }

    public static async Task<List<ReportRow>> RunAsync(DbConnection connection, string name, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync(new CommandDefinition(Text(name), commandTimeout: 0, cancellationToken: cancellationToken));
        return rows.Select(row => ReportRow.From((IDictionary<string, object?>)row)).ToList();
    }
}
