using System.Globalization;
using System.Text.Json;

namespace Warehouse.Demo;

public static partial class DemoDataGenerator
{
    public const string LangfuseFolderName = "langfuse";

    /// <summary>Where the tool-format demo's production traces go, trace by trace.</summary>
    private interface ITraceSink
    {
        void Write(TraceRow row);

        /// <summary>The same trace again, exported later with a complaint filed a day after it.</summary>
        void WriteLate(TraceRow row);
    }

    /// <summary>Baseline-window traces to one sink, candidate-window traces to the other.</summary>
    private sealed class WindowSink(ITraceSink baseline, ITraceSink candidate) : ITraceSink
    {
        public void Write(TraceRow row) => For(row).Write(row);

        public void WriteLate(TraceRow row) => For(row).WriteLate(row);

        private ITraceSink For(TraceRow row) => row.PromptVersion == BaselinePromptVersion ? baseline : candidate;
    }

    /// <summary>
    /// Writes production traces as Langfuse's public API returns them (`GET /api/public/traces/{id}`,
    /// one trace with its observations and scores per line): latency in seconds, the trace's total
    /// cost, an AGENT root with RETRIEVER, TOOL and GENERATION observations (prompt `refund` version
    /// 3), user feedback as a NUMERIC score whose metadata says whether it is a complaint. A day later
    /// the complained-about traces are exported again, now with the complaint's score.
    /// </summary>
    private sealed class LangfuseTraceSink : ITraceSink, IDisposable
    {
        private const string ProjectId = "refund-bot";

        private readonly StreamWriter _traces;
        private readonly StreamWriter _later;
        private readonly Dictionary<string, TraceRow> _firstExport = new(StringComparer.Ordinal);

        public LangfuseTraceSink(string folder)
        {
            Directory.CreateDirectory(folder);
            TracesFile = Path.Combine(folder, "traces-api-export.jsonl");
            LaterFile = Path.Combine(folder, "traces-api-export-later.jsonl");
            _traces = CreateWriter(TracesFile);
            _later = CreateWriter(LaterFile);
        }

        public string TracesFile { get; }

        public string LaterFile { get; }

        public void Write(TraceRow row)
        {
            WriteTrace(_traces, row, late: null);
            if (row.FeedbackScore is not null)
            {
                _firstExport[row.TraceId] = row;
            }
        }

        public void WriteLate(TraceRow row) => WriteTrace(_later, _firstExport.GetValueOrDefault(row.TraceId) ?? row, late: row);

        public void Dispose()
        {
            _traces.Dispose();
            _later.Dispose();
        }

        private static string Iso(DateTime time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

        private static void WriteTrace(StreamWriter writer, TraceRow row, TraceRow? late)
        {
            var end = row.StartedAt.AddTicks((long)Math.Round(row.LatencyMs * TimeSpan.TicksPerMillisecond));
            var step = TimeSpan.FromTicks((end - row.StartedAt).Ticks / 10);
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, IndentedJson))
            {
                json.WriteStartObject();
                json.WriteString("id", row.TraceId);
                json.WriteString("timestamp", Iso(row.StartedAt));
                json.WriteString("name", "refund-support-turn");
                json.WriteStartObject("input");
                json.WriteString("message", row.InputPreview);
                json.WriteEndObject();
                json.WriteNull("output");
                json.WriteString("sessionId", row.SessionId);
                json.WriteString("release", "2.4.0");
                json.WriteStartObject("metadata");
                json.WriteString("feature", row.Feature);
                json.WriteString("intent", row.Intent);
                json.WriteString("language", row.Language);
                json.WriteString("customer_tier", row.CustomerTier);
                json.WriteString("output_format", row.OutputFormat);
                json.WriteString("prompt_version", row.PromptVersion);
                json.WriteString("retriever_version", RetrieverVersion);
                json.WriteString("guardrail_version", GuardrailVersion);
                json.WriteString("experiment_bucket", OnlineBucket);
                json.WriteNumber("context_tokens", row.ContextTokens);
                json.WriteEndObject();
                json.WriteStartArray("tags");
                json.WriteStringValue(row.Feature);
                json.WriteEndArray();
                json.WriteString("environment", "production");
                json.WriteString("htmlPath", $"/project/{ProjectId}/traces/{row.TraceId}");
                json.WriteNumber("latency", row.LatencyMs / 1000);
                json.WriteNumber("totalCost", row.CostUsd);

                json.WriteStartArray("observations");
                var rootId = HexSpanId(row.TraceId, 0);
                Observation(json, row, rootId, null, "AGENT", "refund-support-turn", row.StartedAt, end, "DEFAULT", null);
                json.WriteStartObject("output");
                json.WriteEndObject();
                json.WriteEndObject();

                Observation(json, row, HexSpanId(row.TraceId, 1), rootId, "RETRIEVER", "retrieve_policies", row.StartedAt + step, row.StartedAt + 2 * step, "DEFAULT", null);
                json.WriteStartObject("output");
                json.WriteStartArray("documents");
                if (!row.IsRetrievalEmpty)
                {
                    json.WriteStartObject();
                    json.WriteString("id", "kb-refund-policy");
                    json.WriteNumber("score", 0.82);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndObject();

                // A tool whose output was not JSON, handled by a retry: a WARNING, not an error.
                Observation(json, row, HexSpanId(row.TraceId, 2), rootId, "TOOL", "lookup_order", row.StartedAt + 2 * step, row.StartedAt + 3 * step,
                    row.HasToolParseFailure ? "WARNING" : "DEFAULT", row.HasToolParseFailure ? "JSONDecodeError: Expecting value: line 1 column 1 (char 0)" : null);
                json.WriteEndObject();

                Observation(json, row, HexSpanId(row.TraceId, 3), rootId, "GENERATION", $"chat {ModelVersion}", row.StartedAt + 3 * step, row.StartedAt + 8 * step,
                    row.ErrorType is null ? "DEFAULT" : "ERROR", row.ErrorType is null ? null : row.ErrorType == "JSONDecodeError" ? "JSONDecodeError: Expecting value" : row.ErrorType);
                json.WriteString("model", ModelVersion);
                json.WriteString("promptName", "refund");
                json.WriteNumber("promptVersion", row.PromptVersion == BaselinePromptVersion ? 3 : 4);
                json.WriteStartObject("usageDetails");
                json.WriteNumber("input", row.InputTokens);
                json.WriteNumber("output", row.OutputTokens);
                json.WriteNumber("total", row.InputTokens + row.OutputTokens);
                json.WriteEndObject();
                json.WriteStartObject("costDetails");
                json.WriteNumber("total", row.CostUsd);
                json.WriteEndObject();
                json.WriteEndObject();

                // The model's answer failed to parse and was repaired.
                if (row.HasJsonParseFailure && !row.HasToolParseFailure && row.ErrorType != "JSONDecodeError")
                {
                    Observation(json, row, HexSpanId(row.TraceId, 4), rootId, "SPAN", "parse_answer", row.StartedAt + 8 * step, row.StartedAt + 9 * step,
                        "WARNING", "JSONDecodeError: answer repaired on retry");
                    json.WriteEndObject();
                }

                json.WriteEndArray();

                json.WriteStartArray("scores");
                if (row.FeedbackScore is { } score)
                {
                    Score(json, row, "1", score, row.HasComplaint, end.AddMinutes(2));
                }

                if (late is not null)
                {
                    Score(json, row, "2", late.FeedbackScore ?? 0, complaint: true, row.StartedAt.AddDays(1));
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            writer.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
            writer.Write('\n');
        }

        /// <summary>Writes an observation's common fields; the caller adds its own and closes the object.</summary>
        private static void Observation(Utf8JsonWriter json, TraceRow row, string id, string? parentId, string type, string name,
            DateTime start, DateTime end, string level, string? statusMessage)
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("traceId", row.TraceId);
            json.WriteString("type", type);
            json.WriteString("name", name);
            json.WriteString("startTime", Iso(start));
            json.WriteString("endTime", Iso(end));
            if (parentId is null)
            {
                json.WriteNull("parentObservationId");
            }
            else
            {
                json.WriteString("parentObservationId", parentId);
            }

            json.WriteString("level", level);
            if (statusMessage is null)
            {
                json.WriteNull("statusMessage");
            }
            else
            {
                json.WriteString("statusMessage", statusMessage);
            }
        }

        private static void Score(Utf8JsonWriter json, TraceRow row, string suffix, double value, bool complaint, DateTime at)
        {
            json.WriteStartObject();
            json.WriteString("id", $"{row.TraceId[..16]}-score-{suffix}");
            json.WriteString("traceId", row.TraceId);
            json.WriteString("name", "user_feedback");
            json.WriteString("source", "API");
            json.WriteString("dataType", "NUMERIC");
            json.WriteNumber("value", value);
            json.WriteString("timestamp", Iso(at));
            json.WriteStartObject("metadata");
            json.WriteBoolean("is_complaint", complaint);
            json.WriteEndObject();
            json.WriteEndObject();
        }
    }
}
