using Warehouse.Traces;

namespace Warehouse.Sources.Langfuse;

/// <summary>
/// Langfuse blob-storage export (scheduled S3/GCS/Azure integration), JSON Lines or JSON (an
/// array), gzip or not: `&lt;project&gt;/{traces|observations|scores|observations_v2}/&lt;timestamp&gt;.jsonl[.gz]`,
/// snake_case ClickHouse columns, zone-less UTC timestamps. The table comes from the columns
/// (the folder name settles observations vs observations_v2). Also reads the UI's JSON / JSON Lines
/// table exports (camelCase columns). Each row is one record: a trace part, a span part or a feedback part.
/// </summary>
public sealed class LangfuseBlobJsonlSource : TracePartFormat
{
    public override string Name => "langfuse-blob-jsonl";

    public override string SourceName => LangfuseApiJsonlSource.Tool;

    public override bool Detect(SourceFile file) => TableOf(file) is not null;

    private static LangfuseTable? TableOf(SourceFile file)
    {
        var keys = LangfuseLines.FirstRecordKeys(file);
        // A public-API trace (with its observations and scores) is the API format's.
        return keys.Count == 0 || keys.Contains("observations") || keys.Contains("scores") || keys.Contains("htmlPath") ? null : LangfuseTables.OfBlob(keys, file.Path) ?? LangfuseTables.OfUi(keys);
    }

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        var table = TableOf(file) ?? throw new Loading.LoadException($"{file.Path}: the columns are not those of a Langfuse traces, observations or scores export");
        foreach (var record in LangfuseLines.Read(file, cancellationToken))
        {
            var raw = record.Text;
            if (record.Value is not { } row)
            {
                yield return PartRecord.Reject(record.Number, record.Error!, raw is null ? null : () => raw);
                continue;
            }

            foreach (var part in LangfuseTables.Parts(table, row, record.Number, rules, file, raw is null ? () => row.GetRawText() : () => raw))
            {
                yield return part;
            }
        }
    }
}

/// <summary>
/// Langfuse blob-storage export as CSV (gzip or not): snake_case columns, objects (metadata,
/// usage_details, tags) as JSON text. Rows by the same rules as the JSON Lines form.
/// </summary>
public sealed class LangfuseBlobCsvSource : TracePartFormat
{
    public override string Name => "langfuse-blob-csv";

    public override string SourceName => LangfuseApiJsonlSource.Tool;

    public override bool Detect(SourceFile file) => file.CsvHeader.Count > 1 && LangfuseTables.OfBlob(file.CsvHeader, file.Path) is not null;

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken) =>
        CsvParts(file, LangfuseTables.OfBlob(file.CsvHeader, file.Path) ?? LangfuseTables.OfUi(file.CsvHeader), rules, cancellationToken);

    internal static IEnumerable<PartRecord> CsvParts(SourceFile file, LangfuseTable? table, TraceRules rules, CancellationToken cancellationToken)
    {
        if (table is not { } known)
        {
            throw new Loading.LoadException($"{file.Path}: the header is not that of a Langfuse traces, observations or scores export");
        }

        foreach (var (number, row, error, rawText) in LangfuseTables.CsvRows(file, cancellationToken))
        {
            if (row is not { } values)
            {
                yield return PartRecord.Reject(number, error!, rawText);
                continue;
            }

            foreach (var part in LangfuseTables.Parts(known, values, number, rules, file, rawText))
            {
                yield return part;
            }
        }
    }
}

/// <summary>
/// Langfuse UI table export as CSV (the Export button on the traces, observations or scores
/// table): camelCase columns, every cell quoted, timestamps as JSON strings (`"""2025-…Z"""`),
/// arrays and objects as JSON text. The traces table has no tokens, cost or latency; its
/// score columns (one per score name, cells like `[0]`: the trace's averages) become feedback
/// parts "feedback:&lt;score name&gt;".
/// </summary>
public sealed class LangfuseUiCsvSource : TracePartFormat
{
    public override string Name => "langfuse-ui-csv";

    public override string SourceName => LangfuseApiJsonlSource.Tool;

    public override bool Detect(SourceFile file) => file.CsvHeader.Count > 1 && LangfuseTables.OfUi(file.CsvHeader) is not null;

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken) =>
        LangfuseBlobCsvSource.CsvParts(file, LangfuseTables.OfUi(file.CsvHeader) ?? LangfuseTables.OfBlob(file.CsvHeader, file.Path), rules, cancellationToken);
}
