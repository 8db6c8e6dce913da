using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Warehouse.Loading;

/// <summary>
/// Turns a <see cref="FieldRecord"/> into a typed row in table column order, or says in one
/// sentence why it cannot. Every rule a database constraint would enforce is checked here first,
/// so one bad record is rejected alone instead of failing the whole batch's transaction.
/// </summary>
public sealed class RecordBuilder(TableSchema schema)
{
    /// <summary>The smallest positive normal double (2.2250738585072014E-308).</summary>
    private const double SmallestNormal = 2.2250738585072014E-308;

    private const DateTimeStyles UtcStyles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;

    public TableSchema Schema { get; } = schema;

    public bool TryBuild(FieldRecord record, long batchId, DateTime loadedAt, out object?[] row, out string? reason)
    {
        row = new object?[Schema.Columns.Count];
        if (record.ReadError is not null)
        {
            reason = record.ReadError;
            return false;
        }

        for (var ordinal = 0; ordinal < Schema.Columns.Count; ordinal++)
        {
            var column = Schema.Columns[ordinal];
            if (column.Role == ColumnRole.Bookkeeping)
            {
                continue;
            }

            if (!TryConvert(column, record.Values[ordinal], out row[ordinal], out reason))
            {
                return false;
            }
        }

        // context_band is derived: the tokens decide when the record has them; a band given
        // without tokens is kept only when it is one of the known bands.
        var tokens = (long?)row[Schema.ContextTokensOrdinal];
        var givenBand = (string)row[Schema.ContextBandOrdinal]!;
        if (tokens is not null)
        {
            row[Schema.ContextBandOrdinal] = ContextBands.FromTokens(tokens);
        }
        else if (!ContextBands.IsValid(givenBand))
        {
            reason = $"context_band '{Shorten(givenBand)}' is not one of {string.Join(", ", ContextBands.All)}";
            return false;
        }

        var attributesOrdinal = Schema.Ordinal("attributes");
        var attributes = (string?)row[attributesOrdinal];
        if (!(record.AttributesAreSerialized && record.Extras is not { Count: > 0 })
            && !TryMergeAttributes(attributes, record.Extras, out attributes, out reason))
        {
            return false;
        }

        row[attributesOrdinal] = attributes;
        row[Schema.BatchIdOrdinal] = batchId;
        row[Schema.LoadedAtOrdinal] = loadedAt;
        reason = null;
        return true;
    }

    private static bool TryConvert(ColumnSpec column, string? text, out object? value, out string? reason)
    {
        value = null;
        reason = null;
        var trimmed = text?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            switch (column.Role)
            {
                case ColumnRole.NaturalKey when column.Fallback is null:
                    reason = $"missing key column {column.Name}";
                    return false;
                case ColumnRole.NaturalKey or ColumnRole.SharedKey:
                    trimmed = column.Fallback!;
                    break;
                case ColumnRole.Flag:
                    value = false;
                    return true;
                default:
                    return true;
            }
        }

        switch (column.Type)
        {
            case ColumnType.Text:
                return TryText(column, trimmed, out value, out reason);
            case ColumnType.Integer:
                if (TryInteger(trimmed, out var integer) && integer is >= int.MinValue and <= int.MaxValue)
                {
                    value = (int)integer;
                    return true;
                }

                reason = $"{column.Name} '{Shorten(trimmed)}' is not a whole number in the 32-bit range";
                return false;
            case ColumnType.BigInt:
                if (TryInteger(trimmed, out var bigint) && bigint >= 0)
                {
                    value = bigint;
                    return true;
                }

                reason = $"{column.Name} '{Shorten(trimmed)}' is not a non-negative whole number";
                return false;
            case ColumnType.Double:
                if (!double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
                {
                    reason = $"{column.Name} '{Shorten(trimmed)}' is not a finite number";
                    return false;
                }

                // SQL Server's float has no subnormals (it refuses them); no engine may hold what another cannot.
                if (number != 0 && Math.Abs(number) < SmallestNormal)
                {
                    reason = $"{column.Name} '{Shorten(trimmed)}' is too close to zero to be stored on every engine (below {SmallestNormal.ToString("R", CultureInfo.InvariantCulture)})";
                    return false;
                }

                if (column.Name == "feedback_score" && number is < 0 or > 1)
                {
                    reason = $"feedback_score {number.ToString(CultureInfo.InvariantCulture)} is outside 0..1";
                    return false;
                }

                value = number;
                return true;
            case ColumnType.Boolean:
                if (TryBoolean(trimmed, out var flag))
                {
                    value = flag;
                    return true;
                }

                reason = $"{column.Name} '{Shorten(trimmed)}' is not a boolean (true/false, 1/0, yes/no)";
                return false;
            case ColumnType.Timestamp:
                if (TryTimestamp(trimmed, out var timestamp))
                {
                    // Microseconds, cut (not rounded): what every engine keeps, so none rounds differently
                    // and 9999-12-31T23:59:59.9999999 does not round past the last day SQL Server allows.
                    value = new DateTime(timestamp.Ticks - timestamp.Ticks % 10, DateTimeKind.Utc);
                    return true;
                }

                // Years 1 to 9999 in UTC: what .NET, SQL Server's datetime2 and (within it) DuckDB and PostgreSQL share.
                reason = $"{column.Name} '{Shorten(trimmed)}' is not an ISO-8601 timestamp between 0001-01-01 and 9999-12-31 (UTC)";
                return false;
            default:
                throw new InvalidOperationException($"column type {column.Type} has no conversion");
        }
    }

    private static bool TryText(ColumnSpec column, string text, out object? value, out string? reason)
    {
        value = null;
        reason = null;
        if (text.Contains('\0'))
        {
            reason = $"{column.Name} contains a NUL character, which no engine can store as text";
            return false;
        }

        if (column.MaxLength > 0 && text.Length > column.MaxLength)
        {
            if (!column.TruncateToMaxLength)
            {
                reason = $"{column.Name} is {text.Length} characters long, more than the {column.MaxLength} allowed";
                return false;
            }

            text = text[..column.MaxLength];
            if (char.IsHighSurrogate(text[^1]))
            {
                text = text[..^1];
            }
        }

        value = text;
        return true;
    }

    internal static bool TryInteger(string text, out long value)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }

        // Exports written by tools that keep every number as a double ("12.0") are still whole.
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            && double.IsFinite(number) && Math.Floor(number) == number && Math.Abs(number) < 9.0e15)
        {
            value = (long)number;
            return true;
        }

        return false;
    }

    internal static bool TryBoolean(string text, out bool value)
    {
        switch (text.ToLowerInvariant())
        {
            case "true" or "t" or "1" or "yes" or "y":
                value = true;
                return true;
            case "false" or "f" or "0" or "no" or "n":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    internal static bool TryTimestamp(string text, out DateTime value)
    {
        // Zone-less timestamps are UTC by the design's rule; offsets are converted to UTC.
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, UtcStyles, out var parsed))
        {
            value = DateTime.SpecifyKind(parsed.UtcDateTime, DateTimeKind.Utc);
            return true;
        }

        value = default;
        return false;
    }

    private static bool TryMergeAttributes(string? attributes, List<KeyValuePair<string, string?>>? extras, out string? merged, out string? reason)
    {
        merged = attributes;
        reason = null;
        if (extras is null || extras.Count == 0)
        {
            // Nothing to merge: the text only has to be JSON, which a reader tells without building a document
            // (a document per record was a quarter of the .NET side of a 200,000-record eval CSV load).
            return attributes is null || IsJson(attributes, out reason);
        }

        JsonDocument? document = null;
        try
        {
            if (attributes is not null)
            {
                try
                {
                    document = JsonDocument.Parse(attributes);
                }
                catch (JsonException error)
                {
                    reason = $"attributes is not valid JSON ({error.Message})";
                    return false;
                }
            }

            if (extras is null || extras.Count == 0)
            {
                return true;
            }

            using var buffer = new MemoryStream();
            // Relaxed escaping keeps non-ASCII text readable (`München`, not `M\u00fcnchen`), so SQL
            // like '%München%' finds it; attributes are data, and every HTML output escapes them.
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStartObject();
                // Properties the attributes column gives win over same-named extra columns.
                var seen = new HashSet<string>(StringComparer.Ordinal);
                if (document is not null)
                {
                    if (document.RootElement.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var property in document.RootElement.EnumerateObject())
                        {
                            if (seen.Add(property.Name))
                            {
                                property.WriteTo(writer);
                            }
                        }
                    }
                    else
                    {
                        writer.WritePropertyName("attributes");
                        document.RootElement.WriteTo(writer);
                    }
                }

                foreach (var (name, text) in extras)
                {
                    if (!seen.Add(name))
                    {
                        continue;
                    }

                    writer.WritePropertyName(name);
                    if (text is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        writer.WriteStringValue(text);
                    }
                }

                writer.WriteEndObject();
            }

            merged = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            return true;
        }
        finally
        {
            document?.Dispose();
        }
    }

    /// <summary>Whether the text is one JSON value, as JsonDocument.Parse would accept it; the reader's reason when not.</summary>
    private static bool IsJson(string text, out string? reason)
    {
        reason = null;
        var most = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        var buffer = most <= 1024 ? stackalloc byte[1024] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(most));
        try
        {
            var reader = new Utf8JsonReader(buffer[..Encoding.UTF8.GetBytes(text, buffer)]);
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException error)
        {
            reason = $"attributes is not valid JSON ({error.Message})";
            return false;
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    internal static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");
}
