using System.Globalization;
using System.Text.RegularExpressions;

namespace Warehouse.Traces;

/// <summary>
/// The timestamps trace stores write, as UTC: ISO-8601 with `Z`, an offset or none (naive is UTC),
/// ClickHouse's `YYYY-MM-DD HH:MM:SS.ffffff`, and fractions finer than .NET's 100 ns (Opik and
/// Phoenix write nanoseconds; the extra digits are dropped). Text must start with a `YYYY-` date,
/// so "June 3" or "3/6" is never taken for a time. Each format says in its own words why a value is
/// rejected; this is only the parsing they share.
/// </summary>
public static partial class TraceTime
{
    public static bool TryParse(string? text, out DateTime utc)
    {
        utc = default;
        var trimmed = text?.Trim();
        if (trimmed is null || trimmed.Length < 10 || !char.IsAsciiDigit(trimmed[0]) || trimmed[4] != '-')
        {
            return false;
        }

        trimmed = LongFraction().Replace(trimmed, match => match.Groups[1].Value);
        if (!DateTime.TryParse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return false;
        }

        utc = DateTime.SpecifyKind(parsed, DateTimeKind.Utc);
        return true;
    }

    [GeneratedRegex(@"(\.\d{7})\d+")]
    private static partial Regex LongFraction();
}
