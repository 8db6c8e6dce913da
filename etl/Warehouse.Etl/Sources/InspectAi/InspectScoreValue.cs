using System.Globalization;
using System.Text.Json;

namespace Warehouse.Sources.InspectAi;

/// <summary>One scalar `Score.value` read the way Inspect's own `value_to_float()` reads it.</summary>
internal readonly record struct InspectScoreValue(double? Score, bool? IsPassed, string RawScore, bool IsUnscored = false,
    bool IsOutsideUnitScale = false, string? Error = null)
{
    /// <summary>
    /// `value_to_float()` (inspect_ai/scorer/_metric.py): C → 1, P → 0.5, I and N → 0,
    /// yes/true → 1, no/false → 0, bools and numbers as they are, numeric strings parsed.
    /// N ("no answer") is a scored outcome, not a missing score: Inspect's accuracy counts it as 0,
    /// so it is stored as 0 (not passed) with raw_score 'N' and the row's means match Inspect's.
    /// A bare NaN (read as null) is Inspect's "not scored": score and pass stay null, raw 'NaN'.
    /// Inspect has no per-sample pass flag; the rule used is value_to_float(value) >= 1 (the
    /// notes' rule), so C, true, yes and 1.0 pass; P, I, N and anything below 1 do not.
    /// Numbers outside 0..1 have no scale the log states: score and pass stay null, raw kept.
    /// Other strings (a label like "A") are not a score Inspect can average: an error.
    /// </summary>
    public static InspectScoreValue Read(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return new InspectScoreValue(null, null, "NaN", IsUnscored: true);
            case JsonValueKind.True:
                return new InspectScoreValue(1, true, "true");
            case JsonValueKind.False:
                return new InspectScoreValue(0, false, "false");
            case JsonValueKind.Number:
                return FromNumber(value.GetDouble(), value.GetRawText());
            case JsonValueKind.String:
                return FromString(value.GetString()!);
            case JsonValueKind.Array:
                return new InspectScoreValue(null, null, Shorten(value.GetRawText()),
                    Error: $"the value is a list of {value.GetArrayLength()} item(s), which has no metric name per item (Inspect's value_to_float cannot read it either)");
            default:
                return new InspectScoreValue(null, null, Shorten(value.GetRawText()),
                    Error: $"the value is a JSON {value.ValueKind.ToString().ToLowerInvariant()}, not a scalar");
        }
    }

    private static InspectScoreValue FromString(string text)
    {
        var trimmed = text.Trim();
        switch (trimmed)
        {
            case "C":
                return new InspectScoreValue(1, true, trimmed);
            case "P":
                return new InspectScoreValue(0.5, false, trimmed);
            case "I" or "N":
                return new InspectScoreValue(0, false, trimmed);
        }

        switch (trimmed.ToLowerInvariant())
        {
            case "yes" or "true":
                return new InspectScoreValue(1, true, trimmed);
            case "no" or "false":
                return new InspectScoreValue(0, false, trimmed);
        }

        if (double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            return FromNumber(number, trimmed);
        }

        return new InspectScoreValue(null, null, Shorten(trimmed),
            Error: $"the value '{Shorten(trimmed)}' is not C/I/P/N, yes/no, true/false or a number");
    }

    private static InspectScoreValue FromNumber(double number, string raw) =>
        number is >= 0 and <= 1
            ? new InspectScoreValue(number, number >= 1, raw)
            : new InspectScoreValue(null, null, raw, IsOutsideUnitScale: true);

    private static string Shorten(string text) => text.Length <= 200 ? text : string.Concat(text.AsSpan(0, 197), "...");
}
