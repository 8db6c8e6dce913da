namespace Warehouse.Tests.Schema;

/// <summary>
/// No SQL Server runs on the development machines, so T-SQL is checked by parsing: every script
/// must parse with the SQL Server 2022 grammar, and the tables it declares must be the contract's.
/// </summary>
public sealed class TsqlScriptTests
{
    private static readonly string DbFolder = Path.Combine(AppContext.BaseDirectory, "db");
    private static readonly string[] Engines = ["duckdb", "postgres", "sqlserver"];

    [Fact]
    public void Sqlserver_scripts_parse_without_errors()
    {
        var scripts = SqlFiles(Path.Combine(DbFolder, "sqlserver"), SearchOption.AllDirectories);
        Assert.NotEmpty(scripts);

        var failures = scripts
            .Select(TsqlSchemaReader.ParseFile)
            .SelectMany(result => result.Errors.Select(error =>
                $"{Path.GetRelativePath(DbFolder, result.ScriptPath)}({error.Line},{error.Column}): {error.Message}"))
            .ToList();

        Assert.True(failures.Count == 0, "T-SQL parse errors:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void ReadSchema_finds_the_six_tables_with_their_columns()
    {
        var schema = TsqlSchemaReader.ReadSchema(SqlserverMigrationsAndViews());

        string[] versionKeys = ["model_version", "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket"];
        string[] sliceLabels = ["feature", "intent", "language", "customer_tier", "output_format", "context_band"];
        var expected = new Dictionary<string, string[]>
        {
            ["quality.eval_records"] =
            [
                "source", "eval_run_id", "case_id", "metric", "epoch", .. versionKeys,
                "dataset_id", "dataset_version", "judge_version", .. sliceLabels,
                "score", "is_passed", "raw_score", "latency_ms", "cost_usd", "input_tokens", "output_tokens",
                "context_tokens", "evaluated_at", "source_trace_id", "artifact_url", "attributes",
                "_batch_id", "_loaded_at",
            ],
            ["quality.trace_summaries"] =
            [
                "source", "trace_id", "started_at", .. versionKeys, .. sliceLabels,
                "latency_ms", "cost_usd", "input_tokens", "output_tokens", "context_tokens",
                "is_error", "error_type", "has_complaint", "feedback_score", "has_tool_parse_failure",
                "has_json_parse_failure", "is_retrieval_empty", "session_id", "trace_url", "input_preview",
                "attributes", "_batch_id", "_loaded_at",
            ],
            ["quality.comparisons"] =
            [
                "comparison_name", "compare_key", "baseline", "candidate", "baseline_from", "baseline_to",
                "candidate_from", "candidate_to", "created_at",
            ],
            ["quality.locks"] =
            [
                "lock_name", "title", "incident_url", "dataset_id", "case_id", "metric", "min_score",
                "source_trace_id", "created_at",
            ],
            ["etl.load_batches"] =
            [
                "batch_id", "file_path", "file_hash", "file_size_bytes", "source_format", "target_table",
                "rows_read", "rows_loaded", "rows_rejected", "rows_inserted", "rows_updated", "started_at",
                "finished_at", "status", "error_message",
            ],
            ["etl.rejected_records"] =
            [
                "rejected_record_id", "batch_id", "file_path", "record_number", "reason", "raw_record", "rejected_at",
            ],
        };

        foreach (var (table, columns) in expected)
        {
            Assert.True(schema.Tables.ContainsKey(table), $"{table} is not declared by db/sqlserver.");
            // Later migrations may append columns; the contract's columns come first, in order.
            var actual = schema.Tables[table].Columns.Select(column => column.Name).Take(columns.Length);
            Assert.Equal(columns, actual);
        }

        var evalRecords = schema.Tables["quality.eval_records"].Columns.ToDictionary(column => column.Name);
        Assert.Equal(new TsqlColumn("source", "nvarchar(64)", IsNullable: false), evalRecords["source"]);
        Assert.Equal(new TsqlColumn("model_version", "nvarchar(200)", IsNullable: false), evalRecords["model_version"]);
        Assert.Equal(new TsqlColumn("epoch", "int", IsNullable: false), evalRecords["epoch"]);
        Assert.Equal(new TsqlColumn("score", "float", IsNullable: true), evalRecords["score"]);
        Assert.Equal(new TsqlColumn("is_passed", "bit", IsNullable: true), evalRecords["is_passed"]);
        Assert.Equal(new TsqlColumn("evaluated_at", "datetime2", IsNullable: true), evalRecords["evaluated_at"]);
        Assert.Equal(new TsqlColumn("attributes", "nvarchar(max)", IsNullable: true), evalRecords["attributes"]);
        Assert.Contains(("quality.trace_summaries", "has_complaint", "boolean", false), schema.Columns);
        Assert.Contains(("etl.load_batches", "batch_id", "bigint", false), schema.Columns);
        Assert.Contains("uq_eval_records__source__eval_run_id__case_id__metric__epoch", schema.ConstraintNames);
        Assert.Contains("df_trace_summaries__is_error", schema.ConstraintNames);
        Assert.Contains("ix_load_batches__file_hash", schema.IndexNames);
    }

    [Fact]
    public void Sqlserver_constraints_and_indexes_are_named_within_63_characters()
    {
        var schema = TsqlSchemaReader.ReadSchema(SqlserverMigrationsAndViews());

        var unnamed = schema.Constraints
            .Where(constraint => constraint.Name is null)
            .Select(constraint => $"an unnamed {constraint.Kind} constraint on {constraint.Table}");
        var tooLong = schema.ConstraintNames.Concat(schema.IndexNames)
            .Where(name => name.Length > 63)
            .Select(name => $"{name} ({name.Length} characters)");
        var problems = unnamed.Concat(tooLong).ToList();

        Assert.True(problems.Count == 0, "Names the three engines cannot share:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void ParseText_reports_a_syntax_error_with_its_position()
    {
        const string script = """
            create table dbo.widgets (
                widget_id bigint not null
            );
            create tabel dbo.gadgets (gadget_id int);
            """;

        var result = TsqlSchemaReader.ParseText(script);

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal(4, error.Line);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void ParseText_reports_a_syntax_error_inside_an_exec_string_at_its_line_in_the_file()
    {
        const string script = """
            if schema_id(N'quality') is null exec(N'create schema quality');
            exec(N'create table quality.widgets (
                widget_id bigint not null,
                widget_name nvarchar(20) nul
            )');
            """;

        var result = TsqlSchemaReader.ParseText(script);

        var error = Assert.Single(result.Errors);
        Assert.Equal(4, error.Line);
    }

    [Fact]
    public void ReadSchema_reads_exec_strings_alter_table_and_view_columns_through_ctes()
    {
        const string migration = """
            if schema_id(N'quality') is null exec(N'create schema quality');
            exec(N'create table quality.widgets (
                widget_id bigint identity(1, 1),
                widget_name nvarchar(20) not null constraint df_widgets__widget_name default N''unknown'',
                weight float(24),
                constraint pk_widgets primary key (widget_id)
            )');
            alter table quality.widgets add created_at datetime2(3) not null, notes nvarchar(max);
            alter table quality.widgets drop column weight;
            create index ix_widgets__created_at on quality.widgets (created_at);
            """;
        const string view = """
            create or alter view quality.widget_names as
            with widgets as (
                select widget_id, widget_name from quality.widgets
            ),

            final as (
                select
                    widgets.*,
                    upper(widgets.widget_name) as shouted_name
                from widgets
            )

            select * from final;
            GO
            create view quality.widget_counts as select count(*) from quality.widgets;
            """;

        var schema = TsqlSchemaReader.ReadSchemaFromTexts([("0001_create_widgets.sql", migration), ("widget_names.sql", view)]);

        var widgets = schema.Tables["quality.widgets"].Columns;
        Assert.Equal(
            [
                new TsqlColumn("widget_id", "bigint", IsNullable: false),
                new TsqlColumn("widget_name", "nvarchar(20)", IsNullable: false),
                new TsqlColumn("created_at", "datetime2", IsNullable: false),
                new TsqlColumn("notes", "nvarchar(max)", IsNullable: true),
            ],
            widgets);
        Assert.Equal(["widget_id", "widget_name", "shouted_name"], schema.Views["quality.widget_names"].Columns);
        Assert.Null(schema.Views["quality.widget_counts"].Columns);
        Assert.Equal(["df_widgets__widget_name", "pk_widgets"], schema.ConstraintNames.Order());
        Assert.Equal(["ix_widgets__created_at"], schema.IndexNames);
        Assert.Equal("text", widgets[1].TypeFamily);
        Assert.Equal("timestamp", widgets[2].TypeFamily);
    }

    [Fact]
    public void Migration_and_view_file_names_are_the_same_in_every_engine_folder()
    {
        foreach (var kind in new[] { "migrations", "views" })
        {
            var namesByEngine = Engines.ToDictionary(
                engine => engine,
                engine => SqlFiles(Path.Combine(DbFolder, engine, kind), SearchOption.TopDirectoryOnly)
                    .Select(path => Path.GetFileName(path))
                    .ToList());

            foreach (var engine in Engines.Skip(1))
            {
                var missing = namesByEngine[Engines[0]].Except(namesByEngine[engine]).ToList();
                var extra = namesByEngine[engine].Except(namesByEngine[Engines[0]]).ToList();
                Assert.True(
                    missing.Count == 0 && extra.Count == 0,
                    $"db/{engine}/{kind} differs from db/{Engines[0]}/{kind}: " +
                    $"missing [{string.Join(", ", missing)}], extra [{string.Join(", ", extra)}]");
            }
        }
        Assert.NotEmpty(SqlFiles(Path.Combine(DbFolder, "sqlserver", "migrations"), SearchOption.TopDirectoryOnly));
    }

    // DbUp's run order: migrations by ordinal name, then views by ordinal name.
    private static IEnumerable<string> SqlserverMigrationsAndViews() =>
        SqlFiles(Path.Combine(DbFolder, "sqlserver", "migrations"), SearchOption.TopDirectoryOnly)
            .Concat(SqlFiles(Path.Combine(DbFolder, "sqlserver", "views"), SearchOption.TopDirectoryOnly));

    // A folder with no scripts is not copied to the output folder: treat it as empty.
    private static List<string> SqlFiles(string folder, SearchOption searchOption) =>
        Directory.Exists(folder)
            ? Directory.GetFiles(folder, "*.sql", searchOption).Order(StringComparer.Ordinal).ToList()
            : [];
}
