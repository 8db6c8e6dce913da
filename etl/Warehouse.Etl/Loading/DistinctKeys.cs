namespace Warehouse.Loading;

/// <summary>
/// Whether the rows a batch appended so far have distinct natural keys, told from a 64-bit hash of
/// each row's key (about 20 bytes a row) for up to <see cref="MaxTracked"/> rows; past that, or once
/// a hash comes twice, the keys may repeat and the batch removes the earlier rows in SQL. A hash
/// collision only costs that statement. Keys are text and integers (every table's natural key), so
/// equal hashes of unequal database values cannot hide a repeat: equal values hash equally.
/// </summary>
internal sealed class DistinctKeys(TableSchema schema, int maxTracked = DistinctKeys.MaxTracked)
{
    public const int MaxTracked = 2_000_000;

    private readonly int[] _ordinals = schema.NaturalKey.Select(key => schema.Ordinal(key.Name)).ToArray();
    private HashSet<ulong>? _seen = [];

    /// <summary>False while every row added had a key of its own.</summary>
    public bool MayRepeat { get; private set; }

    public void Add(object?[] row)
    {
        if (_seen is null)
        {
            return;
        }

        if (_seen.Count >= maxTracked || !_seen.Add(Hash(row)))
        {
            MayRepeat = true;
            _seen = null;
        }
    }

    /// <summary>FNV-1a over the key's values: a string's characters, another value's hash code, a marker for null and between values.</summary>
    private ulong Hash(object?[] row)
    {
        var hash = 14695981039346656037UL;
        foreach (var ordinal in _ordinals)
        {
            switch (row[ordinal])
            {
                case null:
                    hash = (hash ^ 0xFFFE) * 1099511628211UL;
                    break;
                case string text:
                    foreach (var character in text)
                    {
                        hash = (hash ^ character) * 1099511628211UL;
                    }

                    break;
                case var value:
                    hash = (hash ^ (uint)value.GetHashCode()) * 1099511628211UL;
                    break;
            }

            hash = (hash ^ 0xFFFF) * 1099511628211UL;
        }

        return hash;
    }
}
