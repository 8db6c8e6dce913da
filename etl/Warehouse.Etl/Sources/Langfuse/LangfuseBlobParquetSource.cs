using System.Globalization;
using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Parquet;
using Warehouse.Traces;

namespace Warehouse.Sources.Langfuse;

/// <summary>
/// Langfuse blob-storage export as Parquet (the integration's default; ClickHouse `FORMAT
/// Parquet`): `&lt;project&gt;/{traces|observations|scores|observations_v2}/&lt;timestamp&gt;.parquet`,
/// snake_case columns, metadata / usage_details / cost_details as MAP columns (or JSON text),
/// tags as a LIST, timestamps as Parquet timestamps; gzipped or not. Rows by the same rules as the JSON Lines form.
/// </summary>
public sealed class LangfuseBlobParquetSource : TracePartFormat
{
    /// <summary>
    /// Rows as JSON objects: maps become objects, lists arrays, timestamps zone-less UTC text
    /// (`2025-06-03 10:15:02.120000`, as ClickHouse writes them in its text formats), decimals and
    /// unsigned integers numbers, and binary strings UTF-8 text.
    /// </summary>
    private static readonly ParquetJsonOptions RowJson = new()
    {
        Time = time => DateTime.SpecifyKind(time, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        SingleAsDouble = true,
        MaxDepth = 8,
    };

    public override string Name => "langfuse-blob-parquet";

    public override string SourceName => LangfuseApiJsonlSource.Tool;

    public override bool Detect(SourceFile file)
    {
        if (!ParquetFile.LooksLikeParquet(file))
        {
            return false;
        }

        using var parquet = ParquetFile.Open(file);
        try
        {
            return LangfuseTables.OfBlob(parquet.TopLevelColumnNames(), file.Path) is not null;
        }
        catch (LoadException)
        {
            return false;
        }
    }

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        using var parquet = ParquetFile.Open(file);
        var table = LangfuseTables.OfBlob(parquet.TopLevelColumnNames(), file.Path)
            ?? throw new LoadException($"{file.Path}: the columns are not those of a Langfuse traces, observations or scores export");
        foreach (var (number, columns, values) in parquet.NestedRows(cancellationToken))
        {
            JsonElement row;
            using (var document = JsonDocument.Parse(ParquetJson.Object(columns, columns.Select(name => values.GetValueOrDefault(name)).ToList(), RowJson)))
            {
                row = document.RootElement.Clone();
            }

            foreach (var part in LangfuseTables.Parts(table, row, number, rules, file, () => row.GetRawText()))
            {
                yield return part;
            }
        }
    }
}
