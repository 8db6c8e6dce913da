using System.Data.Common;
using System.Globalization;
using System.Numerics;
using Warehouse.Engines;

namespace Warehouse.Tests.Views;

/// <summary>
/// A row read from a view, with conversions that hide the engines' type differences (DuckDB
/// HUGEINT sums, PostgreSQL numeric, SQL Server int counts and bit flags, dates as DateOnly or DateTime).
/// </summary>
public sealed class ViewRow(IReadOnlyDictionary<string, object?> values)
{
    public IReadOnlyDictionary<string, object?> Values { get; } = values;

    public object? this[string column] => Values.TryGetValue(column, out var value)
        ? value
        : throw new KeyNotFoundException($"the view has no column {column}; it has {string.Join(", ", Values.Keys)}");

    public string? Text(string column) => this[column] switch
    {
        null => null,
        string text => text,
        var other => Convert.ToString(other, CultureInfo.InvariantCulture),
    };

    public double? Double(string column) => this[column] switch
    {
        null => null,
        double number => number,
        float number => number,
        decimal number => (double)number,
        BigInteger number => (double)number,
        var other => Convert.ToDouble(other, CultureInfo.InvariantCulture),
    };

    public long? Long(string column) => this[column] switch
    {
        null => null,
        long number => number,
        BigInteger number => (long)number,
        double number when Math.Floor(number) == number => (long)number,
        decimal number when decimal.Floor(number) == number => (long)number,
        var other => Convert.ToInt64(other, CultureInfo.InvariantCulture),
    };

    public bool? Bool(string column) => this[column] switch
    {
        null => null,
        bool flag => flag,
        var other => Convert.ToInt64(other, CultureInfo.InvariantCulture) != 0,
    };

    public DateOnly? Date(string column) => this[column] switch
    {
        null => null,
        DateOnly date => date,
        DateTime time => DateOnly.FromDateTime(time),
        DateTimeOffset time => DateOnly.FromDateTime(time.UtcDateTime),
        var other => throw new InvalidCastException($"{column} is a {other.GetType().Name}, not a date"),
    };

    /// <summary>A timestamp as UTC (PostgreSQL timestamptz comes back as UTC or local; the others unspecified = UTC).</summary>
    public DateTime? Time(string column) => this[column] switch
    {
        null => null,
        DateTime time when time.Kind == DateTimeKind.Local => time.ToUniversalTime(),
        DateTime time => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        DateTimeOffset time => time.UtcDateTime,
        var other => throw new InvalidCastException($"{column} is a {other.GetType().Name}, not a timestamp"),
    };

    public SliceKey Slice(string? level = null) => new(
        level ?? Text("slice_level")!,
        Text("feature")!,
        Text("intent")!,
        Text("language")!,
        Text("customer_tier")!,
        Text("output_format")!,
        Text("context_band")!);

    public override string ToString() => string.Join(", ", Values.Select(pair => $"{pair.Key}={Format(pair.Value)}"));

    private static string Format(object? value) => value switch
    {
        null => "NULL",
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}

public static class ViewRows
{
    public static async Task<List<ViewRow>> QueryAsync(WarehouseEngine engine, string sql, CancellationToken cancellationToken)
    {
        await using var connection = await engine.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = engine.Sql(sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<ViewRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var values = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            for (var ordinal = 0; ordinal < reader.FieldCount; ordinal++)
            {
                values[reader.GetName(ordinal)] = await reader.IsDBNullAsync(ordinal, cancellationToken) ? null : reader.GetValue(ordinal);
            }

            rows.Add(new ViewRow(values));
        }

        return rows;
    }

    public static async Task<List<string>> ColumnsAsync(WarehouseEngine engine, string view, CancellationToken cancellationToken)
    {
        await using var connection = await engine.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"select * from {view} where 1 = 0";
        await using DbDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        return Enumerable.Range(0, reader.FieldCount).Select(ordinal => reader.GetName(ordinal).ToLowerInvariant()).ToList();
    }
}

/// <summary>
/// Collects every difference between expected and actual values, so one failing run names all of
/// them (view, row, column, expected, actual) instead of stopping at the first.
/// </summary>
public sealed class Differences(string view)
{
    private readonly List<string> _items = [];

    public int Count => _items.Count;

    public void Add(string message) => _items.Add(message);

    public void Text(string row, string column, string? expected, string? actual)
    {
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
        {
            _items.Add($"{row}: {column} expected {Show(expected)}, actual {Show(actual)}");
        }
    }

    public void Number(string row, string column, double? expected, double? actual, double tolerance)
    {
        var same = (expected, actual) switch
        {
            (null, null) => true,
            (null, _) or (_, null) => false,
            var (e, a) => Math.Abs(e.Value - a.Value) <= tolerance,
        };
        if (!same)
        {
            _items.Add($"{row}: {column} expected {Show(expected)}, actual {Show(actual)} (tolerance {tolerance:G3})");
        }
    }

    public void Long(string row, string column, long? expected, long? actual)
    {
        if (expected != actual)
        {
            _items.Add($"{row}: {column} expected {Show(expected)}, actual {Show(actual)}");
        }
    }

    public void AssertNone()
    {
        Assert.True(_items.Count == 0,
            $"{view}: {_items.Count} difference(s) from the expected rows:\n  " + string.Join("\n  ", _items.Take(60))
            + (_items.Count > 60 ? $"\n  ... and {_items.Count - 60} more" : ""));
    }

    private static string Show(object? value) => value switch
    {
        null => "NULL",
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        string text => $"'{text}'",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
