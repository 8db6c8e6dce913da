using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;

namespace Warehouse.Tests.Traces.Phoenix;

/// <summary>
/// Writes REST spans (JSON pages or JSON Lines) as Phoenix's saved trace dataset: the spans
/// DataFrame's columns (`name, span_kind, parent_id, start_time, end_time, status_code,
/// status_message, events, context.span_id, context.trace_id, attributes.*`) with times cut to
/// milliseconds, `metadata.*` gathered into one `attributes.metadata` dict, flattened lists
/// (`retrieval.documents.0.document.id`) gathered back into lists of dicts, and numbers as float64
/// (pandas' NaN-able columns). Dicts and lists are JSON text (flat) or structs and lists (nested).
/// </summary>
public static partial class PhoenixParquet
{
    public static async Task<string> WriteAsync(string folder, bool nested, params string[] spanFiles)
    {
        var rows = spanFiles.SelectMany(Spans).Select(Row).ToList();
        var columns = rows.SelectMany(row => row.Keys).Distinct().ToList();
        var path = Path.Combine(folder, $"trace_dataset-{Guid.NewGuid()}.parquet");
        var fields = columns.Select(column => Infer(column, rows.Select(row => row.GetValueOrDefault(column)).ToList(), nested)).ToList();
        var data = rows.Select(row => (IDictionary<string, object?>)fields.ToDictionary(
            field => field.Name, field => Convert(field, row.GetValueOrDefault(field.Name)))).ToList();
        await using var stream = File.Create(path);
        await ParquetSerializer.SerializeUntypedAsync(data, new ParquetSchema(fields), stream,
            customMetadata: new Dictionary<string, string> { ["arize"] = """{"dataset_id": "d1", "dataset_name": "traces", "eval_ids": []}""" },
            cancellationToken: TestContext.Current.CancellationToken);
        return path;
    }

    private static IEnumerable<JsonElement> Spans(string file)
    {
        var text = File.ReadAllText(file);
        if (text.TrimStart().StartsWith("{\"data\"", StringComparison.Ordinal) || text.TrimStart().StartsWith("{\n", StringComparison.Ordinal))
        {
            return JsonDocument.Parse(text).RootElement.GetProperty("data").EnumerateArray().ToList();
        }

        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
    }

    /// <summary>One span as DataFrame columns, values as JSON nodes.</summary>
    private static Dictionary<string, JsonNode?> Row(JsonElement span)
    {
        var row = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var name in new[] { "name", "span_kind", "parent_id", "status_code", "status_message" })
        {
            row[name] = JsonNode.Parse(span.GetProperty(name).GetRawText());
        }

        foreach (var name in new[] { "start_time", "end_time" })
        {
            // Saved datasets coerce times to milliseconds.
            var time = DateTime.Parse(span.GetProperty(name).GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            row[name] = JsonValue.Create(time.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        }

        row["context.span_id"] = JsonValue.Create(span.GetProperty("context").GetProperty("span_id").GetString());
        row["context.trace_id"] = JsonValue.Create(span.GetProperty("context").GetProperty("trace_id").GetString());
        row["events"] = JsonNode.Parse(span.GetProperty("events").GetRawText());
        foreach (var attribute in span.GetProperty("attributes").EnumerateObject())
        {
            var value = JsonNode.Parse(attribute.Value.GetRawText());
            if (attribute.Name == "metadata" && attribute.Value.ValueKind == JsonValueKind.String)
            {
                // Phoenix parses the metadata JSON string at ingestion.
                row["attributes.metadata"] = JsonNode.Parse(attribute.Value.GetString()!);
            }
            else if (attribute.Name.StartsWith("metadata.", StringComparison.Ordinal))
            {
                var metadata = (JsonObject)(row.TryGetValue("attributes.metadata", out var existing) && existing is JsonObject found
                    ? found
                    : row["attributes.metadata"] = new JsonObject());
                metadata[attribute.Name["metadata.".Length..]] = value;
            }
            else if (Indexed().Match(attribute.Name) is { Success: true } match)
            {
                var column = "attributes." + match.Groups[1].Value;
                var list = (JsonArray)(row.TryGetValue(column, out var existing) && existing is JsonArray found ? found : row[column] = new JsonArray());
                var index = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
                while (list.Count <= index)
                {
                    list.Add(new JsonObject());
                }

                ((JsonObject)list[index]!)[match.Groups[3].Value] = value;
            }
            else
            {
                row["attributes." + attribute.Name] = value;
            }
        }

        return row;
    }

    [GeneratedRegex(@"^(.+?)\.(\d+)\.(.+)$")]
    private static partial Regex Indexed();

    private static Field Infer(string name, IReadOnlyList<JsonNode?> values, bool nested)
    {
        var present = values.Where(value => value is not null).ToList();
        if (name is "start_time" or "end_time")
        {
            return new DataField<DateTime?>(name);
        }

        if (present.Count > 0 && present.All(value => value is JsonObject))
        {
            if (!nested)
            {
                return new DataField<string>(name);
            }

            var keys = present.Cast<JsonObject>().SelectMany(item => item.Select(pair => pair.Key)).Distinct().ToList();
            return new StructField(name, keys.Select(key => Infer(key, present.Cast<JsonObject>().Select(item => item[key]).ToList(), nested)).ToArray());
        }

        if (present.Count > 0 && present.All(value => value is JsonArray))
        {
            if (!nested)
            {
                return new DataField<string>(name);
            }

            var items = present.Cast<JsonArray>().SelectMany(item => item).ToList();
            return new ListField(name, items.Count == 0 ? new DataField<string>("element") : Infer("element", items, nested));
        }

        return present.Any(value => value is JsonValue number && number.GetValueKind() == JsonValueKind.Number)
            ? new DataField<double?>(name)
            : new DataField<string>(name);
    }

    private static object? Convert(Field field, JsonNode? value)
    {
        if (value is null)
        {
            return null;
        }

        switch (field)
        {
            case StructField structure:
                var dictionary = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var child in structure.Fields)
                {
                    dictionary[child.Name] = Convert(child, ((JsonObject)value)[child.Name]);
                }

                return dictionary;
            case ListField list:
                var items = ((JsonArray)value).ToList();
                return list.Item switch
                {
                    StructField => items.Select(item => (Dictionary<string, object?>)Convert(list.Item, item)!).ToList(),
                    DataField<double?> => items.Select(item => (double?)Convert(list.Item, item)).ToList(),
                    _ => (object)items.Select(item => (ReadOnlyMemory<char>?)((string?)Convert(list.Item, item))?.AsMemory()).ToList(),
                };
            case DataField<DateTime?>:
                return DateTime.Parse(value.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            case DataField<double?>:
                return value.GetValueKind() == JsonValueKind.Number
                    ? value.GetValue<double>()
                    : double.Parse(value.GetValue<string>(), CultureInfo.InvariantCulture);
            default:
                return value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
        }
    }
}
