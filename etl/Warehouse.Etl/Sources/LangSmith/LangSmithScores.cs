using System.Globalization;
using System.Text.Json;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.LangSmith;

/// <summary>A feedback value as the warehouse stores it: score in 0..1, pass flag, the tool's raw value.</summary>
public sealed record LangSmithScore(string? Score, bool? Passed, string? Raw, string? Note = null, string? Error = null);

/// <summary>
/// LangSmith has no pass flag and no fixed scale (EVAL-SOURCES §5.5). The rules:
/// <list type="bullet">
/// <item>`score` wins over `value`; `value` is read only when `score` is null.</item>
/// <item>A boolean is 1/0 and passes when true.</item>
/// <item>A number in 0..1 is the score as written. A number outside 0..1 is normalised with the
/// feedback's `feedback_config` (or `extra.feedback_config`) `min`/`max` when it has them; otherwise
/// the score stays empty and the raw value is kept (the scale is unknown).</item>
/// <item>is_passed is derived only where the value decides it: true for 1, false for 0 (binary
/// evaluators, which LangSmith stores as 1/0); a fraction such as 0.7 has no pass flag (no threshold).</item>
/// <item>A categorical (string) value is kept in raw_score. The words pass/passed/correct/yes/true/y
/// mean score 1 and passed, fail/failed/incorrect/no/false/n mean score 0 and failed; any other
/// category has no score and no pass flag.</item>
/// <item>An object/array `value` (structured feedback) has no score; it is kept in attributes.</item>
/// <item>A `score` that is a string, object or array is the wrong type: that row is rejected.</item>
/// <item>Neither score nor value (a comment-only or errored evaluation): the row loads with no score.</item>
/// </list>
/// </summary>
public static class LangSmithScores
{
    private const int RawScoreMaxLength = 1000;

    private static readonly HashSet<string> PassWords = new(StringComparer.OrdinalIgnoreCase) { "pass", "passed", "correct", "yes", "true", "y" };
    private static readonly HashSet<string> FailWords = new(StringComparer.OrdinalIgnoreCase) { "fail", "failed", "incorrect", "no", "false", "n" };

    public static LangSmithScore FromFeedback(JsonElement feedback)
    {
        var score = JsonText.Property(feedback, "score");
        if (score is { ValueKind: not JsonValueKind.Null })
        {
            return score.Value.ValueKind switch
            {
                JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number => FromScalar(score.Value, feedback),
                _ => new LangSmithScore(null, null, null,
                    Error: $"score {Shorten(score.Value.GetRawText())} is a JSON {score.Value.ValueKind.ToString().ToLowerInvariant()}, not a number or boolean"),
            };
        }

        var value = JsonText.Property(feedback, "value");
        return value switch
        {
            null or { ValueKind: JsonValueKind.Null } => new LangSmithScore(null, null, null, Note: "no score or value"),
            { ValueKind: JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number } => FromScalar(value.Value, feedback),
            { ValueKind: JsonValueKind.String } => Categorical(value.Value.GetString()!),
            _ => new LangSmithScore(null, null, null, Note: "structured value"),
        };
    }

    /// <summary>A run's `feedback_stats[key]`: the mean of its numeric scores, else its only category.</summary>
    public static LangSmithScore? FromStats(JsonElement stats)
    {
        if (JsonText.Property(stats, "avg") is { ValueKind: JsonValueKind.Number } average)
        {
            return FromScalar(average, default);
        }

        if (JsonText.Property(stats, "values") is { ValueKind: JsonValueKind.Object } values)
        {
            var categories = values.EnumerateObject().ToList();
            if (categories.Count == 1)
            {
                return Categorical(categories[0].Name);
            }
        }

        return null;
    }

    private static LangSmithScore FromScalar(JsonElement element, JsonElement feedback)
    {
        if (element.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            var passed = element.ValueKind == JsonValueKind.True;
            return new LangSmithScore(passed ? "1" : "0", passed, passed ? "true" : "false");
        }

        var raw = element.GetRawText();
        var number = element.GetDouble();
        if (number is >= 0 and <= 1)
        {
            return new LangSmithScore(raw, PassOf(number), raw);
        }

        if (Range(feedback) is var (min, max) && max > min && number >= min && number <= max)
        {
            var normalised = (number - min) / (max - min);
            return new LangSmithScore(normalised.ToString("R", CultureInfo.InvariantCulture), PassOf(normalised), raw,
                Note: $"normalised from {min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)}");
        }

        return new LangSmithScore(null, null, raw, Note: "score outside 0..1 and no feedback_config min/max: scale unknown");
    }

    private static LangSmithScore Categorical(string category)
    {
        var raw = category.Length <= RawScoreMaxLength ? category : category[..RawScoreMaxLength];
        if (PassWords.Contains(category.Trim()))
        {
            return new LangSmithScore("1", true, raw);
        }

        if (FailWords.Contains(category.Trim()))
        {
            return new LangSmithScore("0", false, raw);
        }

        return new LangSmithScore(null, null, string.IsNullOrWhiteSpace(raw) ? null : raw, Note: "categorical value");
    }

    private static bool? PassOf(double score) => score switch
    {
        1 => true,
        0 => false,
        _ => null,
    };

    private static (double Min, double Max)? Range(JsonElement feedback)
    {
        if (feedback.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var path in new[] { "feedback_config", "extra.feedback_config" })
        {
            if (JsonPath.Resolve(feedback, JsonPath.Parse(path)) is { ValueKind: JsonValueKind.Object } config
                && JsonText.Property(config, "min") is { ValueKind: JsonValueKind.Number } min
                && JsonText.Property(config, "max") is { ValueKind: JsonValueKind.Number } max)
            {
                return (min.GetDouble(), max.GetDouble());
            }
        }

        return null;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 37), "...");
}
