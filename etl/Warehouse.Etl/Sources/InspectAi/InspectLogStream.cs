using System.Text.Json;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.InspectAi;

/// <summary>
/// Walks an Inspect AI JSON log (`EvalLog`) once, top-level property by property: the small
/// run-level properties (eval, status, stats, tags, metadata ...) are kept, `samples[]` is
/// streamed item by item, and everything else (plan, results, reductions) is skipped token by
/// token so that no skipped value is ever held whole. Bare NaN/Infinity read as null.
/// </summary>
internal sealed class InspectLogStream : IDisposable
{
    // What a row needs from the run level; `plan`, `results` and `reductions` are not among them
    // (reductions grows with the sample count, so it must never be materialised).
    private static readonly HashSet<string> HeaderProperties = new(StringComparer.Ordinal)
    {
        "version", "status", "eval", "stats", "error", "invalidated", "tags", "metadata",
    };

    private readonly Stream _stream;
    private readonly JsonTokenStream _tokens;
    private readonly Dictionary<string, JsonElement> _header = new(StringComparer.Ordinal);
    private bool _inSamples;

    public InspectLogStream(Stream stream)
    {
        _stream = new NonFiniteNumberStream(stream);
        _tokens = new JsonTokenStream(_stream);
        if (!_tokens.TryReadToken(out var first, out _) || first != JsonTokenType.StartObject)
        {
            Dispose();
            throw new JsonException("the document is not a JSON object");
        }
    }

    public bool HasEvalHeader => _header.ContainsKey("eval");

    /// <summary>
    /// Reads top-level properties up to the start of `samples` (true) or to the end of the
    /// document (false), keeping the run-level ones.
    /// </summary>
    public bool MoveToSamples()
    {
        if (_inSamples)
        {
            throw new InvalidOperationException("the samples array is still open");
        }

        while (_tokens.TryReadToken(out var token, out var name))
        {
            if (token == JsonTokenType.EndObject)
            {
                return false;
            }

            if (name == "samples")
            {
                switch (_tokens.PeekTokenType())
                {
                    case JsonTokenType.StartArray:
                        _tokens.TryReadToken(out _, out _);
                        _inSamples = true;
                        return true;
                    case JsonTokenType.Null:
                        _tokens.TryReadToken(out _, out _);
                        continue;
                    default:
                        throw new JsonException("\"samples\" is not an array");
                }
            }

            if (HeaderProperties.Contains(name!))
            {
                _header[name!] = _tokens.ReadValue();
            }
            else
            {
                SkipValue();
            }
        }

        throw Truncated();
    }

    /// <summary>The items of the samples array, one at a time.</summary>
    public IEnumerable<JsonElement> Samples()
    {
        while (_inSamples)
        {
            var item = _tokens.ReadValueOrEnd(out var ended);
            if (ended)
            {
                _inSamples = false;
                yield break;
            }

            yield return item;
        }
    }

    /// <summary>Passes over the rest of the samples array without keeping anything.</summary>
    public void SkipSamples()
    {
        while (_inSamples)
        {
            if (_tokens.PeekTokenType() == JsonTokenType.EndArray)
            {
                _tokens.TryReadToken(out _, out _);
                _inSamples = false;
                return;
            }

            SkipValue();
        }
    }

    /// <summary>Reads to the end of the document (so a truncated tail fails the load), keeping run-level properties.</summary>
    public void ReadToEnd()
    {
        SkipSamples();
        while (MoveToSamples())
        {
            SkipSamples();
        }
    }

    /// <summary>The run-level properties read so far, as one document.</summary>
    public JsonDocument Header()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in _header)
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.ToArray());
    }

    /// <summary>Skips one value token by token: memory stays flat however large the value is.</summary>
    private void SkipValue()
    {
        if (!_tokens.TryReadToken(out var token, out _))
        {
            throw Truncated();
        }

        var depth = token is JsonTokenType.StartObject or JsonTokenType.StartArray ? 1 : 0;
        while (depth > 0)
        {
            if (!_tokens.TryReadToken(out token, out _))
            {
                throw Truncated();
            }

            if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                depth++;
            }
            else if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                depth--;
            }
        }
    }

    private JsonException Truncated() => new($"the document ends before it is complete (at byte {_tokens.Position})");

    public void Dispose()
    {
        _tokens.Dispose();
        _stream.Dispose();
    }
}
