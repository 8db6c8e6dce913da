using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Warehouse.Sources.Canonical;
using Warehouse.Sources.Json;

namespace Warehouse.Sources.Promptfoo;

/// <summary>
/// Run ids for promptfoo files that carry no evalId (JSONL from current versions, every CSV).
/// A file name is no run id: `promptfoo eval -o results.jsonl` overwrites the same name on every run,
/// and a renamed or re-exported file would become a new run. What identifies a run is its results:
/// <list type="bullet">
/// <item>JSONL (and a JSON export without evalId): the set of result <c>id</c>s. promptfoo assigns each
///   result a UUID when the eval is stored, so a re-export of the same eval (`promptfoo export eval`,
///   another `-o`) has the same ids in whatever order and formatting, and a new run has new ones. The ids
///   are combined order-independently (sums of SHA-256 halves), so one streaming pass suffices. A result
///   without an id contributes its text instead.</item>
/// <item>CSV: the SHA-256 of the content (decompressed), as the CSV carries no ids; the same eval exported
///   again gives the same bytes.</item>
/// </list>
/// A run id read from the file itself (configurable as Keys:eval_run_id; defaults: evalId, then
/// testCase.metadata.evaluationId, which promptfoo sets when tracing is on) always wins over these.
/// </summary>
internal static class PromptfooRunIds
{
    public const string ResultIdsRule = "jsonl-<hash of the set of result ids>";
    public const string ContentRule = "csv-<sha256 of the file content>";

    public static string FromResultKeys(IEnumerable<string> keys, string prefix)
    {
        ulong high = 0, low = 0, count = 0;
        Span<byte> digest = stackalloc byte[32];
        foreach (var key in keys)
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(key), digest);
            high += BinaryPrimitives.ReadUInt64BigEndian(digest);
            low += BinaryPrimitives.ReadUInt64BigEndian(digest[8..]);
            count++;
        }

        return count == 0 ? $"{prefix}-empty" : $"{prefix}-{high:x16}{low:x16}";
    }

    public static string FromContent(SourceFile file, string prefix)
    {
        using var stream = file.Open();
        return $"{prefix}-{Convert.ToHexStringLower(SHA256.HashData(stream))[..32]}";
    }

    /// <summary>The key a result contributes: its id, else its text.</summary>
    public static string ResultKey(JsonElement result, string text) =>
        result.ValueKind == JsonValueKind.Object && JsonText.Property(result, "id") is { ValueKind: JsonValueKind.String } id
            && id.GetString() is { Length: > 0 } value
            ? "id:" + value
            : "text:" + text;
}

/// <summary>One JSON value found on a JSON Lines line (or why the rest of the line is not JSON).</summary>
internal readonly record struct PromptfooLine(long LineNumber, string Text, JsonElement Value, string? Error);

/// <summary>
/// promptfoo JSON Lines, tolerant of the older writers that joined batches without a trailing newline,
/// so that two results share a physical line (`}{`): every JSON value on a line is a record.
/// </summary>
internal static class PromptfooJsonLines
{
    public static IEnumerable<PromptfooLine> Read(Stream stream, CancellationToken cancellationToken)
    {
        foreach (var (lineNumber, line) in JsonLines.Read(stream, cancellationToken))
        {
            foreach (var value in Split(lineNumber, line))
            {
                yield return value;
            }
        }
    }

    private static List<PromptfooLine> Split(long lineNumber, string line)
    {
        var values = new List<PromptfooLine>(1);
        var bytes = Encoding.UTF8.GetBytes(line);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowMultipleValues = true, CommentHandling = JsonCommentHandling.Skip });
        var start = 0L;
        try
        {
            while (reader.Read())
            {
                start = reader.TokenStartIndex;
                using var document = JsonDocument.ParseValue(ref reader);
                var text = Encoding.UTF8.GetString(bytes, (int)start, (int)(reader.BytesConsumed - start));
                values.Add(new PromptfooLine(lineNumber, text, document.RootElement.Clone(), null));
                start = reader.BytesConsumed;
            }
        }
        catch (JsonException error)
        {
            var rest = Encoding.UTF8.GetString(bytes, (int)start, bytes.Length - (int)start).Trim();
            values.Add(new PromptfooLine(lineNumber, rest.Length > 0 ? rest : line, default,
                $"line {lineNumber} is not valid JSON ({error.Message})"));
        }

        return values;
    }
}
