namespace Warehouse.Writing;

/// <summary>
/// Streams typed rows into one staging table through the engine's bulk path. Rows are not
/// visible until <see cref="CompleteAsync"/>, and nothing is durable until the batch's
/// transaction commits.
/// </summary>
public interface IRowWriter : IAsyncDisposable
{
    ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken);

    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
