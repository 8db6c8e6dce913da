using System.Text;
using System.Text.RegularExpressions;
using Warehouse.Engines;
using Warehouse.Migrations;

namespace Warehouse.Tests.Reports;

/// <summary>A column as reports/README.md documents it: name, portable type, meaning.</summary>
public sealed record DocumentedColumn(string Name, string Type, string Meaning);

/// <summary>A view or table section of reports/README.md (<c>### quality.slice_deltas</c>).</summary>
public sealed record DocumentedObject(string Name, string Grain, IReadOnlyList<DocumentedColumn> Columns);

/// <summary>A column as an engine (or a T-SQL script) has it; <see cref="Type"/> is the portable type,
/// null when the source declares no type (a parsed T-SQL view); <see cref="EngineType"/> the engine's own.</summary>
public sealed record ActualColumn(string Name, string? Type, string EngineType);

/// <summary>
/// The view and table reference of reports/README.md, parsed: the sections under
/// <c>## View reference</c> and <c>## Table reference</c>, each a <c>### schema.name</c> heading,
/// a <c>Grain: ...</c> line and a <c>| column | type | meaning |</c> table.
/// </summary>
public sealed partial class ViewReferenceDocument
{
    public const string ViewSection = "View reference";
    public const string TableSection = "Table reference";

    /// <summary>The portable types the reference may use.</summary>
    public static readonly IReadOnlySet<string> PortableTypes =
        new HashSet<string>(["text", "integer", "float", "boolean", "date", "timestamp"], StringComparer.Ordinal);

    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    private ViewReferenceDocument(
        IReadOnlyDictionary<string, DocumentedObject> views,
        IReadOnlyDictionary<string, DocumentedObject> tables,
        IReadOnlyList<string> problems)
    {
        Views = views;
        Tables = tables;
        Problems = problems;
    }

    /// <summary>Documented views, keyed by schema-qualified name, in document order.</summary>
    public IReadOnlyDictionary<string, DocumentedObject> Views { get; }

    /// <summary>Documented tables, keyed by schema-qualified name, in document order.</summary>
    public IReadOnlyDictionary<string, DocumentedObject> Tables { get; }

    /// <summary>What could not be read (a section without grain, a malformed row, an unknown type).</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>The repository's root: the nearest folder above the test binaries holding reports/ and db/.</summary>
    public static string RepositoryRoot => Root.Value;

    public static string ReadmePath => Path.Combine(RepositoryRoot, "reports", "README.md");

    public static ViewReferenceDocument Load() => Parse(File.ReadAllText(ReadmePath));

    public static ViewReferenceDocument Parse(string markdown)
    {
        var views = new Dictionary<string, DocumentedObject>(StringComparer.Ordinal);
        var tables = new Dictionary<string, DocumentedObject>(StringComparer.Ordinal);
        var problems = new List<string>();
        Dictionary<string, DocumentedObject>? target = null;
        string? name = null;
        string? grain = null;
        var columns = new List<DocumentedColumn>();

        void Flush()
        {
            if (target is null || name is null)
            {
                return;
            }

            if (grain is null)
            {
                problems.Add($"### {name} has no `Grain: ...` line");
            }

            if (columns.Count == 0)
            {
                problems.Add($"### {name} has no `| column | type | meaning |` rows");
            }

            if (!target.TryAdd(name, new DocumentedObject(name, grain ?? "", columns.ToList())))
            {
                problems.Add($"### {name} is documented twice");
            }

            name = null;
            grain = null;
            columns.Clear();
        }

        var lineNumber = 0;
        foreach (var rawLine in markdown.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r').Trim();
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                Flush();
                var section = line[3..].Trim();
                target = section == ViewSection ? views : section == TableSection ? tables : null;
            }
            else if (line.StartsWith("### ", StringComparison.Ordinal) && target is not null)
            {
                Flush();
                name = line[4..].Trim().Trim('`');
            }
            else if (name is not null && line.StartsWith("Grain:", StringComparison.Ordinal))
            {
                grain = line["Grain:".Length..].Trim();
            }
            else if (name is not null && line.StartsWith('|'))
            {
                var cells = line.Trim('|').Split('|').Select(cell => cell.Trim()).ToList();
                if (cells.Count > 0 && (cells[0] == "column" || cells[0].StartsWith("---", StringComparison.Ordinal)))
                {
                    continue;
                }

                if (cells.Count != 3)
                {
                    problems.Add($"line {lineNumber} (### {name}) has {cells.Count} cells, expected 3: {line}");
                    continue;
                }

                var type = cells[1];
                if (!PortableTypes.Contains(type))
                {
                    problems.Add($"line {lineNumber}: {name}.{cells[0].Trim('`')} has type '{type}'; use one of {string.Join(", ", PortableTypes)}");
                }

                columns.Add(new DocumentedColumn(cells[0].Trim('`'), type, cells[2]));
            }
        }

        Flush();
        return new ViewReferenceDocument(views, tables, problems);
    }

    /// <summary>The portable type of an engine's information_schema data type; an unmapped type
    /// keeps its own name (lower case) so a comparison shows it instead of folding it in.</summary>
    public static string PortableType(EngineKind engine, string dataType) => (engine, dataType.ToLowerInvariant()) switch
    {
        (EngineKind.DuckDb, "varchar") => "text",
        (EngineKind.DuckDb, "integer" or "bigint" or "smallint" or "tinyint") => "integer",
        (EngineKind.DuckDb, "double" or "float") => "float",
        (EngineKind.DuckDb, "boolean") => "boolean",
        (EngineKind.DuckDb, "date") => "date",
        (EngineKind.DuckDb, "timestamp") => "timestamp",
        (EngineKind.Postgres, "character varying" or "text") => "text",
        (EngineKind.Postgres, "integer" or "bigint" or "smallint") => "integer",
        (EngineKind.Postgres, "double precision" or "real") => "float",
        (EngineKind.Postgres, "boolean") => "boolean",
        (EngineKind.Postgres, "date") => "date",
        (EngineKind.Postgres, "timestamp with time zone") => "timestamp",
        (EngineKind.SqlServer, "text") => "text",
        (EngineKind.SqlServer, "integer" or "bigint") => "integer",
        (EngineKind.SqlServer, "double") => "float",
        (EngineKind.SqlServer, "boolean") => "boolean",
        (EngineKind.SqlServer, "date") => "date",
        (EngineKind.SqlServer, "timestamp") => "timestamp",
        _ => dataType.ToLowerInvariant(),
    };

    /// <summary>
    /// The grain sentence of each view script of an engine, keyed by the view it creates: the
    /// header comment's text from <c>Grain:</c> to the first full stop that ends a sentence.
    /// </summary>
    public static IReadOnlyDictionary<string, (string Script, string? Grain)> ScriptGrains(string engineFolder)
    {
        var grains = new Dictionary<string, (string, string?)>(StringComparer.Ordinal);
        foreach (var script in Migrator.EmbeddedScripts(engineFolder, "views"))
        {
            var view = CreateView().Match(script.Contents);
            if (!view.Success)
            {
                continue;
            }

            var header = string.Join(' ', script.Contents.Split('\n')
                .Select(line => line.TrimEnd('\r'))
                .TakeWhile(line => line.StartsWith("--", StringComparison.Ordinal))
                .Select(line => line[2..].Trim()));
            var grain = GrainSentence().Match(header);
            grains[view.Groups["name"].Value.ToLowerInvariant()] =
                ($"db/{engineFolder}/views/{script.Name}", grain.Success ? grain.Groups["grain"].Value : null);
        }

        return grains;
    }

    /// <summary>
    /// Every difference between the documented objects of one kind and what a source has, each
    /// saying what to change in reports/README.md. <paramref name="requireAll"/>: every actual
    /// object must be documented (views); otherwise only documented ones are checked (tables).
    /// </summary>
    public static IReadOnlyList<string> Compare(
        string sourceName,
        string kind,
        IReadOnlyDictionary<string, DocumentedObject> documented,
        IReadOnlyDictionary<string, IReadOnlyList<ActualColumn>> actual,
        bool requireAll)
    {
        var differences = new List<string>();
        foreach (var missing in documented.Keys.Where(name => !actual.ContainsKey(name)).Order(StringComparer.Ordinal))
        {
            differences.Add($"reports/README.md documents {kind} {missing}, which {sourceName} does not have: remove its `### {missing}` section (or restore the {kind})");
        }

        if (requireAll)
        {
            foreach (var undocumented in actual.Keys.Where(name => !documented.ContainsKey(name)).Order(StringComparer.Ordinal))
            {
                differences.Add($"{sourceName} has {kind} {undocumented}, which reports/README.md does not document: add a `### {undocumented}` section with its grain and columns");
            }
        }

        foreach (var (name, section) in documented.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            if (!actual.TryGetValue(name, out var columns))
            {
                continue;
            }

            var documentedNames = section.Columns.Select(column => column.Name).ToList();
            var actualNames = columns.Select(column => column.Name).ToList();
            foreach (var extra in documentedNames.Except(actualNames, StringComparer.Ordinal))
            {
                differences.Add($"{name}.{extra} is documented but {sourceName} has no such column: remove its row");
            }

            foreach (var (column, index) in columns.Select((column, index) => (column, index)))
            {
                if (!documentedNames.Contains(column.Name, StringComparer.Ordinal))
                {
                    var after = index == 0 ? "as the first row" : $"after `{columns[index - 1].Name}`";
                    var type = column.Type is null ? "" : $" ({column.Type})";
                    differences.Add($"{name}.{column.Name}{type} exists in {sourceName} but is not documented: add its row {after}");
                }
            }

            var common = documentedNames.Intersect(actualNames, StringComparer.Ordinal).ToList();
            var actualOrder = actualNames.Intersect(documentedNames, StringComparer.Ordinal).ToList();
            if (!common.SequenceEqual(actualOrder, StringComparer.Ordinal))
            {
                differences.Add($"{name} rows are in the order ({string.Join(", ", common)}), {sourceName} has ({string.Join(", ", actualOrder)}): reorder the rows to the schema order");
            }

            var documentedTypes = section.Columns
                .GroupBy(column => column.Name, StringComparer.Ordinal)
                .ToDictionary(group => group.Key, group => group.First().Type, StringComparer.Ordinal);
            foreach (var column in columns.Where(column => column.Type is not null && documentedTypes.ContainsKey(column.Name)))
            {
                if (documentedTypes[column.Name] != column.Type)
                {
                    differences.Add($"{name}.{column.Name} is documented as {documentedTypes[column.Name]}, {sourceName} has {column.EngineType} ({column.Type}): change its type to {column.Type}");
                }
            }
        }

        return differences;
    }

    /// <summary>Documented grains against the scripts' grain sentences.</summary>
    public static IReadOnlyList<string> CompareGrains(
        IReadOnlyDictionary<string, DocumentedObject> documented,
        IReadOnlyDictionary<string, (string Script, string? Grain)> scripts)
    {
        var differences = new List<string>();
        foreach (var (name, section) in documented.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            if (!scripts.TryGetValue(name, out var script))
            {
                differences.Add($"reports/README.md documents view {name}, which no view script creates: remove its section");
            }
            else if (script.Grain is null)
            {
                differences.Add($"{script.Script} has no `Grain:` sentence in its header comment: add one (\"Grain: one row per ...\")");
            }
            else if (section.Grain != script.Grain)
            {
                differences.Add($"{name}: reports/README.md says \"Grain: {section.Grain}\"; {script.Script} says \"Grain: {script.Grain}\": copy the script's sentence");
            }
        }

        foreach (var undocumented in scripts.Keys.Where(name => !documented.ContainsKey(name)).Order(StringComparer.Ordinal))
        {
            differences.Add($"{scripts[undocumented].Script} creates {undocumented}, which reports/README.md does not document: add a `### {undocumented}` section");
        }

        return differences;
    }

    /// <summary>
    /// The section as it should read for what a source has: documented meanings kept where the
    /// column is known, <c>TODO</c> where it is new; grains from the scripts.
    /// </summary>
    public static string Render(
        string heading,
        IReadOnlyDictionary<string, DocumentedObject> documented,
        IReadOnlyDictionary<string, IReadOnlyList<ActualColumn>> actual,
        IReadOnlyDictionary<string, (string Script, string? Grain)>? grains,
        IEnumerable<string> order)
    {
        var text = new StringBuilder($"## {heading}\n");
        foreach (var name in order.Where(actual.ContainsKey))
        {
            documented.TryGetValue(name, out var section);
            var grain = grains is not null && grains.TryGetValue(name, out var script) && script.Grain is not null
                ? script.Grain
                : section?.Grain ?? "TODO";
            text.Append($"\n### {name}\n\nGrain: {grain}\n\n| column | type | meaning |\n|---|---|---|\n");
            foreach (var column in actual[name])
            {
                var known = section?.Columns.FirstOrDefault(candidate => candidate.Name == column.Name);
                text.Append($"| `{column.Name}` | {column.Type ?? known?.Type ?? "TODO"} | {known?.Meaning ?? "TODO: what it means (unit, range, NULL)."} |\n");
            }
        }

        return text.ToString();
    }

    /// <summary>Writes <paramref name="text"/> to the test output folder and returns the path.</summary>
    public static string WriteExpected(string fileName, string text)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "ViewReference");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, fileName);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "reports", "README.md"))
                && Directory.Exists(Path.Combine(folder.FullName, "db")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No folder above {AppContext.BaseDirectory} holds reports/README.md and db/; run the tests from a clone of the repository.");
    }

    [GeneratedRegex(@"create\s+(?:or\s+(?:replace|alter)\s+)?view\s+(?<name>\w+\.\w+)", RegexOptions.IgnoreCase)]
    private static partial Regex CreateView();

    // A sentence ends at a full stop followed by white space or the end of the header, so "0..1" does not end it.
    [GeneratedRegex(@"Grain:\s*(?<grain>.*?\.)(?=\s|$)")]
    private static partial Regex GrainSentence();
}
