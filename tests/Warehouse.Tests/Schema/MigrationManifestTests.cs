using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Warehouse.Tests.Schema;

/// <summary>
/// DbUp journals only a script's name, no checksum: an edited migration is silently skipped on
/// every database where it already ran, and a renamed one runs again. db/shipped-migrations.sha256
/// holds the hash of every shipped script, and these tests make an edit, an unlisted script or a
/// broken numbering fail the build.
/// </summary>
public sealed class MigrationManifestTests
{
    private static readonly string DbFolder = Path.Combine(AppContext.BaseDirectory, "db");

    [Fact]
    public void Shipped_scripts_exist_and_match_their_manifest_hashes()
    {
        var problems = MigrationManifest.FindChangedScripts(DbFolder);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.NotEmpty(MigrationManifest.Read(Path.Combine(DbFolder, MigrationManifest.FileName)).Entries);
    }

    [Fact]
    public void Every_migration_script_is_listed_in_the_manifest()
    {
        var problems = MigrationManifest.FindUnlistedScripts(DbFolder);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.NotEmpty(MigrationManifest.MigrationScripts(DbFolder));
    }

    [Fact]
    public void Migration_file_names_are_numbered_contiguously_from_0001_in_each_engine_folder()
    {
        var problems = MigrationManifest.FindNamingProblems(DbFolder);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void FindChangedScripts_reports_an_edited_script_on_a_copy()
    {
        using var copy = new DbFolderCopy(DbFolder);
        Assert.Empty(MigrationManifest.FindChangedScripts(copy.Folder));
        var edited = MigrationManifest.MigrationScripts(copy.Folder)[0];
        File.AppendAllText(Path.Combine(copy.Folder, edited), "-- a harmless-looking edit\n");

        var problems = MigrationManifest.FindChangedScripts(copy.Folder);

        var problem = Assert.Single(problems);
        Assert.Contains(edited, problem);
        Assert.Contains("must not be edited", problem);
    }

    [Fact]
    public void FindChangedScripts_reports_a_script_whose_line_endings_changed_on_a_copy()
    {
        // The hash is of the bytes as stored (.gitattributes pins *.sql to LF), so a checkout
        // that turned LF into CRLF is an edit too, as DbUp would run different bytes.
        using var copy = new DbFolderCopy(DbFolder);
        var converted = MigrationManifest.MigrationScripts(copy.Folder)[^1];
        var path = Path.Combine(copy.Folder, converted);
        File.WriteAllText(path, File.ReadAllText(path).ReplaceLineEndings("\r\n"));

        var problem = Assert.Single(MigrationManifest.FindChangedScripts(copy.Folder));

        Assert.Contains(converted, problem);
    }

    [Fact]
    public void FindChangedScripts_reports_a_listed_script_that_is_gone_and_a_malformed_line_on_a_copy()
    {
        using var copy = new DbFolderCopy(DbFolder);
        var removed = MigrationManifest.MigrationScripts(copy.Folder)[0];
        File.Delete(Path.Combine(copy.Folder, removed));
        File.AppendAllText(Path.Combine(copy.Folder, MigrationManifest.FileName), "not a checksum line\n");

        var problems = MigrationManifest.FindChangedScripts(copy.Folder);

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, problem => problem.Contains(removed) && problem.Contains("does not exist"));
        Assert.Contains(problems, problem => problem.Contains("not a checksum line"));
    }

    [Fact]
    public void FindUnlistedScripts_reports_a_new_script_missing_from_the_manifest_on_a_copy()
    {
        using var copy = new DbFolderCopy(DbFolder);
        Assert.Empty(MigrationManifest.FindUnlistedScripts(copy.Folder));
        var engine = MigrationManifest.MigrationScripts(copy.Folder)[0].Split('/')[0];
        var added = $"{engine}/migrations/9999_add_widgets.sql";
        File.WriteAllText(Path.Combine(copy.Folder, added), "select 1;\n");

        var problem = Assert.Single(MigrationManifest.FindUnlistedScripts(copy.Folder));

        Assert.Contains(added, problem);
        Assert.Contains("sha256sum", problem);
    }

    [Fact]
    public void FindNamingProblems_reports_a_bad_name_a_gap_and_a_duplicate_number_on_a_copy()
    {
        using var copy = new DbFolderCopy(DbFolder);
        var scripts = MigrationManifest.MigrationScripts(copy.Folder);
        var engine = scripts[0].Split('/')[0];
        var count = scripts.Count(script => script.StartsWith(engine + "/", StringComparison.Ordinal));
        var migrations = Path.Combine(copy.Folder, engine, "migrations");
        File.WriteAllText(Path.Combine(migrations, $"{count + 2:D4}_add_gadgets.sql"), "select 1;\n");
        File.WriteAllText(Path.Combine(migrations, $"{count + 2:D4}_add_sprockets.sql"), "select 1;\n");
        File.WriteAllText(Path.Combine(migrations, "0010-AddWidgets.sql"), "select 1;\n");

        var problems = MigrationManifest.FindNamingProblems(copy.Folder);

        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, problem => problem.Contains("0010-AddWidgets.sql"));
        Assert.Contains(problems, problem => problem.Contains($"{count + 1:D4}") && problem.Contains("missing"));
        Assert.Contains(problems, problem => problem.Contains($"{count + 2:D4}") && problem.Contains("more than one"));
    }

    /// <summary>A throwaway copy of the migration scripts and the manifest, deleted on dispose.</summary>
    private sealed class DbFolderCopy : IDisposable
    {
        public DbFolderCopy(string dbFolder)
        {
            Folder = Path.Combine(Path.GetTempPath(), $"wh_manifest_{Guid.NewGuid():N}");
            foreach (var script in MigrationManifest.MigrationScripts(dbFolder))
            {
                var target = Path.Combine(Folder, script);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(Path.Combine(dbFolder, script), target);
            }

            File.Copy(
                Path.Combine(dbFolder, MigrationManifest.FileName),
                Path.Combine(Folder, MigrationManifest.FileName));
        }

        public string Folder { get; }

        public void Dispose() => Directory.Delete(Folder, recursive: true);
    }
}

/// <summary>
/// Checks db/shipped-migrations.sha256 (sha256sum format, paths relative to db/) against the
/// migration scripts in a db folder: the repository's, or a test's copy.
/// </summary>
public static partial class MigrationManifest
{
    public const string FileName = "shipped-migrations.sha256";

    public const string AddCommand = $"cd db && sha256sum <engine>/migrations/NNNN_name.sql >> {FileName}";

    public sealed record Entry(int LineNumber, string Hash, string RelativePath);

    /// <summary>Every migration script under <paramref name="dbFolder"/>, as a '/'-separated path
    /// relative to it (<c>duckdb/migrations/0001_create_schemas.sql</c>), in ordinal order.</summary>
    public static IReadOnlyList<string> MigrationScripts(string dbFolder) =>
        Directory.GetDirectories(dbFolder)
            .Select(engineFolder => Path.Combine(engineFolder, "migrations"))
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.GetFiles(folder, "*.sql"))
            .Select(path => Path.GetRelativePath(dbFolder, path).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Reads the manifest; blank lines and lines starting with '#' are comments (as
    /// `sha256sum -c` treats them), any other line not in sha256sum format is a problem.</summary>
    public static (IReadOnlyList<Entry> Entries, IReadOnlyList<string> Problems) Read(string manifestPath)
    {
        var entries = new List<Entry>();
        var problems = new List<string>();
        var lines = File.ReadAllLines(manifestPath);
        for (var index = 0; index < lines.Length; index++)
        {
            var line = lines[index];
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var match = ChecksumLine().Match(line);
            if (!match.Success)
            {
                problems.Add($"{FileName} line {index + 1} is not '<sha256 hex>  <path>': \"{line}\"");
                continue;
            }

            entries.Add(new Entry(index + 1, match.Groups["hash"].Value.ToLowerInvariant(), match.Groups["path"].Value));
        }

        foreach (var duplicate in entries.GroupBy(entry => entry.RelativePath, StringComparer.Ordinal).Where(group => group.Count() > 1))
        {
            problems.Add($"{FileName} lists {duplicate.Key} more than once (lines {string.Join(", ", duplicate.Select(entry => entry.LineNumber))})");
        }

        return (entries, problems);
    }

    /// <summary>Every manifest line must name an existing script whose bytes hash as recorded.</summary>
    public static IReadOnlyList<string> FindChangedScripts(string dbFolder)
    {
        var manifestPath = Path.Combine(dbFolder, FileName);
        if (!File.Exists(manifestPath))
        {
            return [$"{manifestPath} does not exist; create it with: cd db && sha256sum */migrations/*.sql > {FileName}"];
        }

        var (entries, problems) = Read(manifestPath);
        var found = problems.ToList();
        foreach (var entry in entries)
        {
            var path = Path.Combine(dbFolder, entry.RelativePath);
            if (!File.Exists(path))
            {
                found.Add($"{entry.RelativePath} is listed in {FileName} (line {entry.LineNumber}) but does not exist: " +
                          "a shipped script must not be renamed or removed (DbUp would run a renamed one again); restore it");
                continue;
            }

            var actual = Sha256(path);
            if (actual != entry.Hash)
            {
                found.Add($"{entry.RelativePath} has changed since it shipped (sha256 {actual}, {FileName} line {entry.LineNumber} " +
                          $"has {entry.Hash}): shipped scripts must not be edited, because DbUp journals only the name and " +
                          "skips an edited script wherever it already ran. Restore it and fix forward with a new script.");
            }
        }

        return found;
    }

    /// <summary>Every migration script on disk must be listed in the manifest.</summary>
    public static IReadOnlyList<string> FindUnlistedScripts(string dbFolder)
    {
        var manifestPath = Path.Combine(dbFolder, FileName);
        var listed = File.Exists(manifestPath)
            ? Read(manifestPath).Entries.Select(entry => entry.RelativePath).ToHashSet(StringComparer.Ordinal)
            : [];
        return MigrationScripts(dbFolder)
            .Where(script => !listed.Contains(script))
            .Select(script => $"{script} is not listed in db/{FileName}; when it ships add its line: " +
                              $"cd db && sha256sum {script} >> {FileName}")
            .ToList();
    }

    /// <summary>Names are <c>NNNN_lower_snake.sql</c>, numbered 0001, 0002, ... with no gap or
    /// repeat in each engine folder: DbUp runs them in ordinal name order.</summary>
    public static IReadOnlyList<string> FindNamingProblems(string dbFolder)
    {
        var problems = new List<string>();
        foreach (var engineScripts in MigrationScripts(dbFolder).GroupBy(script => script[..script.LastIndexOf('/')]))
        {
            var numbers = new List<int>();
            foreach (var script in engineScripts)
            {
                var name = script[(script.LastIndexOf('/') + 1)..];
                if (!MigrationName().IsMatch(name))
                {
                    problems.Add($"{script} does not match NNNN_lower_snake_case.sql ({MigrationName()})");
                    continue;
                }

                numbers.Add(int.Parse(name[..4], System.Globalization.CultureInfo.InvariantCulture));
            }

            foreach (var repeated in numbers.GroupBy(number => number).Where(group => group.Count() > 1))
            {
                problems.Add($"{engineScripts.Key} has more than one script numbered {repeated.Key:D4}");
            }

            var highest = numbers.Count == 0 ? 0 : numbers.Max();
            foreach (var missing in Enumerable.Range(1, highest).Except(numbers))
            {
                problems.Add($"{engineScripts.Key} has no script numbered {missing:D4}: numbers must run from 0001 without a gap (missing)");
            }
        }

        return problems;
    }

    /// <summary>SHA-256 of the file's bytes as stored, lower-case hex (as sha256sum prints it).</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    // sha256sum writes "<hash>  <path>" (text mode) or "<hash> *<path>" (binary mode).
    [GeneratedRegex(@"^(?<hash>[0-9a-fA-F]{64}) [ *](?<path>\S.*)$")]
    private static partial Regex ChecksumLine();

    [GeneratedRegex(@"^[0-9]{4}_[a-z0-9_]+\.sql$")]
    private static partial Regex MigrationName();
}
