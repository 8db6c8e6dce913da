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
                yield break;
            }

            yield return item;
        }
    }

    /// <summary>The whole document with the array at <paramref name="arrayPath"/> replaced by an empty one.</summary>
    public static JsonDocument WithoutArray(Stream stream, IReadOnlyList<string> arrayPath)
    {
        using var tokens = new JsonTokenStream(stream);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (!tokens.TryReadToken(out var first, out _) || first != JsonTokenType.StartObject)
            {
                throw new JsonException("the document is not a JSON object");
            }

            CopyObject(tokens, writer, arrayPath, 0);
        }

        return JsonDocument.Parse(buffer.ToArray());
    }

    private static void CopyObject(JsonTokenStream tokens, Utf8JsonWriter writer, IReadOnlyList<string> arrayPath, int depth)
    {
        writer.WriteStartObject();
        while (tokens.TryReadToken(out var token, out var name) && token != JsonTokenType.EndObject)
        {
            writer.WritePropertyName(name!);
            if (depth < arrayPath.Count && name == arrayPath[depth])
            {
                var value = tokens.PeekTokenType();
                if (depth == arrayPath.Count - 1 && value == JsonTokenType.StartArray)
                {
                    tokens.TryReadToken(out _, out _);
                    while (!tokens.SkipValueOrEnd())
                    {
                    }

                    writer.WriteStartArray();
                    writer.WriteEndArray();
                    continue;
                }

                if (depth < arrayPath.Count - 1 && value == JsonTokenType.StartObject)
                {
                    tokens.TryReadToken(out _, out _);
                    CopyObject(tokens, writer, arrayPath, depth + 1);
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
