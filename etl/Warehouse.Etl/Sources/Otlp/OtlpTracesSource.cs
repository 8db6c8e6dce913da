using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Traces;

namespace Warehouse.Sources.Otlp;

/// <summary>
/// OTLP/JSON traces as an OpenTelemetry collector's file exporter writes them: one export request
/// per line, the spans of one trace spread over lines and files (children are flushed before their
/// parents). Reads the GenAI semantic conventions in their current and older names
/// (`gen_ai.provider.name`/`gen_ai.system`, `gen_ai.usage.input_tokens`/`prompt_tokens`) and
/// OpenInference attributes (`openinference.span.kind`, `llm.token_count.*`, `llm.model_name`).
/// Each span is one part; the loader rolls the trace up from all of them.
/// </summary>
public sealed partial class OtlpTracesSource : TracePartFormat
{
    public const string SourceKey = "otlp";

    public override string Name => "otlp-traces-jsonl";

    public override string SourceName => SourceKey;

    public override bool Detect(SourceFile file) => file.TopLevelKeys.Contains("resourceSpans");

    /// <summary>At most this many lines are parsed ahead of the caller, ...</summary>
    private const int LinesAhead = 3;

    /// <summary>... and at most this many of their bytes (a collector's line may take up to 64 MB).</summary>
    private const long BytesAhead = 16 * 1024 * 1024;

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken) =>
        OtlpJson.IsOneDocument(file) ? ReadDocument(file, rules, cancellationToken) : ReadLines(file, rules, cancellationToken);

    /// <summary>A pretty-printed file: one request, read on the caller's thread.</summary>
    private static IEnumerable<PartRecord> ReadDocument(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        foreach (var (number, document, problem, raw) in OtlpJson.Requests(file, cancellationToken))
        {
            if (document is null)
            {
                yield return PartRecord.Reject(number, problem!, raw);
                continue;
            }

            using (document)
            {
                foreach (var record in ReadRequest(document, number, raw, default, rules))
                {
                    yield return record;
                }
            }
        }
    }

    /// <summary>
    /// A collector's JSON Lines: each line is parsed to its spans on the thread pool while the caller
    /// stores the spans of the lines before it, and the spans come out in file order. Parsing is most
    /// of an OTLP load's own work (a JSON document per line, a part per span), and the caller's part
    /// (serializing, appending) is native work of its own, so two cores overlap them. A line's
    /// document and bytes live until the caller has taken all of its spans (a reject's evidence reads
    /// them).
    /// </summary>
    private static IEnumerable<PartRecord> ReadLines(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        var pending = new Queue<(Task<ParsedLine> Task, int Bytes)>();
        long pendingBytes = 0;
        try
        {
            using var stream = file.Open();
            foreach (var line in OtlpLines.Read(stream, OtlpJson.MaxLineBytes, cancellationToken))
            {
                pending.Enqueue((ParsedLine.Start(line, rules, cancellationToken), line.Bytes.Length));
                pendingBytes += line.Bytes.Length;
                while (pending.Count >= LinesAhead || (pending.Count > 1 && pendingBytes > BytesAhead))
                {
                    var (task, bytes) = pending.Dequeue();
                    pendingBytes -= bytes;
                    using var parsed = task.GetAwaiter().GetResult();
                    foreach (var record in parsed.Records)
                    {
                        yield return record;
                    }
                }
            }

            while (pending.Count > 0)
            {
                using var parsed = pending.Dequeue().Task.GetAwaiter().GetResult();
                foreach (var record in parsed.Records)
                {
                    yield return record;
                }
            }
        }
        finally
        {
            // The caller stopped early (an error, a cancel): lines still in flight give their buffers back when they finish.
            while (pending.TryDequeue(out var left))
            {
                left.Task.ContinueWith(task => task.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion,
                    TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// One line's spans, parsed on the thread pool; disposing gives back its copy of the line and the
    /// buffer of its parts' bodies (the caller disposes it once it has stored all of them). The
    /// document is disposed on the thread that parsed it, as soon as the spans are read: it rents its
    /// buffers from the shared pool, and given back on another thread they left that thread's pool
    /// empty, so every line allocated new large arrays (measured: 221 full collections, 8 s of GC
    /// pauses in a 1-million-span load). A rejected span's evidence is read from the line's copy.
    /// </summary>
    private sealed class ParsedLine : IDisposable
    {
        private byte[]? _rented;

        /// <summary>The line's parts' bodies and packed forms (<see cref="PartRecord.PrepareAll"/>).</summary>
        private byte[]? _prepared;

        public List<PartRecord> Records { get; } = [];

        public static Task<ParsedLine> Start(OtlpLines.Line line, TraceRules rules, CancellationToken cancellationToken)
        {
            var parsed = new ParsedLine();
            if (line.Problem is not null)
            {
                var text = line.Evidence();
                parsed.Records.Add(PartRecord.Reject(line.Number, line.Problem, () => text));
                return Task.FromResult(parsed);
            }

            // The line reader reuses its buffer for the next line: the line is copied into a pooled one the document keeps.
            var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(line.Bytes.Length);
            line.Bytes.Span.CopyTo(rented);
            parsed._rented = rented;
            var bytes = new ReadOnlyMemory<byte>(rented, 0, line.Bytes.Length);
            var number = line.Number;
            return Task.Run(() => parsed.Parse(number, bytes, rules), cancellationToken);
        }

        private ParsedLine Parse(long number, ReadOnlyMemory<byte> bytes, TraceRules rules)
        {
            var (document, problem) = OtlpJson.ParseLine(bytes);
            if (document is null)
            {
                var text = System.Text.Encoding.UTF8.GetString(bytes.Span);
                Records.Add(PartRecord.Reject(number, problem!, () => text));
                return this;
            }

            using (document)
            {
                Records.AddRange(ReadRequest(document, number, () => System.Text.Encoding.UTF8.GetString(bytes.Span), bytes, rules));
            }

            // The parts' body and packed form too, here on the pool: the loader's thread is busy enough storing them.
            _prepared = PartRecord.PrepareAll(Records);

            return this;
        }

        public void Dispose()
        {
            if (_rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(_rented);
                _rented = null;
            }

            if (_prepared is not null)
            {
                // Cleared, so a record kept past its line (against PartRecord.Body's contract) reads zeros, not a plausible body.
                System.Buffers.ArrayPool<byte>.Shared.Return(_prepared, clearArray: true);
                _prepared = null;
            }
        }
    }

    /// <summary>
    /// The spans of one export request, in the order it lists them. A span's JSON is a reject's evidence, read only if
    /// the span is rejected: from <paramref name="line"/>, the bytes the document was parsed from, when it has them
    /// (they outlive the document); else from the document, which lives until the caller has taken the span.
    /// </summary>
    private static IEnumerable<PartRecord> ReadRequest(JsonDocument document, long number, Func<string> raw,
        ReadOnlyMemory<byte> line, TraceRules rules)
    {
        var resourceIndex = -1;
        foreach (var resourceSpans in OtlpJson.Array(document.RootElement, "resourceSpans"u8))
        {
            resourceIndex++;
            var resource = resourceSpans.TryGetProperty("resource", out var found) ? found : default;
            var resourceAttributes = resource.ValueKind == JsonValueKind.Object ? OtlpJson.Attributes(resource) : [];
            var scopeIndex = -1;
            foreach (var scopeSpans in OtlpJson.Array(resourceSpans, "scopeSpans"u8).Concat(OtlpJson.Array(resourceSpans, "instrumentationLibrarySpans"u8)))
            {
                scopeIndex++;
                var spanIndex = -1;
                foreach (var span in OtlpJson.Array(scopeSpans, "spans"u8))
                {
                    spanIndex++;
                    yield return ReadSpan(span, resourceAttributes, rules, number, (resourceIndex, scopeIndex, spanIndex), raw, SpanEvidence.Of(span, line));
                }
            }
        }
    }

    /// <summary>Where a span's JSON is, for a reject's evidence: a slice of the line's bytes, or the document's element.</summary>
    private readonly struct SpanEvidence
    {
        private readonly ReadOnlyMemory<byte> _utf8;
        private readonly JsonElement _element;

        private SpanEvidence(ReadOnlyMemory<byte> utf8, JsonElement element)
        {
            _utf8 = utf8;
            _element = element;
        }

        public static SpanEvidence Of(JsonElement span, ReadOnlyMemory<byte> line)
        {
            var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(span);
            return !line.IsEmpty && line.Span.Overlaps(raw, out var offset)
                ? new SpanEvidence(line.Slice(offset, raw.Length), default)
                : new SpanEvidence(default, span);
        }

        public PartRecord Accept(long number, TracePart part)
        {
            if (!_utf8.IsEmpty)
            {
                return new PartRecord(number, part, _utf8);
            }

            var element = _element;
            return new PartRecord(number, part, () => element.GetRawText());
        }

        public PartRecord Reject(long number, string reason)
        {
            if (!_utf8.IsEmpty)
            {
                var utf8 = _utf8;
                return PartRecord.Reject(number, reason, () => System.Text.Encoding.UTF8.GetString(utf8.Span));
            }

            var element = _element;
            return PartRecord.Reject(number, reason, () => element.GetRawText());
        }
    }

    /// <summary>A span's attributes, read into a list this thread reuses: nothing keeps them past <see cref="ReadSpan"/>.</summary>
    [ThreadStatic]
    private static List<KeyValuePair<string, string?>>? t_attributes;

    /// <summary>The span's attributes and then its resource's, as the key rules read them (reused as <see cref="t_attributes"/>).</summary>
    [ThreadStatic]
    private static List<KeyValuePair<string, string?>>? t_keySources;

    private static PartRecord ReadSpan(JsonElement span, List<KeyValuePair<string, string?>> resourceAttributes, TraceRules rules,
        long number, (int Resource, int Scope, int Span) index, Func<string> raw, SpanEvidence spanText)
    {
        // Only a reject names where the span sits.
        string Where() => $"resourceSpans[{index.Resource}].scopeSpans[{index.Scope}].spans[{index.Span}]";
        if (span.ValueKind != JsonValueKind.Object)
        {
            return PartRecord.Reject(number, $"{Where()} is not a JSON object", raw);
        }

        if (!OtlpJson.TryId(span, "traceId", 16, out var traceId, out var problem)
            || !OtlpJson.TryId(span, "spanId", 8, out var spanId, out problem)
            || !OtlpJson.TryId(span, "parentSpanId", 8, out var parentId, out problem)
            || !OtlpJson.TryTime(span, "startTimeUnixNano", out var start, out problem)
            || !OtlpJson.TryTime(span, "endTimeUnixNano", out var end, out problem))
        {
            return spanText.Reject(number, $"{Where()}: {problem}");
        }

        if (traceId is null || spanId is null)
        {
            return spanText.Reject(number, $"{Where()}: the span has no {(traceId is null ? "traceId" : "spanId")}");
        }

        var attributes = t_attributes ??= [];
        OtlpJson.Attributes(span, attributes);

        // The first attribute of a name counts (a span that repeats a key keeps its first value). A search of the span's
        // dozen attributes, not a dictionary of them: a dictionary per span was a tenth of an OTLP load's garbage.
        string? Attribute(params ReadOnlySpan<string> names)
        {
            foreach (var name in names)
            {
                foreach (var (key, value) in attributes)
                {
                    if (key == name)
                    {
                        if (!string.IsNullOrWhiteSpace(value))
                        {
                            return value;
                        }

                        break;
                    }
                }
            }

            return null;
        }

        var part = new TracePart
        {
            TraceId = traceId,
            PartId = "span:" + spanId,
            Kind = PartKind.Span,
            ParentId = parentId,
            IsRoot = parentId is null,
            Name = span.TryGetProperty("name"u8, out var name) && name.ValueKind == JsonValueKind.String ? Warehouse.Sources.Json.Utf8Strings.Get(name) : null,
            Start = start,
            End = end,
        };

        var operation = Attribute("gen_ai.operation.name")?.ToLowerInvariant();
        var kind = Attribute("openinference.span.kind")?.ToUpperInvariant();
        part.Role = (operation, kind) switch
        {
            ("chat" or "text_completion" or "generate_content" or "completion", _) or (_, "LLM") => SpanRole.Model,
            ("execute_tool", _) or (_, "TOOL") => SpanRole.Tool,
            ("retrieval", _) or (_, "RETRIEVER") => SpanRole.Retrieval,
            ("invoke_agent" or "create_agent", _) or (_, "AGENT") => SpanRole.Agent,
            _ => SpanRole.Other,
        };

        if (!TryCount(Attribute("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"), "input tokens", out var input, out problem)
            || !TryCount(Attribute("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"), "output tokens", out var output, out problem)
            || !TryCost(Attribute("llm.cost.total"), out var cost, out problem))
        {
            return spanText.Reject(number, $"{Where()} (span {spanId} of trace {traceId}): {problem}");
        }

        part.InputTokens = input;
        part.OutputTokens = output;
        part.CostUsd = cost;
        if (part.Role == SpanRole.Model && Attribute("gen_ai.response.model", "llm.response.model_name", "gen_ai.request.model", "llm.model_name", "llm.request.model_name") is { } model)
        {
            part.Model = ModelVersions.Normalize(model);
            part.SetKey("model_version", part.Model, derived: true);
        }

        part.SetKey("prompt_version", Attribute("llm.prompt_template.version"), derived: true);

        // Errors: span status ERROR or error.type; the type is error.type, else the exception event's type.
        var status = span.TryGetProperty("status"u8, out var statusElement) && statusElement.ValueKind == JsonValueKind.Object ? statusElement : default;
        var statusCode = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("code", out var code) ? code : default;
        var statusError = statusCode.ValueKind switch
        {
            JsonValueKind.Number => statusCode.TryGetInt32(out var value) && value == 2,
            JsonValueKind.String => statusCode.GetString() is "2" or "STATUS_CODE_ERROR" or "ERROR",
            _ => false,
        };
        List<string>? exceptionTypes = null;
        foreach (var item in OtlpJson.Array(span, "events"u8))
        {
            if (item.TryGetProperty("name", out var eventName) && eventName.ValueEquals("exception")
                && OtlpJson.Attributes(item).FirstOrDefault(pair => pair.Key == "exception.type").Value is { } exceptionType)
            {
                (exceptionTypes ??= []).Add(exceptionType);
            }
        }

        var errorType = Attribute("error.type");
        if (statusError || errorType is not null)
        {
            part.IsError = true;
            var statusMessage = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                ? message.GetString()
                : null;
            part.ErrorType = Cap(errorType ?? exceptionTypes?.FirstOrDefault() ?? (string.IsNullOrWhiteSpace(statusMessage) ? null : statusMessage));
        }

        part.JsonParseFailure = rules.IsJsonParseError(errorType) || (exceptionTypes?.Any(rules.IsJsonParseError) ?? false);

        if (part.Role == SpanRole.Retrieval)
        {
            var lookup = new Dictionary<string, string?>(attributes.Count, StringComparer.Ordinal);
            foreach (var (key, value) in attributes)
            {
                lookup.TryAdd(key, value);
            }

            part.RetrievalEmpty = IsRetrievalEmpty(lookup, kind == "RETRIEVER");
        }

        // Keys: the span's own attributes before its resource's; OpenInference's `metadata` (a JSON
        // string of the app's context) is read as `metadata.<key>`.
        var keySources = t_keySources ??= [];
        keySources.Clear();
        foreach (var pair in attributes)
        {
            if ((pair.Key == "metadata" || pair.Key.EndsWith(".metadata", StringComparison.Ordinal)) && pair.Value?.TrimStart().StartsWith('{') == true)
            {
                // Flatten parses a string that holds a JSON object, and keeps it as text when it does not parse.
                TraceRules.Flatten(JsonSerializer.SerializeToElement(pair.Value), pair.Key, keySources);
            }
            else
            {
                keySources.Add(pair);
            }
        }

        keySources.AddRange(resourceAttributes);
        rules.ApplyKeys(part, keySources);
        part.SessionId = Attribute("session.id", "gen_ai.conversation.id")
            ?? resourceAttributes.FirstOrDefault(pair => pair.Key == "session.id").Value;
        if (part.IsRoot || part.Role == SpanRole.Agent)
        {
            part.InputPreview = Attribute("input.value", "gen_ai.prompt");
        }

        part.SetAttribute("service_name", resourceAttributes.FirstOrDefault(pair => pair.Key == "service.name").Value);
        part.SetAttribute("provider", Attribute("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"));
        part.SetAttribute("user_id", Attribute("user.id"));
        if (operation == "embeddings" || kind == "EMBEDDING")
        {
            part.SetAttribute("embedding_tokens", input?.ToString(CultureInfo.InvariantCulture));
        }

        return spanText.Accept(number, part);
    }

    /// <summary>
    /// A retrieval that returned nothing: `gen_ai.retrieval.documents` empty (an array or a JSON
    /// string), an app count attribute of 0, or, for OpenInference, no `retrieval.documents.*` at all.
    /// </summary>
    internal static bool? IsRetrievalEmpty(Dictionary<string, string?> attributes, bool openInference)
    {
        if (attributes.TryGetValue("gen_ai.retrieval.documents", out var documents) && documents is not null)
        {
            var trimmed = documents.Trim();
            if (trimmed.StartsWith('['))
            {
                // Read, not parsed into a document (a quarter of all spans are retrievals): empty when the array closes
                // at once; the rest is read to the end, so text that is not one JSON value is still no answer.
                var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(trimmed));
                try
                {
                    reader.Read();
                    var empty = reader.Read() && reader.TokenType == JsonTokenType.EndArray;
                    while (reader.Read())
                    {
                    }

                    return empty;
                }
                catch (JsonException)
                {
                    return null;
                }
            }

            return trimmed.Length == 0;
        }

        foreach (var (key, value) in attributes)
        {
            if (CountAttribute().IsMatch(key) && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count))
            {
                return count == 0;
            }
        }

        if (openInference)
        {
            return !attributes.Keys.Any(key => key.StartsWith("retrieval.documents", StringComparison.Ordinal));
        }

        return null;
    }

    private static bool TryCount(string? text, string what, out long? value, out string? problem)
    {
        value = null;
        problem = null;
        if (text is null)
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) && count >= 0)
        {
            value = count;
            return true;
        }

        // Some SDKs write counts as doubles ("1843.0").
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number >= 0 && number == Math.Floor(number) && number < 9e18)
        {
            value = (long)number;
            return true;
        }

        problem = $"{what} '{OtlpJson.Shorten(text)}' is not a count";
        return false;
    }

    private static bool TryCost(string? text, out double? value, out string? problem)
    {
        value = null;
        problem = null;
        if (text is null)
        {
            return true;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number) && number >= 0)
        {
            value = number;
            return true;
        }

        problem = $"llm.cost.total '{OtlpJson.Shorten(text)}' is not a cost in USD";
        return false;
    }

    private static string? Cap(string? text) => text is null ? null : text.Length <= 200 ? text : text[..200];

    [GeneratedRegex(@"(^|[._])(documents?|docs)[._]?(count|returned|found)$|(^|[._])retrieved[._]?(docs|documents)(_count)?$", RegexOptions.IgnoreCase)]
    private static partial Regex CountAttribute();
}
