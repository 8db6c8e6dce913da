using System.Text;
using Warehouse.Loading;
using Warehouse.Sources.Canonical;

namespace Warehouse.Sources;

/// <summary>
/// Picks the source for a file from its content (the first bytes and the first record's field
/// names), unless `--format` / `--kind` force it. Tool formats register here as they land.
/// </summary>
public static class SourceDetector
{
    private static readonly Dictionary<string, string> FormatAliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["csv"] = CanonicalCsvSource.FormatName,
        ["jsonl"] = CanonicalJsonlSource.FormatName,
        ["canonical-csv"] = CanonicalCsvSource.FormatName,
        ["canonical-jsonl"] = CanonicalJsonlSource.FormatName,
    };

    public static IReadOnlyCollection<string> KnownFormats => FormatAliases.Keys;

    public static IRecordSource Detect(string path, string? format = null, string? kind = null)
    {
        if (kind is not null && kind is not ("eval" or "trace"))
        {
            throw new LoadException($"--kind must be eval or trace, not '{kind}'");
        }

        var resolvedFormat = format is null ? SniffFormat(path) : Resolve(format);
        IReadOnlyList<string> fields;
        using (var stream = OpenRead(path))
        {
            fields = resolvedFormat == CanonicalCsvSource.FormatName
                ? CanonicalCsvSource.ReadHeader(stream)
                : CanonicalJsonlSource.ReadKeys(stream);
        }

        var schema = kind is null ? DetectKind(path, fields) : TableSchema.ForKind(kind);
        return resolvedFormat == CanonicalCsvSource.FormatName
            ? new CanonicalCsvSource(schema)
            : new CanonicalJsonlSource(schema);
    }

    public static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);

    private static string Resolve(string format) =>
        FormatAliases.TryGetValue(format, out var name)
            ? name
            : throw new LoadException($"unknown format '{format}'; known formats: {string.Join(", ", FormatAliases.Keys.Order())}");

    private static string SniffFormat(string path)
    {
        using var stream = OpenRead(path);
        var buffer = new byte[4096];
        var length = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (length == 0)
        {
            throw new LoadException($"{path}: the file is empty");
        }

        var text = Encoding.UTF8.GetString(buffer, 0, length).TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (text.Length == 0)
        {
            throw new LoadException($"{path}: the file holds only whitespace");
        }

        if (buffer.AsSpan(0, length).IndexOf((byte)0) >= 0)
        {
            throw new LoadException($"{path}: the file is binary (it contains NUL bytes), not CSV or JSON Lines");
        }

        return text[0] == '{' ? CanonicalJsonlSource.FormatName : CanonicalCsvSource.FormatName;
    }

    private static TableSchema DetectKind(string path, IReadOnlyList<string> fields)
    {
        var names = new HashSet<string>(fields, StringComparer.OrdinalIgnoreCase);
        var isTrace = names.Contains("trace_id");
        var isEval = names.Contains("eval_run_id") || names.Contains("case_id") || names.Contains("metric");
        return (isEval, isTrace) switch
        {
            (true, false) => TableSchema.EvalRecords,
            (false, true) => TableSchema.TraceSummaries,
            (true, true) => throw new LoadException(
                $"{path}: the columns fit both eval_records and trace_summaries; say which with --kind eval or --kind trace"),
            _ => throw new LoadException(
                $"{path}: cannot tell the kind of file: canonical files need eval_records columns (eval_run_id, case_id, metric) or trace_summaries columns (trace_id); the first record has {Describe(fields)}"),
        };
    }

    private static string Describe(IReadOnlyList<string> fields) =>
        fields.Count == 0 ? "no readable field names" : string.Join(", ", fields.Take(12)) + (fields.Count > 12 ? ", ..." : "");
}
