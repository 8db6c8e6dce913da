using System.Data.Common;
using System.Diagnostics;
using DuckDB.NET.Data;
using Microsoft.Data.SqlClient;
using Npgsql;
using Warehouse.Benchmarks.Databases;
using Warehouse.Loading;

namespace Warehouse.Benchmarks.Measuring;

/// <summary>
/// The engine's own bulk path on the same canonical CSV the loader reads: the ceiling a loader
/// can approach. The scratch table has the fact table's columns and types (copied from the
/// migrated quality table) but no keys or indexes, which is the engine's best case; the keyed
/// variant also carries the fact table's unique key (and on PostgreSQL all its indexes), which
/// is what any load into the real table must maintain.
/// DuckDB: <c>COPY t (columns) FROM 'file.csv' (HEADER)</c>. PostgreSQL: <c>COPY t (columns) FROM STDIN
/// (FORMAT csv, HEADER)</c>, the file streamed through Npgsql's text import. SQL Server:
/// <c>BULK INSERT ... (FORMAT = 'CSV')</c>, which needs the file on a path the server can read.
/// </summary>
internal static class NativeCopy
{
    /// <summary>
    /// DuckDB settings that make its COPY run as the loader runs DuckDB (one thread, the loader's
    /// default memory cap): not the target's baseline, a reference for what the caps alone cost.
    /// </summary>
    public static readonly string[] DuckDbLoaderCaps = ["set threads = 1", $"set memory_limit = '{Warehouse.Engines.DuckDbEngine.DefaultLoaderMemoryLimit}'"];

    public static async Task<double> CopyAsync(BenchmarkDatabase database, TableSchema schema, string csvPath, bool keyed,
        CancellationToken cancellationToken, string suffix = "", IReadOnlyList<string>? settings = null)
    {
        var scratch = $"bench.{schema.TableName}{(keyed ? "_keyed" : "")}{suffix}";
        var columns = string.Join(", ", schema.Columns.Where(column => column.Role != ColumnRole.Bookkeeping).Select(column => column.Name));
        await using var connection = await database.OpenAsync(cancellationToken);
        foreach (var statement in ScratchTableSql(database.EngineName, schema, scratch, keyed).Concat(settings ?? []))
        {
            await ExecuteAsync(connection, statement, cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        switch (connection)
        {
            case DuckDBConnection:
                await ExecuteAsync(connection, $"copy {scratch} ({columns}) from '{csvPath.Replace("'", "''", StringComparison.Ordinal)}' (header)", cancellationToken);
                break;
            case NpgsqlConnection npgsql:
                await using (var import = await npgsql.BeginTextImportAsync($"copy {scratch} ({columns}) from stdin (format csv, header)", cancellationToken))
                using (var reader = new StreamReader(csvPath, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: false, 1 << 16))
                {
                    var buffer = new char[1 << 16];
                    int read;
                    while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
                    {
                        await import.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    }
                }

                break;
            case SqlConnection:
                await ExecuteAsync(connection,
                    $"bulk insert {scratch}_columns from '{csvPath.Replace("'", "''", StringComparison.Ordinal)}' with (format = 'CSV', firstrow = 2, tablock)",
                    cancellationToken);
                break;
            default:
                throw new InvalidOperationException($"no native bulk path for {connection.GetType().Name}");
        }

        return clock.Elapsed.TotalSeconds;
    }

    private static IEnumerable<string> ScratchTableSql(string engine, TableSchema schema, string scratch, bool keyed)
    {
        yield return engine == "sqlserver"
            ? "if schema_id('bench') is null exec('create schema bench')"
            : "create schema if not exists bench";
        var keyColumns = string.Join(", ", schema.NaturalKey.Select(column => column.Name));
        switch (engine)
        {
            case "duckdb":
                yield return $"create table {scratch} as select * from {schema.QualifiedName} limit 0";
                if (keyed)
                {
                    yield return $"create unique index uq_{schema.TableName}_keyed on {scratch} ({keyColumns})";
                }

                break;
            case "postgres":
                yield return $"create table {scratch} (like {schema.QualifiedName} {(keyed ? "including all" : "including defaults")})";
                yield return $"alter table {scratch} alter column _batch_id drop not null, alter column _loaded_at drop not null";
                break;
            default:
                yield return $"select * into {scratch} from {schema.QualifiedName} where 1 = 0";
                yield return $"alter table {scratch} alter column _batch_id bigint null";
                yield return $"alter table {scratch} alter column _loaded_at datetime2(6) null";
                // BULK INSERT takes no column list: a view of the file's columns stands in for one.
                yield return $"create view {scratch}_columns as select {string.Join(", ", schema.Columns.Where(column => column.Role != ColumnRole.Bookkeeping).Select(column => column.Name))} from {scratch}";
                if (keyed)
                {
                    yield return $"create unique index uq_{schema.TableName}_keyed on {scratch} ({keyColumns})";
                }

                break;
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 0;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
