using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using DbUp;
using DbUp.Builder;
using DbUp.Engine;
using DbUp.Helpers;
using Warehouse.Engines;

namespace Warehouse.Migrations;

public sealed record MigrationResult(IReadOnlyList<string> AppliedMigrations, IReadOnlyList<string> AppliedViews)
{
    public bool AnythingRan => AppliedMigrations.Count > 0 || AppliedViews.Count > 0;
}

/// <summary>
/// Applies the engine's run-once migrations (journaled in etl.schema_versions), then its views.
/// Views are re-runnable scripts: they run again whenever any view script changed (their journal
/// names carry a hash of all view scripts, since a changed view can drop its dependants) and
/// after any migration ran (a migration may have had to drop them).
/// </summary>
public sealed class Migrator(WarehouseEngine engine, Func<string, IReadOnlyList<SqlScript>>? scripts = null)
{
    public const string JournalSchema = "etl";
    public const string JournalTable = "schema_versions";

    private static readonly Assembly ScriptAssembly = typeof(Migrator).Assembly;

    public WarehouseEngine Engine { get; } = engine;

    public static IReadOnlyList<SqlScript> EmbeddedScripts(string engineFolder, string kind)
    {
        var prefix = $"db/{engineFolder}/{kind}/";
        return ScriptAssembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(name =>
            {
                using var stream = ScriptAssembly.GetManifestResourceStream(name)!;
                using var reader = new StreamReader(stream, Encoding.UTF8);
                return new SqlScript(name[prefix.Length..], reader.ReadToEnd());
            })
            .ToList();
    }

    public static string EngineFolder(EngineKind kind) => kind switch
    {
        EngineKind.DuckDb => "duckdb",
        EngineKind.Postgres => "postgres",
        EngineKind.SqlServer => "sqlserver",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Scripts not yet applied: what `migrate` would run.</summary>
    public IReadOnlyList<string> Pending()
    {
        EnsureJournalSchema();
        return [.. BuildMigrations().GetScriptsToExecute().Select(script => script.Name),
                .. BuildViews(force: false).GetScriptsToExecute().Select(script => script.Name)];
    }

    public MigrationResult Migrate(bool forceViews = false)
    {
        if (Engine.Kind == EngineKind.SqlServer)
        {
            // A fresh SQL Server (docker compose, a new Azure SQL server) has no warehouse
            // database yet; DbUp creates it when the login may. PostgreSQL images create theirs.
            EnsureDatabase.For.SqlDatabase(Engine.ConnectionString, new DbUp.Engine.Output.NoOpUpgradeLog());
        }

        EnsureJournalSchema();
        var migrations = BuildMigrations().PerformUpgrade();
        if (!migrations.Successful)
        {
            throw new MigrationException(Describe(migrations), migrations.Error);
        }

        var applied = migrations.Scripts.Select(script => script.Name).ToList();
        var views = BuildViews(forceViews || applied.Count > 0).PerformUpgrade();
        if (!views.Successful)
        {
            throw new MigrationException(Describe(views), views.Error);
        }

        return new MigrationResult(applied, views.Scripts.Select(script => script.Name).ToList());
    }

    /// <summary>The engine's scripts of one kind (migrations or views); tests may supply their own.</summary>
    private IReadOnlyList<SqlScript> Scripts(string kind) =>
        scripts?.Invoke(kind) ?? EmbeddedScripts(EngineFolder(Engine.Kind), kind);

    private static string Describe(DatabaseUpgradeResult result) =>
        $"script {result.ErrorScript?.Name ?? "(unknown)"} failed: {result.Error?.Message}";

    private UpgradeEngine BuildMigrations() =>
        Builder()
            .WithScripts(Scripts("migrations"))
            .WithTransactionPerScript()
            .WithVariablesDisabled()
            .LogToNowhere()
            .Build();

    private UpgradeEngine BuildViews(bool force)
    {
        var scripts = Scripts("views");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Concat(scripts.Select(script => script.Name + "\n" + script.Contents + "\n")))))[..12];
        var named = scripts.Select(script => new SqlScript($"views/{script.Name}@{hash}", script.Contents)).ToList();
        var builder = Builder()
            .WithScripts(named)
            .WithTransactionPerScript()
            .WithVariablesDisabled()
            .LogToNowhere();
        if (force)
        {
            // Re-run every view but still journal the current hash, so the next command is quiet.
            builder.Configure(configuration => configuration.Journal = new RerunAllJournal(configuration.Journal));
        }

        return builder.Build();
    }

    private UpgradeEngineBuilder Builder() => Engine.Kind switch
    {
        EngineKind.DuckDb => DuckDbUpgrade.DuckDbDatabase(Engine.ConnectionString, JournalSchema, JournalTable),
        EngineKind.Postgres => DeployChanges.To.PostgresqlDatabase(Engine.ConnectionString)
            .JournalToPostgresqlTable(JournalSchema, JournalTable),
        EngineKind.SqlServer => DeployChanges.To.SqlDatabase(Engine.ConnectionString)
            .JournalToSqlTable(JournalSchema, JournalTable),
        _ => throw new ArgumentOutOfRangeException(nameof(Engine)),
    };

    /// <summary>The journal lives in schema etl, which must exist before DbUp creates the journal table.</summary>
    private void EnsureJournalSchema()
    {
        using var connection = Engine.CreateConnection();
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = Engine.Kind == EngineKind.SqlServer
            ? $"if schema_id(N'{JournalSchema}') is null exec(N'create schema {JournalSchema}')"
            : $"create schema if not exists {JournalSchema}";
        command.ExecuteNonQuery();
    }

    /// <summary>Reports nothing as executed, so every view script runs; stores entries as usual.</summary>
    private sealed class RerunAllJournal(IJournal inner) : IJournal
    {
        public string[] GetExecutedScripts() => [];

        // A forced re-run happens only after migrations ran, so a repeated journal row is rare
        // and harmless: the journal lists what ran, and when.
        public void StoreExecutedScript(SqlScript script, Func<System.Data.IDbCommand> dbCommandFactory) =>
            inner.StoreExecutedScript(script, dbCommandFactory);

        public void EnsureTableExistsAndIsLatestVersion(Func<System.Data.IDbCommand> dbCommandFactory) =>
            inner.EnsureTableExistsAndIsLatestVersion(dbCommandFactory);
    }
}

public sealed class MigrationException(string message, Exception? inner) : Exception(message, inner);
