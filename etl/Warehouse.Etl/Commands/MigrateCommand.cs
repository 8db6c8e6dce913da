using System.CommandLine;

namespace Warehouse.Commands;

public sealed class MigrateCommand(Cli cli)
{
    public Command Build() => cli.Define(new Command("migrate", "apply pending migrations and views; print what ran"),
        async (parseResult, _) =>
        {
            var engine = cli.OpenWarehouse(parseResult, out var result);
            await cli.Output.WriteLineAsync($"{engine.Name} {engine.DisplayConnection}");
            if (!result.AnythingRan)
            {
                await cli.Output.WriteLineAsync("schema is up to date; nothing to apply");
                return ExitCodes.Success;
            }

            foreach (var script in result.AppliedMigrations)
            {
                await cli.Output.WriteLineAsync($"applied migration {script}");
            }

            foreach (var script in result.AppliedViews)
            {
                await cli.Output.WriteLineAsync($"applied view {script}");
            }

            return ExitCodes.Success;
        });
}
