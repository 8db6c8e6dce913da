using System.Text;
using Warehouse.Sources.Canonical;

namespace Warehouse.Tests.BadInput;

/// <summary>The checked JSON Lines reader: bounded memory for an over-long line, line ends and numbering as StreamReader's.</summary>
public sealed class JsonLinesLimitTests
{
    /// <summary>50 MB of one line, produced on the fly: neither the test nor the reader ever holds it.</summary>
    private sealed class LongLineStream(long lineBytes) : Stream
    {
        private readonly byte[] _prefix = "{\"case_id\":\"c1\"}\n{\"blob\":\""u8.ToArray();
        private readonly byte[] _suffix = "\"}\r\n{\"case_id\":\"c3\"}\n"u8.ToArray();
        private long _position;

        private long Length1 => _prefix.Length + lineBytes + _suffix.Length;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var written = 0;
            while (written < count && _position < Length1)
            {
                int step;
                if (_position < _prefix.Length)
                {
                    step = (int)Math.Min(count - written, _prefix.Length - _position);
                    _prefix.AsSpan((int)_position, step).CopyTo(buffer.AsSpan(offset + written));
                }
                else if (_position < _prefix.Length + lineBytes)
                {
                    step = (int)Math.Min(count - written, _prefix.Length + lineBytes - _position);
                    buffer.AsSpan(offset + written, step).Fill((byte)'x');
                }
                else
                {
                    var at = (int)(_position - _prefix.Length - lineBytes);
                    step = Math.Min(count - written, _suffix.Length - at);
                    _suffix.AsSpan(at, step).CopyTo(buffer.AsSpan(offset + written));
                }

                written += step;
                _position += step;
            }

            return written;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => Length1;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static (List<(long Number, string? Problem, int Length)> Lines, long Allocated) ReadLongLine(long lineBytes)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var lines = JsonLines.ReadChecked(new LongLineStream(lineBytes), JsonLines.MaxLineBytes, TestContext.Current.CancellationToken)
            .Select(line => (line.Number, line.Problem, line.Text.Length))
            .ToList();
        return (lines, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_50_MB_line_is_reported_by_its_length_and_memory_is_bounded_by_the_limit_not_the_line()
    {
        var (lines, allocated) = ReadLongLine(50L * 1000 * 1000);
        var (_, allocatedForThreeTimesAsLong) = ReadLongLine(150L * 1000 * 1000);

        Assert.Equal(3, lines.Count);
        Assert.Equal((1L, (string?)null), (lines[0].Number, lines[0].Problem));
        Assert.Equal(2L, lines[1].Number);
        Assert.Equal("line is 50,000,011 bytes long, longer than the 16 MiB a record may take; it was skipped unread", lines[1].Problem);
        Assert.Equal(64 * 1024, lines[1].Length);
        Assert.Equal((3L, (string?)null), (lines[2].Number, lines[2].Problem));
        // What is allocated depends on the 16 MiB limit (a buffer that grows to it), never on the line's length.
        Assert.True(allocated < 5L * JsonLines.MaxLineBytes, $"allocated {allocated:N0} bytes");
        Assert.True(Math.Abs(allocatedForThreeTimesAsLong - allocated) < 1024 * 1024, $"{allocated:N0} vs {allocatedForThreeTimesAsLong:N0} bytes");
    }

    [Theory]
    [InlineData("a\nb\n", new[] { "1:a", "2:b" })]
    [InlineData("a\r\nb\r\n", new[] { "1:a", "2:b" })]
    [InlineData("a\rb", new[] { "1:a", "2:b" })]
    [InlineData("\uFEFFa\n\n  \nb", new[] { "1:a", "4:b" })]
    [InlineData("a\r\n\r\nb\r\n", new[] { "1:a", "3:b" })]
    public void Lines_are_numbered_as_StreamReader_numbers_them(string text, string[] expected)
    {
        var bytes = Encoding.UTF8.GetBytes(text);

        var checkedLines = JsonLines.ReadChecked(new MemoryStream(bytes), JsonLines.MaxLineBytes, TestContext.Current.CancellationToken)
            .Select(line => $"{line.Number}:{line.Text}");
        var plainLines = JsonLines.Read(new MemoryStream(bytes), TestContext.Current.CancellationToken)
            .Select(line => $"{line.LineNumber}:{line.Line}");

        Assert.Equal(expected, checkedLines);
        Assert.Equal(expected, plainLines);
    }

    [Fact]
    public void A_crlf_split_across_buffer_reads_is_one_line_end()
    {
        var text = new string('a', (1 << 16) - 1) + "\r\nb\n";

        var lines = JsonLines.ReadChecked(new MemoryStream(Encoding.UTF8.GetBytes(text)), JsonLines.MaxLineBytes, TestContext.Current.CancellationToken).ToList();

        Assert.Equal([1L, 2L], lines.Select(line => line.Number));
        Assert.Equal("b", lines[1].Text);
    }
}
