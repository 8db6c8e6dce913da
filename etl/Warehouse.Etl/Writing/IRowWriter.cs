namespace Warehouse.Writing;

/// <summary>
/// Streams typed rows into one staging table through the engine's bulk path. Rows are not
/// visible until <see cref="CompleteAsync"/>, and nothing is durable until the batch's
/// transaction commits. A text cell is a string or its UTF-8 bytes (a byte[]; a trace part's body
/// is serialized straight to them).
/// </summary>
public interface IRowWriter : IAsyncDisposable
{
    ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken);

    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
