namespace Warehouse.Tests.Schema;

/// <summary>One parse error, positioned in the script file (errors inside an
/// <c>exec(N'...')</c> string are mapped back to the string literal's place in the file).</summary>
public sealed record TsqlParseError(int Line, int Column, string Message, int Number)
{
    public override string ToString() => $"({Line},{Column}) {Message}";
}

public sealed record TsqlParseResult(string ScriptPath, IReadOnlyList<TsqlParseError> Errors)
{
    public bool IsValid => Errors.Count == 0;
}

/// <summary>A column as declared: lower-case name, normalized type (<c>nvarchar(200)</c>,
/// <c>nvarchar(max)</c>, <c>float</c>, <c>bit</c>, <c>datetime2</c>, <c>bigint</c>, <c>int</c>, ...).</summary>
public sealed record TsqlColumn(string Name, string Type, bool IsNullable)
{
    /// <summary>Engine-neutral family: <c>text</c>, <c>integer</c>, <c>bigint</c>, <c>double</c>,
    /// <c>boolean</c>, <c>timestamp</c>; any other type keeps its T-SQL name so a comparison
    /// shows it instead of hiding it.</summary>
    public string TypeFamily => TsqlTypeFamily.Of(Type);
}

/// <summary>A table, schema-qualified lower-case name (<c>quality.eval_records</c>), columns in
/// declaration order (columns added by <c>alter table ... add</c> come last, as on the server).</summary>
public sealed record TsqlTable(string Name, IReadOnlyList<TsqlColumn> Columns);

/// <summary>A view and its output column names; <see cref="Columns"/> is null when the select
/// list does not name every column (an expression without alias, a star over an unknown table).</summary>
public sealed record TsqlView(string Name, IReadOnlyList<string>? Columns);

/// <summary>A constraint. <see cref="Kind"/> is <c>primary_key</c>, <c>unique</c>, <c>check</c>,
/// <c>default</c>, <c>foreign_key</c> or <c>other</c>; <see cref="Name"/> is null when unnamed.</summary>
public sealed record TsqlConstraint(string Table, string? Name, string Kind);

public sealed record TsqlIndex(string Table, string Name, bool IsUnique, bool IsClustered);

/// <summary>What a set of T-SQL scripts declares, after running them in order.</summary>
public sealed class TsqlSchema
{
    public TsqlSchema(
        IReadOnlyDictionary<string, TsqlTable> tables,
        IReadOnlyDictionary<string, TsqlView> views,
        IReadOnlyList<TsqlConstraint> constraints,
        IReadOnlyList<TsqlIndex> indexes)
    {
        Tables = tables;
        Views = views;
        Constraints = constraints;
        Indexes = indexes;
        ConstraintNames = constraints
            .Where(constraint => constraint.Name is not null)
            .Select(constraint => constraint.Name!)
            .ToHashSet(StringComparer.Ordinal);
        IndexNames = indexes.Select(index => index.Name).ToHashSet(StringComparer.Ordinal);
        Columns = tables.Values
            .OrderBy(table => table.Name, StringComparer.Ordinal)
            .SelectMany(table => table.Columns.Select(column =>
                (table.Name, column.Name, column.TypeFamily, column.IsNullable)))
            .ToList();
    }

    /// <summary>Keyed by schema-qualified lower-case name.</summary>
    public IReadOnlyDictionary<string, TsqlTable> Tables { get; }

    /// <summary>Keyed by schema-qualified lower-case name.</summary>
    public IReadOnlyDictionary<string, TsqlView> Views { get; }

    public IReadOnlyList<TsqlConstraint> Constraints { get; }

    public IReadOnlyList<TsqlIndex> Indexes { get; }

    /// <summary>Lower-case names of the named constraints.</summary>
    public IReadOnlySet<string> ConstraintNames { get; }

    /// <summary>Lower-case index names (indexes behind primary key and unique constraints are
    /// listed as constraints, not here).</summary>
    public IReadOnlySet<string> IndexNames { get; }

    /// <summary>Every column of every table, tables in ordinal name order, columns in declaration
    /// order, with an engine-neutral type family: the shape to diff against other engines.</summary>
    public IReadOnlyList<(string Table, string Column, string TypeFamily, bool Nullable)> Columns { get; }
}

public static class TsqlTypeFamily
{
    /// <summary>Maps a normalized T-SQL type to <c>text</c>, <c>integer</c>, <c>bigint</c>,
    /// <c>double</c>, <c>boolean</c> or <c>timestamp</c>; other types map to themselves.</summary>
    public static string Of(string normalizedType)
    {
        var baseType = normalizedType.Split('(')[0];
        return baseType switch
        {
            "char" or "varchar" or "nchar" or "nvarchar" or "text" or "ntext" => "text",
            "tinyint" or "smallint" or "int" => "integer",
            "bigint" => "bigint",
            "float" or "real" => "double",
            "bit" => "boolean",
            "datetime2" or "datetime" or "smalldatetime" or "datetimeoffset" => "timestamp",
            _ => normalizedType,
        };
    }
}
