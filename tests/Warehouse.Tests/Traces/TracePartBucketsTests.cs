using Warehouse.Traces;

namespace Warehouse.Tests.Traces;

/// <summary>The roll-up's buckets: every part of a trace in one bucket, the last copy of a part wins, duplicates noticed.</summary>
public sealed class TracePartBucketsTests
{
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
                    buckets.AddStaged($"trace-{trace}", $"span:{part}", $"{{\"Name\":\"{trace}/{part}\"}}");
                }
            }

            Assert.False(buckets.MayHaveDuplicates);
            buckets.AddStaged("trace-5", "span:1", "{\"Name\":\"again\"}");
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
                        Assert.Equal("{\"Name\":\"again\"}", parts.Single(part => part.PartId == "span:1").Body);
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
}
