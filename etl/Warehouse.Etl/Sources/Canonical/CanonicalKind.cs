using Warehouse.Loading;

namespace Warehouse.Sources.Canonical;

/// <summary>Which fact table a canonical file fills, told by its column names.</summary>
public static class CanonicalKind
{
    public static TableSchema? Of(IEnumerable<string> fields)
    {
        var names = new HashSet<string>(fields, StringComparer.OrdinalIgnoreCase);
        var isTrace = names.Contains("trace_id");
        var isEval = names.Contains("eval_run_id") || names.Contains("case_id") || names.Contains("metric");
        return (isEval, isTrace) switch
        {
            (true, false) => TableSchema.EvalRecords,
            (false, true) => TableSchema.TraceSummaries,
            _ => null,
        };
    }

    public static TableSchema Resolve(SourceFile file, IEnumerable<string> fields, string? forcedKind)
    {
        if (forcedKind is not null)
        {
            return TableSchema.ForKind(forcedKind);
        }

        var names = fields.ToList();
        if (Of(names) is { } schema)
        {
            return schema;
        }

        var set = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
        if (set.Contains("trace_id") && (set.Contains("eval_run_id") || set.Contains("case_id") || set.Contains("metric")))
        {
            throw new LoadException(
                $"{file.Path}: the columns fit both eval_records and trace_summaries; say which with --kind eval or --kind trace");
        }

        throw new LoadException(
            $"{file.Path}: cannot tell the kind of file: canonical files need eval_records columns (eval_run_id, case_id, metric) or trace_summaries columns (trace_id); the first record has {Describe(names)}");
    }

    /// <summary>A header without a required key column would reject every row: say so once.</summary>
    public static void RequireKeyColumns(TableSchema schema, IReadOnlyCollection<string> columns, string filePath)
    {
        var missing = schema.NaturalKey
            .Where(key => key.Fallback is null && !columns.Contains(key.Name, StringComparer.OrdinalIgnoreCase))
            .Select(key => key.Name)
            .ToList();
        if (missing.Count > 0)
        {
            throw new LoadException(
                $"{filePath}: the header has no {string.Join(", ", missing)} column; canonical {schema.TableName} files need it");
        }
    }

    public static string Describe(IReadOnlyList<string> fields) =>
        fields.Count == 0 ? "no readable field names" : string.Join(", ", fields.Take(12)) + (fields.Count > 12 ? ", ..." : "");
}
