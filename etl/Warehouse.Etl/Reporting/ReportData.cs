using System.Data.Common;
using Dapper;

namespace Warehouse.Reporting;

/// <summary>A registered comparison, as quality.comparisons holds it.</summary>
public sealed record ReportComparison(
    string Name, string CompareKey, string Baseline, string Candidate,
    DateTime? BaselineFrom, DateTime? BaselineTo, DateTime? CandidateFrom, DateTime? CandidateTo);

/// <summary>
/// Everything the report shows, read once from the saved queries. Each section's rows are kept as the
/// query returned them (ordered); the per-comparison ones are filtered here so every comparison reads
/// the same views once, not once per comparison.
/// </summary>
public sealed class ReportData
{
    public required IReadOnlyList<ReportComparison> Comparisons { get; init; }
    public required IReadOnlyList<ReportRow> Headline { get; init; }
    public required IReadOnlyList<ReportRow> SliceDeltas { get; init; }
    public required IReadOnlyList<ReportRow> Divergences { get; init; }
    public required IReadOnlyList<ReportRow> CoverageGaps { get; init; }
    public required IReadOnlyList<ReportRow> SliceMix { get; init; }
    public required IReadOnlyList<ReportRow> LockBoard { get; init; }
    public required IReadOnlyList<ReportRow> SeedCandidates { get; init; }
    public required IReadOnlyList<ReportRow> TrendOnline { get; init; }
    public required IReadOnlyList<ReportRow> TrendOffline { get; init; }
    public required IReadOnlyList<ReportRow> LoadBatches { get; init; }
    public required IReadOnlyList<ReportRow> RejectedRecords { get; init; }

    public required DateTime GeneratedAt { get; init; }

    public required string EngineName { get; init; }

    public static async Task<ReportData> ReadAsync(DbConnection connection, string engineName, string? comparisonName, CancellationToken cancellationToken)
    {
        var comparisons = (await connection.QueryAsync<ComparisonRow>(new CommandDefinition(
            "select comparison_name as Name, compare_key as CompareKey, baseline as Baseline, candidate as Candidate, "
            + "baseline_from as BaselineFrom, baseline_to as BaselineTo, candidate_from as CandidateFrom, candidate_to as CandidateTo "
            + "from quality.comparisons order by created_at, comparison_name",
            cancellationToken: cancellationToken)))
            .Select(row => new ReportComparison(row.Name, row.CompareKey, row.Baseline, row.Candidate,
                Utc(row.BaselineFrom), Utc(row.BaselineTo), Utc(row.CandidateFrom), Utc(row.CandidateTo)))
            .Where(comparison => comparisonName is null || comparison.Name == comparisonName)
            .ToList();

        bool Chosen(ReportRow row) => comparisonName is null || row.Text("comparison_name") == comparisonName;

        async Task<List<ReportRow>> Run(string name, bool perComparison = false)
        {
            var rows = await ReportQueries.RunAsync(connection, name, cancellationToken);
            return perComparison ? rows.Where(Chosen).ToList() : rows;
        }

        // The per-comparison views are only worth computing when there is a comparison to show.
        var any = comparisons.Count > 0;
        return new ReportData
        {
            Comparisons = comparisons,
            Headline = any ? await Run(ReportQueries.Headline, perComparison: true) : [],
            SliceDeltas = any ? await Run(ReportQueries.SliceDeltas, perComparison: true) : [],
            Divergences = any ? await Run(ReportQueries.Divergences, perComparison: true) : [],
            LockBoard = any ? await Run(ReportQueries.LockBoard, perComparison: true) : [],
            TrendOnline = any ? await Run(ReportQueries.TrendOnline, perComparison: true) : [],
            TrendOffline = any ? await Run(ReportQueries.TrendOffline, perComparison: true) : [],
            CoverageGaps = await Run(ReportQueries.CoverageGaps),
            SliceMix = await Run(ReportQueries.SliceMix),
            SeedCandidates = await Run(ReportQueries.SeedCandidates),
            LoadBatches = await Run(ReportQueries.LoadBatches),
            RejectedRecords = await Run(ReportQueries.RejectedRecords),
            GeneratedAt = DateTime.UtcNow,
            EngineName = engineName,
        };
    }

    public IEnumerable<ReportRow> For(IEnumerable<ReportRow> rows, ReportComparison comparison) =>
        rows.Where(row => row.Text("comparison_name") == comparison.Name);

    private static DateTime? Utc(DateTime? value) => value switch
    {
        null => null,
        { Kind: DateTimeKind.Unspecified } time => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        var time => time.Value.ToUniversalTime(),
    };

    private sealed record ComparisonRow(
        string Name, string CompareKey, string Baseline, string Candidate,
        DateTime? BaselineFrom, DateTime? BaselineTo, DateTime? CandidateFrom, DateTime? CandidateTo);
}
