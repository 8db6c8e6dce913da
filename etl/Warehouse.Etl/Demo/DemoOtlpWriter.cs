using System.Globalization;
using System.Text.Json;

namespace Warehouse.Demo;

public static partial class DemoDataGenerator
{
    public const string OtlpFolderName = "otlp";

    /// <summary>A trace id as OTLP writes it: 32 hex digits, derived from the trace's number so a seed gives the same ids.</summary>
    private static string HexTraceId(int number) =>
        $"{SplitMix((ulong)number):x16}{SplitMix((ulong)number ^ 0x9E3779B97F4A7C15UL):x16}";

    private static string HexSpanId(string traceId, int span) => $"{SplitMix(ulong.Parse(traceId.AsSpan(16, 16), NumberStyles.HexNumber) + (ulong)span):x16}";

    private static ulong SplitMix(ulong value)
    {
        value += 0x9E3779B97F4A7C15UL;
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }

    /// <summary>
    /// Writes production traces as an OpenTelemetry collector's file exporter would: children
    /// (retrieval, tool, model call) are flushed before their root, so they sit in an earlier file
    /// than the root span; user feedback arrives as `gen_ai.evaluation.result` log events in a
    /// logs file, and complaints filed a day later in a second one. Each trace rolls up to the
    /// row the canonical file would hold (latency, tokens, cost, flags, keys, feedback).
    /// </summary>
    private sealed class OtlpTraceSink : ITraceSink, IDisposable
    {
        private const int TracesPerLine = 100;

        private readonly StreamWriter _children;
        private readonly StreamWriter _roots;
        private readonly StreamWriter _feedback;
        private readonly StreamWriter _lateFeedback;
        private readonly List<TraceRow> _pending = [];
        private readonly List<(TraceRow Row, double Score, bool Complaint, DateTime At)> _pendingFeedback = [];
        private readonly List<(TraceRow Row, double Score, bool Complaint, DateTime At)> _pendingLate = [];

        public OtlpTraceSink(string folder)
        {
            Directory.CreateDirectory(folder);
            ChildrenFile = Path.Combine(folder, "traces-0001.jsonl");
            RootsFile = Path.Combine(folder, "traces-0002.jsonl");
            FeedbackFile = Path.Combine(folder, "feedback-0001.logs.jsonl");
            LateFeedbackFile = Path.Combine(folder, "feedback-0002.logs.jsonl");
            _children = CreateWriter(ChildrenFile);
            _roots = CreateWriter(RootsFile);
            _feedback = CreateWriter(FeedbackFile);
            _lateFeedback = CreateWriter(LateFeedbackFile);
        }

        public string ChildrenFile { get; }
        public string RootsFile { get; }
        public string FeedbackFile { get; }
        public string LateFeedbackFile { get; }

        public void Write(TraceRow row)
        {
            _pending.Add(row);
            if (row.FeedbackScore is { } score)
            {
                _pendingFeedback.Add((row, score, row.HasComplaint, End(row).AddMinutes(2)));
            }

            if (_pending.Count == TracesPerLine)
            {
                Flush();
            }
        }

        public void WriteLate(TraceRow row) =>
            _pendingLate.Add((row, row.FeedbackScore ?? 0, true, row.StartedAt.AddDays(1)));

        private void Flush()
        {
            if (_pending.Count > 0)
            {
                WriteLine(_children, json => WriteSpans(json, _pending, root: false));
                WriteLine(_roots, json => WriteSpans(json, _pending, root: true));
                _pending.Clear();
            }

            if (_pendingFeedback.Count > 0)
            {
                WriteLine(_feedback, json => WriteLogs(json, _pendingFeedback));
                _pendingFeedback.Clear();
            }

            if (_pendingLate.Count >= TracesPerLine)
            {
                WriteLine(_lateFeedback, json => WriteLogs(json, _pendingLate));
                _pendingLate.Clear();
            }
        }

        public void Dispose()
        {
            Flush();
            if (_pendingLate.Count > 0)
            {
                WriteLine(_lateFeedback, json => WriteLogs(json, _pendingLate));
                _pendingLate.Clear();
            }

            _children.Dispose();
            _roots.Dispose();
            _feedback.Dispose();
            _lateFeedback.Dispose();
        }

        private static DateTime End(TraceRow row) => row.StartedAt.AddTicks((long)Math.Round(row.LatencyMs * TimeSpan.TicksPerMillisecond));

        private static void WriteLine(StreamWriter writer, Action<Utf8JsonWriter> write)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, IndentedJson))
            {
                write(json);
            }

            writer.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
            writer.Write('\n');
        }

        private static void Resource(Utf8JsonWriter json)
        {
            json.WriteStartObject("resource");
            json.WriteStartArray("attributes");
            Attribute(json, "service.name", "refund-support-bot");
            Attribute(json, "service.version", "2.4.0");
            Attribute(json, "deployment.environment.name", "production");
            Attribute(json, "telemetry.sdk.language", "python");
            json.WriteEndArray();
            json.WriteEndObject();
        }

        private static void WriteSpans(Utf8JsonWriter json, List<TraceRow> rows, bool root)
        {
            json.WriteStartObject();
            json.WriteStartArray("resourceSpans");
            json.WriteStartObject();
            Resource(json);
            json.WriteStartArray("scopeSpans");
            json.WriteStartObject();
            json.WriteStartObject("scope");
            json.WriteString("name", root ? "refund_bot.agent" : "opentelemetry.instrumentation.openai_v2");
            json.WriteString("version", "2.4.0");
            json.WriteEndObject();
            json.WriteStartArray("spans");
            foreach (var row in rows)
            {
                if (root)
                {
                    RootSpan(json, row);
                }
                else
                {
                    ChildSpans(json, row);
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteString("schemaUrl", "https://opentelemetry.io/schemas/1.37.0");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        private static void RootSpan(Utf8JsonWriter json, TraceRow row)
        {
            var traceId = row.TraceId;
            StartSpan(json, traceId, HexSpanId(traceId, 0), null, "invoke_agent refund-support-bot", 1, row.StartedAt, End(row));
            Attribute(json, "gen_ai.operation.name", "invoke_agent");
            Attribute(json, "gen_ai.agent.name", "refund-support-bot");
            // The agent span repeats its model calls' usage, as the conventions allow: the loader must not add it again.
            Attribute(json, "gen_ai.usage.input_tokens", row.InputTokens);
            Attribute(json, "gen_ai.usage.output_tokens", row.OutputTokens);
            Attribute(json, "app.prompt.version", row.PromptVersion);
            Attribute(json, "app.retriever.version", RetrieverVersion);
            Attribute(json, "app.guardrail.version", GuardrailVersion);
            Attribute(json, "app.experiment.bucket", OnlineBucket);
            Attribute(json, "app.feature", row.Feature);
            Attribute(json, "app.intent", row.Intent);
            Attribute(json, "app.language", row.Language);
            Attribute(json, "app.customer_tier", row.CustomerTier);
            Attribute(json, "app.output_format", row.OutputFormat);
            Attribute(json, "app.context_tokens", row.ContextTokens);
            Attribute(json, "session.id", row.SessionId);
            Attribute(json, "input.value", row.InputPreview);
            EndSpan(json, error: null, exception: null);
        }

        private static void ChildSpans(Utf8JsonWriter json, TraceRow row)
        {
            var traceId = row.TraceId;
            var rootId = HexSpanId(traceId, 0);
            var start = row.StartedAt;
            var end = End(row);
            var span = TimeSpan.FromTicks((end - start).Ticks / 10);

            StartSpan(json, traceId, HexSpanId(traceId, 1), rootId, "retrieval kb", 3, start + span, start + 2 * span);
            Attribute(json, "gen_ai.operation.name", "retrieval");
            Attribute(json, "gen_ai.data_source.id", "kb");
            Attribute(json, "gen_ai.retrieval.documents", row.IsRetrievalEmpty ? "[]" : """[{"id":"kb-refund-policy","score":0.82}]""");
            EndSpan(json, error: null, exception: null);

            StartSpan(json, traceId, HexSpanId(traceId, 2), rootId, "execute_tool lookup_order", 1, start + 2 * span, start + 3 * span);
            Attribute(json, "gen_ai.operation.name", "execute_tool");
            Attribute(json, "gen_ai.tool.name", "lookup_order");
            // A tool whose output was not JSON: recorded as a handled exception; the agent retried.
            EndSpan(json, error: null, exception: row.HasToolParseFailure ? "json.decoder.JSONDecodeError" : null);

            StartSpan(json, traceId, HexSpanId(traceId, 3), rootId, $"chat {ModelVersion}", 3, start + 3 * span, start + 9 * span);
            Attribute(json, "gen_ai.operation.name", "chat");
            Attribute(json, "gen_ai.provider.name", "openai");
            Attribute(json, "gen_ai.request.model", "gpt-4o");
            Attribute(json, "gen_ai.response.model", ModelVersion);
            Attribute(json, "gen_ai.usage.input_tokens", row.InputTokens);
            Attribute(json, "gen_ai.usage.output_tokens", row.OutputTokens);
            Attribute(json, "llm.cost.total", row.CostUsd);
            if (row.ErrorType is { } errorType)
            {
                Attribute(json, "error.type", errorType);
            }

            // The model's answer failed to parse as JSON and was repaired: a handled exception on the call.
            var modelJsonFailure = row.HasJsonParseFailure && !row.HasToolParseFailure && row.ErrorType != "JSONDecodeError";
            EndSpan(json, error: row.ErrorType, exception: modelJsonFailure ? "JSONDecodeError" : null);
        }

        private static void StartSpan(Utf8JsonWriter json, string traceId, string spanId, string? parentId, string name, int kind, DateTime start, DateTime end)
        {
            json.WriteStartObject();
            json.WriteString("traceId", traceId);
            json.WriteString("spanId", spanId);
            json.WriteString("parentSpanId", parentId ?? "");
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

        private static void WriteLogs(Utf8JsonWriter json, List<(TraceRow Row, double Score, bool Complaint, DateTime At)> feedback)
        {
            json.WriteStartObject();
            json.WriteStartArray("resourceLogs");
            json.WriteStartObject();
            Resource(json);
            json.WriteStartArray("scopeLogs");
            json.WriteStartObject();
            json.WriteStartObject("scope");
            json.WriteString("name", "refund_bot.feedback");
            json.WriteEndObject();
            json.WriteStartArray("logRecords");
            foreach (var (row, score, complaint, at) in feedback)
            {
                json.WriteStartObject();
                json.WriteString("timeUnixNano", Nanos(at));
                json.WriteString("eventName", "gen_ai.evaluation.result");
                json.WriteString("traceId", row.TraceId);
                json.WriteString("spanId", HexSpanId(row.TraceId, 0));
                json.WriteStartArray("attributes");
                Attribute(json, "gen_ai.evaluation.name", "user_feedback");
                Attribute(json, "gen_ai.evaluation.score.value", score);
                Attribute(json, "gen_ai.evaluation.score.label", score >= 0.5 ? "thumbs_up" : "thumbs_down");
                Attribute(json, "app.feedback.is_complaint", complaint);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
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

        private static void Attribute(Utf8JsonWriter json, string key, bool value)
        {
            json.WriteStartObject();
            json.WriteString("key", key);
            json.WriteStartObject("value");
            json.WriteBoolean("boolValue", value);
            json.WriteEndObject();
            json.WriteEndObject();
        }
    }
}
