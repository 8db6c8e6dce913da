using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Warehouse.Benchmarks.Generation;

/// <summary>
/// OTLP/JSON as an OpenTelemetry collector's file exporter writes it (`otlp-traces-jsonl`): one
/// ExportTraceServiceRequest per line, each a batch of about <see cref="SpansPerRequest"/> spans,
/// GenAI semantic-convention attributes. Every trace has a root agent span, a retrieval, usually a
/// tool call and one to three model calls. Children end before their root, so the collector flushes
/// them first: line k holds the children of batch k and the roots of batch k − 1, and most traces
/// are split over two lines, as the loader must expect.
/// </summary>
internal static class OtlpTracesWriter
{
    public const int SpansPerRequest = 512;

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes traces until <paramref name="spans"/> spans are written; returns (spans, traces).</summary>
    public static (long Spans, long Traces) Write(string path, SyntheticTraces traces, long spans, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var json = new Utf8JsonWriter(stream, JsonOptions);
        var current = new List<SyntheticTrace>();
        var previous = new List<SyntheticTrace>();
        long written = 0, index = 0, childSpans = 0;
        while (written < spans && index < traces.Count)
        {
            var trace = traces.Get(index++);
            current.Add(trace);
            var count = SpanCount(trace);
            written += count;
            childSpans += count - 1;
            if (childSpans >= SpansPerRequest - previous.Count || written >= spans)
            {
                cancellationToken.ThrowIfCancellationRequested();
                WriteRequest(json, stream, current, previous);
                (previous, current) = (current, previous);
                current.Clear();
                childSpans = 0;
            }
        }

        if (previous.Count > 0)
        {
            WriteRequest(json, stream, [], previous);
        }

        return (written, index);
    }

    private static bool HasTool(SyntheticTrace trace) => trace.Feature is "refund_request" or "order_status" or "shipping_delay";

    private static int SpanCount(SyntheticTrace trace) => 2 + (HasTool(trace) ? 1 : 0) + trace.ModelCalls;

    private static void WriteRequest(Utf8JsonWriter json, Stream stream, List<SyntheticTrace> children, List<SyntheticTrace> roots)
    {
        json.WriteStartObject();
        json.WriteStartArray("resourceSpans");
        json.WriteStartObject();
        json.WriteStartObject("resource");
        json.WriteStartArray("attributes");
        Attribute(json, "service.name", "refund-support-bot");
        Attribute(json, "service.version", "2.4.0");
        Attribute(json, "deployment.environment.name", "production");
        Attribute(json, "telemetry.sdk.language", "python");
        Attribute(json, "telemetry.sdk.name", "opentelemetry");
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartArray("scopeSpans");
        if (children.Count > 0)
        {
            Scope(json, "opentelemetry.instrumentation.openai_v2", children, ChildSpans);
        }

        if (roots.Count > 0)
        {
            Scope(json, "refund_bot.agent", roots, RootSpan);
        }

        json.WriteEndArray();
        json.WriteString("schemaUrl", "https://opentelemetry.io/schemas/1.37.0");
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        stream.WriteByte((byte)'\n');
        json.Reset();
    }

    private static void Scope(Utf8JsonWriter json, string name, List<SyntheticTrace> traces, Action<Utf8JsonWriter, SyntheticTrace> write)
    {
        json.WriteStartObject();
        json.WriteStartObject("scope");
        json.WriteString("name", name);
        json.WriteString("version", "2.4.0");
        json.WriteEndObject();
        json.WriteStartArray("spans");
        foreach (var trace in traces)
        {
            write(json, trace);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string SpanId(SyntheticTrace trace, int span) =>
        Rng.Mix((ulong)trace.Index * 16 + (ulong)span + 0x5EED).ToString("x16", CultureInfo.InvariantCulture);

    private static void RootSpan(Utf8JsonWriter json, SyntheticTrace trace)
    {
        StartSpan(json, trace, 0, parent: null, "invoke_agent refund-support-bot", kind: 1, trace.StartedAt, trace.EndedAt);
        Attribute(json, "gen_ai.operation.name", "invoke_agent");
        Attribute(json, "gen_ai.agent.name", "refund-support-bot");
        // Agent spans repeat their model calls' usage, as the conventions allow; the roll-up must not add it again.
        Attribute(json, "gen_ai.usage.input_tokens", trace.InputTokens);
        Attribute(json, "gen_ai.usage.output_tokens", trace.OutputTokens);
        Attribute(json, "app.prompt.version", trace.PromptVersion);
        Attribute(json, "app.retriever.version", trace.RetrieverVersion);
        Attribute(json, "app.guardrail.version", trace.GuardrailVersion);
        Attribute(json, "app.experiment.bucket", trace.ExperimentBucket);
        Attribute(json, "app.feature", trace.Feature);
        Attribute(json, "app.intent", trace.Intent);
        Attribute(json, "app.language", trace.Language);
        Attribute(json, "app.customer_tier", trace.CustomerTier);
        Attribute(json, "app.output_format", trace.OutputFormat);
        Attribute(json, "app.context_tokens", trace.ContextTokens);
        Attribute(json, "session.id", trace.SessionId);
        Attribute(json, "user.id", "user-" + (trace.Index % 50_000).ToString(CultureInfo.InvariantCulture));
        Attribute(json, "input.value", trace.InputPreview);
        EndSpan(json, error: trace.IsError ? trace.ErrorType : null, exception: null);
    }

    private static void ChildSpans(Utf8JsonWriter json, SyntheticTrace trace)
    {
        var start = trace.StartedAt;
        var step = TimeSpan.FromTicks((trace.EndedAt - start).Ticks / 10);
        var span = 1;

        StartSpan(json, trace, span++, 0, "retrieval kb", kind: 3, start + step, start + 2 * step);
        Attribute(json, "gen_ai.operation.name", "retrieval");
        Attribute(json, "gen_ai.data_source.id", "kb");
        Attribute(json, "gen_ai.retrieval.documents", trace.IsRetrievalEmpty ? "[]" : """[{"id":"kb-refund-policy","score":0.82},{"id":"kb-shipping","score":0.61}]""");
        EndSpan(json, error: null, exception: null);

        if (HasTool(trace))
        {
            StartSpan(json, trace, span++, 0, "execute_tool lookup_order", kind: 1, start + 2 * step, start + 3 * step);
            Attribute(json, "gen_ai.operation.name", "execute_tool");
            Attribute(json, "gen_ai.tool.name", "lookup_order");
            Attribute(json, "gen_ai.tool.call.id", "call_" + SpanId(trace, 15)[..12]);
            EndSpan(json, error: null, exception: trace.HasToolParseFailure ? "json.decoder.JSONDecodeError" : null);
        }

        var callStep = TimeSpan.FromTicks(6 * step.Ticks / trace.ModelCalls);
        long inputLeft = trace.InputTokens, outputLeft = trace.OutputTokens;
        for (var call = 0; call < trace.ModelCalls; call++)
        {
            var last = call == trace.ModelCalls - 1;
            var input = last ? inputLeft : inputLeft / 2;
            var output = last ? outputLeft : outputLeft / 2;
            inputLeft -= input;
            outputLeft -= output;
            var callStart = start + 3 * step + call * callStep;
            StartSpan(json, trace, span++, 0, "chat " + trace.ModelVersion, kind: 3, callStart, callStart + callStep);
            Attribute(json, "gen_ai.operation.name", "chat");
            Attribute(json, "gen_ai.provider.name", trace.ModelVersion.StartsWith("claude", StringComparison.Ordinal) ? "anthropic" : "openai");
            Attribute(json, "gen_ai.request.model", trace.ModelVersion[..trace.ModelVersion.LastIndexOf('-')]);
            Attribute(json, "gen_ai.response.model", trace.ModelVersion);
            Attribute(json, "gen_ai.request.temperature", 0.2);
            Attribute(json, "gen_ai.usage.input_tokens", input);
            Attribute(json, "gen_ai.usage.output_tokens", output);
            Attribute(json, "gen_ai.response.finish_reasons", "stop");
            Attribute(json, "llm.cost.total", Math.Round(trace.CostUsd / trace.ModelCalls, 6));
            var failing = last && trace.IsError;
            if (failing)
            {
                Attribute(json, "error.type", trace.ErrorType!);
            }

            var jsonRepair = last && trace.HasJsonParseFailure && !trace.IsError;
            EndSpan(json, error: failing ? trace.ErrorType : null, exception: jsonRepair ? "JSONDecodeError" : null);
        }
    }

    private static void StartSpan(Utf8JsonWriter json, SyntheticTrace trace, int span, int? parent, string name, int kind, DateTime start, DateTime end)
    {
        json.WriteStartObject();
        json.WriteString("traceId", trace.TraceId);
        json.WriteString("spanId", SpanId(trace, span));
        json.WriteString("parentSpanId", parent is { } parentSpan ? SpanId(trace, parentSpan) : "");
        json.WriteString("name", name);
        json.WriteNumber("kind", kind);
        json.WriteString("startTimeUnixNano", Nanos(start));
        json.WriteString("endTimeUnixNano", Nanos(end));
        json.WriteStartArray("attributes");
    }

    private static void EndSpan(Utf8JsonWriter json, string? error, string? exception)
    {
        json.WriteEndArray();
        if (exception is not null)
        {
            json.WriteStartArray("events");
            json.WriteStartObject();
            json.WriteString("name", "exception");
            json.WriteStartArray("attributes");
            Attribute(json, "exception.type", exception);
            Attribute(json, "exception.message", "Expecting value: line 1 column 1 (char 0)");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
        }

        json.WriteStartObject("status");
        if (error is not null)
        {
            json.WriteNumber("code", 2);
            json.WriteString("message", error);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static string Nanos(DateTime time) => ((time.Ticks - DateTime.UnixEpoch.Ticks) * 100L).ToString(CultureInfo.InvariantCulture);

    private static void Attribute(Utf8JsonWriter json, string key, string value)
    {
        json.WriteStartObject();
        json.WriteString("key", key);
        json.WriteStartObject("value");
        json.WriteString("stringValue", value);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void Attribute(Utf8JsonWriter json, string key, long value)
    {
        json.WriteStartObject();
        json.WriteString("key", key);
        json.WriteStartObject("value");
        // OTLP/JSON writes 64-bit integers as strings.
        json.WriteString("intValue", value.ToString(CultureInfo.InvariantCulture));
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void Attribute(Utf8JsonWriter json, string key, double value)
    {
        json.WriteStartObject();
        json.WriteString("key", key);
        json.WriteStartObject("value");
        json.WriteNumber("doubleValue", value);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
