using System.Globalization;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace Warehouse.Tests.Schema;

/// <summary>
/// Reads what T-SQL scripts declare without a server: parses them with ScriptDom (SQL Server
/// 2022 grammar) and replays their DDL in order. SQL inside <c>exec(N'...')</c> and
/// <c>sp_executesql N'...'</c> string literals is parsed and replayed too, because
/// migrations wrap statements that must be alone in a batch (<c>create schema</c>) that way.
/// </summary>
public static class TsqlSchemaReader
{
    /// <summary>Parses one script file, including SQL in literal <c>exec</c> strings.</summary>
    public static TsqlParseResult ParseFile(string path) =>
        ParseText(File.ReadAllText(path), path);

    /// <summary>Parses script text; <paramref name="scriptName"/> only labels the result.</summary>
    public static TsqlParseResult ParseText(string sql, string scriptName = "<inline>")
    {
        var errors = new List<TsqlParseError>();
        Walk(sql, scriptName, schema: null, errors, new SourcePosition(0, 0));
        return new TsqlParseResult(scriptName, errors);
    }

    /// <summary>Replays the scripts in the given order (pass them in DbUp's run order).</summary>
    /// <exception cref="InvalidDataException">A script does not parse, or alters an object that
    /// no earlier script declares.</exception>
    public static TsqlSchema ReadSchema(IEnumerable<string> scriptPaths) =>
        ReadSchemaFromTexts(scriptPaths.Select(path => (path, File.ReadAllText(path))));

    /// <summary>As <see cref="ReadSchema"/>, for scripts held in memory.</summary>
    public static TsqlSchema ReadSchemaFromTexts(IEnumerable<(string ScriptName, string Sql)> scripts)
    {
        var schema = new SchemaBuilder();
        foreach (var (scriptName, sql) in scripts)
        {
            var errors = new List<TsqlParseError>();
            Walk(sql, scriptName, schema, errors, new SourcePosition(0, 0));
            if (errors.Count > 0)
            {
                throw new InvalidDataException(
                    $"{scriptName} does not parse as T-SQL: " + string.Join("; ", errors));
            }
        }
        return schema.Build();
    }

    // Where a (possibly nested) script starts in the file: lines before it, and the columns
    // before it on its first line.
    private readonly record struct SourcePosition(int LineOffset, int FirstLineColumnOffset)
    {
        public TsqlParseError Map(ParseError error) => new(
            error.Line + LineOffset,
            error.Line == 1 ? error.Column + FirstLineColumnOffset : error.Column,
            error.Message,
            error.Number);
    }

    private static void Walk(
        string sql, string scriptName, SchemaBuilder? schema, List<TsqlParseError> errors, SourcePosition position)
    {
        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        using var reader = new StringReader(sql);
        var fragment = parser.Parse(reader, out var parseErrors);
        errors.AddRange(parseErrors.Select(position.Map));
        // A tree with errors is partial; replaying it would report a schema that is not there.
        if (parseErrors.Count > 0 || fragment is null)
        {
            return;
        }
        fragment.Accept(new ScriptVisitor(scriptName, schema, errors, position));
    }

    private sealed class ScriptVisitor(
        string scriptName, SchemaBuilder? schema, List<TsqlParseError> errors, SourcePosition position)
        : TSqlFragmentVisitor
    {
        public override void ExplicitVisit(ExecuteStatement node)
        {
            if (LiteralSql(node.ExecuteSpecification?.ExecutableEntity) is { } literalSql)
            {
                var (literal, sql) = literalSql;
                // The nested script starts just after the opening quote (and the N prefix).
                var literalLine = literal.StartLine + position.LineOffset - 1;
                var literalColumn = literal.StartLine == 1
                    ? literal.StartColumn + position.FirstLineColumnOffset
                    : literal.StartColumn;
                var quoteLength = literal.IsNational ? 2 : 1;
                Walk(sql, scriptName, schema, errors,
                    new SourcePosition(literalLine, literalColumn + quoteLength - 1));
            }
            base.ExplicitVisit(node);
        }

        public override void ExplicitVisit(CreateTableStatement node)
        {
            if (schema is null || node.Definition is null || IsTemporary(node.SchemaObjectName))
            {
                return;
            }
            var table = QualifiedName(node.SchemaObjectName);
            schema.CreateTable(table, scriptName);
            AddTableDefinition(table, node.Definition);
        }

        public override void ExplicitVisit(AlterTableAddTableElementStatement node)
        {
            if (schema is null || IsTemporary(node.SchemaObjectName))
            {
                return;
            }
            var table = QualifiedName(node.SchemaObjectName);
            schema.RequireTable(table, scriptName);
            AddTableDefinition(table, node.Definition);
        }

        public override void ExplicitVisit(AlterTableAlterColumnStatement node)
        {
            if (schema is null || node.DataType is null || IsTemporary(node.SchemaObjectName))
            {
                return;
            }
            // Without NULL or NOT NULL, `alter column` makes the column nullable.
            var isNullable = node.AlterTableAlterColumnOption != AlterTableAlterColumnOption.NotNull;
            schema.AlterColumn(
                QualifiedName(node.SchemaObjectName),
                new TsqlColumn(Lower(node.ColumnIdentifier), NormalizeType(node.DataType), isNullable),
                scriptName);
        }

        public override void ExplicitVisit(AlterTableDropTableElementStatement node)
        {
            if (schema is null || IsTemporary(node.SchemaObjectName))
            {
                return;
            }
            var table = QualifiedName(node.SchemaObjectName);
            foreach (var element in node.AlterTableDropTableElements)
            {
                var name = Lower(element.Name);
                switch (element.TableElementType)
                {
                    case TableElementType.Column:
                        schema.DropColumn(table, name, scriptName);
                        break;
                    case TableElementType.Index:
                        schema.DropIndex(table, name);
                        break;
                    default:
                        schema.DropConstraint(table, name);
                        break;
                }
            }
        }

        public override void ExplicitVisit(DropTableStatement node)
        {
            foreach (var name in node.Objects.Where(name => !IsTemporary(name)))
            {
                schema?.DropTable(QualifiedName(name));
            }
        }

        public override void ExplicitVisit(CreateIndexStatement node)
        {
            if (IsTemporary(node.OnName))
            {
                return;
            }
            schema?.AddIndex(new TsqlIndex(
                QualifiedName(node.OnName), Lower(node.Name), node.Unique, node.Clustered == true));
        }

        public override void ExplicitVisit(CreateColumnStoreIndexStatement node)
        {
            if (IsTemporary(node.OnName))
            {
                return;
            }
            schema?.AddIndex(new TsqlIndex(
                QualifiedName(node.OnName), Lower(node.Name), IsUnique: false, node.Clustered == true));
        }

        public override void ExplicitVisit(DropIndexStatement node)
        {
            foreach (var clause in node.DropIndexClauses.OfType<DropIndexClause>())
            {
                schema?.DropIndex(QualifiedName(clause.Object), Lower(clause.Index));
            }
        }

        public override void ExplicitVisit(CreateViewStatement node) => AddView(node);

        public override void ExplicitVisit(CreateOrAlterViewStatement node) => AddView(node);

        public override void ExplicitVisit(AlterViewStatement node) => AddView(node);

        public override void ExplicitVisit(DropViewStatement node)
        {
            foreach (var name in node.Objects)
            {
                schema?.DropView(QualifiedName(name));
            }
        }

        private void AddView(ViewStatementBody node)
        {
            if (schema is null)
            {
                return;
            }
            var columns = node.Columns.Count > 0
                ? node.Columns.Select(Lower).ToList()
                : new ViewColumnResolver(schema).Resolve(node.SelectStatement);
            schema.SetView(new TsqlView(QualifiedName(node.SchemaObjectName), columns));
        }

        private void AddTableDefinition(string table, TableDefinition definition)
        {
            var primaryKeyColumns = definition.TableConstraints
                .OfType<UniqueConstraintDefinition>()
                .Where(constraint => constraint.IsPrimaryKey)
                .SelectMany(constraint => constraint.Columns)
                .Select(column => Lower(column.Column.MultiPartIdentifier.Identifiers[^1]))
                .ToHashSet(StringComparer.Ordinal);

            foreach (var column in definition.ColumnDefinitions)
            {
                var name = Lower(column.ColumnIdentifier);
                schema!.AddColumn(table, new TsqlColumn(name, NormalizeColumnType(column), IsNullable(column, primaryKeyColumns.Contains(name))), scriptName);
                if (column.DefaultConstraint is { } defaultConstraint)
                {
                    schema.AddConstraint(new TsqlConstraint(table, LowerOrNull(defaultConstraint.ConstraintIdentifier), "default"));
                }
                foreach (var constraint in column.Constraints.Where(constraint => constraint is not NullableConstraintDefinition))
                {
                    schema.AddConstraint(new TsqlConstraint(table, LowerOrNull(constraint.ConstraintIdentifier), ConstraintKind(constraint)));
                }
                if (column.Index is { } index)
                {
                    schema.AddIndex(ToIndex(table, index));
                }
            }
            foreach (var constraint in definition.TableConstraints)
            {
                schema!.AddConstraint(new TsqlConstraint(table, LowerOrNull(constraint.ConstraintIdentifier), ConstraintKind(constraint)));
            }
            foreach (var index in definition.Indexes)
            {
                schema!.AddIndex(ToIndex(table, index));
            }
        }

        private static TsqlIndex ToIndex(string table, IndexDefinition index) => new(
            table,
            Lower(index.Name),
            index.Unique,
            index.IndexType?.IndexTypeKind is IndexTypeKind.Clustered or IndexTypeKind.ClusteredColumnStore);

        // SQL Server's defaults with SqlClient's session settings (ANSI_NULL_DFLT_ON): a column
        // is nullable unless declared NOT NULL, part of the primary key, or an identity.
        private static bool IsNullable(ColumnDefinition column, bool isInTablePrimaryKey)
        {
            var nullable = column.Constraints.OfType<NullableConstraintDefinition>().LastOrDefault();
            if (nullable is not null)
            {
                return nullable.Nullable;
            }
            var isInColumnPrimaryKey = column.Constraints
                .OfType<UniqueConstraintDefinition>()
                .Any(constraint => constraint.IsPrimaryKey);
            return !(isInColumnPrimaryKey || isInTablePrimaryKey || column.IdentityOptions is not null);
        }

        private static string NormalizeColumnType(ColumnDefinition column) =>
            column.DataType is null
                ? "computed"
                : NormalizeType(column.DataType);

        private static string ConstraintKind(ConstraintDefinition constraint) => constraint switch
        {
            UniqueConstraintDefinition { IsPrimaryKey: true } => "primary_key",
            UniqueConstraintDefinition => "unique",
            CheckConstraintDefinition => "check",
            DefaultConstraintDefinition => "default",
            ForeignKeyConstraintDefinition => "foreign_key",
            _ => "other",
        };

        // The SQL of `exec(N'...')` or `exec sp_executesql N'...'` when it is all literals
        // (a string built from variables is not known until run time).
        private static (StringLiteral Literal, string Sql)? LiteralSql(ExecutableEntity? entity)
        {
            switch (entity)
            {
                case ExecutableStringList list when list.Strings.Count > 0 && list.Strings.All(part => part is StringLiteral):
                    var parts = list.Strings.Cast<StringLiteral>().ToList();
                    return (parts[0], string.Concat(parts.Select(part => part.Value)));
                case ExecutableProcedureReference procedure
                    when string.Equals(
                        procedure.ProcedureReference?.ProcedureReference?.Name?.BaseIdentifier?.Value,
                        "sp_executesql",
                        StringComparison.OrdinalIgnoreCase)
                    && procedure.Parameters.Count > 0
                    && procedure.Parameters[0].ParameterValue is StringLiteral statement:
                    return (statement, statement.Value);
                default:
                    return null;
            }
        }
    }

    /// <summary>Output column names of a view's select: named select items, and stars over
    /// CTEs, derived tables, and tables or views declared by earlier statements. Views here end
    /// with <c>select * from final</c>, so stars over CTEs are the case that matters.</summary>
    private sealed class ViewColumnResolver(SchemaBuilder schema)
    {
        public IReadOnlyList<string>? Resolve(SelectStatement select)
        {
            var ctes = new Dictionary<string, IReadOnlyList<string>?>(StringComparer.Ordinal);
            foreach (var cte in select.WithCtesAndXmlNamespaces?.CommonTableExpressions ?? [])
            {
                // Each CTE sees the ones declared before it.
                ctes[Lower(cte.ExpressionName)] = cte.Columns.Count > 0
                    ? cte.Columns.Select(Lower).ToList()
                    : ResolveQuery(cte.QueryExpression, ctes);
            }
            return ResolveQuery(select.QueryExpression, ctes);
        }

        private IReadOnlyList<string>? ResolveQuery(
            QueryExpression query, IReadOnlyDictionary<string, IReadOnlyList<string>?> ctes) => query switch
            {
                QuerySpecification specification => ResolveSpecification(specification, ctes),
                // A union's columns are named by its first query.
                BinaryQueryExpression binary => ResolveQuery(binary.FirstQueryExpression, ctes),
                QueryParenthesisExpression parenthesis => ResolveQuery(parenthesis.QueryExpression, ctes),
                _ => null,
            };

        private IReadOnlyList<string>? ResolveSpecification(
            QuerySpecification specification, IReadOnlyDictionary<string, IReadOnlyList<string>?> ctes)
        {
            var sources = new List<(string? Alias, string Name, IReadOnlyList<string>? Columns)>();
            foreach (var reference in specification.FromClause?.TableReferences ?? [])
            {
                CollectSources(reference, ctes, sources);
            }

            var columns = new List<string>();
            foreach (var element in specification.SelectElements)
            {
                switch (element)
                {
                    case SelectScalarExpression { ColumnName: { } alias }:
                        columns.Add(alias.Value.ToLowerInvariant());
                        break;
                    case SelectScalarExpression { Expression: ColumnReferenceExpression { ColumnType: ColumnType.Regular } reference }:
                        columns.Add(Lower(reference.MultiPartIdentifier.Identifiers[^1]));
                        break;
                    case SelectStarExpression star:
                        var qualifier = LowerOrNull(star.Qualifier?.Identifiers[^1]);
                        var matching = sources
                            .Where(source => qualifier is null || source.Alias == qualifier || source.Name == qualifier || source.Name.EndsWith("." + qualifier, StringComparison.Ordinal))
                            .ToList();
                        if (matching.Count == 0 || matching.Any(source => source.Columns is null))
                        {
                            return null;
                        }
                        columns.AddRange(matching.SelectMany(source => source.Columns!));
                        break;
                    default:
                        return null;
                }
            }
            return columns;
        }

        private void CollectSources(
            TableReference reference,
            IReadOnlyDictionary<string, IReadOnlyList<string>?> ctes,
            List<(string? Alias, string Name, IReadOnlyList<string>? Columns)> sources)
        {
            switch (reference)
            {
                case JoinTableReference join:
                    CollectSources(join.FirstTableReference, ctes, sources);
                    CollectSources(join.SecondTableReference, ctes, sources);
                    break;
                case JoinParenthesisTableReference parenthesis:
                    CollectSources(parenthesis.Join, ctes, sources);
                    break;
                case NamedTableReference named:
                    var alias = LowerOrNull(named.Alias);
                    var isCte = named.SchemaObject.SchemaIdentifier is null
                        && ctes.ContainsKey(Lower(named.SchemaObject.BaseIdentifier));
                    if (isCte)
                    {
                        var cteName = Lower(named.SchemaObject.BaseIdentifier);
                        sources.Add((alias, cteName, ctes[cteName]));
                    }
                    else
                    {
                        var name = QualifiedName(named.SchemaObject);
                        sources.Add((alias, name, schema.ColumnNamesOf(name)));
                    }
                    break;
                case QueryDerivedTable derived:
                    var derivedColumns = derived.Columns.Count > 0
                        ? derived.Columns.Select(Lower).ToList()
                        : ResolveQuery(derived.QueryExpression, ctes);
                    var derivedAlias = LowerOrNull(derived.Alias);
                    sources.Add((derivedAlias, derivedAlias ?? "", derivedColumns));
                    break;
                case TableReferenceWithAlias other:
                    // Table-valued functions, openjson and the like: columns unknown here.
                    var otherAlias = LowerOrNull(other.Alias);
                    sources.Add((otherAlias, otherAlias ?? "", null));
                    break;
                default:
                    sources.Add((null, "", null));
                    break;
            }
        }
    }

    /// <summary>The DDL replayed so far.</summary>
    private sealed class SchemaBuilder
    {
        private readonly Dictionary<string, List<TsqlColumn>> _tables = new(StringComparer.Ordinal);
        private readonly Dictionary<string, TsqlView> _views = new(StringComparer.Ordinal);
        private readonly List<TsqlConstraint> _constraints = [];
        private readonly List<TsqlIndex> _indexes = [];

        public void CreateTable(string table, string scriptName)
        {
            if (!_tables.TryAdd(table, []))
            {
                throw new InvalidDataException($"{scriptName} creates {table}, which an earlier statement already created.");
            }
        }

        public void RequireTable(string table, string scriptName)
        {
            if (!_tables.ContainsKey(table))
            {
                throw new InvalidDataException($"{scriptName} alters {table}, which no earlier statement creates.");
            }
        }

        public void AddColumn(string table, TsqlColumn column, string scriptName)
        {
            var columns = _tables[table];
            if (columns.Any(existing => existing.Name == column.Name))
            {
                throw new InvalidDataException($"{scriptName} adds column {column.Name} to {table} twice.");
            }
            columns.Add(column);
        }

        public void AlterColumn(string table, TsqlColumn column, string scriptName)
        {
            RequireTable(table, scriptName);
            var columns = _tables[table];
            var index = columns.FindIndex(existing => existing.Name == column.Name);
            if (index < 0)
            {
                throw new InvalidDataException($"{scriptName} alters column {table}.{column.Name}, which does not exist.");
            }
            columns[index] = column;
        }

        public void DropColumn(string table, string column, string scriptName)
        {
            RequireTable(table, scriptName);
            _tables[table].RemoveAll(existing => existing.Name == column);
        }

        public void DropTable(string table)
        {
            _tables.Remove(table);
            _constraints.RemoveAll(constraint => constraint.Table == table);
            _indexes.RemoveAll(index => index.Table == table);
        }

        public void AddConstraint(TsqlConstraint constraint) => _constraints.Add(constraint);

        public void DropConstraint(string table, string name) =>
            _constraints.RemoveAll(constraint => constraint.Table == table && constraint.Name == name);

        public void AddIndex(TsqlIndex index) => _indexes.Add(index);

        public void DropIndex(string table, string name) =>
            _indexes.RemoveAll(index => index.Table == table && index.Name == name);

        public void SetView(TsqlView view) => _views[view.Name] = view;

        public void DropView(string view) => _views.Remove(view);

        public IReadOnlyList<string>? ColumnNamesOf(string tableOrView) =>
            _tables.TryGetValue(tableOrView, out var columns)
                ? columns.Select(column => column.Name).ToList()
                : _views.TryGetValue(tableOrView, out var view) ? view.Columns : null;

        public TsqlSchema Build() => new(
            _tables.ToDictionary(
                pair => pair.Key,
                pair => new TsqlTable(pair.Key, pair.Value.ToList()),
                StringComparer.Ordinal),
            new Dictionary<string, TsqlView>(_views, StringComparer.Ordinal),
            _constraints.ToList(),
            _indexes.ToList());
    }

    private static string NormalizeType(DataTypeReference type)
    {
        if (type is not SqlDataTypeReference sqlType)
        {
            return string.Join(".", type.Name.Identifiers.Select(Lower));
        }
        var parameters = sqlType.Parameters
            .Select(parameter => parameter is MaxLiteral ? "max" : parameter.Value.ToLowerInvariant())
            .ToList();
        var option = sqlType.SqlDataTypeOption;
        var name = option.ToString().ToLowerInvariant();
        return option switch
        {
            // A declared length is part of the contract; without one T-SQL means 1.
            SqlDataTypeOption.Char or SqlDataTypeOption.VarChar or SqlDataTypeOption.NChar
                or SqlDataTypeOption.NVarChar or SqlDataTypeOption.Binary or SqlDataTypeOption.VarBinary
                => $"{name}({(parameters.Count > 0 ? parameters[0] : "1")})",
            SqlDataTypeOption.Decimal or SqlDataTypeOption.Numeric when parameters.Count > 0
                => $"{name}({string.Join(",", parameters)})",
            // float(1..24) is real; float and float(25..53) are the 8-byte double.
            SqlDataTypeOption.Float when parameters.Count > 0
                && int.Parse(parameters[0], CultureInfo.InvariantCulture) <= 24 => "real",
            // Fractional-second precision is a storage detail: datetime2(6) and datetime2 compare equal.
            _ => name,
        };
    }

    private static string QualifiedName(SchemaObjectName name) =>
        $"{(name.SchemaIdentifier is null ? "dbo" : Lower(name.SchemaIdentifier))}.{Lower(name.BaseIdentifier)}";

    private static bool IsTemporary(SchemaObjectName name) =>
        name.BaseIdentifier.Value.StartsWith('#');

    private static string Lower(Identifier identifier) => identifier.Value.ToLowerInvariant();

    private static string? LowerOrNull(Identifier? identifier) => identifier?.Value.ToLowerInvariant();
}
