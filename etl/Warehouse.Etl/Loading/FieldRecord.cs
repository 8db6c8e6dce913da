namespace Warehouse.Loading;

/// <summary>
/// One record as a source read it: text values by column ordinal of the target table (null when
/// the record has no value), the columns the table does not know (kept in `attributes`), and
/// where the record was (line or index) so a reject can point at it.
/// </summary>
public sealed class FieldRecord
{
    public FieldRecord(long recordNumber, int columnCount)
    {
        RecordNumber = recordNumber;
        Values = new string?[columnCount];
    }

    public long RecordNumber { get; }

    public string?[] Values { get; }

    /// <summary>Fields the table has no column for; merged into `attributes` as JSON.</summary>
    public List<KeyValuePair<string, string?>>? Extras { get; set; }

    /// <summary>Set when the source could not read the record at all (for example invalid JSON).</summary>
    public string? ReadError { get; set; }

    /// <summary>
    /// Set by code that wrote the `attributes` value with a JSON serializer itself (a trace roll-up):
    /// the record builder then need not parse it again to know it is JSON.
    /// </summary>
    public bool AttributesAreSerialized { get; set; }

    /// <summary>The record's original text, asked for only when it is rejected.</summary>
    public Func<string>? RawText { get; set; }

    public void AddExtra(string name, string? value) => (Extras ??= []).Add(new(name, value));

    /// <summary>Sets a column by name; the column must exist in the table.</summary>
    public void Set(TableSchema schema, string column, string? value)
    {
        var ordinal = schema.Ordinal(column);
        if (ordinal < 0)
        {
            throw new ArgumentException($"{schema.QualifiedName} has no column {column}", nameof(column));
        }

        Values[ordinal] = value;
    }
}
