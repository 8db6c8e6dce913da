using System.Text.Json;

namespace Warehouse.Sources.Json;

/// <summary>
/// Looks values up by path in a record and, when the record lacks the path's first property, in
/// run-level documents (a promptfoo file's config, an Inspect log's eval header), the way tools
/// split metadata between the two levels. Paths are dotted property names with optional array
/// indexes: `testCase.metadata.feature`, `spec.completion_fns[0]`, `['key.with.dots'].value`.
/// </summary>
public sealed class JsonScope(JsonElement record, params JsonElement[] runLevel)
{
    public JsonElement Record { get; } = record;

    public JsonElement? Find(string path)
    {
        var segments = JsonPath.Parse(path);
        if (segments.Count == 0)
        {
            return null;
        }

        if (JsonPath.Resolve(Record, segments) is { } found)
        {
            return found;
        }

        foreach (var root in runLevel)
        {
            if (JsonPath.Resolve(root, segments) is { } inRun)
            {
                return inRun;
            }
        }

        return null;
    }

    /// <summary>The value at the path as text (numbers and booleans as written, objects as JSON); null when absent, null or blank.</summary>
    public string? Text(string path) => Find(path) is { } element ? JsonText.Of(element) : null;

    /// <summary>The first of the paths that has a non-blank value.</summary>
    public string? FirstText(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            if (Text(path) is { } value)
            {
                return value;
            }
        }

        return null;
    }
}

public static class JsonText
{
    /// <summary>A JSON value as the loader's text: null for null and blank strings.</summary>
    public static string? Of(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String => string.IsNullOrWhiteSpace(value.GetString()) ? null : value.GetString(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => value.GetRawText(),
    };

    public static JsonElement? Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : null;
}

public static class JsonPath
{
    public abstract record Segment;

    public sealed record PropertySegment(string Name) : Segment;

    public sealed record IndexSegment(int Index) : Segment;

    public static IReadOnlyList<Segment> Parse(string path)
    {
        var segments = new List<Segment>();
        var position = 0;
        while (position < path.Length)
        {
            if (path[position] == '.')
            {
                position++;
                continue;
            }

            if (path[position] == '[')
            {
                var close = path.IndexOf(']', position);
                if (close < 0)
                {
                    throw new FormatException($"path '{path}' has an unclosed '['");
                }

                var inside = path[(position + 1)..close].Trim();
                if (inside.Length >= 2 && (inside[0] is '\'' or '"') && inside[^1] == inside[0])
                {
                    segments.Add(new PropertySegment(inside[1..^1]));
                }
                else if (int.TryParse(inside, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                {
                    segments.Add(new IndexSegment(index));
                }
                else
                {
                    throw new FormatException($"path '{path}' has '[{inside}]', which is neither an index nor a quoted name");
                }

                position = close + 1;
                continue;
            }

            var end = path.IndexOfAny(['.', '['], position);
            end = end < 0 ? path.Length : end;
            segments.Add(new PropertySegment(path[position..end]));
            position = end;
        }

        return segments;
    }

    public static JsonElement? Resolve(JsonElement root, IReadOnlyList<Segment> segments)
    {
        var current = root;
        foreach (var segment in segments)
        {
            switch (segment)
            {
                case PropertySegment { Name: var name } when current.ValueKind == JsonValueKind.Object && current.TryGetProperty(name, out var next):
                    current = next;
                    break;
                case IndexSegment { Index: var index } when current.ValueKind == JsonValueKind.Array && index < current.GetArrayLength():
                    current = current[index];
                    break;
                default:
                    return null;
            }
        }

        return current;
    }
}
