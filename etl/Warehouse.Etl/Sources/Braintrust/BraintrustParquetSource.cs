using Warehouse.Loading;
using Warehouse.Sources.Parquet;

namespace Warehouse.Sources.Braintrust;

/// <summary>
/// Braintrust experiment events exported as Parquet (export automations): the same event
/// columns as the JSON Lines form, with object-valued columns (scores, metadata, metrics, origin)
/// as JSON text. Each row is read as one event and mapped by the JSON Lines rules.
/// </summary>
public sealed class BraintrustParquetSource : SourceFormat
{
    private static readonly string[] RequiredColumns = ["id", "_xact_id", "experiment_id", "span_id", "root_span_id"];

    public override string Name => "braintrust-parquet";

    public override string SourceName => BraintrustJsonlSource.Tool;

    public override string Kind => "eval";

    public override bool Detect(SourceFile file) =>
        ParquetTable.IsParquet(file) && RequiredColumns.All(ParquetTable.ColumnNames(file.Path).Contains);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken) =>
        new BraintrustJsonlSource().Read(file, schema, cancellationToken);
}
