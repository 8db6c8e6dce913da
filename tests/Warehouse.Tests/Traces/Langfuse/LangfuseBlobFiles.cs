using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Parquet.Serialization;
using Parquet.Serialization.Attributes;

namespace Warehouse.Tests.Traces.Langfuse;

/// <summary>
/// The blob-export fixture (`Fixtures/trace/langfuse/blob/&lt;project&gt;/{traces,observations,scores}/*.jsonl`,
/// ClickHouse JSONEachRow rows as the integration writes them) copied into another container:
/// gzipped JSON Lines, a JSON array, CSV (objects as JSON text), or Parquet the way ClickHouse's
/// `FORMAT Parquet` writes the tables (metadata / usage_details / cost_details as MAP columns,
/// tags as a LIST, DateTime64(3) as millisecond timestamps, Decimal64(12) costs, UInt16 prompt versions).
/// </summary>
public static class LangfuseBlobFiles
{
    public enum Container
    {
        Parquet,
        JsonlGz,
        Json,
        Csv,
    }

    /// <summary>Writes every file of <paramref name="fixtureFolder"/> into <paramref name="target"/> (same tree) in the container; returns the files, in load order.</summary>
    public static async Task<List<string>> WriteAsync(string fixtureFolder, string target, Container container)
    {
        var written = new List<string>();
        foreach (var source in Directory.EnumerateFiles(fixtureFolder, "*.jsonl", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(fixtureFolder, source);
            var table = Path.GetFileName(Path.GetDirectoryName(source))!;
            var rows = File.ReadAllLines(source).Where(line => line.Trim().Length > 0).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
            var stem = Path.Combine(target, Path.ChangeExtension(relative, null));
            Directory.CreateDirectory(Path.GetDirectoryName(stem)!);
            string path;
            switch (container)
            {
                case Container.JsonlGz:
                    path = stem + ".jsonl.gz";
                    await using (var file = File.Create(path))
                    await using (var gzip = new GZipStream(file, CompressionLevel.Optimal))
                    {
                        var bytes = await File.ReadAllBytesAsync(source);
                        await gzip.WriteAsync(bytes);
                    }

                    break;
                case Container.Json:
                    path = stem + ".json";
                    await File.WriteAllTextAsync(path, "[" + string.Join(",\n", rows.Select(row => row.GetRawText())) + "]");
                    break;
                case Container.Csv:
                    path = stem + ".csv";
                    await File.WriteAllTextAsync(path, Csv(rows));
                    break;
                default:
                    path = stem + ".parquet";
                    await using (var file = File.Create(path))
                    {
                        switch (table)
                        {
                            case "traces":
                                await ParquetSerializer.SerializeAsync(rows.Select(TraceRow.From), file);
                                break;
                            case "observations":
                                await ParquetSerializer.SerializeAsync(rows.Select(ObservationRow.From), file);
                                break;
                            case "scores":
                                await ParquetSerializer.SerializeAsync(rows.Select(ScoreRow.From), file);
                                break;
                            default:
                                throw new InvalidOperationException($"no Parquet layout for the {table} table");
                        }
                    }

                    break;
            }

            written.Add(path);
        }

        return written.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>CSV as the integration writes it: every field quoted, non-strings as JSON text, null as an empty cell.</summary>
    private static string Csv(List<JsonElement> rows)
    {
        var header = rows[0].EnumerateObject().Select(property => property.Name).ToList();
        var text = new System.Text.StringBuilder();
        text.Append(string.Join(",", header.Select(Quote))).Append('\n');
        foreach (var row in rows)
        {
            text.Append(string.Join(",", header.Select(name => Quote(row.TryGetProperty(name, out var value) ? value.ValueKind switch
            {
                JsonValueKind.Null => "",
                JsonValueKind.String => value.GetString()!,
                _ => value.GetRawText(),
            } : "")))).Append('\n');
        }

        return text.ToString();
    }

    private static string Quote(string cell) => "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string? Text(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText() : null;

    private static DateTime Time(JsonElement row, string name) =>
        DateTime.SpecifyKind(DateTime.Parse(Text(row, name)!, CultureInfo.InvariantCulture), DateTimeKind.Utc);

    private static DateTime? MaybeTime(JsonElement row, string name) => Text(row, name) is null ? null : Time(row, name);

    private static Dictionary<string, string> Strings(JsonElement row, string name) =>
        row.GetProperty(name).EnumerateObject().ToDictionary(property => property.Name, property => property.Value.GetString()!);

    public sealed class TraceRow
    {
        public string id { get; set; } = "";
        [ParquetTimestamp]
        public DateTime timestamp { get; set; }
        public string? name { get; set; }
        public string environment { get; set; } = "";
        public string project_id { get; set; } = "";
        public Dictionary<string, string> metadata { get; set; } = [];
        public string? user_id { get; set; }
        public string? session_id { get; set; }
        public string? release { get; set; }
        public string? version { get; set; }
        public bool @public { get; set; }
        public bool bookmarked { get; set; }
        public List<string> tags { get; set; } = [];
        public string? input { get; set; }
        public string? output { get; set; }
        [ParquetTimestamp]
        public DateTime created_at { get; set; }
        [ParquetTimestamp]
        public DateTime updated_at { get; set; }

        public static TraceRow From(JsonElement row) => new()
        {
            id = Text(row, "id")!,
            timestamp = Time(row, "timestamp"),
            name = Text(row, "name"),
            environment = Text(row, "environment")!,
            project_id = Text(row, "project_id")!,
            metadata = Strings(row, "metadata"),
            user_id = Text(row, "user_id"),
            session_id = Text(row, "session_id"),
            release = Text(row, "release"),
            version = Text(row, "version"),
            @public = row.GetProperty("public").GetBoolean(),
            bookmarked = row.GetProperty("bookmarked").GetBoolean(),
            tags = row.GetProperty("tags").EnumerateArray().Select(tag => tag.GetString()!).ToList(),
            input = Text(row, "input"),
            output = Text(row, "output"),
            created_at = Time(row, "created_at"),
            updated_at = Time(row, "updated_at"),
        };
    }

    public sealed class ObservationRow
    {
        public string id { get; set; } = "";
        public string trace_id { get; set; } = "";
        public string project_id { get; set; } = "";
        public string environment { get; set; } = "";
        public string type { get; set; } = "";
        public string? parent_observation_id { get; set; }
        [ParquetTimestamp]
        public DateTime start_time { get; set; }
        [ParquetTimestamp]
        public DateTime? end_time { get; set; }
        public string? name { get; set; }
        public Dictionary<string, string> metadata { get; set; } = [];
        public string level { get; set; } = "";
        public string? status_message { get; set; }
        public string? version { get; set; }
        public string? input { get; set; }
        public string? output { get; set; }
        public string? provided_model_name { get; set; }
        public string? model_parameters { get; set; }
        public Dictionary<string, ulong> usage_details { get; set; } = [];
        public Dictionary<string, decimal> cost_details { get; set; } = [];
        [ParquetTimestamp]
        public DateTime? completion_start_time { get; set; }
        public string? prompt_name { get; set; }
        public ushort? prompt_version { get; set; }
        [ParquetDecimal(18, 12)]
        public decimal? total_cost { get; set; }
        [ParquetTimestamp]
        public DateTime created_at { get; set; }
        [ParquetTimestamp]
        public DateTime updated_at { get; set; }
        public string? prompt_id { get; set; }

        public static ObservationRow From(JsonElement row) => new()
        {
            id = Text(row, "id")!,
            trace_id = Text(row, "trace_id")!,
            project_id = Text(row, "project_id")!,
            environment = Text(row, "environment")!,
            type = Text(row, "type")!,
            parent_observation_id = Text(row, "parent_observation_id"),
            start_time = Time(row, "start_time"),
            end_time = MaybeTime(row, "end_time"),
            name = Text(row, "name"),
            metadata = Strings(row, "metadata"),
            level = Text(row, "level")!,
            status_message = Text(row, "status_message"),
            version = Text(row, "version"),
            input = Text(row, "input"),
            output = Text(row, "output"),
            provided_model_name = Text(row, "provided_model_name"),
            model_parameters = Text(row, "model_parameters"),
            usage_details = row.GetProperty("usage_details").EnumerateObject()
                .ToDictionary(property => property.Name, property => ulong.Parse(property.Value.GetString()!, CultureInfo.InvariantCulture)),
            cost_details = row.GetProperty("cost_details").EnumerateObject().ToDictionary(property => property.Name, property => property.Value.GetDecimal()),
            completion_start_time = MaybeTime(row, "completion_start_time"),
            prompt_name = Text(row, "prompt_name"),
            prompt_version = Text(row, "prompt_version") is { } version ? ushort.Parse(version, CultureInfo.InvariantCulture) : null,
            total_cost = row.TryGetProperty("total_cost", out var cost) && cost.ValueKind == JsonValueKind.Number ? cost.GetDecimal() : null,
            created_at = Time(row, "created_at"),
            updated_at = Time(row, "updated_at"),
            prompt_id = Text(row, "prompt_id"),
        };
    }

    public sealed class ScoreRow
    {
        public string id { get; set; } = "";
        [ParquetTimestamp]
        public DateTime timestamp { get; set; }
        public string project_id { get; set; } = "";
        public string environment { get; set; } = "";
        public string? trace_id { get; set; }
        public string? observation_id { get; set; }
        public string name { get; set; } = "";
        public double value { get; set; }
        public string source { get; set; } = "";
        public string? comment { get; set; }
        public string data_type { get; set; } = "";
        public string? string_value { get; set; }

        public static ScoreRow From(JsonElement row) => new()
        {
            id = Text(row, "id")!,
            timestamp = Time(row, "timestamp"),
            project_id = Text(row, "project_id")!,
            environment = Text(row, "environment")!,
            trace_id = Text(row, "trace_id"),
            observation_id = Text(row, "observation_id"),
            name = Text(row, "name")!,
            value = row.GetProperty("value").GetDouble(),
            source = Text(row, "source")!,
            comment = Text(row, "comment"),
            data_type = Text(row, "data_type")!,
            string_value = Text(row, "string_value"),
        };
    }
}
