namespace Warehouse.Loading;

/// <summary>
/// Whether the keys a batch wrote so far are distinct, told from a 64-bit hash of each key (about
/// 20 bytes a key) for up to <see cref="MaxTracked"/> keys; past that, or once a hash comes twice,
/// keys may repeat and the batch removes the earlier rows in SQL. A hash collision only costs that
/// statement. Used for a fact table's rows appended into it (their natural key: text and integers,
/// so equal database values always hash equally) and for the parts a trace file brings (trace id,
/// part id).
/// </summary>
internal sealed class DistinctKeys
{
    public const int MaxTracked = 2_000_000;

    private const ulong Start = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    private readonly int _maxTracked;
    private readonly int[] _ordinals;
    private HashSet<ulong>? _seen = [];

    /// <summary>Keys given as strings (<see cref="Add(string, string)"/>).</summary>
    public DistinctKeys(int maxTracked = MaxTracked)
        : this([], maxTracked)
    {
    }

    /// <summary>The natural keys of a table's rows (<see cref="Add(object?[])"/>).</summary>
    public DistinctKeys(TableSchema schema, int maxTracked = MaxTracked)
        : this(schema.NaturalKey.Select(key => schema.Ordinal(key.Name)).ToArray(), maxTracked)
    {
    }

    private DistinctKeys(int[] ordinals, int maxTracked)
    {
        _ordinals = ordinals;
        _maxTracked = maxTracked;
    }

    /// <summary>False while every key added was one of its own.</summary>
    public bool MayRepeat { get; private set; }

    /// <summary>A row's natural key. FNV-1a over its values: a string's characters, another value's hash code, a marker for null; a separator after each.</summary>
    public void Add(object?[] row)
    {
        var hash = Start;
        foreach (var ordinal in _ordinals)
        {
            switch (row[ordinal])
            {
                case null:
                    hash = (hash ^ 0xFFFE) * Prime;
                    break;
                case string text:
                    hash = Mix(hash, text);
                    break;
                case var value:
                    hash = (hash ^ (uint)value.GetHashCode()) * Prime;
                    break;
            }

            hash = (hash ^ 0xFFFF) * Prime;
        }

        Add(hash);
    }

    /// <summary>A key of two strings, hashed as a row of them would be.</summary>
    public void Add(string first, string second) => Add((Mix((Mix(Start, first) ^ 0xFFFF) * Prime, second) ^ 0xFFFF) * Prime);

    private static ulong Mix(ulong hash, string text)
    {
        foreach (var character in text)
        {
            hash = (hash ^ character) * Prime;
        }

        return hash;
    }

    private void Add(ulong hash)
    {
        if (_seen is null)
        {
            return;
        }

        if (_seen.Count >= _maxTracked || !_seen.Add(hash))
        {
            MayRepeat = true;
            _seen = null;
        }
    }
}
