using System.Globalization;
using System.Text.Json;
using Warehouse.Traces;

namespace Warehouse.Sources.Otlp;

/// <summary>
/// OTLP/JSON logs carrying feedback: `gen_ai.evaluation.result` events (log records with that
/// event name) parented to the span they judge. They arrive in their own files, often hours after
/// the trace; each becomes a feedback part of its trace, and the trace is rolled up again. Other
/// log records are read and passed over.
/// </summary>
public sealed class OtlpLogsSource : TracePartFormat
{
    public const string EvaluationEvent = "gen_ai.evaluation.result";

    public override string Name => "otlp-logs-jsonl";

    public override string SourceName => OtlpTracesSource.SourceKey;

    public override bool Detect(SourceFile file) => file.TopLevelKeys.Contains("resourceLogs");

    public override bool MayHaveNoParts => true;

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
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
                var resourceIndex = -1;
                foreach (var resourceLogs in OtlpJson.Array(document.RootElement, "resourceLogs"))
                {
                    resourceIndex++;
                    var scopeIndex = -1;
                    foreach (var scopeLogs in OtlpJson.Array(resourceLogs, "scopeLogs"))
                    {
                        scopeIndex++;
                        var recordIndex = -1;
                        foreach (var log in OtlpJson.Array(scopeLogs, "logRecords"))
                        {
                            recordIndex++;
                            var attributes = OtlpJson.Attributes(log);
                            var eventName = log.TryGetProperty("eventName", out var name) && name.ValueKind == JsonValueKind.String
                                ? name.GetString()
                                : attributes.FirstOrDefault(pair => pair.Key == "event.name").Value;
                            if (eventName != EvaluationEvent)
                            {
                                continue;
                            }

                            var where = $"resourceLogs[{resourceIndex}].scopeLogs[{scopeIndex}].logRecords[{recordIndex}]";
                            yield return ReadEvaluation(log, attributes, rules, number, where);
                        }
                    }
                }
            }
        }
    }

    private static PartRecord ReadEvaluation(JsonElement log, List<KeyValuePair<string, string?>> attributes, TraceRules rules, long number, string where)
    {
        Func<string> text = () => log.GetRawText();
        if (!OtlpJson.TryId(log, "traceId", 16, out var traceId, out var problem)
            || !OtlpJson.TryId(log, "spanId", 8, out var spanId, out problem)
            || !OtlpJson.TryTime(log, "timeUnixNano", out var time, out problem)
            || !OtlpJson.TryTime(log, "observedTimeUnixNano", out var observed, out problem))
        {
            return PartRecord.Reject(number, $"{where}: {problem}", text);
        }

        if (traceId is null)
        {
            return PartRecord.Reject(number, $"{where}: the {EvaluationEvent} event has no traceId, so it cannot be joined to its trace", text);
        }

        string? Attribute(string key) => attributes.FirstOrDefault(pair => pair.Key == key).Value;
        var evaluation = Attribute("gen_ai.evaluation.name") ?? "evaluation";
        double? score = null;
        if (Attribute("gen_ai.evaluation.score.value") is { } scoreText)
        {
            if (!double.TryParse(scoreText, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            {
                return PartRecord.Reject(number, $"{where}: gen_ai.evaluation.score.value '{OtlpJson.Shorten(scoreText)}' is not a number", text);
            }

            // Scores outside 0..1 are kept on the row's attributes, not as feedback_score.
            score = value is >= 0 and <= 1 ? value : null;
        }

        var at = time ?? observed;
        var part = new TracePart
        {
            TraceId = traceId,
            // One part per judged span, evaluation and moment: a re-export replaces it, a later judgement adds one.
            PartId = $"feedback:{spanId ?? Attribute("gen_ai.response.id") ?? "trace"}:{evaluation}:{at?.Ticks.ToString(CultureInfo.InvariantCulture) ?? "0"}",
            Kind = PartKind.Feedback,
            FeedbackName = evaluation,
            FeedbackScore = score,
            FeedbackLabel = Attribute("gen_ai.evaluation.score.label"),
            FeedbackComment = Attribute("gen_ai.evaluation.explanation"),
            FeedbackAt = at,
        };
        rules.ApplyKeys(part, attributes);
        return new PartRecord(number, part, text);
    }
}
