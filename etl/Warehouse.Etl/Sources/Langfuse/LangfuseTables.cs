using System.Globalization;
using System.Text;
using System.Text.Json;
using CsvHelper;
using Warehouse.Sources.Canonical;
using Warehouse.Traces;

namespace Warehouse.Sources.Langfuse;

/// <summary>Which Langfuse table a file of rows holds.</summary>
internal enum LangfuseTable
{
    /// <summary>Trace rows (blob `traces/`, UI traces table): the trace part, plus UI score columns.</summary>
    Traces,

    /// <summary>Observation rows (blob `observations/`, UI observations table): span parts.</summary>
    Observations,

    /// <summary>Enriched observation rows (blob `observations_v2/`, Langfuse v4 events): span parts with their trace's user, session, tags, release.</summary>
    ObservationsV2,

    /// <summary>Score rows (blob `scores/`, UI scores table): feedback parts.</summary>
    Scores,
}

/// <summary>
/// The table a Langfuse row file holds, told by its columns (snake_case ClickHouse names in the
/// blob export, camelCase in the UI export), with the blob export's folder name
/// (`&lt;project&gt;/{traces|observations|scores|observations_v2}/…`) as the tie-break between the
/// two observation tables; and each row to its parts.
/// </summary>
internal static class LangfuseTables
{
    public static readonly string[] FolderNames = ["traces", "observations", "scores", "observations_v2"];

    /// <summary>UI traces-table columns that are not score columns.</summary>
    private static readonly HashSet<string> TraceColumns = new(StringComparer.OrdinalIgnoreCase)
    {
        "id", "timestamp", "name", "userId", "sessionId", "release", "version", "environment", "tags", "bookmarked", "public", "input",
        "output", "metadata", "comments", "latency", "totalCost", "usage", "inputTokens", "outputTokens", "totalTokens", "htmlPath",
        "projectId", "createdAt", "updatedAt", "observations", "scores", "externalId", "level", "errorCount", "inputCost", "outputCost",
        "project_id", "user_id", "session_id", "created_at", "updated_at",
    };

    /// <summary>The table of a file with snake_case (blob) columns; null when they are not a Langfuse table's.</summary>
    public static LangfuseTable? OfBlob(IReadOnlyCollection<string> columns, string path)
    {
        var set = new HashSet<string>(columns, StringComparer.Ordinal);
        var folder = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path)) ?? "").ToLowerInvariant();
        if (!set.Contains("id"))
        {
            return null;
        }

        if (set.Contains("trace_id") && set.Contains("name") && set.Contains("value") && (set.Contains("data_type") || set.Contains("string_value")))
        {
            return LangfuseTable.Scores;
        }

        if (set.Contains("trace_id") && set.Contains("start_time") && set.Contains("type")
            && (set.Contains("parent_observation_id") || set.Contains("status_message") || set.Contains("usage_details")
                || set.Contains("provided_model_name") || (set.Contains("parent_span_id") && set.Contains("level"))))
        {
            return folder == "observations_v2" || set.Contains("trace_name") || set.Contains("session_id") || set.Contains("user_id")
                ? LangfuseTable.ObservationsV2
                : LangfuseTable.Observations;
        }

        // Snake_case trace columns (the UI's traces table has userId / sessionId instead).
        if (set.Contains("timestamp") && !set.Contains("trace_id") && !set.Contains("userId") && !set.Contains("sessionId")
            && (set.Contains("project_id") || set.Contains("session_id") || set.Contains("user_id"))
            && (set.Contains("bookmarked") || set.Contains("public") || set.Contains("metadata") || set.Contains("tags")))
        {
            return LangfuseTable.Traces;
        }

        return null;
    }

    /// <summary>The table of a file with camelCase (UI export) columns; null when they are not a Langfuse table's.</summary>
    public static LangfuseTable? OfUi(IReadOnlyCollection<string> columns)
    {
        var set = new HashSet<string>(columns, StringComparer.Ordinal);
        if (!set.Contains("id"))
        {
            return null;
        }

        if (set.Contains("traceId") && set.Contains("startTime") && set.Contains("type")
            && (set.Contains("parentObservationId") || set.Contains("statusMessage") || set.Contains("usageDetails") || set.Contains("level")))
        {
            return LangfuseTable.Observations;
        }

        if (set.Contains("traceId") && set.Contains("name") && set.Contains("value") && (set.Contains("dataType") || set.Contains("stringValue")))
        {
            return LangfuseTable.Scores;
        }

        if (set.Contains("timestamp") && !set.Contains("traceId") && (set.Contains("userId") || set.Contains("sessionId"))
            && (set.Contains("bookmarked") || set.Contains("metadata") || set.Contains("tags")))
        {
            return LangfuseTable.Traces;
        }

        return null;
    }

    /// <summary>One row's parts; a row that cannot be read is one reject.</summary>
    public static IEnumerable<PartRecord> Parts(LangfuseTable table, JsonElement row, long number, TraceRules rules, SourceFile file, Func<string> rawText)
    {
        var parts = new List<PartRecord>();
        try
        {
            switch (table)
            {
                case LangfuseTable.Traces:
                    var trace = LangfuseParts.Trace(row, rules, file);
                    parts.Add(new PartRecord(number, trace, rawText));
                    parts.AddRange(ScoreColumns(row, trace.TraceId, number, rawText));
                    break;
                case LangfuseTable.Observations:
                case LangfuseTable.ObservationsV2:
                    parts.Add(new PartRecord(number, LangfuseParts.Observation(row, rules, withTraceContext: table == LangfuseTable.ObservationsV2), rawText));
                    break;
                case LangfuseTable.Scores:
                    if (LangfuseParts.Score(row, rules) is { } score)
                    {
                        parts.Add(new PartRecord(number, score, rawText));
                    }

                    break;
            }
        }
        catch (LangfuseRecordException error)
        {
            var id = LangfuseValues.Text(row, "id");
            return [PartRecord.Reject(number, $"{Describe(table)}{(id is null ? "" : " " + id)}: {error.Message}", rawText)];
        }

        return parts;
    }

    private static string Describe(LangfuseTable table) => table switch
    {
        LangfuseTable.Traces => "trace",
        LangfuseTable.Scores => "score",
        _ => "observation",
    };

    /// <summary>
    /// The UI traces table's score columns (one per score name, after the trace columns): each cell
    /// an array of the trace's per-score averages, `[0]`, or of labels for categorical scores.
    /// </summary>
    private static IEnumerable<PartRecord> ScoreColumns(JsonElement row, string traceId, long number, Func<string> rawText)
    {
        if (row.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        foreach (var column in row.EnumerateObject())
        {
            if (TraceColumns.Contains(column.Name) || LangfuseValues.Structured(column.Value) is not { ValueKind: JsonValueKind.Array } values
                || values.GetArrayLength() == 0)
            {
                continue;
            }

            decimal sum = 0;
            var numbers = 0;
            var labels = new List<string>();
            foreach (var value in values.EnumerateArray())
            {
                if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var number1))
                {
                    sum += number1;
                    numbers++;
                }
                else if (value.ValueKind == JsonValueKind.True || value.ValueKind == JsonValueKind.False)
                {
                    sum += value.ValueKind == JsonValueKind.True ? 1 : 0;
                    numbers++;
                }
                else if (Json.JsonText.Of(value) is { } label)
                {
                    labels.Add(label);
                }
            }

            var part = new TracePart
            {
                TraceId = traceId,
                PartId = "feedback:" + column.Name,
                Kind = PartKind.Feedback,
                FeedbackName = column.Name,
            };
            if (numbers > 0)
            {
                var average = sum / numbers;
                if (average is >= 0 and <= 1)
                {
                    part.FeedbackScore = (double)average;
                }
                else
                {
                    part.FeedbackLabel = average.ToString(CultureInfo.InvariantCulture);
                }
            }
            else
            {
                part.FeedbackLabel = string.Join(", ", labels);
            }

            yield return new PartRecord(number, part, rawText);
        }
    }

    /// <summary>A CSV export's header, and each row as a JSON object of its cells (blank and "null" cells as null), with line numbers.</summary>
    public static IEnumerable<(long Number, JsonElement? Row, string? Error, Func<string> RawText)> CsvRows(SourceFile file, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        using var reader = CsvReader.Create(stream, CanonicalCsvSource.ReaderOptions(), leaveOpen: false);
        reader.ReadHeader();
        var headers = reader.Headers?.Select(name => name.Trim()).ToList() ?? [];
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var raw = Encoding.UTF8.GetString(reader.RawRecord).TrimEnd('\r', '\n');
            string RawText() => raw;
            if (reader.FieldCount != headers.Count)
            {
                yield return (reader.LineNumber, null, $"row has {reader.FieldCount} fields but the header has {headers.Count}", RawText);
                continue;
            }

            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                for (var index = 0; index < headers.Count; index++)
                {
                    var cell = reader.GetString(index);
                    writer.WritePropertyName(headers[index]);
                    if (cell.Length == 0 || cell == "null")
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        writer.WriteStringValue(cell);
                    }
                }

                writer.WriteEndObject();
            }

            using var document = JsonDocument.Parse(buffer.ToArray());
            yield return (reader.LineNumber, document.RootElement.Clone(), null, RawText);
        }
    }
}
