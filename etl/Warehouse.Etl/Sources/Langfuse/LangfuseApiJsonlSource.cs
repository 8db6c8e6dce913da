using System.Text.Json;
using Warehouse.Traces;

namespace Warehouse.Sources.Langfuse;

/// <summary>
/// Langfuse public API export: one `GET /api/public/traces/{id}` response (TraceWithFullDetails:
/// the trace with its `observations[]` and `scores[]`) per line, JSON Lines, gzip or not; also a
/// JSON array of them, or one pretty-printed trace (the UI's single-trace "Download JSON").
/// Each line gives the trace part, a span part per observation and a feedback part per score.
/// A line that is not JSON is one reject; an observation or score with a bad value is rejected
/// alone and the rest of its trace loads.
/// </summary>
public sealed class LangfuseApiJsonlSource : TracePartFormat
{
    public const string Tool = "langfuse";

    private static readonly string[] ApiMarkers = ["observations", "scores", "htmlPath", "latency", "totalCost"];

    public override string Name => "langfuse-api-jsonl";

    public override string SourceName => Tool;

    public override bool Detect(SourceFile file)
    {
        var keys = LangfuseLines.FirstRecordKeys(file);
        return keys.Contains("id") && keys.Contains("timestamp") && ApiMarkers.Any(keys.Contains)
               && !keys.Contains("traceId") && !keys.Contains("trace_id") && !keys.Contains("project_id");
    }

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        foreach (var record in LangfuseLines.Read(file, cancellationToken))
        {
            var raw = record.Text;
            Func<string>? rawText = raw is null ? null : () => raw;
            if (record.Value is not { } trace)
            {
                yield return PartRecord.Reject(record.Number, record.Error!, rawText);
                continue;
            }

            rawText ??= () => trace.GetRawText();
            foreach (var part in Parts(trace, record.Number, rules, file, rawText))
            {
                yield return part;
            }
        }
    }

    private static IEnumerable<PartRecord> Parts(JsonElement trace, long number, TraceRules rules, SourceFile file, Func<string> rawText)
    {
        TracePart traceRecord;
        try
        {
            traceRecord = LangfuseParts.Trace(trace, rules, file);
        }
        catch (LangfuseRecordException error)
        {
            return [PartRecord.Reject(number, $"trace: {error.Message}", rawText)];
        }

        var parts = new List<PartRecord> { new(number, traceRecord, rawText) };
        foreach (var (kind, items) in new[] { ("observation", "observations"), ("score", "scores") })
        {
            if (LangfuseValues.Field(trace, items) is not { ValueKind: JsonValueKind.Array } array)
            {
                continue;
            }

            var index = 0;
            foreach (var item in array.EnumerateArray())
            {
                index++;
                if (item.ValueKind != JsonValueKind.Object)
                {
                    // The list endpoint's TraceWithDetails holds ids only: nothing to read.
                    continue;
                }

                try
                {
                    var part = kind == "observation"
                        ? LangfuseParts.Observation(item, rules, traceRecord.TraceId)
                        : LangfuseParts.Score(item, rules, traceRecord.TraceId);
                    if (part is not null)
                    {
                        parts.Add(new PartRecord(number, part, rawText));
                    }
                }
                catch (LangfuseRecordException error)
                {
                    var id = LangfuseValues.Text(item, "id") ?? $"#{index}";
                    parts.Add(PartRecord.Reject(number, $"trace {traceRecord.TraceId}, {kind} {id}: {error.Message}", () => item.GetRawText()));
                }
            }
        }

        return parts;
    }
}
