using Warehouse.Commands;

return await Cli.RunAsync(args);
