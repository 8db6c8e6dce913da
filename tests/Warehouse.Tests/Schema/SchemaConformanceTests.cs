using Warehouse.Engines;
using Warehouse.Migrations;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Schema;

/// <summary>
/// No SQL Server runs on the development machines, so the T-SQL migrations are the reference
/// read by parsing, and what the DuckDB and PostgreSQL migrations actually build is compared
/// with them: the same tables and views, the same columns in the same order, the same type
/// family and nullability, and (on PostgreSQL) the same constraint names. A failure lists every
/// difference at once, so one run shows the whole drift.
/// </summary>
public sealed class SchemaConformanceTests
{
    private static readonly string DbFolder = Path.Combine(AppContext.BaseDirectory, "db");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DuckDb_migrations_build_the_tables_views_and_columns_the_tsql_migrations_declare()
    {
        await using var database = await TestDatabases.DuckDbAsync();
        new Migrator(database.Engine).Migrate();

        var live = await LiveSchema.ReadAsync(database.Engine, Token);

        AssertNoDifferences(SchemaComparison.Compare("duckdb", ReadTsqlSchema(), live));
    }

    [Fact]
    public async Task DuckDb_tables_have_their_columns_in_the_order_the_loader_appends_them()
    {
        // A batch into an empty DuckDB table appends rows by position (WarehouseEngine.AppendsIntoEmptyTables).
        await using var database = await TestDatabases.DuckDbAsync();
        new Migrator(database.Engine).Migrate();

        var live = await LiveSchema.ReadAsync(database.Engine, Token);

        foreach (var schema in new[] { Warehouse.Loading.TableSchema.EvalRecords, Warehouse.Loading.TableSchema.TraceSummaries, Warehouse.Loading.TableSchema.TraceParts })
        {
            Assert.Equal(schema.Columns.Select(column => column.Name), live.Tables[schema.QualifiedName].Select(column => column.Name));
        }
    }

    [Fact]
    public async Task Postgres_migrations_build_the_tables_views_and_columns_the_tsql_migrations_declare()
    {
        await using var database = await TestDatabases.PostgresAsync();
        new Migrator(database.Engine).Migrate();

        var live = await LiveSchema.ReadAsync(database.Engine, Token);

        AssertNoDifferences(SchemaComparison.Compare("postgres", ReadTsqlSchema(), live));
    }

    // DuckDB accepts `constraint <name>` but does not keep the name: duckdb_constraints() and
    // information_schema.table_constraints report generated ones (eval_records_context_band_check,
    // eval_records_source_eval_run_id_case_id_metric_epoch_key). Names are therefore compared on
    // PostgreSQL only; on DuckDB each table must have the same number of primary key, unique and
    // check constraints as T-SQL declares, except for the fact tables' unique keys, which DuckDB's
    // 0011 hands to the loader (an ART index must fit in memory whole; see that script and
    // LoaderKeyTests). Those three, and only those, are the expected differences.
    [Fact]
    public async Task DuckDb_tables_have_the_tsql_constraint_kinds()
    {
        await using var database = await TestDatabases.DuckDbAsync();
        new Migrator(database.Engine).Migrate();

        var live = await LiveConstraints.ReadDuckDbAsync(database.Engine, Token);

        Assert.Equal(
            [
                "duckdb: etl.trace_parts has 0 unique constraint(s), T-SQL declares 1",
                "duckdb: quality.eval_records has 0 unique constraint(s), T-SQL declares 1",
                "duckdb: quality.trace_summaries has 0 unique constraint(s), T-SQL declares 1",
            ],
            SchemaComparison.CompareConstraintKinds("duckdb", ReadTsqlSchema(), live).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Postgres_constraint_names_are_the_tsql_constraint_names()
    {
        await using var database = await TestDatabases.PostgresAsync();
        new Migrator(database.Engine).Migrate();

        var live = await LiveConstraints.ReadPostgresAsync(database.Engine, Token);

        AssertNoDifferences(SchemaComparison.CompareConstraints("postgres", ReadTsqlSchema(), live));
    }

    // No view script exists yet; this keeps the view half of the comparison honest until one does.
    [Fact]
    public async Task LiveSchema_reads_views_apart_from_tables_with_their_columns_in_order()
    {
        await using var database = await TestDatabases.DuckDbAsync();
        new Migrator(database.Engine).Migrate();
        await using (var connection = await database.Engine.OpenAsync(Token))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "create view quality.lock_names as select lock_name, created_at, min_score from quality.locks";
            await command.ExecuteNonQueryAsync(Token);
        }

        var live = await LiveSchema.ReadAsync(database.Engine, Token);

        Assert.Equal(["lock_name", "created_at", "min_score"], live.Views["quality.lock_names"].Select(column => column.Name));
        Assert.DoesNotContain("quality.lock_names", live.Tables.Keys);
        Assert.Contains("quality.locks", live.Tables.Keys);
    }

    [Fact]
    public void Compare_lists_every_difference_not_just_the_first()
    {
        var expected = TsqlSchemaReader.ReadSchemaFromTexts(
        [
            ("0001_create_widgets.sql",
                """
                create table quality.widgets (
                    widget_id    bigint         not null,
                    widget_name  nvarchar(20)   not null,
                    created_at   datetime2      not null,
                    notes        nvarchar(max),
                    constraint pk_widgets primary key (widget_id)
                );
                create table quality.gadgets (gadget_id bigint not null);
                """),
            ("widget_names.sql",
                "create view quality.widget_names as select widget_id, widget_name from quality.widgets;"),
        ]);
        var live = new LiveSchema(
            new Dictionary<string, IReadOnlyList<LiveColumn>>
            {
                ["quality.widgets"] =
                [
                    new("widget_id", "BIGINT", IsNullable: false),
                    new("created_at", "VARCHAR", IsNullable: false),
                    new("widget_name", "VARCHAR", IsNullable: true),
                    new("colour", "VARCHAR", IsNullable: true),
                ],
                ["quality.sprockets"] = [new("sprocket_id", "BIGINT", IsNullable: false)],
                ["etl.schema_versions"] = [new("schemaversionsid", "INTEGER", IsNullable: false)],
            },
            new Dictionary<string, IReadOnlyList<LiveColumn>>
            {
                ["quality.widget_names"] = [new("widget_name", "VARCHAR", true), new("widget_id", "BIGINT", false)],
            },
            EngineKind.DuckDb);

        var differences = SchemaComparison.Compare("duckdb", expected, live);

        Assert.Equal(
            [
                "duckdb: table quality.gadgets is declared in T-SQL but missing",
                "duckdb: table quality.sprockets exists but is not declared in T-SQL",
                "duckdb: quality.widgets.notes is declared in T-SQL but missing",
                "duckdb: quality.widgets.colour exists but is not declared in T-SQL",
                "duckdb: quality.widgets.widget_name is nullable, T-SQL has it not null",
                "duckdb: quality.widgets.created_at has type family text (VARCHAR), T-SQL has timestamp (datetime2)",
                "duckdb: quality.widgets column order is (widget_id, created_at, widget_name), T-SQL has (widget_id, widget_name, created_at)",
                "duckdb: view quality.widget_names column order is (widget_name, widget_id), T-SQL has (widget_id, widget_name)",
            ],
            differences);
    }

    [Fact]
    public void CompareConstraints_ignores_defaults_and_lists_missing_extra_and_unnamed_constraints()
    {
        var expected = TsqlSchemaReader.ReadSchemaFromTexts(
        [
            ("0001_create_widgets.sql",
                """
                create table quality.widgets (
                    widget_id    bigint         not null,
                    widget_name  nvarchar(20)   not null constraint df_widgets__widget_name default N'unknown',
                    size         int            not null,
                    constraint pk_widgets primary key (widget_id),
                    constraint uq_widgets__widget_name unique (widget_name),
                    check (size > 0)
                );
                """),
        ]);
        IReadOnlyList<LiveConstraint> live =
        [
            new("quality.widgets", "pk_widgets", "primary_key"),
            new("quality.widgets", "uq_widgets__widget_name", "check"),
            new("quality.widgets", "widgets_size_check", "check"),
        ];

        var differences = SchemaComparison.CompareConstraints("postgres", expected, live);

        Assert.Equal(
            [
                "sqlserver: quality.widgets has an unnamed check constraint; name it (pk_/uq_/ck_/fk_) so the engines' schemas can be diffed",
                "postgres: constraint quality.widgets.widgets_size_check exists but is not declared in T-SQL",
                "postgres: constraint quality.widgets.uq_widgets__widget_name is of kind check, T-SQL has kind unique",
            ],
            differences);
    }

    [Fact]
    public void CompareConstraintKinds_reports_a_table_with_fewer_checks_than_tsql_declares()
    {
        var expected = TsqlSchemaReader.ReadSchemaFromTexts(
        [
            ("0001_create_widgets.sql",
                """
                create table quality.widgets (
                    widget_id  bigint  not null,
                    size       int     not null constraint df_widgets__size default 1,
                    constraint pk_widgets primary key (widget_id),
                    constraint ck_widgets__size check (size > 0)
                );
                """),
        ]);
        IReadOnlyList<LiveConstraint> live =
        [
            new("quality.widgets", "widgets_widget_id_pkey", "primary_key"),
            new("etl.schema_versions", "schema_versions_schemaversionsid_pkey", "primary_key"),
        ];

        var differences = SchemaComparison.CompareConstraintKinds("duckdb", expected, live);

        Assert.Equal(["duckdb: quality.widgets has 0 check constraint(s), T-SQL declares 1"], differences);
    }

    private static TsqlSchema ReadTsqlSchema()
    {
        // DbUp's run order: migrations by ordinal name, then views by ordinal name. A folder with
        // no scripts is not copied to the output folder: treat it as empty.
        var scripts = new[] { "migrations", "views" }
            .Select(kind => Path.Combine(DbFolder, "sqlserver", kind))
            .SelectMany(folder => Directory.Exists(folder)
                ? Directory.GetFiles(folder, "*.sql").Order(StringComparer.Ordinal)
                : Enumerable.Empty<string>())
            .ToList();
        Assert.NotEmpty(scripts);
        return TsqlSchemaReader.ReadSchema(scripts);
    }

    private static void AssertNoDifferences(IReadOnlyList<string> differences) =>
        Assert.True(
            differences.Count == 0,
            $"{differences.Count} schema difference(s) against db/sqlserver:\n" + string.Join("\n", differences));
}

public sealed record LiveColumn(string Name, string DataType, bool IsNullable);

public sealed record LiveConstraint(string Table, string Name, string Kind);

/// <summary>The tables and views of schemas quality and etl as an engine reports them
/// (information_schema), keyed by schema-qualified name, columns in ordinal order.</summary>
public sealed record LiveSchema(
    IReadOnlyDictionary<string, IReadOnlyList<LiveColumn>> Tables,
    IReadOnlyDictionary<string, IReadOnlyList<LiveColumn>> Views,
    EngineKind Engine)
{
    private const string ColumnsSql = """
        select
            cast(columns.table_schema as varchar) as table_schema,
            cast(columns.table_name as varchar) as table_name,
            cast(columns.column_name as varchar) as column_name,
            cast(columns.ordinal_position as integer) as ordinal_position,
            cast(columns.data_type as varchar) as data_type,
            cast(columns.is_nullable as varchar) as is_nullable,
            cast(tables.table_type as varchar) as table_type
        from information_schema.columns as columns
        inner join information_schema.tables as tables
            on tables.table_catalog = columns.table_catalog
            and tables.table_schema = columns.table_schema
            and tables.table_name = columns.table_name
        where columns.table_schema in ('quality', 'etl')
            and columns.table_catalog = current_database()
        order by columns.table_schema, columns.table_name, columns.ordinal_position
        """;

    public static async Task<LiveSchema> ReadAsync(WarehouseEngine engine, CancellationToken cancellationToken)
    {
        var tables = new Dictionary<string, List<LiveColumn>>(StringComparer.Ordinal);
        var views = new Dictionary<string, List<LiveColumn>>(StringComparer.Ordinal);
        await using var connection = await engine.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = ColumnsSql;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var name = $"{reader.GetString(0)}.{reader.GetString(1)}";
            var target = reader.GetString(6) == "VIEW" ? views : tables;
            if (!target.TryGetValue(name, out var columns))
            {
                target[name] = columns = [];
            }

            columns.Add(new LiveColumn(
                reader.GetString(2),
                reader.GetString(4),
                IsNullable: string.Equals(reader.GetString(5), "YES", StringComparison.OrdinalIgnoreCase)));
        }

        return new LiveSchema(
            tables.ToDictionary(pair => pair.Key, pair => (IReadOnlyList<LiveColumn>)pair.Value, StringComparer.Ordinal),
            views.ToDictionary(pair => pair.Key, pair => (IReadOnlyList<LiveColumn>)pair.Value, StringComparer.Ordinal),
            engine.Kind);
    }
}

public static class LiveConstraints
{
    // pg_constraint rather than information_schema.table_constraints: up to PostgreSQL 17 the
    // latter also lists every NOT NULL as a CHECK named <oid>_<oid>_<attnum>_not_null, and 18
    // stores them as real constraints (contype 'n') named <table>_<column>_not_null. T-SQL has
    // no named not-null constraints, so they are left out by kind, not by guessing at names.
    // Defaults are not constraints in PostgreSQL either; the T-SQL side drops its df_* names.
    private const string PostgresSql = """
        select
            namespaces.nspname || '.' || tables.relname as table_name,
            cast(constraints.conname as varchar) as constraint_name,
            case constraints.contype
                when 'p' then 'primary_key'
                when 'u' then 'unique'
                when 'c' then 'check'
                when 'f' then 'foreign_key'
                else 'other'
            end as constraint_kind
        from pg_catalog.pg_constraint as constraints
        inner join pg_catalog.pg_class as tables on tables.oid = constraints.conrelid
        inner join pg_catalog.pg_namespace as namespaces on namespaces.oid = tables.relnamespace
        where namespaces.nspname in ('quality', 'etl')
            and constraints.contype <> 'n'
        order by 1, 2
        """;

    // NOT NULL is a constraint kind of its own in duckdb_constraints(); leave it out as above.
    private const string DuckDbSql = """
        select
            schema_name || '.' || table_name as table_name,
            constraint_name,
            case constraint_type
                when 'PRIMARY KEY' then 'primary_key'
                when 'UNIQUE' then 'unique'
                when 'CHECK' then 'check'
                when 'FOREIGN KEY' then 'foreign_key'
                else 'other'
            end as constraint_kind
        from duckdb_constraints()
        where schema_name in ('quality', 'etl')
            and database_name = current_database()
            and constraint_type <> 'NOT NULL'
        order by 1, 2
        """;

    public static Task<IReadOnlyList<LiveConstraint>> ReadPostgresAsync(
        WarehouseEngine engine, CancellationToken cancellationToken) =>
        ReadAsync(engine, PostgresSql, cancellationToken);

    /// <summary>DuckDB's constraints with the names it generated (see the test's comment).</summary>
    public static Task<IReadOnlyList<LiveConstraint>> ReadDuckDbAsync(
        WarehouseEngine engine, CancellationToken cancellationToken) =>
        ReadAsync(engine, DuckDbSql, cancellationToken);

    private static async Task<IReadOnlyList<LiveConstraint>> ReadAsync(
        WarehouseEngine engine, string sql, CancellationToken cancellationToken)
    {
        var constraints = new List<LiveConstraint>();
        await using var connection = await engine.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            constraints.Add(new LiveConstraint(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return constraints;
    }
}

/// <summary>Diffs what an engine built against what the T-SQL scripts declare; every difference
/// is one line naming the engine, the object and what differs.</summary>
public static class SchemaComparison
{
    /// <summary>DbUp's journal: each engine's provider names its columns its own way.</summary>
    public const string JournalTable = $"{Migrator.JournalSchema}.{Migrator.JournalTable}";

    // information_schema.columns.data_type as each engine spells it. Timestamps are UTC
    // everywhere: PostgreSQL stores them as timestamptz, DuckDB and SQL Server in a plain
    // timestamp / datetime2 the loader fills with UTC. Anything unlisted keeps its own name,
    // so an unexpected type (a PostgreSQL `timestamp without time zone`, a DuckDB `TIMESTAMP
    // WITH TIME ZONE`) shows up as a difference instead of being folded in.
    private static readonly IReadOnlyDictionary<EngineKind, IReadOnlyDictionary<string, string>> Families =
        new Dictionary<EngineKind, IReadOnlyDictionary<string, string>>
        {
            [EngineKind.DuckDb] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                ["VARCHAR"] = "text",
                ["INTEGER"] = "integer",
                ["BIGINT"] = "bigint",
                ["DOUBLE"] = "double",
                ["BOOLEAN"] = "boolean",
                ["TIMESTAMP"] = "timestamp",
            },
            [EngineKind.Postgres] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                ["character varying"] = "text",
                ["text"] = "text",
                ["integer"] = "integer",
                ["bigint"] = "bigint",
                ["double precision"] = "double",
                ["boolean"] = "boolean",
                ["timestamp with time zone"] = "timestamp",
            },
        };

    public static string TypeFamily(EngineKind engine, string dataType) =>
        Families.TryGetValue(engine, out var families) && families.TryGetValue(dataType, out var family)
            ? family
            : dataType.ToLowerInvariant();

    public static IReadOnlyList<string> Compare(string engineName, TsqlSchema expected, LiveSchema actual)
    {
        var differences = new List<string>();
        var liveTables = actual.Tables
            .Where(pair => pair.Key != JournalTable)
            .ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);

        CompareNames(engineName, "table", expected.Tables.Keys, liveTables.Keys, differences);
        CompareNames(engineName, "view", expected.Views.Keys, actual.Views.Keys, differences);

        foreach (var (name, table) in expected.Tables.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            if (liveTables.TryGetValue(name, out var liveColumns))
            {
                CompareTableColumns(engineName, name, table.Columns, liveColumns, actual.Engine, differences);
            }
        }

        foreach (var (name, view) in expected.Views.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            if (view.Columns is null)
            {
                differences.Add($"sqlserver: view {name} has a select-list column without a name; " +
                                "alias every column so its columns can be compared");
            }
            else if (actual.Views.TryGetValue(name, out var liveColumns))
            {
                // A parsed T-SQL view has column names but no types: compare names and order.
                CompareColumnNames(engineName, $"view {name}", view.Columns, liveColumns.Select(column => column.Name).ToList(), differences);
            }
        }

        return differences;
    }

    public static IReadOnlyList<string> CompareConstraints(
        string engineName, TsqlSchema expected, IReadOnlyList<LiveConstraint> actual)
    {
        var differences = new List<string>();
        foreach (var unnamed in expected.Constraints.Where(constraint => constraint.Name is null))
        {
            differences.Add($"sqlserver: {unnamed.Table} has an unnamed {unnamed.Kind.Replace('_', ' ')} constraint; " +
                            "name it (pk_/uq_/ck_/fk_) so the engines' schemas can be diffed");
        }

        // Defaults are constraints only in SQL Server; everything else is named the same everywhere.
        var declared = expected.Constraints
            .Where(constraint => constraint.Name is not null && constraint.Kind != "default")
            .ToDictionary(constraint => $"{constraint.Table}.{constraint.Name}", constraint => constraint.Kind, StringComparer.Ordinal);
        var live = actual
            .Where(constraint => constraint.Table != JournalTable)
            .ToDictionary(constraint => $"{constraint.Table}.{constraint.Name}", constraint => constraint.Kind, StringComparer.Ordinal);

        foreach (var missing in declared.Keys.Except(live.Keys).Order(StringComparer.Ordinal))
        {
            differences.Add($"{engineName}: constraint {missing} is declared in T-SQL but missing");
        }

        foreach (var extra in live.Keys.Except(declared.Keys).Order(StringComparer.Ordinal))
        {
            differences.Add($"{engineName}: constraint {extra} exists but is not declared in T-SQL");
        }

        foreach (var name in declared.Keys.Intersect(live.Keys).Order(StringComparer.Ordinal))
        {
            if (declared[name] != live[name])
            {
                differences.Add($"{engineName}: constraint {name} is of kind {live[name]}, T-SQL has kind {declared[name]}");
            }
        }

        return differences;
    }

    /// <summary>For an engine that does not keep constraint names: per table, the same number of
    /// constraints of each kind (defaults aside) as T-SQL declares.</summary>
    public static IReadOnlyList<string> CompareConstraintKinds(
        string engineName, TsqlSchema expected, IReadOnlyList<LiveConstraint> actual)
    {
        var declared = expected.Constraints
            .Where(constraint => constraint.Kind != "default")
            .CountBy(constraint => (constraint.Table, constraint.Kind))
            .ToDictionary(pair => pair.Key, pair => pair.Value);
        var live = actual
            .Where(constraint => constraint.Table != JournalTable)
            .CountBy(constraint => (constraint.Table, constraint.Kind))
            .ToDictionary(pair => pair.Key, pair => pair.Value);

        return declared.Keys.Union(live.Keys)
            .OrderBy(key => key.Table, StringComparer.Ordinal)
            .ThenBy(key => key.Kind, StringComparer.Ordinal)
            .Select(key => (key, Declared: declared.GetValueOrDefault(key), Live: live.GetValueOrDefault(key)))
            .Where(counts => counts.Declared != counts.Live)
            .Select(counts => $"{engineName}: {counts.key.Table} has {counts.Live} {counts.key.Kind} constraint(s), " +
                              $"T-SQL declares {counts.Declared}")
            .ToList();
    }

    private static void CompareNames(
        string engineName, string kind, IEnumerable<string> declared, IEnumerable<string> live, List<string> differences)
    {
        var declaredSet = declared.ToHashSet(StringComparer.Ordinal);
        var liveSet = live.ToHashSet(StringComparer.Ordinal);
        foreach (var missing in declaredSet.Except(liveSet).Order(StringComparer.Ordinal))
        {
            differences.Add($"{engineName}: {kind} {missing} is declared in T-SQL but missing");
        }

        foreach (var extra in liveSet.Except(declaredSet).Order(StringComparer.Ordinal))
        {
            differences.Add($"{engineName}: {kind} {extra} exists but is not declared in T-SQL");
        }
    }

    private static void CompareTableColumns(
        string engineName, string table, IReadOnlyList<TsqlColumn> declared, IReadOnlyList<LiveColumn> live,
        EngineKind engine, List<string> differences)
    {
        var liveByName = live.ToDictionary(column => column.Name, StringComparer.Ordinal);
        var declaredNames = declared.Select(column => column.Name).ToList();
        var liveNames = live.Select(column => column.Name).ToList();

        foreach (var missing in declaredNames.Except(liveNames))
        {
            differences.Add($"{engineName}: {table}.{missing} is declared in T-SQL but missing");
        }

        foreach (var extra in liveNames.Except(declaredNames))
        {
            differences.Add($"{engineName}: {table}.{extra} exists but is not declared in T-SQL");
        }

        foreach (var column in declared)
        {
            if (!liveByName.TryGetValue(column.Name, out var liveColumn))
            {
                continue;
            }

            var family = TypeFamily(engine, liveColumn.DataType);
            if (family != column.TypeFamily)
            {
                differences.Add($"{engineName}: {table}.{column.Name} has type family {family} ({liveColumn.DataType}), " +
                                $"T-SQL has {column.TypeFamily} ({column.Type})");
            }

            if (liveColumn.IsNullable != column.IsNullable)
            {
                differences.Add($"{engineName}: {table}.{column.Name} is {Nullability(liveColumn.IsNullable)}, " +
                                $"T-SQL has it {Nullability(column.IsNullable)}");
            }
        }

        CompareOrder(engineName, table, declaredNames, liveNames, differences);
    }

    private static void CompareColumnNames(
        string engineName, string subject, IReadOnlyList<string> declared, IReadOnlyList<string> live, List<string> differences)
    {
        foreach (var missing in declared.Except(live, StringComparer.Ordinal))
        {
            differences.Add($"{engineName}: {subject} column {missing} is declared in T-SQL but missing");
        }

        foreach (var extra in live.Except(declared, StringComparer.Ordinal))
        {
            differences.Add($"{engineName}: {subject} column {extra} exists but is not declared in T-SQL");
        }

        CompareOrder(engineName, subject, declared, live, differences);
    }

    // Order is compared over the columns both sides have, so a missing column is reported once
    // (as missing) rather than again as a shift of every column after it.
    private static void CompareOrder(
        string engineName, string subject, IReadOnlyList<string> declared, IReadOnlyList<string> live, List<string> differences)
    {
        var declaredOrder = declared.Where(live.Contains).ToList();
        var liveOrder = live.Where(declared.Contains).ToList();
        if (!declaredOrder.SequenceEqual(liveOrder, StringComparer.Ordinal))
        {
            differences.Add($"{engineName}: {subject} column order is ({string.Join(", ", liveOrder)}), " +
                            $"T-SQL has ({string.Join(", ", declaredOrder)})");
        }
    }

    private static string Nullability(bool isNullable) => isNullable ? "nullable" : "not null";
}

