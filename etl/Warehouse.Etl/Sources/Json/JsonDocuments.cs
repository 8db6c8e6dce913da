using System.Text.Json;

namespace Warehouse.Sources.Json;

/// <summary>
/// Streams the items of one array inside a large JSON document (promptfoo's results.results,
/// Inspect's samples), and reads the rest of the document (run-level metadata, which may come
/// after the array) with that array left empty, so neither pass holds the whole file.
/// </summary>
public static class JsonDocuments
{
    /// <summary>The items of the array at <paramref name="arrayPath"/>; nothing when the path is absent.</summary>
    public static IEnumerable<JsonElement> ArrayItems(Stream stream, IReadOnlyList<string> arrayPath)
    {
        using var tokens = new JsonTokenStream(stream);
        if (!tokens.TryReadToken(out var first, out _) || first != JsonTokenType.StartObject)
        {
            throw new JsonException("the document is not a JSON object");
        }

        for (var depth = 0; depth < arrayPath.Count; depth++)
        {
            if (!SeekProperty(tokens, arrayPath[depth]))
            {
                yield break;
            }

            var isLast = depth == arrayPath.Count - 1;
            if (!tokens.TryReadToken(out var container, out _))
            {
                throw new JsonException($"the document ends after \"{arrayPath[depth]}\"");
            }

            if (container == JsonTokenType.Null)
            {
                yield break;
            }

            if (container != (isLast ? JsonTokenType.StartArray : JsonTokenType.StartObject))
            {
                throw new JsonException($"\"{string.Join('.', arrayPath.Take(depth + 1))}\" is not {(isLast ? "an array" : "an object")}");
            }
        }

        while (true)
        {
            var item = tokens.ReadValueOrEnd(out var ended);
            if (ended)
            {
                break;
            }

            yield return item;
        }

        // Read the rest of the document too, so a file cut off after the array fails as truncated.
        for (var depth = 0; depth < arrayPath.Count; depth++)
        {
            while (true)
            {
                if (!tokens.TryReadToken(out var token, out _))
                {
                    throw new JsonException($"the document ends before it is closed (at byte {tokens.Position}): the file is truncated");
                }

                if (token == JsonTokenType.EndObject)
                {
                    break;
                }

                tokens.SkipValue();
            }
        }

        if (tokens.TryReadToken(out var trailing, out _))
        {
            throw new JsonException($"unexpected {trailing} after the end of the document");
        }
    }

    /// <summary>The whole document with the array at <paramref name="arrayPath"/> replaced by an empty one.</summary>
    public static JsonDocument WithoutArray(Stream stream, IReadOnlyList<string> arrayPath) => WithoutArrays(stream, [arrayPath]);

    /// <summary>
    /// The whole document with every array or object at one of <paramref name="arrayPaths"/> left
    /// empty (the streamed array and any other bulky values, such as promptfoo's `results.table`).
    /// </summary>
    public static JsonDocument WithoutArrays(Stream stream, IReadOnlyList<IReadOnlyList<string>> arrayPaths)
    {
        using var tokens = new JsonTokenStream(stream);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (!tokens.TryReadToken(out var first, out _) || first != JsonTokenType.StartObject)
            {
                throw new JsonException("the document is not a JSON object");
            }

            CopyObject(tokens, writer, arrayPaths, 0);
        }

        return JsonDocument.Parse(buffer.ToArray());
    }

    private static void CopyObject(JsonTokenStream tokens, Utf8JsonWriter writer, IReadOnlyList<IReadOnlyList<string>> arrayPaths, int depth)
    {
        writer.WriteStartObject();
        while (tokens.TryReadToken(out var token, out var name) && token != JsonTokenType.EndObject)
        {
            writer.WritePropertyName(name!);
            var matching = arrayPaths.Where(path => depth < path.Count && path[depth] == name).ToList();
            if (matching.Count > 0)
            {
                var value = tokens.PeekTokenType();
                if (value == JsonTokenType.StartArray && matching.Any(path => path.Count == depth + 1))
                {
                    tokens.TryReadToken(out _, out _);
                    while (!tokens.SkipValueOrEnd())
                    {
                    }

                    writer.WriteStartArray();
                    writer.WriteEndArray();
                    continue;
                }

                if (value == JsonTokenType.StartObject && matching.Any(path => path.Count == depth + 1))
                {
                    // A bulky object at a listed path (promptfoo's results.table) is left empty too.
                    tokens.SkipValue();
                    writer.WriteStartObject();
                    writer.WriteEndObject();
                    continue;
                }

                var deeper = matching.Where(path => path.Count > depth + 1).ToList();
                if (value == JsonTokenType.StartObject && deeper.Count > 0)
                {
                    tokens.TryReadToken(out _, out _);
                    CopyObject(tokens, writer, deeper, depth + 1);
                    continue;
                }
            }

            tokens.ReadValue().WriteTo(writer);
        }

        writer.WriteEndObject();
    }

    /// <summary>Positions the stream just before the value of <paramref name="name"/> in the current object.</summary>
    private static bool SeekProperty(JsonTokenStream tokens, string name)
    {
        while (tokens.TryReadToken(out var token, out var propertyName))
        {
            if (token == JsonTokenType.EndObject)
            {
                return false;
            }

            if (propertyName == name)
            {
                return true;
            }

            tokens.SkipValue();
        }

        return false;
    }
}
