using System.Text;
using Warehouse.Traces;

namespace Warehouse.Tests.Traces;

/// <summary>
/// A format's records as the loader takes them: bodies and packed forms written ahead into one shared buffer (whatever
/// the sizes of the parts before), and a record's text kept as bytes until a reject asks for it.
/// </summary>
public sealed class PartRecordTests
{
    private static TracePart Part(int index, int previewLength) => new()
    {
        TraceId = $"t-{index / 4}",
        PartId = $"span:{index}",
        Kind = PartKind.Span,
        Name = $"chat ü {index}",
        InputPreview = previewLength == 0 ? null : new string((char)('a' + index % 26), previewLength),
        Start = new DateTime(2026, 11, 1, 12, 0, 0, DateTimeKind.Utc).AddMilliseconds(index),
        InputTokens = index,
        Keys = new Dictionary<string, string> { ["customer_tier"] = index % 2 == 0 ? "enterprise" : "consumer" },
    };

    private static void AssertPrepared(List<PartRecord> records)
    {
        var buffer = PartRecord.PrepareAll(records);
        try
        {
            foreach (var record in records)
            {
                if (record.Part is not { } part)
                {
                    continue;
                }

                Assert.Equal(TracePartJson.SerializeToUtf8Bytes(part), record.Body.ToArray());
                Assert.Equal(TracePartPacked.PackToSpan(part).ToArray(), record.Packed.ToArray());
            }
        }
        finally
        {
            if (buffer is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    [Fact]
    public void Bodies_and_packed_forms_are_each_parts_own_after_huge_parts_and_then_many_small_ones()
    {
        // A few parts of 300 KB each make the next guess large; then thousands of small ones (and rejects among them)
        // must still each get exactly their own bytes, and a line larger than the first guess grows the buffer.
        AssertPrepared([.. Enumerable.Range(0, 3).Select(index => new PartRecord(index, Part(index, 300_000)))]);
        AssertPrepared([.. Enumerable.Range(0, 5000).Select(index => index % 7 == 3
            ? PartRecord.Reject(index, "not a span")
            : new PartRecord(index, Part(index, index % 100 == 0 ? 20_000 : 0)))]);
        AssertPrepared([PartRecord.Reject(1, "nothing to prepare")]);
    }

    [Fact]
    public void A_records_text_is_read_from_its_bytes_only_when_asked_and_a_record_without_any_has_none()
    {
        var json = """{"traceId":"ab","name":"chat ü"}""";
        var line = Encoding.UTF8.GetBytes("xx" + json + "yy");
        var record = new PartRecord(7, Part(1, 0), new ReadOnlyMemory<byte>(line, 2, Encoding.UTF8.GetByteCount(json)));
        Assert.Equal(json, record.RawText!());
        Assert.Null(new PartRecord(8, Part(2, 0)).RawText);
        Assert.Null(new PartRecord(9, Part(3, 0), ReadOnlyMemory<byte>.Empty).RawText);
        Assert.Equal("evidence", PartRecord.Reject(10, "bad", () => "evidence").RawText!());
    }
}
