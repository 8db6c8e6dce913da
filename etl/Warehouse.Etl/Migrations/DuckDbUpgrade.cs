using System.Data;
using DbUp.Builder;
using DbUp.Engine;
using DbUp.Engine.Output;
using DbUp.Engine.Transactions;
using DbUp.Support;
using DuckDB.NET.Data;

namespace Warehouse.Migrations;

/// <summary>
/// A thin DbUp provider for DuckDB, shaped like dbup-postgresql: a connection manager, a script
/// executor and a table journal, wired into an <see cref="UpgradeEngineBuilder"/>.
/// </summary>
public static class DuckDbUpgrade
{
    public static UpgradeEngineBuilder DuckDbDatabase(string connectionString, string journalSchema, string journalTable)
    {
        var builder = new UpgradeEngineBuilder();
        builder.Configure(configuration => configuration.ConnectionManager = new DuckDbConnectionManager(connectionString));
        builder.Configure(configuration => configuration.ScriptExecutor = new DuckDbScriptExecutor(
            () => configuration.ConnectionManager,
            () => configuration.Log,
            journalSchema,
            () => configuration.VariablesEnabled,
            configuration.ScriptPreprocessors,
            () => configuration.Journal));
        builder.Configure(configuration => configuration.Journal = new DuckDbTableJournal(
            () => configuration.ConnectionManager,
            () => configuration.Log,
            journalSchema,
            journalTable));
        return builder;
    }
}

public sealed class DuckDbConnectionManager(string connectionString)
    : DatabaseConnectionManager(_ => new DuckDBConnection(connectionString))
{
    // DuckDB runs a script of several statements as one command, so scripts are not split. A script of
    // only comments (a change another engine needs and DuckDB does not) runs nothing: DuckDB refuses
    // to prepare a command without a statement. DbUp still journals it.
    public override IEnumerable<string> SplitScriptIntoCommands(string scriptContents) =>
        scriptContents.Split('\n').All(line => string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith("--", StringComparison.Ordinal))
            ? []
            : [scriptContents];
}

public sealed class DuckDbScriptExecutor(
    Func<IConnectionManager> connectionManagerFactory,
    Func<IUpgradeLog> log,
    string schema,
    Func<bool> variablesEnabled,
    IEnumerable<IScriptPreprocessor> scriptPreprocessors,
    Func<IJournal> journalFactory)
    : ScriptExecutor(connectionManagerFactory, new DuckDbObjectParser(), log, schema, variablesEnabled,
        scriptPreprocessors, journalFactory)
{
    protected override string GetVerifySchemaSql(string schema) => $"create schema if not exists {QuoteSqlObjectName(schema)}";

    protected override void ExecuteCommandsWithinExceptionHandler(int index, SqlScript script, Action executeCallback)
    {
        try
        {
            executeCallback();
        }
        catch (DuckDBException exception)
        {
            Log().LogInformation("DuckDB exception has occurred in script: '{0}'", script.Name);
            Log().LogError("Script block number: {0}; Message: {1}", index, exception.Message);
            throw;
        }
    }
}

/// <summary>
/// The journal table, with dbup-postgresql's column names so `etl.schema_versions` reads the
/// same on DuckDB and PostgreSQL.
/// </summary>
public sealed class DuckDbTableJournal(
    Func<IConnectionManager> connectionManager,
    Func<IUpgradeLog> logger,
    string schema,
    string table)
    : TableJournal(connectionManager, logger, new DuckDbObjectParser(), schema, table)
{
    protected override string GetInsertJournalEntrySql(string scriptName, string applied) =>
        $"insert into {FqSchemaTableName} (scriptname, applied) values ({scriptName}, {applied})";

    protected override string GetJournalEntriesSql() => $"select scriptname from {FqSchemaTableName} order by scriptname";

    protected override string CreateSchemaTableSql(string quotedPrimaryKeyName) =>
        $"""
        create sequence if not exists {SchemaTableSchema}.seq_schema_versions__schemaversionsid start 1;
        create table {FqSchemaTableName} (
            schemaversionsid integer not null default nextval('{SchemaTableSchema}.seq_schema_versions__schemaversionsid'),
            scriptname varchar(255) not null,
            applied timestamp not null,
            constraint {quotedPrimaryKeyName} primary key (schemaversionsid)
        )
        """;

    // DuckDB.NET binds named parameters written as $name.
    protected override IDbCommand GetInsertScriptCommand(Func<IDbCommand> dbCommandFactory, SqlScript script)
    {
        var command = dbCommandFactory();
        command.CommandText = GetInsertJournalEntrySql("$scriptName", "$applied");
        command.Parameters.Add(new DuckDBParameter("scriptName", script.Name));
        command.Parameters.Add(new DuckDBParameter("applied", DateTime.UtcNow));
        return command;
    }
}

/// <summary>DuckDB quotes identifiers as the SQL standard does.</summary>
public sealed class DuckDbObjectParser() : SqlObjectParser("\"", "\"");
