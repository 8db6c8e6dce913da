using System.Text;
using Warehouse.Sources.Canonical;
using Warehouse.Sources.Otlp;

namespace Warehouse.Tests.Sources;

/// <summary>
/// The OTLP reader's byte lines must number, split, skip and reject lines exactly as the shared
/// JSON Lines reader does: a reject's line number and reason are what an operator looks up.
/// </summary>
public sealed class OtlpLinesTests
{
    /// <summary>A stream that hands out at most a few bytes per read, so lines and CRLFs straddle reads.</summary>
    private sealed class Trickle(byte[] bytes, int step) : MemoryStream(bytes)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, step)]);

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, step));
    }

    public static TheoryData<string> Inputs => new()
    {
        "{\"a\":1}\n{\"b\":2}\n",
        "{\"a\":1}\r\n{\"b\":2}\r\n\r\n  \n{\"c\":3}",
        "\uFEFF{\"a\":1}\r{\"b\":2}\r\r\n{\"c\":\"é 🎉\"}\n",
        "\n\n{\"a\":1}\n\t \n\u00A0\n{\"b\":2}",
        "",
        "\r\n",
        "{\"a\":\"" + new string('x', 200_000) + "\"}\n{\"b\":1}\r\n",
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Lines_are_numbered_split_and_skipped_as_the_JSON_Lines_reader_does(string input)
    {
        var bytes = Encoding.UTF8.GetBytes(input);
        foreach (var step in new[] { 1, 2, 3, 7, 4096, 1 << 20 })
        {
            Assert.Equal(Expected(bytes, OtlpJson.MaxLineBytes), Actual(bytes, step, OtlpJson.MaxLineBytes));
        }
    }

    [Fact]
    public void A_line_that_is_not_UTF8_is_rejected_with_the_same_reason()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"a\":1}\n{\"b\":\"x").Concat(new byte[] { 0xC3, 0x28 }).Concat(Encoding.UTF8.GetBytes("\"}\r\n{\"c\":3}\n")).ToArray();
        var expected = Expected(bytes, OtlpJson.MaxLineBytes);
        Assert.Contains(expected, line => line.Problem is not null);
        foreach (var step in new[] { 1, 5, 1 << 16 })
        {
            Assert.Equal(expected, Actual(bytes, step, OtlpJson.MaxLineBytes));
        }
    }

    [Fact]
    public void A_line_over_the_limit_is_rejected_with_its_length_and_its_start_as_evidence()
    {
        const int max = 100_000;
        var input = "{\"a\":1}\n{\"b\":\"" + new string('y', 300_000) + "\"}\r\n{\"c\":3}\n{\"d\":\"" + new string('z', 100_000) + "\"}";
        var bytes = Encoding.UTF8.GetBytes(input);
        var expected = Expected(bytes, max);
        Assert.Equal(2, expected.Count(line => line.Problem is not null));
        foreach (var step in new[] { 3, 4096, 1 << 16, 1 << 20 })
        {
            Assert.Equal(expected, Actual(bytes, step, max));
        }
    }

    private static List<(long Number, string Text, string? Problem)> Expected(byte[] bytes, int max) =>
        JsonLines.ReadChecked(new MemoryStream(bytes), max, CancellationToken.None).Select(line => (line.Number, line.Text, line.Problem)).ToList();

    private static List<(long Number, string Text, string? Problem)> Actual(byte[] bytes, int step, int max) =>
        OtlpLines.Read(new Trickle(bytes, step), max, CancellationToken.None).Select(line => (line.Number, line.Evidence(), line.Problem)).ToList();
}
