using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Warehouse.Sources.Json;

/// <summary>
/// Short JSON strings as strings shared with earlier ones of the same text on the same thread.
/// Trace exports repeat the same few dozen attribute names and many of the same values
/// (operation, provider, model, tier) on every span: a million-span OTLP load allocated them
/// afresh when reading the file and again when the roll-up read the parts back, a third of its
/// garbage. Each thread keeps the last string of each of <see cref="Slots"/> hash slots (strings
/// of at most <see cref="MaxLength"/> characters): a string seen again soon is shared, and one
/// seen once (an id) only takes its slot, so a thread that read other files before still shares
/// the strings of the file it reads now. (A dictionary that kept the first 4,096 strings shared
/// nothing once ids had filled it; one cleared when full spent its time inserting ids.)
/// </summary>
internal static class Utf8Strings
{
    public const int MaxLength = 64;

    internal const int Slots = 4096;

    [ThreadStatic]
    private static string?[]? t_slots;

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

    /// <summary>UTF-8 bytes (with no JSON escapes in them: they are not read as escapes), as a string.</summary>
    public static string Get(ReadOnlySpan<byte> utf8)
    {
        Span<char> chars = stackalloc char[MaxLength];
        if (utf8.Length > MaxLength || !Encoding.UTF8.TryGetChars(utf8, chars, out var length))
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var text = chars[..length];
        var slots = t_slots ??= new string?[Slots];
        ref var slot = ref slots[string.GetHashCode(text) & (Slots - 1)];
        if (slot is { } known && text.SequenceEqual(known))
        {
            return known;
        }

        return slot = new string(text);
    }
}
