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

    private static IEnumerable<JsonElement> Rows(SourceFile file, CancellationToken cancellationToken)
    {
        foreach (var (_, values) in ParquetTable.Rows(file.Path, cancellationToken))
        {
            yield return AsJsonArray(values);
        }
    }

    /// <summary>Typed Parquet values as the JSON array a split-orientation row would be (NaN as null, as pandas writes it).</summary>
    private static JsonElement AsJsonArray(object?[] values)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                switch (value)
                {
                    case null:
                    case double number when !double.IsFinite(number):
                    case float single when !float.IsFinite(single):
                        writer.WriteNullValue();
                        break;
                    case string text:
                        writer.WriteStringValue(text);
                        break;
                    case bool flag:
                        writer.WriteBooleanValue(flag);
                        break;
                    case double number:
                        writer.WriteNumberValue(number);
                        break;
                    case float single:
                        writer.WriteNumberValue(single);
                        break;
                    case decimal exact:
                        writer.WriteNumberValue(exact);
                        break;
                    case long or int or short:
                        writer.WriteNumberValue(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    default:
                        writer.WriteStringValue(Canonical.CanonicalParquetSource.Text(value));
                        break;
                }
            }

            writer.WriteEndArray();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }
}
