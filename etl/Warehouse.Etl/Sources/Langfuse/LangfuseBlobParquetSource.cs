using Warehouse.Loading;
using Warehouse.Traces;

namespace Warehouse.Sources.Langfuse;

/// <summary>
/// Langfuse blob-storage export as Parquet (the integration's default; ClickHouse `FORMAT
/// Parquet`): `&lt;project&gt;/{traces|observations|scores|observations_v2}/&lt;timestamp&gt;.parquet`,
/// snake_case columns, metadata / usage_details / cost_details as MAP columns (or JSON text),
/// tags as a LIST, timestamps as Parquet timestamps. Rows by the same rules as the JSON Lines form.
/// </summary>
public sealed class LangfuseBlobParquetSource : TracePartFormat
{
    public override string Name => "langfuse-blob-parquet";

    public override string SourceName => LangfuseApiJsonlSource.Tool;

    public override bool Detect(SourceFile file)
    {
        if (!LangfuseParquetRows.LooksLikeParquet(file))
        {
            return false;
        }

        using var rows = new LangfuseParquetRows(file);
        try
        {
            return LangfuseTables.OfBlob(rows.ColumnNames(), file.Path) is not null;
        }
        catch (LoadException)
        {
            return false;
        }
    }

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        using var rows = new LangfuseParquetRows(file);
        IReadOnlyList<string> columns;
        try
        {
            columns = rows.ColumnNames();
        }
        catch (LoadException error)
        {
            throw new LoadException($"{file.Path}: {error.Message}");
        }

        var table = LangfuseTables.OfBlob(columns, file.Path)
            ?? throw new LoadException($"{file.Path}: the columns are not those of a Langfuse traces, observations or scores export");
        foreach (var (number, row) in rows.Rows(cancellationToken))
        {
            foreach (var part in LangfuseTables.Parts(table, row, number, rules, file, () => row.GetRawText()))
            {
                yield return part;
            }
        }
    }
}
