using System.CommandLine;
using System.Data.Common;

namespace Warehouse.Commands;

/// <summary>Runs any SQL statement the user gives (it is their database) and prints what it returns.</summary>
public sealed class QueryCommand(Cli cli)
{
    public Command Build()
    {
        var sql = new Argument<string>("sql") { Description = "the SQL statement to run" };
        var format = new Option<string>("--format") { Description = "table (default), csv or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(QueryOutput.Formats);
        var command = new Command("query", "run a query and print the rows") { sql, format };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            await using var dbCommand = connection.CreateCommand();
            dbCommand.CommandText = parseResult.GetValue(sql)!;
            dbCommand.CommandTimeout = 0;
            DbDataReader reader;
            try
            {
                reader = await dbCommand.ExecuteReaderAsync(cancellationToken);
            }
            catch (DbException problem)
            {
                await cli.Error.WriteLineAsync($"warehouse: the query failed: {problem.Message}");
                return ExitCodes.UsageError;
            }

            await using (reader)
            {
                var printed = false;
                do
                {
                    if (reader.FieldCount > 0)
                    {
                        await QueryOutput.WriteAsync(reader, parseResult.GetValue(format)!, cli.Output, cancellationToken);
                        printed = true;
                    }
                }
                while (await reader.NextResultAsync(cancellationToken));

                if (!printed)
                {
                    await cli.Output.WriteLineAsync($"({Math.Max(0, reader.RecordsAffected)} rows affected)");
                }
            }

            return ExitCodes.Success;
        });
    }
}
