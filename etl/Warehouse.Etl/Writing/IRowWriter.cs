namespace Warehouse.Writing;

/// <summary>
/// Streams typed rows into one staging table through the engine's bulk path. Rows are not
/// visible until <see cref="CompleteAsync"/>, and nothing is durable until the batch's
/// transaction commits. A text cell is a string or its UTF-8 bytes (a byte[], or a
/// ReadOnlyMemory&lt;byte&gt; slice of a buffer the caller reuses after the call: a trace part's
/// body is serialized straight to them), so a writer converts or copies a cell before it returns;
/// the caller may fill the same row array again once the call has completed.
/// </summary>
public interface IRowWriter : IAsyncDisposable
{
    ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken);

    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
