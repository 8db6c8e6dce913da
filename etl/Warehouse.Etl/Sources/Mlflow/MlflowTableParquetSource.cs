using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Parquet;

namespace Warehouse.Sources.Mlflow;

/// <summary>
/// The MLflow evaluation results table saved as Parquet (`eval_results_table.parquet`, or a
/// `pandas.DataFrame.to_parquet` of it): the same columns as the JSON artifact, read one row
/// group at a time and mapped by the same rules (see <see cref="MlflowTableJsonSource"/>).
/// </summary>
public sealed class MlflowTableParquetSource : SourceFormat
{
    public const string FormatName = "mlflow-table-parquet";

    public override string Name => FormatName;

    public override string SourceName => MlflowTableJsonSource.Tool;

    public override string Kind => "eval";

    public override bool Detect(SourceFile file) =>
        ParquetTable.IsParquet(file) && MlflowTableJsonSource.HasMetricColumns(ParquetTable.ColumnNames(file.Path));

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken) =>
        MlflowTableJsonSource.ReadTable(file, schema, ParquetTable.ColumnNames(file.Path), Rows(file, cancellationToken));

    /// <summary>Typed Parquet values as the JSON array a split-orientation row would be (NaN as null, as pandas writes it).</summary>
    private static IEnumerable<JsonElement> Rows(SourceFile file, CancellationToken cancellationToken)
    {
        var options = new ParquetJsonOptions();
        foreach (var (_, values) in ParquetTable.Rows(file.Path, cancellationToken))
        {
            using var document = JsonDocument.Parse(ParquetJson.Array(values, options));
            yield return document.RootElement.Clone();
        }
    }
}
