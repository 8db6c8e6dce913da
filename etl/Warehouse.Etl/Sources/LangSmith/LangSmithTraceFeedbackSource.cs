using System.Globalization;
using System.Text.Json;
using Warehouse.Traces;
using static Warehouse.Sources.LangSmith.LangSmithTraceValues;

namespace Warehouse.Sources.LangSmith;

/// <summary>
/// LangSmith feedback on production traces (`client.list_feedback(…)` rows as JSON Lines: `id`, `key`,
/// `score`, `value`, `comment`, `trace_id`, `run_id`, `created_at`): each row is a feedback part
/// "feedback:&lt;id&gt;" of the trace `trace_id` names. Rows without `trace_id` use `run_id`, which is
/// the trace id only when the feedback was given on the root run (the usual case for user feedback);
/// feedback on a child run without `trace_id` lands on a trace of its own and waits there.
/// A feedback file named `X.feedback.jsonl` beside experiment runs `X.jsonl` stays the eval adapter's.
/// </summary>
public sealed class LangSmithTraceFeedbackSource : TracePartFormat
{
    public const string FormatName = "langsmith-trace-feedback-jsonl";

    public override string Name => FormatName;

    public override string SourceName => LangSmithRunsSource.Tool;

    public override bool Detect(SourceFile file) =>
        file.FirstLineIsJsonObject
        && LangSmithFeedbackSource.LooksLikeFeedback(file.TopLevelKeys)
        && !LangSmithFeedbackSource.IsBesideExperimentRuns(file.Path);

    public override IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken)
    {
        using var stream = file.Open();
        foreach (var line in Canonical.JsonLines.ReadChecked(stream, Canonical.JsonLines.MaxLineBytes, cancellationToken))
        {
            var text = line.Text;
            Func<string> raw = () => text;
            if (line.Problem is { } problem)
            {
                yield return PartRecord.Reject(line.Number, problem, raw);
                continue;
            }

            var (document, parseError) = LangSmithTraceValues.ParseLine(text);
            if (document is null)
            {
                yield return PartRecord.Reject(line.Number, parseError!, raw);
                continue;
            }

            using (document)
            {
                var (part, reason) = Part(document.RootElement);
                yield return part is null ? PartRecord.Reject(line.Number, reason!, raw) : new PartRecord(line.Number, part, raw);
            }
        }
    }

    private static (TracePart? Part, string? Error) Part(JsonElement row)
    {
        if (row.ValueKind != JsonValueKind.Object)
        {
            return (null, $"line is a JSON {Kind(row)}, not a feedback object");
        }

        var id = Scalar(row, "id");
        if (id is null)
        {
            return (null, "the feedback has no id");
        }

        try
        {
            var key = Scalar(row, "key") ?? throw new BadValueException("the feedback has no key");
            var traceId = Scalar(row, "trace_id") ?? Scalar(row, "run_id")
                ?? throw new BadValueException("the feedback has neither trace_id nor run_id (project- or thread-level feedback is not a trace's)");
            var score = LangSmithScores.FromFeedback(row);
            if (score.Error is not null)
            {
                throw new BadValueException($"{key}: {score.Error}");
            }

            double? number = score.Score is { } text ? double.Parse(text, CultureInfo.InvariantCulture) : null;
            var label = At(row, "value") is { ValueKind: JsonValueKind.String } value ? value.GetString() : number is null ? score.Raw : null;
            return (new TracePart
            {
                TraceId = traceId,
                PartId = "feedback:" + id,
                Kind = PartKind.Feedback,
                FeedbackName = key,
                FeedbackScore = number,
                FeedbackLabel = string.IsNullOrWhiteSpace(label) ? null : label,
                FeedbackComment = Scalar(row, "comment"),
                FeedbackAt = Time(row, "created_at") ?? Time(row, "modified_at"),
            }, null);
        }
        catch (BadValueException error)
        {
            return (null, $"feedback {id}: {error.Message}");
        }
    }
}
