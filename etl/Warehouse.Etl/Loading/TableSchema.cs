namespace Warehouse.Loading;

/// <summary>The value families a fact column can hold; each engine maps them to its own type.</summary>
public enum ColumnType
{
    Text,
    Integer,
    BigInt,
    Double,
    Boolean,
    Timestamp,
}

/// <summary>What the loader does with a column when a record leaves it empty.</summary>
public enum ColumnRole
{
    /// <summary>Part of the natural key: an empty value rejects the record (unless the column has a fallback).</summary>
    NaturalKey,
    /// <summary>A version key or slice label: empty becomes the literal 'unknown', never null.</summary>
    SharedKey,
    /// <summary>A boolean flag: empty becomes false (the source did not observe the condition).</summary>
    Flag,
    /// <summary>Anything else: empty becomes null.</summary>
    Value,
    /// <summary>Set by the loader (_batch_id, _loaded_at), never read from input.</summary>
    Bookkeeping,
}

public sealed record ColumnSpec(
    string Name,
    ColumnType Type,
    ColumnRole Role,
    int MaxLength = 0,
    string? Fallback = null,
    bool TruncateToMaxLength = false);

/// <summary>
/// A fact table as the loader sees it: column order matches the migrations exactly, so a row is
/// an object?[] in this order on every engine.
/// </summary>
public sealed class TableSchema
{
    public const string Unknown = "unknown";

    private readonly Dictionary<string, int> _ordinals;

    private TableSchema(string schemaName, string tableName, string kind, IReadOnlyList<ColumnSpec> columns)
    {
        SchemaName = schemaName;
        TableName = tableName;
        Kind = kind;
        Columns = columns;
        _ordinals = columns.Select((column, index) => (column.Name, index))
            .ToDictionary(pair => pair.Name, pair => pair.index, StringComparer.OrdinalIgnoreCase);
        NaturalKey = columns.Where(column => column.Role == ColumnRole.NaturalKey).ToList();
        BatchIdOrdinal = Ordinal("_batch_id");
        LoadedAtOrdinal = Ordinal("_loaded_at");
        ContextTokensOrdinal = Ordinal("context_tokens");
        ContextBandOrdinal = Ordinal("context_band");
    }

    public string SchemaName { get; }
    public string TableName { get; }
    public string QualifiedName => $"{SchemaName}.{TableName}";
    /// <summary>'eval' or 'trace', as `--kind` names it.</summary>
    public string Kind { get; }
    public IReadOnlyList<ColumnSpec> Columns { get; }
    public IReadOnlyList<ColumnSpec> NaturalKey { get; }
    public int BatchIdOrdinal { get; }
    public int LoadedAtOrdinal { get; }
    public int ContextTokensOrdinal { get; }
    public int ContextBandOrdinal { get; }

    public int Ordinal(string column) => _ordinals.TryGetValue(column, out var ordinal) ? ordinal : -1;

    public bool HasColumn(string column) => _ordinals.ContainsKey(column);

    public static TableSchema ForKind(string kind) => kind switch
    {
        "eval" => EvalRecords,
        "trace" => TraceSummaries,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "kind must be 'eval' or 'trace'"),
    };

    public static readonly string[] VersionKeys =
        ["model_version", "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket"];

    public static readonly string[] SliceLabels =
        ["feature", "intent", "language", "customer_tier", "output_format", "context_band"];

    private static ColumnSpec Key(string name, int maxLength = 200) => new(name, ColumnType.Text, ColumnRole.SharedKey, maxLength, Unknown);

    private static ColumnSpec Text(string name, int maxLength = 0, bool truncate = false) =>
        new(name, ColumnType.Text, ColumnRole.Value, maxLength, TruncateToMaxLength: truncate);

    private static ColumnSpec Number(string name) => new(name, ColumnType.Double, ColumnRole.Value);

    private static ColumnSpec Count(string name) => new(name, ColumnType.BigInt, ColumnRole.Value);

    private static ColumnSpec Flag(string name) => new(name, ColumnType.Boolean, ColumnRole.Flag);

    private static IEnumerable<ColumnSpec> SharedVersionKeys() => VersionKeys.Select(name => Key(name));

    private static IEnumerable<ColumnSpec> SliceColumns() =>
        SliceLabels.Select(name => name == "context_band" ? Key(name, 16) : Key(name));

    private static IEnumerable<ColumnSpec> BookkeepingColumns() =>
    [
        new("_batch_id", ColumnType.BigInt, ColumnRole.Bookkeeping),
        new("_loaded_at", ColumnType.Timestamp, ColumnRole.Bookkeeping),
    ];

    public static readonly TableSchema EvalRecords = new("quality", "eval_records", "eval",
    [
        new("source", ColumnType.Text, ColumnRole.NaturalKey, 64, Fallback: "canonical"),
        new("eval_run_id", ColumnType.Text, ColumnRole.NaturalKey, 200),
        new("case_id", ColumnType.Text, ColumnRole.NaturalKey, 256),
        new("metric", ColumnType.Text, ColumnRole.NaturalKey, 128),
        new("epoch", ColumnType.Integer, ColumnRole.NaturalKey, Fallback: "1"),
        .. SharedVersionKeys(),
        Key("dataset_id"),
        Key("dataset_version"),
        Key("judge_version"),
        .. SliceColumns(),
        Number("score"),
        new("is_passed", ColumnType.Boolean, ColumnRole.Value),
        Text("raw_score", 1000),
        Number("latency_ms"),
        Number("cost_usd"),
        Count("input_tokens"),
        Count("output_tokens"),
        Count("context_tokens"),
        new("evaluated_at", ColumnType.Timestamp, ColumnRole.Value),
        Text("source_trace_id", 200),
        Text("artifact_url", 2000),
        Text("attributes"),
        .. BookkeepingColumns(),
    ]);

    public static readonly TableSchema TraceSummaries = new("quality", "trace_summaries", "trace",
    [
        new("source", ColumnType.Text, ColumnRole.NaturalKey, 64, Fallback: "canonical"),
        new("trace_id", ColumnType.Text, ColumnRole.NaturalKey, 200),
        new("started_at", ColumnType.Timestamp, ColumnRole.Value),
        .. SharedVersionKeys(),
        .. SliceColumns(),
        Number("latency_ms"),
        Number("cost_usd"),
        Count("input_tokens"),
        Count("output_tokens"),
        Count("context_tokens"),
        Flag("is_error"),
        Text("error_type", 200),
        Flag("has_complaint"),
        Number("feedback_score"),
        Flag("has_tool_parse_failure"),
        Flag("has_json_parse_failure"),
        Flag("is_retrieval_empty"),
        Text("session_id", 200),
        Text("trace_url", 2000),
        Text("input_preview", 2000, truncate: true),
        Text("attributes"),
        .. BookkeepingColumns(),
    ]);

    /// <summary>etl.trace_parts: the staged parts of traces (see Warehouse.Traces.TracePart), not a fact table.</summary>
    public static readonly TableSchema TraceParts = new("etl", "trace_parts", "parts",
    [
        new("source", ColumnType.Text, ColumnRole.NaturalKey, 64),
        new("trace_id", ColumnType.Text, ColumnRole.NaturalKey, 200),
        new("part_id", ColumnType.Text, ColumnRole.NaturalKey, 300),
        new("part_kind", ColumnType.Text, ColumnRole.Value, 16),
        new("body", ColumnType.Text, ColumnRole.Value),
        .. BookkeepingColumns(),
    ]);

    public static IReadOnlyList<TableSchema> FactTables { get; } = [EvalRecords, TraceSummaries];
}
