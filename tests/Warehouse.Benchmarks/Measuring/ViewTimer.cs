using System.Data.Common;
using System.Diagnostics;
using Dapper;
using Warehouse.Benchmarks.Databases;

namespace Warehouse.Benchmarks.Measuring;

/// <summary>
/// Times `select * from quality.&lt;view&gt;` for every view in schema quality, reading every row
/// and every value to the client, as a BI tool's extract would. Each view runs
/// <c>repeat</c> times on one connection; the median is reported (the first run pays for cold
/// caches, the median is the interactive figure).
/// </summary>
internal static class ViewTimer
{
    public static async Task<IReadOnlyList<string>> ViewsAsync(BenchmarkDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var views = await connection.QueryAsync<string>(new CommandDefinition(
            "select table_name from information_schema.views where table_schema = 'quality' order by table_name",
            cancellationToken: cancellationToken));
        return views.ToList();
    }

    public static async Task<ViewMeasurement> TimeAsync(BenchmarkDatabase database, string view, int repeat, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var runs = new List<double>();
        long rows = 0;
        try
        {
            for (var run = 0; run < repeat; run++)
            {
                var clock = Stopwatch.StartNew();
                rows = await ReadAllAsync(connection, $"select * from quality.{view}", cancellationToken);
                runs.Add(clock.Elapsed.TotalSeconds);
            }
        }
        catch (DbException error)
        {
            return new ViewMeasurement(database.EngineName, view, rows, double.NaN, runs, error.Message.Split('\n')[0]);
        }

        return new ViewMeasurement(database.EngineName, view, rows, Median(runs), runs);
    }

    private static async Task<long> ReadAllAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var values = new object[reader.FieldCount];
        long rows = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            reader.GetValues(values);
            rows++;
        }

        return rows;
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
