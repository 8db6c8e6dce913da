using Warehouse.Traces;

namespace Warehouse.Tests.Traces;

/// <summary>The roll-up's buckets: every part of a trace in one bucket, the last copy of a part wins, duplicates noticed.</summary>
public sealed class TracePartBucketsTests
{
    private static byte[] Packed(string name) => TracePartPacked.PackToSpan(new TracePart { Kind = PartKind.Span, Name = name }).ToArray();

    [Fact]
    public void Each_trace_is_whole_in_one_bucket_and_the_last_copy_of_a_part_wins()
    {
        var folder = Directory.CreateTempSubdirectory("buckets-test-").FullName;
        using (var buckets = new TracePartBuckets(7, folder))
        {
            for (var trace = 0; trace < 200; trace++)
            {
                for (var part = 0; part < 3; part++)
                {
                    buckets.AddStaged($"trace-{trace}", $"span:{part}", Packed($"{trace}/{part}"));
                }
            }

            Assert.False(buckets.MayHaveDuplicates);
            buckets.AddStaged("trace-5", "span:1", Packed("again"));
            Assert.True(buckets.MayHaveDuplicates);
            buckets.Add("trace-5", "span:9", "{\"Name\":\"earlier\"}");

            var seen = new HashSet<string>();
            for (var bucket = 0; bucket < buckets.Count; bucket++)
            {
                var traces = buckets.Read(bucket);
                Assert.Equal(traces.Select(trace => trace.TraceId).Order(StringComparer.Ordinal), traces.Select(trace => trace.TraceId));
                foreach (var (traceId, parts) in traces)
                {
                    Assert.True(seen.Add(traceId), $"{traceId} is in two buckets");
                    Assert.All(parts, part => Assert.Equal(traceId, part.TraceId));
                    if (traceId == "trace-5")
                    {
                        Assert.Equal(4, parts.Count);
                        Assert.Equal("again", parts.Single(part => part.PartId == "span:1").Name);
                        Assert.Equal("earlier", parts.Single(part => part.PartId == "span:9").Name);
                    }
                    else
                    {
                        Assert.Equal(3, parts.Count);
                        Assert.Equal($"{traceId[6..]}/2", parts.Single(part => part.PartId == "span:2").Name);
                    }
                }
            }

            Assert.Equal(200, seen.Count);
            Assert.NotEmpty(Directory.GetFileSystemEntries(folder));
        }

        // The files go with the buckets.
        Assert.Empty(Directory.GetFileSystemEntries(folder));
        Directory.Delete(folder);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(60)]
    public void A_trace_of_few_or_many_parts_comes_back_in_part_id_order_with_the_last_copy_of_each(int spans)
    {
        var folder = Directory.CreateTempSubdirectory("buckets-test-").FullName;
        using (var buckets = new TracePartBuckets(2, folder))
        {
            // Added in descending order, the first part again at the end, and a stored part in between.
            for (var span = spans - 1; span >= 0; span--)
            {
                buckets.AddStaged("trace-big", $"span:{span:D3}", Packed($"first {span}"));
            }

            buckets.Add("trace-big", "feedback:1", "{\"Kind\":\"Feedback\",\"FeedbackName\":\"thumbs\"}");
            buckets.AddStaged("trace-big", $"span:{spans - 1:D3}", Packed("again"));
            buckets.AddStaged("trace-big", "span:000", Packed("again 0"));

            var (traceId, parts) = Enumerable.Range(0, buckets.Count).SelectMany(buckets.Read).Single();
            Assert.Equal("trace-big", traceId);
            Assert.Equal(spans + 1, parts.Count);
            Assert.Equal(parts.Select(part => part.PartId).Order(StringComparer.Ordinal), parts.Select(part => part.PartId));
            Assert.Equal("feedback:1", parts[0].PartId);
            Assert.Equal("thumbs", parts[0].FeedbackName);
            Assert.Equal("again 0", parts[1].Name);
            Assert.Equal("again", parts[^1].Name);
            Assert.Equal("first 1", parts.Single(part => part.PartId == "span:001").Name);
            // One trace id string for all of the trace's parts.
            Assert.All(parts, part => Assert.Same(traceId, part.TraceId));
        }

        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void Parts_come_back_whole_long_or_short_and_a_stored_body_that_does_not_read_fails_the_add()
    {
        var folder = Directory.CreateTempSubdirectory("buckets-test-").FullName;
        // Longer than the read buffer's first size, with characters of two, three and four UTF-8 bytes.
        var longName = string.Concat(Enumerable.Repeat("München — 東京 🚀 ", 200));
        using (var buckets = new TracePartBuckets(3, folder))
        {
            buckets.AddStaged("trace-ü", "span:1", Packed(longName));
            buckets.AddStaged("trace-ü", "span:2", TracePartPacked.PackToSpan(new TracePart()).ToArray());
            buckets.Add("trace-ü", "span:0", "{}");
            Assert.ThrowsAny<System.Text.Json.JsonException>(() => buckets.Add("trace-ü", "span:3", "{\"Name\":"));

            var parts = Enumerable.Range(0, buckets.Count).SelectMany(buckets.Read).Single(trace => trace.TraceId == "trace-ü").Parts;
            Assert.Equal(3, parts.Count);
            Assert.Equal(longName, parts.Single(part => part.PartId == "span:1").Name);
            Assert.Null(parts.Single(part => part.PartId == "span:2").Name);
            Assert.Equal(PartKind.Trace, parts.Single(part => part.PartId == "span:0").Kind);
        }

        Directory.Delete(folder, recursive: true);
    }
}
