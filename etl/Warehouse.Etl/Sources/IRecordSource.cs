using Warehouse.Loading;

namespace Warehouse.Sources;

/// <summary>
/// One export format: turns a stream into records of one fact table. A source knows nothing about
/// engines; the loader and the writers do the rest.
/// </summary>
public interface IRecordSource
{
    /// <summary>The format's name as `--format` accepts it.</summary>
    string Format { get; }

    TableSchema Schema { get; }

    IEnumerable<FieldRecord> Read(Stream stream, string filePath, CancellationToken cancellationToken);
}
