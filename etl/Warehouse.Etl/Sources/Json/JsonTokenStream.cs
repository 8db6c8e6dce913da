using System.Buffers;
using System.Text.Json;

namespace Warehouse.Sources.Json;

/// <summary>
/// Reads a JSON document from a stream a token or a value at a time, with memory bounded by the
/// largest single value it is asked to materialise, not by the document. The reader's state is
/// kept between calls so that callers can be iterators (a Utf8JsonReader cannot live across a
/// yield).
/// </summary>
public sealed class JsonTokenStream : IDisposable
{
    private const int InitialBufferSize = 1 << 16;

    private readonly Stream _stream;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
    private int _start;
    private int _end;
    private bool _isFinalBlock;
    private JsonReaderState _state = new(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 256 });
    private long _bytesBeforeBuffer;

    public JsonTokenStream(Stream stream)
    {
        _stream = stream;
        Fill();
        // A UTF-8 byte order mark is not JSON; skip it.
        if (_end - _start >= 3 && _buffer[_start] == 0xEF && _buffer[_start + 1] == 0xBB && _buffer[_start + 2] == 0xBF)
        {
            _start += 3;
        }
    }

    /// <summary>Bytes of the document consumed so far, for error messages.</summary>
    public long Position => _bytesBeforeBuffer + _start;

    /// <summary>Reads the next token. Property names and strings come back in <paramref name="text"/>.</summary>
    public bool TryReadToken(out JsonTokenType tokenType, out string? text)
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _isFinalBlock, _state);
            if (reader.Read())
            {
                tokenType = reader.TokenType;
                text = tokenType is JsonTokenType.PropertyName or JsonTokenType.String ? reader.GetString() : null;
                Advance(ref reader);
                return true;
            }

            if (_isFinalBlock)
            {
                tokenType = JsonTokenType.None;
                text = null;
                return false;
            }

            Fill();
        }
    }

    /// <summary>The type of the next token, without consuming it.</summary>
    public JsonTokenType PeekTokenType()
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _isFinalBlock, _state);
            if (reader.Read())
            {
                return reader.TokenType;
            }

            if (_isFinalBlock)
            {
                return JsonTokenType.None;
            }

            Fill();
        }
    }

    /// <summary>Inside an array: the next item, or <paramref name="ended"/> when the array closes.</summary>
    public JsonElement ReadValueOrEnd(out bool ended)
    {
        ended = PeekTokenType() == JsonTokenType.EndArray;
        if (ended)
        {
            TryReadToken(out _, out _);
            return default;
        }

        return ReadValue();
    }

    /// <summary>Inside an array: skips the next item and returns false, or returns true when the array closes.</summary>
    public bool SkipValueOrEnd()
    {
        if (PeekTokenType() == JsonTokenType.EndArray)
        {
            TryReadToken(out _, out _);
            return true;
        }

        SkipValue();
        return false;
    }

    /// <summary>Reads the next whole value (object, array or scalar) as an element that outlives the stream.</summary>
    public JsonElement ReadValue()
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _isFinalBlock, _state);
            if (reader.Read() && IsComplete(reader))
            {
                using var document = JsonDocument.ParseValue(ref reader);
                var element = document.RootElement.Clone();
                Advance(ref reader);
                return element;
            }

            if (_isFinalBlock)
            {
                throw new JsonException($"the document ends inside a value (at byte {Position})");
            }

            Fill();
        }
    }

    /// <summary>
    /// Skips the next whole value without materialising it, token by token, so a huge skipped value
    /// (an Inspect log's events, promptfoo's traces) costs no more memory than one token.
    /// </summary>
    public void SkipValue()
    {
        var depth = 0;
        do
        {
            if (!TryReadTokenType(out var tokenType))
            {
                throw new JsonException($"the document ends inside a value (at byte {Position})");
            }

            depth += tokenType switch
            {
                JsonTokenType.StartObject or JsonTokenType.StartArray => 1,
                JsonTokenType.EndObject or JsonTokenType.EndArray => -1,
                _ => 0,
            };
        }
        while (depth > 0);
    }

    private bool TryReadTokenType(out JsonTokenType tokenType)
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _isFinalBlock, _state);
            if (reader.Read())
            {
                tokenType = reader.TokenType;
                Advance(ref reader);
                // A property name is followed by its value, which belongs to the same skip.
                if (tokenType == JsonTokenType.PropertyName)
                {
                    continue;
                }

                return true;
            }

            if (_isFinalBlock)
            {
                tokenType = JsonTokenType.None;
                return false;
            }

            Fill();
        }
    }

    private static bool IsComplete(Utf8JsonReader reader) =>
        reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray) || reader.TrySkip();

    private void Advance(ref Utf8JsonReader reader)
    {
        _state = reader.CurrentState;
        _start += (int)reader.BytesConsumed;
    }

    /// <summary>Keeps the unread bytes, grows the buffer when they fill it, and reads more.</summary>
    private void Fill()
    {
        var unread = _end - _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, unread);
            _bytesBeforeBuffer += _start;
            _start = 0;
            _end = unread;
        }

        if (_end == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, 0, larger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        _end += read;
        _isFinalBlock = read == 0;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
