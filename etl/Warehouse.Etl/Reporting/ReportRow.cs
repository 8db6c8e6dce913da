using System.Globalization;
using System.Numerics;

namespace Warehouse.Reporting;

/// <summary>
/// One row of a saved report query, read by column name. The three engines hand back different CLR
/// types for the same SQL type (DuckDB sums are HUGEINT → BigInteger, PostgreSQL counts are long, SQL
/// Server bit is bool, a date may be DateOnly or DateTime), so every accessor converts here, once.
/// </summary>
public sealed class ReportRow(IReadOnlyDictionary<string, object?> values)
{
    public IReadOnlyDictionary<string, object?> Values { get; } = values;

    public static ReportRow From(IDictionary<string, object?> values) =>
        new(new Dictionary<string, object?>(values, StringComparer.OrdinalIgnoreCase));

    private object? Raw(string column) =>
        Values.TryGetValue(column, out var value) && value is not DBNull ? value : null;

    public string? Text(string column) => Raw(column) switch
    {
        null => null,
        string text => text,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        var other => other.ToString(),
    };

    public string Label(string column) => Text(column) ?? "";

    public double? Number(string column) => Raw(column) switch
    {
        null => null,
        double number => number,
        float number => number,
        decimal number => (double)number,
        BigInteger number => (double)number,
        IConvertible convertible => convertible.ToDouble(CultureInfo.InvariantCulture),
        var other => double.Parse(other.ToString()!, CultureInfo.InvariantCulture),
    };

    public long? Count(string column) => Raw(column) switch
    {
        null => null,
        BigInteger number => (long)number,
        IConvertible convertible => convertible.ToInt64(CultureInfo.InvariantCulture),
        var other => long.Parse(other.ToString()!, CultureInfo.InvariantCulture),
    };

    public bool? Flag(string column) => Raw(column) switch
    {
        null => null,
        bool flag => flag,
        IConvertible convertible => convertible.ToInt64(CultureInfo.InvariantCulture) != 0,
        var other => bool.Parse(other.ToString()!),
    };

    /// <summary>A timestamp or date as UTC (the warehouse stores UTC everywhere).</summary>
    public DateTime? Time(string column) => Raw(column) switch
    {
        null => null,
        DateTime time => time.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(time, DateTimeKind.Utc) : time.ToUniversalTime(),
        DateTimeOffset time => time.UtcDateTime,
        DateOnly date => date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
        var other => DateTime.Parse(other.ToString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
    };
}
