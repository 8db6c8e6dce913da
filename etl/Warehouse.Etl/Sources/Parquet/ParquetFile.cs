using Warehouse.Loading;

namespace Warehouse.Sources.Parquet;

/// <summary>
/// A source file's Parquet on disk, gzipped or not: the file itself, or a gzipped one decompressed
/// to a temporary file (Parquet needs a seekable file) deleted on dispose. Messages name the source
/// file, never the temporary copy.
/// </summary>
public sealed class ParquetFile : IDisposable
{
    private readonly bool _temporary;

    private ParquetFile(string path, string label, bool temporary)
    {
        Path = path;
        Label = label;
        _temporary = temporary;
    }

    /// <summary>The Parquet file to read (the decompressed copy for a gzipped one).</summary>
    public string Path { get; }

    /// <summary>The source file's path, for messages.</summary>
    public string Label { get; }

    /// <summary>Whether the (decompressed) content starts with Parquet's magic bytes PAR1.</summary>
    public static bool LooksLikeParquet(SourceFile file) => file.Head.StartsWith("PAR1", StringComparison.Ordinal);

    public static ParquetFile Open(SourceFile file)
    {
        if (!file.IsGzip)
        {
            return new ParquetFile(file.Path, file.Path, temporary: false);
        }

        var temporary = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"warehouse-{Guid.NewGuid():N}.parquet");
        try
        {
            using var input = file.Open();
            using var output = File.Create(temporary);
            input.CopyTo(output);
        }
        catch (InvalidDataException error)
        {
            File.Delete(temporary);
            throw new LoadException($"{file.Path}: the gzip stream is corrupt ({error.Message})");
        }

        return new ParquetFile(temporary, file.Path, temporary: true);
    }

    /// <inheritdoc cref="ParquetTable.ColumnNames(string, string)"/>
    public IReadOnlyList<string> ColumnNames() => ParquetTable.ColumnNames(Path, Label);

    /// <inheritdoc cref="ParquetTable.TopLevelColumnNames"/>
    public IReadOnlyList<string> TopLevelColumnNames() => ParquetTable.TopLevelColumnNames(Path, Label);

    /// <inheritdoc cref="ParquetTable.Rows(string, string, CancellationToken)"/>
    public IEnumerable<(long RowNumber, object?[] Values)> Rows(CancellationToken cancellationToken) =>
        ParquetTable.Rows(Path, Label, cancellationToken);

    /// <inheritdoc cref="ParquetTable.NestedRows"/>
    public IEnumerable<(long RowNumber, IReadOnlyList<string> Columns, IReadOnlyDictionary<string, object?> Row)> NestedRows(
        CancellationToken cancellationToken) =>
        ParquetTable.NestedRows(Path, cancellationToken);

    public void Dispose()
    {
        if (_temporary)
        {
            try
            {
                File.Delete(Path);
            }
            catch (IOException)
            {
                // A temporary file that cannot be deleted is left to the system's temp cleanup.
            }
        }
    }
}
