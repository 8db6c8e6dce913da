using Warehouse.Engines;
using Warehouse.Migrations;
using Warehouse.Tests.Schema;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Reports;

/// <summary>
/// The view and table reference in reports/README.md against what the migrations build, per engine:
/// the documented views are exactly the views of schema quality, each with the live columns in
/// schema order and the portable type of the engine's type, and its grain is the `Grain:` sentence
/// of the engine's view script; each documented table has its live columns and types. A failure
/// says what to change in the README and writes the section as it should read to the test output
/// folder (ViewReference/expected-*.md) to paste from. Each subclass says only how to get a database.
/// </summary>
public abstract class ViewReferenceSuite : DatabaseSuite
{
    protected override bool MigrateOnInitialize => true;

    private string EngineFolder => Migrator.EngineFolder(Engine.Kind);

    [Fact]
    public async Task ViewReference_lists_every_quality_view_with_its_live_columns_in_order_and_type()
    {
        var document = ViewReferenceDocument.Load();
        var live = await LiveSchema.ReadAsync(Engine, Token);
        var views = Actual(live.Views.Where(pair => pair.Key.StartsWith("quality.", StringComparison.Ordinal)));

        var differences = ViewReferenceDocument.Compare(EngineFolder, "view", document.Views, views, requireAll: true);

        AssertNoDifferences(document, differences, "view-reference", ViewReferenceDocument.Render(
            ViewReferenceDocument.ViewSection, document.Views, views, ViewReferenceDocument.ScriptGrains(EngineFolder),
            ViewReferenceDocument.ScriptGrains(EngineFolder).Keys.Concat(views.Keys.Order(StringComparer.Ordinal)).Distinct()));
    }

    [Fact]
    public void ViewReference_grain_is_the_grain_sentence_of_each_view_script()
    {
        var document = ViewReferenceDocument.Load();

        var differences = ViewReferenceDocument.CompareGrains(document.Views, ViewReferenceDocument.ScriptGrains(EngineFolder));

        AssertNoDifferences(document, differences, "grains", expected: null);
    }

    [Fact]
    public async Task TableReference_lists_the_live_columns_of_each_documented_table_in_order_and_type()
    {
        var document = ViewReferenceDocument.Load();
        var live = await LiveSchema.ReadAsync(Engine, Token);
        var tables = Actual(live.Tables);

        var differences = ViewReferenceDocument.Compare(EngineFolder, "table", document.Tables, tables, requireAll: false);

        AssertNoDifferences(document, differences, "table-reference", ViewReferenceDocument.Render(
            ViewReferenceDocument.TableSection, document.Tables, tables, grains: null, document.Tables.Keys));
    }

    private IReadOnlyDictionary<string, IReadOnlyList<ActualColumn>> Actual(
        IEnumerable<KeyValuePair<string, IReadOnlyList<LiveColumn>>> objects) =>
        objects.ToDictionary(
            pair => pair.Key,
            pair => (IReadOnlyList<ActualColumn>)pair.Value
                .Select(column => new ActualColumn(column.Name, ViewReferenceDocument.PortableType(Engine.Kind, column.DataType), column.DataType))
                .ToList(),
            StringComparer.Ordinal);

    private void AssertNoDifferences(ViewReferenceDocument document, IReadOnlyList<string> differences, string part, string? expected) =>
        ViewReferenceAssert.NoDifferences(EngineFolder, document, differences, part, expected);
}

public sealed class DuckDbViewReferenceTests : ViewReferenceSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class PostgresViewReferenceTests : ViewReferenceSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

/// <summary>
/// The same reference against db/sqlserver, read without a server by parsing the scripts
/// (<see cref="TsqlSchemaReader"/>): view column names and order (a parsed view has no types),
/// table columns with their type family, and the grain sentences of the T-SQL view scripts.
/// </summary>
public sealed class SqlServerViewReferenceTests
{
    private const string EngineFolder = "sqlserver";

    [Fact]
    public void ViewReference_lists_every_quality_view_with_the_tsql_view_columns_in_order()
    {
        var document = ViewReferenceDocument.Load();
        var schema = ReadTsqlSchema();
        var unnamed = schema.Views.Values.Where(view => view.Columns is null).Select(view => view.Name).ToList();
        Assert.True(unnamed.Count == 0, $"db/sqlserver views with an unnamed select-list column: {string.Join(", ", unnamed)}; alias every column");
        var views = schema.Views
            .Where(pair => pair.Key.StartsWith("quality.", StringComparison.Ordinal))
            .ToDictionary(
                pair => pair.Key,
                pair => (IReadOnlyList<ActualColumn>)pair.Value.Columns!.Select(column => new ActualColumn(column, null, "untyped")).ToList(),
                StringComparer.Ordinal);

        var differences = ViewReferenceDocument.Compare("db/sqlserver", "view", document.Views, views, requireAll: true);

        ViewReferenceAssert.NoDifferences(EngineFolder, document, differences, "view-reference", ViewReferenceDocument.Render(
            ViewReferenceDocument.ViewSection, document.Views, views, ViewReferenceDocument.ScriptGrains(EngineFolder),
            ViewReferenceDocument.ScriptGrains(EngineFolder).Keys.Concat(views.Keys.Order(StringComparer.Ordinal)).Distinct()));
    }

    [Fact]
    public void ViewReference_grain_is_the_grain_sentence_of_each_tsql_view_script()
    {
        var document = ViewReferenceDocument.Load();

        var differences = ViewReferenceDocument.CompareGrains(document.Views, ViewReferenceDocument.ScriptGrains(EngineFolder));

        ViewReferenceAssert.NoDifferences(EngineFolder, document, differences, "grains", expected: null);
    }

    [Fact]
    public void TableReference_lists_the_tsql_columns_of_each_documented_table_in_order_and_type()
    {
        var document = ViewReferenceDocument.Load();
        var tables = ReadTsqlSchema().Tables.ToDictionary(
            pair => pair.Key,
            pair => (IReadOnlyList<ActualColumn>)pair.Value.Columns
                .Select(column => new ActualColumn(column.Name, ViewReferenceDocument.PortableType(EngineKind.SqlServer, column.TypeFamily), column.Type))
                .ToList(),
            StringComparer.Ordinal);

        var differences = ViewReferenceDocument.Compare("db/sqlserver", "table", document.Tables, tables, requireAll: false);

        ViewReferenceAssert.NoDifferences(EngineFolder, document, differences, "table-reference", ViewReferenceDocument.Render(
            ViewReferenceDocument.TableSection, document.Tables, tables, grains: null, document.Tables.Keys));
    }

    private static TsqlSchema ReadTsqlSchema() =>
        TsqlSchemaReader.ReadSchemaFromTexts(new[] { "migrations", "views" }
            .SelectMany(kind => Migrator.EmbeddedScripts(EngineFolder, kind))
            .Select(script => (script.Name, script.Contents)));
}

/// <summary>The reference checker itself: drift in a README is reported as what to change.</summary>
public sealed class ViewReferenceDocumentTests
{
    private const string Readme = """
        # reports/

        ## View reference

        ### quality.widget_counts

        Grain: one row per widget.

        | column | type | meaning |
        |---|---|---|
        | `widget_name` | text | The widget. |
        | `n_widgets` | float | How many. |
        | `colour` | text | Gone from the view. |

        ### quality.retired_view

        Grain: one row per nothing.

        | column | type | meaning |
        |---|---|---|
        | `x` | integer | x. |

        ## Table reference

        ### quality.widgets

        | column | type | meaning |
        |---|---|---|
        | `widget_name` | string | The widget. |
        """;

    [Fact]
    public void Parse_reads_sections_grains_and_rows_and_reports_what_it_cannot_read()
    {
        var document = ViewReferenceDocument.Parse(Readme);

        Assert.Equal(["quality.widget_counts", "quality.retired_view"], document.Views.Keys);
        Assert.Equal("one row per widget.", document.Views["quality.widget_counts"].Grain);
        Assert.Equal(["widget_name", "n_widgets", "colour"], document.Views["quality.widget_counts"].Columns.Select(column => column.Name));
        Assert.Equal(["quality.widgets"], document.Tables.Keys);
        Assert.Equal(
            [
                "line 29: quality.widgets.widget_name has type 'string'; use one of text, integer, float, boolean, date, timestamp",
                "### quality.widgets has no `Grain: ...` line",
            ],
            document.Problems);
    }

    [Fact]
    public void Compare_says_what_to_change_for_every_drift_at_once()
    {
        var document = ViewReferenceDocument.Parse(Readme);
        var actual = new Dictionary<string, IReadOnlyList<ActualColumn>>(StringComparer.Ordinal)
        {
            ["quality.widget_counts"] =
            [
                new("n_widgets", "integer", "BIGINT"),
                new("widget_name", "text", "VARCHAR"),
                new("share", "float", "DOUBLE"),
            ],
            ["quality.new_view"] = [new("y", "text", "VARCHAR")],
        };

        var differences = ViewReferenceDocument.Compare("duckdb", "view", document.Views, actual, requireAll: true);

        Assert.Equal(
            [
                "reports/README.md documents view quality.retired_view, which duckdb does not have: remove its `### quality.retired_view` section (or restore the view)",
                "duckdb has view quality.new_view, which reports/README.md does not document: add a `### quality.new_view` section with its grain and columns",
                "quality.widget_counts.colour is documented but duckdb has no such column: remove its row",
                "quality.widget_counts.share (float) exists in duckdb but is not documented: add its row after `widget_name`",
                "quality.widget_counts rows are in the order (widget_name, n_widgets), duckdb has (n_widgets, widget_name): reorder the rows to the schema order",
                "quality.widget_counts.n_widgets is documented as float, duckdb has BIGINT (integer): change its type to integer",
            ],
            differences);
    }

    [Fact]
    public void CompareGrains_reports_a_grain_that_is_not_the_script_sentence()
    {
        var document = ViewReferenceDocument.Parse(Readme);
        var scripts = new Dictionary<string, (string Script, string? Grain)>(StringComparer.Ordinal)
        {
            ["quality.widget_counts"] = ("db/duckdb/views/0100_create_widget_counts.sql", "one row per widget × day."),
            ["quality.retired_view"] = ("db/duckdb/views/0110_create_retired_view.sql", "one row per nothing."),
        };

        var differences = ViewReferenceDocument.CompareGrains(document.Views, scripts);

        Assert.Equal(
            [
                "quality.widget_counts: reports/README.md says \"Grain: one row per widget.\"; db/duckdb/views/0100_create_widget_counts.sql says \"Grain: one row per widget × day.\": copy the script's sentence",
            ],
            differences);
    }

    [Fact]
    public void ScriptGrains_reads_the_grain_sentence_of_every_view_script_of_every_engine()
    {
        foreach (var engine in new[] { "duckdb", "postgres", "sqlserver" })
        {
            var grains = ViewReferenceDocument.ScriptGrains(engine);

            Assert.Equal(Migrator.EmbeddedScripts(engine, "views").Count, grains.Count);
            Assert.All(grains.Values, grain => Assert.False(string.IsNullOrWhiteSpace(grain.Grain), $"{grain.Script} has no Grain sentence"));
            Assert.Equal("one row per comparison × side (offline/online) × metric × slice.", grains["quality.slice_deltas"].Grain);
        }
    }
}

/// <summary>One failure message for a reference check: the differences, what to do, and where the expected section was written.</summary>
internal static class ViewReferenceAssert
{
    public static void NoDifferences(string engineFolder, ViewReferenceDocument document, IReadOnlyList<string> differences, string part, string? expected)
    {
        var all = document.Problems.Select(problem => $"reports/README.md: {problem}").Concat(differences).ToList();
        if (all.Count == 0)
        {
            return;
        }

        var message = $"{all.Count} difference(s) between {ViewReferenceDocument.ReadmePath} and {engineFolder}:\n" + string.Join("\n", all);
        if (expected is not null)
        {
            var path = ViewReferenceDocument.WriteExpected($"expected-{part}-{engineFolder}.md", expected);
            message += $"\nThe section as it should read for {engineFolder} (documented meanings kept, TODO where new) is in {path}; paste it into reports/README.md and fill in the TODOs.";
        }

        Assert.Fail(message);
    }
}
