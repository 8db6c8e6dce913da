namespace Warehouse.Sources.Json;

/// <summary>
/// Rewrites the bare NaN, Infinity and -Infinity tokens that Python writers emit (Inspect AI's
/// logs, pandas) into null, outside strings, so System.Text.Json can read the document. A
/// non-finite score means "not scored", which the warehouse stores as null.
/// </summary>
public sealed class NonFiniteNumberStream(Stream inner) : Stream
{
    private static readonly byte[] NullToken = "null"u8.ToArray();

    private readonly byte[] _input = new byte[1 << 16];
    private readonly Queue<byte> _pending = new();
    private int _inputStart;
    private int _inputEnd;
    private bool _inString;
    private bool _escaped;
    private bool _innerDone;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var written = 0;
        while (written < count)
        {
            if (_pending.Count > 0)
            {
                buffer[offset + written++] = _pending.Dequeue();
                continue;
            }

            if (!EnsureInput(1))
            {
                break;
            }

            var current = _input[_inputStart];
            if (_inString)
            {
                _inString = _escaped || current != (byte)'"';
                _escaped = !_escaped && current == (byte)'\\';
                buffer[offset + written++] = current;
                _inputStart++;
                continue;
            }

            if (current == (byte)'"')
            {
                _inString = true;
                _escaped = false;
            }
            else if (TryReplace("NaN"u8) || TryReplace("Infinity"u8) || TryReplace("-Infinity"u8))
            {
                continue;
            }

            buffer[offset + written++] = current;
            _inputStart++;
        }

        return written;
    }

    private bool TryReplace(ReadOnlySpan<byte> token)
    {
        if (_input[_inputStart] != token[0] || !EnsureInput(token.Length) || !_input.AsSpan(_inputStart, token.Length).SequenceEqual(token))
        {
            return false;
        }

        _inputStart += token.Length;
        foreach (var value in NullToken)
        {
            _pending.Enqueue(value);
        }

        return true;
    }

    /// <summary>Makes at least <paramref name="bytes"/> unread input bytes available, if the stream has them.</summary>
    private bool EnsureInput(int bytes)
    {
        while (_inputEnd - _inputStart < bytes)
        {
            if (_innerDone)
            {
                return false;
            }

            if (_inputStart > 0)
            {
                Buffer.BlockCopy(_input, _inputStart, _input, 0, _inputEnd - _inputStart);
                _inputEnd -= _inputStart;
                _inputStart = 0;
            }

            var read = inner.Read(_input, _inputEnd, _input.Length - _inputEnd);
            _innerDone = read == 0;
            _inputEnd += read;
        }

        return true;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
