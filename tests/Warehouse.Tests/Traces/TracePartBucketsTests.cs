using Warehouse.Traces;

namespace Warehouse.Tests.Traces;

/// <summary>The roll-up's buckets: every part of a trace in one bucket, the last copy of a part wins, duplicates noticed.</summary>
public sealed class TracePartBucketsTests
{
    private static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

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
                    buckets.AddStaged($"trace-{trace}", $"span:{part}", Utf8($"{{\"Name\":\"{trace}/{part}\"}}"));
                }
            }

            Assert.False(buckets.MayHaveDuplicates);
            buckets.AddStaged("trace-5", "span:1", Utf8("{\"Name\":\"again\"}"));
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
                    if (traceId == "trace-5")
                    {
                        Assert.Equal(4, parts.Count);
                        Assert.Equal("{\"Name\":\"again\"}", System.Text.Encoding.UTF8.GetString(parts.Single(part => part.PartId == "span:1").Body));
                        Assert.Equal("{\"Name\":\"earlier\"}", System.Text.Encoding.UTF8.GetString(parts.Single(part => part.PartId == "span:9").Body));
                    }
                    else
                    {
                        Assert.Equal(3, parts.Count);
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

    [Fact]
    public void Bodies_come_back_as_the_utf8_bytes_of_what_was_written_long_or_short()
    {
        var folder = Directory.CreateTempSubdirectory("buckets-test-").FullName;
        // Longer than BinaryReader's 128-byte chunk, with characters of two, three and four UTF-8 bytes.
        var longBody = "{\"Name\":\"" + string.Concat(Enumerable.Repeat("München — 東京 🚀 ", 40)) + "\"}";
        using (var buckets = new TracePartBuckets(3, folder))
        {
            buckets.AddStaged("trace-ü", "span:1", Utf8(longBody));
            buckets.AddStaged("trace-ü", "span:2", Utf8("{}"));
            buckets.Add("trace-ü", "span:0", "");

            var parts = Enumerable.Range(0, buckets.Count).SelectMany(buckets.Read).Single(trace => trace.TraceId == "trace-ü").Parts;
            Assert.Equal(longBody, System.Text.Encoding.UTF8.GetString(parts.Single(part => part.PartId == "span:1").Body));
            Assert.Equal("{}", System.Text.Encoding.UTF8.GetString(parts.Single(part => part.PartId == "span:2").Body));
            Assert.Empty(parts.Single(part => part.PartId == "span:0").Body);
            Assert.Equal(string.Concat(Enumerable.Repeat("München — 東京 🚀 ", 40)),
                TracePartJson.Deserialize(parts.Single(part => part.PartId == "span:1").Body).Name);
        }

        Directory.Delete(folder, recursive: true);
    }
}
