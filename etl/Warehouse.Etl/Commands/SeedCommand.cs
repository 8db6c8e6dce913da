using System.CommandLine;
using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CsvHelper;
using Warehouse.Configuration;

namespace Warehouse.Commands;

/// <summary>
/// `warehouse seed`: the top rows of quality.seed_candidates (by priority) written as eval cases that
/// keep the link to their production trace. Formats:
/// <list type="bullet">
/// <item>jsonl: one flat case per line (the candidate's columns, named as in the view);</item>
/// <item>csv: the same fields, one case per row, header first, RFC 4180 quoting;</item>
/// <item>promptfoo: a promptfoo tests file. YAML (a top-level list of test objects) because that is
///   what promptfoo configs reference (<c>tests: file://seeds.yaml</c>) and what people read and edit;
///   when --out ends in .json the same tests are written as a JSON array, which promptfoo reads for a
///   .json path (it picks the parser by extension, so YAML in a .json file would not load).</item>
/// </list>
/// In a promptfoo test, metadata carries case_id (<c>seed-&lt;trace id&gt;</c>), source_trace_id,
/// dataset_id and the slice labels under the names the promptfoo adapter reads into eval_records
/// (testCase.metadata.*). The trace's version keys are carried as <c>trace_&lt;key&gt;</c>: under their
/// own names the adapter would stamp the production trace's retriever, guardrail and bucket onto the
/// eval records of whatever version the seeds are later run on (testCase.metadata wins over the run's
/// config.metadata there), which is false evidence; model and prompt come from the run anyway.
/// No candidates: the file is still written (empty, or an empty list), the command says so, exit 0.
/// </summary>
public sealed class SeedCommand(Cli cli)
{
    public static readonly string[] Formats = ["jsonl", "promptfoo", "csv"];

    /// <summary>The reasons quality.seed_candidates gives, weightiest first.</summary>
    public static readonly string[] Reasons =
        ["complaint", "negative_feedback", "json_parse_failure", "tool_parse_failure", "error", "retrieval_empty", "high_cost_low_feedback"];

    public const int DefaultLimit = 100;

    public const string DefaultDataset = "seeds";

    private static readonly string[] VersionKeys =
        ["model_version", "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket"];

    private static readonly string[] SliceLabels =
        ["feature", "intent", "language", "customer_tier", "output_format", "context_band"];

    /// <summary>The fields of a jsonl line and a csv row, in order.</summary>
    public static readonly string[] Fields =
    [
        "case_id", "source_trace_id", "trace_source", "dataset_id", "reason", "reasons", "priority",
        .. VersionKeys, .. SliceLabels, "context_tokens", "started_at", "trace_url", "input_preview",
    ];

    private const string SelectSql =
        "select c.source, c.trace_id, c.started_at, c.model_version, c.prompt_version, c.retriever_version, c.guardrail_version, "
        + "c.experiment_bucket, c.feature, c.intent, c.language, c.customer_tier, c.output_format, c.context_band, c.reason, c.reasons, "
        + "c.priority, t.context_tokens, c.trace_url, c.input_preview "
        + "from quality.seed_candidates c "
        + "left join quality.trace_summaries t on t.source = c.source and t.trace_id = c.trace_id";

    // Most urgent first; among equals the most recent trace; then a stable order.
    private const string OrderSql =
        " order by c.priority desc, case when c.started_at is null then 1 else 0 end, c.started_at desc, c.source, c.trace_id";

    public Command Build()
    {
        var output = new Option<string>("--out") { Description = "the file to write (its folder is created if missing)", Required = true };
        var format = new Option<string?>("--format")
        {
            Description = "jsonl (one case per line), promptfoo (a tests file: YAML, or a JSON array when --out ends in .json) or csv; "
                + "default from --out: .yaml/.yml promptfoo, .csv csv, else jsonl",
        };
        format.AcceptOnlyFromAmong(Formats);
        var limit = new Option<int>("--limit")
        {
            Description = $"at most this many candidates, highest priority first (default {DefaultLimit}; 0 = all)",
            DefaultValueFactory = _ => DefaultLimit,
        };
        var reason = new Option<string[]>("--reason")
        {
            Description = "only candidates whose (weightiest) reason is this; repeat for several: " + string.Join(", ", Reasons),
            AllowMultipleArgumentsPerToken = false,
        };
        reason.AcceptOnlyFromAmong(Reasons);
        var dataset = new Option<string>("--dataset")
        {
            Description = $"dataset_id the seeded cases carry (default {DefaultDataset})",
            DefaultValueFactory = _ => DefaultDataset,
        };
        var command = new Command("seed", "export seed candidates (complaint-linked traces first) as eval cases that keep source_trace_id and all keys")
        {
            output, format, limit, reason, dataset,
        };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetValue(output)!;
            var chosenFormat = parseResult.GetValue(format) ?? FormatFromExtension(path);
            var maxCases = parseResult.GetValue(limit);
            if (maxCases < 0)
            {
                throw new ConfigurationException($"--limit {maxCases} is negative; give a count, or 0 for all candidates");
            }

            var datasetId = parseResult.GetValue(dataset)?.Trim();
            if (string.IsNullOrEmpty(datasetId))
            {
                throw new ConfigurationException("--dataset must not be empty");
            }

            var reasons = (parseResult.GetValue(reason) ?? []).Distinct(StringComparer.Ordinal).ToArray();
            var promptfooJson = chosenFormat == "promptfoo" && HasExtension(path, ".json");
            if (chosenFormat == "promptfoo" && (HasExtension(path, ".jsonl") || HasExtension(path, ".csv")))
            {
                throw new ConfigurationException(
                    $"--out '{path}': promptfoo reads a tests file by its extension, and a {Path.GetExtension(path)} file would not be read as "
                    + "promptfoo tests; use .yaml (or .json)");
            }

            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            var (where, parameters) = Filter(reasons);
            var total = await CountAsync(connection, engine.Sql($"select count(*) from quality.seed_candidates c{where}"), parameters, cancellationToken);
            var cases = await ReadAsync(connection, engine.Sql(SelectSql + where + OrderSql), parameters,
                maxCases == 0 ? int.MaxValue : maxCases, datasetId, cancellationToken);

            try
            {
                await WriteFileAsync(path, chosenFormat, promptfooJson, cases, cancellationToken);
            }
            catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new ConfigurationException($"--out '{path}' could not be written: {problem.Message}");
            }

            var kind = chosenFormat == "promptfoo" ? (promptfooJson ? "promptfoo tests, JSON" : "promptfoo tests, YAML") : chosenFormat;
            var filter = reasons.Length == 0 ? "" : $" with reason {string.Join(" or ", reasons)}";
            if (cases.Count == 0)
            {
                await cli.Output.WriteLineAsync(
                    $"no seed candidates{filter} (no flagged trace that an eval record or a lock does not already link to); "
                    + $"wrote an empty file to {path} ({kind})");
                return ExitCodes.Success;
            }

            var of = total > cases.Count ? $" of {total}" : "";
            var more = total > cases.Count ? $"; raise --limit for the other {total - cases.Count}" : "";
            await cli.Output.WriteLineAsync(
                $"wrote {cases.Count}{of} seed candidate{(Math.Max(total, cases.Count) == 1 ? "" : "s")}{filter} to {path} ({kind}, dataset_id {datasetId}){more}");
            if (chosenFormat == "promptfoo")
            {
                await cli.Output.WriteLineAsync(
                    $"use it in promptfooconfig.yaml as 'tests: file://{Path.GetFileName(path)}'; load the eval's -o results.json with 'warehouse load' "
                    + "and the seeded traces link to their eval records (source_trace_id) and leave quality.seed_candidates");
            }

            return ExitCodes.Success;
        });
    }

    private static async Task WriteFileAsync(string path, string format, bool promptfooJson, IReadOnlyList<SeedCase> cases,
        CancellationToken cancellationToken)
    {
        var fullPath = Path.GetFullPath(path);
        if (Path.GetDirectoryName(fullPath) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        await using (var file = new StreamWriter(fullPath, append: false, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            switch (format)
            {
                case "csv":
                    await WriteCsvAsync(file, cases, cancellationToken);
                    break;
                case "promptfoo" when promptfooJson:
                    await WritePromptfooJsonAsync(file, cases, cancellationToken);
                    break;
                case "promptfoo":
                    await WritePromptfooYamlAsync(file, cases);
                    break;
                default:
                    await WriteJsonlAsync(file, cases, cancellationToken);
                    break;
            }
        }
    }

    internal static string FormatFromExtension(string path) =>
        HasExtension(path, ".yaml") || HasExtension(path, ".yml") ? "promptfoo"
        : HasExtension(path, ".csv") ? "csv"
        : "jsonl";

    private static bool HasExtension(string path, string extension) =>
        path.EndsWith(extension, StringComparison.OrdinalIgnoreCase);

    private static (string Where, List<(string Name, object Value)> Parameters) Filter(IReadOnlyList<string> reasons)
    {
        if (reasons.Count == 0)
        {
            return ("", []);
        }

        var parameters = reasons.Select((value, index) => ($"reason{index}", (object)value)).ToList();
        return ($" where c.reason in ({string.Join(", ", parameters.Select(parameter => "@" + parameter.Item1))})", parameters);
    }

    private static DbCommand Command(DbConnection connection, string sql, IEnumerable<(string Name, object Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 0;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static async Task<long> CountAsync(DbConnection connection, string sql, IEnumerable<(string Name, object Value)> parameters,
        CancellationToken cancellationToken)
    {
        await using var command = Command(connection, sql, parameters);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private static async Task<List<SeedCase>> ReadAsync(DbConnection connection, string sql, IEnumerable<(string Name, object Value)> parameters,
        int limit, string datasetId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ordinals = Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, index => index, StringComparer.OrdinalIgnoreCase);
        string? Text(string column) => reader.IsDBNull(ordinals[column]) ? null : QueryOutput.Format(reader.GetValue(ordinals[column]));
        long? Number(string column) => reader.IsDBNull(ordinals[column])
            ? null
            : Convert.ToInt64(reader.GetValue(ordinals[column]), CultureInfo.InvariantCulture);

        var cases = new List<SeedCase>();
        while (cases.Count < limit && await reader.ReadAsync(cancellationToken))
        {
            var traceId = Text("trace_id")!;
            cases.Add(new SeedCase(
                "seed-" + traceId,
                traceId,
                Text("source") ?? "",
                datasetId,
                Text("reason") ?? "",
                Text("reasons") ?? "",
                Number("priority") ?? 0,
                VersionKeys.Select(key => (key, Text(key) ?? "unknown")).ToList(),
                SliceLabels.Select(label => (label, Text(label) ?? "unknown")).ToList(),
                Number("context_tokens"),
                Text("started_at"),
                Text("trace_url"),
                Text("input_preview")));
        }

        return cases;
    }

    /// <summary>A case's fields in <see cref="Fields"/> order; numbers as long, absent values null.</summary>
    private static IEnumerable<(string Name, object? Value)> FlatFields(SeedCase seed) =>
    [
        ("case_id", seed.CaseId),
        ("source_trace_id", seed.TraceId),
        ("trace_source", seed.TraceSource),
        ("dataset_id", seed.DatasetId),
        ("reason", seed.Reason),
        ("reasons", seed.Reasons),
        ("priority", seed.Priority),
        .. seed.VersionKeys.Select(key => (key.Name, (object?)key.Value)),
        .. seed.SliceLabels.Select(label => (label.Name, (object?)label.Value)),
        ("context_tokens", seed.ContextTokens),
        ("started_at", seed.StartedAt),
        ("trace_url", seed.TraceUrl),
        ("input_preview", seed.InputPreview),
    ];

    private static async Task WriteJsonlAsync(TextWriter file, IReadOnlyList<SeedCase> cases, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        foreach (var seed in cases)
        {
            buffer.SetLength(0);
            await using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                WriteObject(json, FlatFields(seed));
            }

            await file.WriteLineAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length).AsMemory(), cancellationToken);
        }
    }

    private static async Task WriteCsvAsync(TextWriter file, IReadOnlyList<SeedCase> cases, CancellationToken cancellationToken)
    {
        await using var csv = CsvWriter.Create(file, new CsvWriterOptions { NewLine = "\n" }, leaveOpen: true);
        csv.WriteRecord(Fields);
        foreach (var seed in cases)
        {
            csv.WriteRecord(FlatFields(seed).Select(field => field.Value switch
            {
                null => "",
                long number => number.ToString(CultureInfo.InvariantCulture),
                var value => value.ToString() ?? "",
            }).ToArray());
        }

        await csv.FlushAsync(cancellationToken);
    }

    /// <summary>One promptfoo test: description, vars and metadata, as ordered name/value pairs (nulls left out).</summary>
    private static IEnumerable<(string Name, object Value)> PromptfooTest(SeedCase seed)
    {
        (string, object)[] Present(IEnumerable<(string Name, object? Value)> fields) =>
            fields.Where(field => field.Value is not null).Select(field => (field.Name, field.Value!)).ToArray();

        var labels = seed.SliceLabels.Select(label => (label.Name, (object?)label.Value)).Append(("context_tokens", seed.ContextTokens));
        var vars = Present([("input", seed.InputPreview ?? ""), .. labels]);
        var metadata = Present(
        [
            ("case_id", seed.CaseId),
            ("source_trace_id", seed.TraceId),
            ("dataset_id", seed.DatasetId),
            .. labels,
            ("reason", seed.Reason),
            ("reasons", seed.Reasons),
            ("priority", seed.Priority),
            ("trace_source", seed.TraceSource),
            .. seed.VersionKeys.Select(key => ("trace_" + key.Name, (object?)key.Value)),
            ("trace_started_at", seed.StartedAt),
            ("trace_url", seed.TraceUrl),
        ]);
        return
        [
            ("description", $"{seed.CaseId}: {seed.Reason} (priority {seed.Priority.ToString(CultureInfo.InvariantCulture)})"),
            ("vars", vars),
            ("metadata", metadata),
        ];
    }

    private static async Task WritePromptfooYamlAsync(TextWriter file, IReadOnlyList<SeedCase> cases)
    {
        await file.WriteLineAsync("# promptfoo tests seeded from production traces (warehouse seed, quality.seed_candidates).");
        await file.WriteLineAsync("# Use in promptfooconfig.yaml as: tests: file://<this file>. The prompt reads the user input as {{input}}.");
        await file.WriteLineAsync("# metadata.case_id and metadata.source_trace_id link the eval results back to the trace; keep them.");
        if (cases.Count == 0)
        {
            await file.WriteLineAsync("[]");
            return;
        }

        var text = new StringBuilder();
        foreach (var seed in cases)
        {
            var first = true;
            foreach (var (name, value) in PromptfooTest(seed))
            {
                text.Append(first ? "- " : "  ").Append(name).Append(':');
                first = false;
                if (value is (string, object)[] fields)
                {
                    text.Append('\n');
                    foreach (var (field, fieldValue) in fields)
                    {
                        text.Append("    ").Append(field).Append(": ").Append(YamlScalar(fieldValue)).Append('\n');
                    }
                }
                else
                {
                    text.Append(' ').Append(YamlScalar(value)).Append('\n');
                }
            }

            await file.WriteAsync(text.ToString());
            text.Clear();
        }
    }

    private static async Task WritePromptfooJsonAsync(TextWriter file, IReadOnlyList<SeedCase> cases, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartArray();
            foreach (var seed in cases)
            {
                json.WriteStartObject();
                foreach (var (name, value) in PromptfooTest(seed))
                {
                    json.WritePropertyName(name);
                    if (value is (string, object)[] fields)
                    {
                        WriteObject(json, fields.Select(field => (field.Item1, (object?)field.Item2)));
                    }
                    else
                    {
                        WriteValue(json, value);
                    }
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        await file.WriteLineAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length).AsMemory(), cancellationToken);
    }

    private static void WriteObject(Utf8JsonWriter json, IEnumerable<(string Name, object? Value)> fields)
    {
        json.WriteStartObject();
        foreach (var (name, value) in fields)
        {
            json.WritePropertyName(name);
            WriteValue(json, value);
        }

        json.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case long number:
                json.WriteNumberValue(number);
                break;
            default:
                json.WriteStringValue(value.ToString());
                break;
        }
    }

    /// <summary>
    /// A YAML scalar: numbers plain, text always double-quoted, so no input can turn into another type, a
    /// comment or a key. Escapes are the JSON ones (valid in YAML double quotes); every character outside
    /// YAML's printable set (C0/C1 controls, U+2028/2029, U+FEFF, U+FFFE/FFFF, lone surrogates) is \u-escaped.
    /// </summary>
    internal static string YamlScalar(object value)
    {
        if (value is long number)
        {
            return number.ToString(CultureInfo.InvariantCulture);
        }

        var text = value.ToString() ?? "";
        var quoted = new StringBuilder(text.Length + 2).Append('"');
        for (var index = 0; index < text.Length; index++)
        {
            var c = text[index];
            switch (c)
            {
                case '"':
                    quoted.Append("\\\"");
                    continue;
                case '\\':
                    quoted.Append("\\\\");
                    continue;
                case '\n':
                    quoted.Append("\\n");
                    continue;
                case '\r':
                    quoted.Append("\\r");
                    continue;
                case '\t':
                    quoted.Append("\\t");
                    continue;
            }

            if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
            {
                quoted.Append(c).Append(text[++index]);
                continue;
            }

            var printable = c is >= ' ' and <= '~' || (c >= '\u00A0' && c <= '\uD7FF' && c is not '\u2028' and not '\u2029')
                || (c >= '\uE000' && c <= '\uFFFD' && c != '\uFEFF');
            if (printable)
            {
                quoted.Append(c);
            }
            else
            {
                quoted.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
        }

        return quoted.Append('"').ToString();
    }

    private sealed record SeedCase(
        string CaseId,
        string TraceId,
        string TraceSource,
        string DatasetId,
        string Reason,
        string Reasons,
        long Priority,
        IReadOnlyList<(string Name, string Value)> VersionKeys,
        IReadOnlyList<(string Name, string Value)> SliceLabels,
        long? ContextTokens,
        string? StartedAt,
        string? TraceUrl,
        string? InputPreview);
}
