using System.Text;

namespace Warehouse.Traces;

/// <summary>
/// A load's parts grouped by trace without holding them: each part (trace id, part id, packed form) is
/// appended to one of several temporary files chosen by its trace id, so every part of a trace
/// lands in the same file; the roll-up then reads one file at a time and has all of each of its
/// traces' parts. Memory is bounded by one file's parts, and nothing is sorted or read back from
/// the database (under DuckDB's memory cap the staging table spills, and reading it back by
/// ranges re-read the spilled table once per range). The files live in a folder of their own
/// under the temp path and are deleted on dispose.
/// </summary>
internal sealed class TracePartBuckets : IDisposable
{
    /// <summary>Per open bucket file: up to 1,024 are open while a large file stages.</summary>
    private const int WriteBuffer = 4 * 1024;

    private readonly string _folder;
    private readonly BinaryWriter?[] _writers;
    private readonly int[] _counts;

    public TracePartBuckets(int count, string? parent = null)
    {
        Count = Math.Max(1, count);
        _folder = Path.Combine(parent ?? Path.GetTempPath(), $"warehouse-rollup-{Guid.NewGuid():N}");
        _writers = new BinaryWriter?[Count];
        _counts = new int[Count];
    }

    /// <summary>The (trace id, part id) of every part the file brought, as 64-bit hashes (up to 2 million parts).</summary>
    private readonly Warehouse.Loading.DistinctKeys _keys = new();

    /// <summary>
    /// False when every part added so far has a (trace id, part id) of its own, so the staging
    /// table needs no deduplication; true when two may be the same (a hash came twice), or when
    /// there were too many parts to keep track.
    /// </summary>
    public bool MayHaveDuplicates => _keys.MayRepeat;

    /// <summary>How many files the parts are spread over.</summary>
    public int Count { get; }

    /// <summary>Buckets for about <paramref name="parts"/> parts, <paramref name="perBucket"/> to a bucket, at most <paramref name="max"/>.</summary>
    public static int CountFor(long parts, int perBucket, int max = 1024) =>
        (int)Math.Clamp((parts + perBucket - 1) / Math.Max(1, perBucket), 1, max);

    /// <summary>Adds one of the file's own parts (packed, <see cref="TracePartPacked"/>), noting whether its key came before.</summary>
    public void AddStaged(string traceId, string partId, ReadOnlySpan<byte> packed)
    {
        _keys.Add(traceId, partId);
        Add(traceId, partId, packed);
    }

    /// <summary>Adds a stored part (its body as the database returns it, read as the JSON body it is).</summary>
    public void Add(string traceId, string partId, string body) => Add(traceId, partId, TracePartPacked.PackToSpan(TracePartJson.Deserialize(body)));

    /// <summary>Adds a packed part: trace id, part id (as BinaryWriter writes strings), the packed form's length and bytes.</summary>
    private void Add(string traceId, string partId, ReadOnlySpan<byte> packed)
    {
        var bucket = (int)((uint)StringComparer.Ordinal.GetHashCode(traceId) % (uint)Count);
        var writer = _writers[bucket];
        if (writer is null)
        {
            Directory.CreateDirectory(_folder);
            var stream = new FileStream(Path.Combine(_folder, $"{bucket}.parts"), FileMode.Append, FileAccess.Write, FileShare.None, WriteBuffer);
            _writers[bucket] = writer = new BinaryWriter(stream, Encoding.UTF8);
        }

        _counts[bucket]++;

        writer.Write(traceId);
        writer.Write(partId);
        writer.Write7BitEncodedInt(packed.Length);
        writer.Write(packed);
    }

    /// <summary>
    /// The parts of one bucket by trace, the traces in ordinal order of their ids, each trace's parts in ordinal order
    /// of their part ids, each part with its trace and part id set; a part that came more than once (same trace and
    /// part id) counts as the last one added.
    /// <para>
    /// A list per trace, not a dictionary of its parts (their entries and buckets were over 100 MB of a million-span
    /// roll-up's garbage): a part that came before is looked for among the trace's few parts, or in an index once the
    /// trace has many. A trace id is read into a buffer and made a string only the first time it comes, so a trace's
    /// parts share one.
    /// </para>
    /// </summary>
    public List<(string TraceId, List<TracePart> Parts)> Read(int bucket)
    {
        Close(bucket);
        var traces = new Dictionary<string, TraceParts>(StringComparer.Ordinal);
        var byText = traces.GetAlternateLookup<ReadOnlySpan<char>>();
        if (_counts[bucket] > 0)
        {
            var path = Path.Combine(_folder, $"{bucket}.parts");
            var packed = System.Buffers.ArrayPool<byte>.Shared.Rent(1024);
            var chars = System.Buffers.ArrayPool<char>.Shared.Rent(256);
            try
            {
                using var reader = new BinaryReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None, 1 << 16), Encoding.UTF8);
                for (var count = _counts[bucket]; count > 0; count--)
                {
                    // As BinaryWriter.Write(string) wrote it: the UTF-8 byte count, then the bytes.
                    var idLength = reader.Read7BitEncodedInt();
                    Fill(reader, ref packed, idLength);
                    if (Encoding.UTF8.GetMaxCharCount(idLength) > chars.Length)
                    {
                        System.Buffers.ArrayPool<char>.Shared.Return(chars);
                        chars = System.Buffers.ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(idLength));
                    }

                    var id = chars.AsSpan(0, Encoding.UTF8.GetChars(packed.AsSpan(0, idLength), chars));
                    if (!byText.TryGetValue(id, out var trace))
                    {
                        trace = new TraceParts();
                        byText[id] = trace;
                    }

                    var partId = reader.ReadString();
                    var length = reader.Read7BitEncodedInt();
                    Fill(reader, ref packed, length);
                    var part = TracePartPacked.Unpack(packed.AsSpan(0, length));
                    part.PartId = partId;
                    trace.Add(part);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(packed);
                System.Buffers.ArrayPool<char>.Shared.Return(chars);
            }

            File.Delete(path);
        }

        var order = new List<(string TraceId, List<TracePart> Parts)>(traces.Count);
        foreach (var (traceId, trace) in traces)
        {
            foreach (var part in trace.Parts)
            {
                part.TraceId = traceId;
            }

            // Part ids differ within a trace now, so an unstable sort is enough.
            trace.Parts.Sort(static (left, right) => string.CompareOrdinal(left.PartId, right.PartId));
            order.Add((traceId, trace.Parts));
        }

        order.Sort(static (left, right) => string.CompareOrdinal(left.TraceId, right.TraceId));
        return order;
    }

    /// <summary>The next <paramref name="length"/> bytes of the file into the start of <paramref name="buffer"/> (a larger rented one if need be).</summary>
    private static void Fill(BinaryReader reader, ref byte[] buffer, int length)
    {
        if (length > buffer.Length)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        }

        reader.BaseStream.ReadExactly(buffer, 0, length);
    }

    /// <summary>One trace's parts as a bucket is read: the last copy of a part replaces the one before it.</summary>
    private sealed class TraceParts
    {
        /// <summary>Up to this many parts, a part id is looked for in the list; past it, in <see cref="_index"/>.</summary>
        private const int Scanned = 16;

        private Dictionary<string, int>? _index;

        public List<TracePart> Parts { get; } = new(4);

        public void Add(TracePart part)
        {
            if (_index is null)
            {
                for (var at = 0; at < Parts.Count; at++)
                {
                    if (string.Equals(Parts[at].PartId, part.PartId, StringComparison.Ordinal))
                    {
                        Parts[at] = part;
                        return;
                    }
                }

                Parts.Add(part);
                if (Parts.Count > Scanned)
                {
                    _index = new Dictionary<string, int>(Parts.Count * 2, StringComparer.Ordinal);
                    for (var at = 0; at < Parts.Count; at++)
                    {
                        _index[Parts[at].PartId] = at;
                    }
                }

                return;
            }

            if (_index.TryGetValue(part.PartId, out var known))
            {
                Parts[known] = part;
                return;
            }

            _index[part.PartId] = Parts.Count;
            Parts.Add(part);
        }
    }

    private void Close(int bucket)
    {
        _writers[bucket]?.Dispose();
        _writers[bucket] = null;
    }

    public void Dispose()
    {
        for (var bucket = 0; bucket < Count; bucket++)
        {
            Close(bucket);
        }

        try
        {
            if (Directory.Exists(_folder))
            {
                Directory.Delete(_folder, recursive: true);
            }
        }
        catch (IOException)
        {
            // A temp folder left behind is not worth failing a load that committed.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
