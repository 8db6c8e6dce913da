using System.Text.Json.Serialization;

namespace Warehouse.Traces;

/// <summary>What a part of a trace is: the trace's own record, one span (observation, run, request), or one piece of feedback.</summary>
public enum PartKind
{
    Trace,
    Span,
    Feedback,
}

/// <summary>What a span did, as far as the roll-up cares.</summary>
public enum SpanRole
{
    Other,
    /// <summary>A model call (chat, completion, generation): tokens and cost are summed over these only.</summary>
    Model,
    Tool,
    Retrieval,
    Agent,
}

/// <summary>
/// One piece of a production trace, normalised from any trace store: the trace record itself, a
/// span, or a feedback score. Parts are kept in etl.trace_parts keyed by (source, trace_id,
/// part_id), so a trace whose spans arrive over several files, or whose feedback comes hours
/// later, is rolled up again from all its parts each time one of them arrives.
/// A format fills what its export has and leaves the rest null.
/// </summary>
public sealed class TracePart
{
    [JsonIgnore]
    public string TraceId { get; set; } = "";

    /// <summary>Unique within the trace: "span:&lt;id&gt;", "trace", "feedback:&lt;id&gt;", ….</summary>
    [JsonIgnore]
    public string PartId { get; set; } = "";

    public PartKind Kind { get; set; }

    public string? ParentId { get; set; }

    /// <summary>True when the source marks this span as the trace's root (no parent).</summary>
    public bool IsRoot { get; set; }

    public string? Name { get; set; }

    public SpanRole Role { get; set; }

    public DateTime? Start { get; set; }

    public DateTime? End { get; set; }

    /// <summary>A duration the source reports for the whole trace (Langfuse latency, Opik duration), in ms.</summary>
    public double? DurationMs { get; set; }

    /// <summary>The model a model call used (response model before request model).</summary>
    public string? Model { get; set; }

    public long? InputTokens { get; set; }

    public long? OutputTokens { get; set; }

    public double? CostUsd { get; set; }

    /// <summary>
    /// True when the tokens and cost on this part already cover the whole trace (a trace record's
    /// totals, a root run's rolled-up counts): the roll-up takes them instead of summing spans.
    /// </summary>
    public bool TotalsCoverTrace { get; set; }

    public bool IsError { get; set; }

    public string? ErrorType { get; set; }

    /// <summary>The error (status, error.type or exception type) names a JSON decode failure.</summary>
    public bool JsonParseFailure { get; set; }

    /// <summary>For retrieval spans: true when the retrieval returned no documents.</summary>
    public bool? RetrievalEmpty { get; set; }

    /// <summary>Shared keys and context_tokens the part's metadata names (see <see cref="TraceKeys"/>).</summary>
    public Dictionary<string, string>? Keys { get; set; }

    /// <summary>Keys read from what the part is rather than its metadata (the model a span called, a prompt's name and version): used when no part's metadata names the key.</summary>
    public Dictionary<string, string>? DerivedKeys { get; set; }

    /// <summary>An explicit complaint flag in the part's metadata (a field whose name contains "complaint").</summary>
    public bool? Complaint { get; set; }

    public string? SessionId { get; set; }

    public string? TraceUrl { get; set; }

    public string? InputPreview { get; set; }

    /// <summary>Feedback parts: the score's name (user_feedback, thumbs, …).</summary>
    public string? FeedbackName { get; set; }

    /// <summary>Feedback parts: the score in 0..1 when the source's scale allows it.</summary>
    public double? FeedbackScore { get; set; }

    public string? FeedbackLabel { get; set; }

    public string? FeedbackComment { get; set; }

    /// <summary>Feedback parts: when the feedback was given (the latest user feedback wins).</summary>
    public DateTime? FeedbackAt { get; set; }

    /// <summary>Anything else worth keeping on the trace row's attributes (first part that has a name wins).</summary>
    public Dictionary<string, string>? Attributes { get; set; }

    public void SetKey(string column, string? value, bool derived = false)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            return;
        }

        var target = derived ? DerivedKeys ??= new(StringComparer.Ordinal) : Keys ??= new(StringComparer.Ordinal);
        target.TryAdd(column, trimmed);
    }

    public void SetAttribute(string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            (Attributes ??= new(StringComparer.Ordinal)).TryAdd(name, value);
        }
    }
}

/// <summary>One record a trace format read: the parts it yields, or why it cannot be read.</summary>
public sealed class PartRecord
{
    public PartRecord(long recordNumber, TracePart part, Func<string>? rawText = null)
    {
        RecordNumber = recordNumber;
        Part = part;
        _rawText = rawText;
    }

    public PartRecord(long recordNumber, string error, Func<string>? rawText)
    {
        RecordNumber = recordNumber;
        Error = error;
        _rawText = rawText;
    }

    /// <summary>
    /// A part whose record's text is <paramref name="rawUtf8"/>, decoded only if the part is rejected: a format that
    /// reads a million records keeps a slice of bytes it holds anyway instead of a closure per record. The bytes must
    /// stay as they are until the caller has asked for the next record.
    /// </summary>
    public PartRecord(long recordNumber, TracePart part, ReadOnlyMemory<byte> rawUtf8)
    {
        RecordNumber = recordNumber;
        Part = part;
        _rawUtf8 = rawUtf8;
    }

    private readonly ReadOnlyMemory<byte> _rawUtf8;

    /// <summary>The line (or index) of the record in its file, for reject messages.</summary>
    public long RecordNumber { get; }

    public TracePart? Part { get; }

    public string? Error { get; }

    public Func<string>? RawText => _rawText ?? (_rawUtf8.IsEmpty ? null : DecodeRaw);

    private readonly Func<string>? _rawText;

    private string DecodeRaw() => System.Text.Encoding.UTF8.GetString(_rawUtf8.Span);

    /// <summary>
    /// The part's body (<see cref="TracePartJson"/>) and its packed form for the roll-up's buckets
    /// (<see cref="TracePartPacked"/>), when the format wrote them on a thread of its own
    /// (<see cref="IsPrepared"/>); else the loader writes them. They live in a buffer the format
    /// owns and reuses once the caller has asked for the next record: a row writer copies them, and
    /// nothing may keep them.
    /// </summary>
    internal ReadOnlyMemory<byte> Body { get; private set; }

    /// <inheritdoc cref="Body"/>
    internal ReadOnlyMemory<byte> Packed { get; private set; }

    internal bool IsPrepared { get; private set; }

    /// <summary>
    /// Writes the body and packed form of every part of <paramref name="records"/> into one buffer
    /// rented from the shared pool (returned by the caller when the records are done with), on the
    /// caller's thread: a format that reads its records on the thread pool (OTLP) does, so the
    /// loader's thread only stores them, and a million parts do not allocate two arrays each.
    /// The parts must not change after this.
    /// </summary>
    internal static byte[]? PrepareAll(List<PartRecord> records)
    {
        // Rented at the size the parts before took (about), so the buffer is rarely copied into a larger one: grown from
        // 64 KB by doubling, a line of 500 OTLP spans copied its bodies about twice (0.6 s of a 1-million-span load). At
        // most 8 MB at first, so a guess made from a few huge parts never rents a giant buffer for many small ones.
        var parts = 0;
        foreach (var record in records)
        {
            parts += record.Part is null ? 0 : 1;
        }

        byte[]? buffer = parts == 0
            ? null
            : System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Min(MaxFirstBuffer, parts * (long)(Volatile.Read(ref s_bytesPerPart) + 64)));
        var used = 0;
        var bounds = new (int Body, int BodyLength, int PackedLength)[records.Count];
        for (var index = 0; index < records.Count; index++)
        {
            if (records[index].Part is not { } part)
            {
                continue;
            }

            var body = TracePartJson.SerializeToSpan(part);
            bounds[index] = (used, body.Length, 0);
            Append(ref buffer, ref used, body);
            var packed = TracePartPacked.PackToSpan(part);
            bounds[index].PackedLength = packed.Length;
            Append(ref buffer, ref used, packed);
        }

        if (parts > 0)
        {
            Volatile.Write(ref s_bytesPerPart, Math.Max(64, used / parts));
        }

        for (var index = 0; index < records.Count; index++)
        {
            if (records[index].Part is not null)
            {
                var (start, bodyLength, packedLength) = bounds[index];
                records[index].Body = new ReadOnlyMemory<byte>(buffer, start, bodyLength);
                records[index].Packed = new ReadOnlyMemory<byte>(buffer, start + bodyLength, packedLength);
                records[index].IsPrepared = true;
            }
        }

        return buffer;
    }

    /// <summary>Body and packed bytes per part in the last <see cref="PrepareAll"/> (any thread's): the next one's first guess.</summary>
    private static int s_bytesPerPart = 1024;

    private const int MaxFirstBuffer = 8 * 1024 * 1024;

    private static void Append(ref byte[]? buffer, ref int used, ReadOnlySpan<byte> bytes)
    {
        if (buffer is null || used + bytes.Length > buffer.Length)
        {
            var larger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(64 * 1024, Math.Max(used + bytes.Length, (buffer?.Length ?? 0) * 2)));
            if (buffer is not null)
            {
                buffer.AsSpan(0, used).CopyTo(larger);
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }

            buffer = larger;
        }

        bytes.CopyTo(buffer.AsSpan(used));
        used += bytes.Length;
    }

    public static PartRecord Reject(long recordNumber, string error, Func<string>? rawText = null) => new(recordNumber, error, rawText);
}
