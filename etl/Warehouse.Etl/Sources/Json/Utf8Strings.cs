using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Warehouse.Sources.Json;

/// <summary>
/// Short JSON strings as strings shared with every earlier one of the same text on the same
/// thread. Trace exports repeat the same few dozen attribute names and many of the same values
/// (operation, provider, model, tier) on every span: a million-span OTLP load allocated them
/// afresh when reading the file and again when the roll-up read the parts back, a third of its
/// garbage. Each thread keeps at most <see cref="MaxKept"/> strings of at most
/// <see cref="MaxLength"/> characters; when that many are kept, the thread forgets them all
/// and starts again, so a thread that once read other files (another export, a test) shares
/// the strings of the file it reads now.
/// </summary>
internal static class Utf8Strings
{
    public const int MaxLength = 64;

    internal const int MaxKept = 4096;

    [ThreadStatic]
    private static Dictionary<string, string>? t_kept;

    /// <summary>A JSON string element's text.</summary>
    public static string Get(JsonElement text)
    {
        var raw = JsonMarshal.GetRawUtf8Value(text);
        return raw.Length >= 2 && raw.Length <= MaxLength + 2 && raw[0] == (byte)'"' && raw.IndexOf((byte)'\\') < 0
            ? Get(raw[1..^1])
            : text.GetString()!;
    }

    /// <summary>The text of the reader's current string token (or property name).</summary>
    public static string Get(ref Utf8JsonReader reader) =>
        !reader.ValueIsEscaped && !reader.HasValueSequence && reader.ValueSpan.Length <= MaxLength
            ? Get(reader.ValueSpan)
            : reader.GetString()!;

    /// <summary>UTF-8 bytes with no JSON escapes in them, as a string.</summary>
    private static string Get(ReadOnlySpan<byte> utf8)
    {
        Span<char> chars = stackalloc char[MaxLength];
        if (!Encoding.UTF8.TryGetChars(utf8, chars, out var length))
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var kept = t_kept ??= new Dictionary<string, string>(StringComparer.Ordinal);
        if (kept.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars[..length], out var known))
        {
            return known;
        }

        var value = new string(chars[..length]);
        if (kept.Count >= MaxKept)
        {
            kept.Clear();
        }

        kept[value] = value;

        return value;
    }
}
