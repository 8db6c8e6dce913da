using System.CommandLine;
using System.Text;
using Warehouse.Demo;
using Warehouse.Loading;
using Warehouse.Reporting;

namespace Warehouse.Commands;

/// <summary>
/// The refund-bot story of DESIGN section 1, end to end on the embedded default: generate the
/// seeded example files, load them, and print what the warehouse now shows.
/// </summary>
public sealed class DemoCommand(Cli cli)
{
    public Command Build()
    {
        var directory = new Option<string>("--dir") { Description = "where to write the example files", DefaultValueFactory = _ => "demo-data" };
        var seed = new Option<int>("--seed") { Description = "random seed; the same seed gives the same files", DefaultValueFactory = _ => 20261126 };
        var command = new Command("demo", "generate the refund-bot example, load it, and print the story") { directory, seed };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var engine = cli.OpenWarehouse(parseResult, out _);
            var folder = Path.GetFullPath(parseResult.GetValue(directory)!);
            Directory.CreateDirectory(folder);
            var files = DemoDataGenerator.GenerateWithToolFormats(folder, parseResult.GetValue(seed));
            await cli.Output.WriteLineAsync(
                $"wrote {files.Traces} production traces to {folder}: the {DemoDataGenerator.BaselinePromptVersion} weeks as a Langfuse API export, "
                + $"the {DemoDataGenerator.CandidatePromptVersion} weeks as an OpenTelemetry collector's OTLP/JSON files (model calls and root spans "
                + "in different files, user feedback as gen_ai.evaluation.result log events); "
                + $"complaints filed a day later on {files.LateFeedbackTraces} of them (a later Langfuse export, a second OTLP logs file); "
                + $"and the eval runs as promptfoo ({DemoDataGenerator.BaselinePromptVersion}) and Inspect AI ({DemoDataGenerator.CandidatePromptVersion}) logs");

            var loader = new Loader(engine, settings: cli.SourceSettings);
            var results = new List<FileLoadResult>();
            foreach (var file in (string[])[.. files.TraceFiles, .. files.EvalFiles, .. files.LateFeedbackFiles])
            {
                var result = await loader.LoadFileAsync(file, new LoadOptions(), cancellationToken);
                results.Add(result);
                await cli.Output.WriteLineAsync(result.Status switch
                {
                    FileLoadStatus.Skipped => $"skipped {Path.GetFileName(file)}: already loaded in batch {result.BatchId}",
                    FileLoadStatus.Failed => $"failed  {Path.GetFileName(file)}: {result.Message}",
                    _ when result.Traces is { } traces => $"loaded  {Path.GetFileName(file)} ({result.Format}): {result.RowsLoaded} spans/feedback records, "
                         + $"{traces.RolledUp} traces rolled up into {result.Table} ({result.RowsInserted} new, {result.RowsUpdated} updated), {result.RowsRejected} rejected",
                    _ => $"loaded  {Path.GetFileName(file)} ({result.Format}) into {result.Table}: {result.RowsLoaded} rows "
                         + $"({result.RowsInserted} new, {result.RowsUpdated} updated), {result.RowsRejected} rejected",
                });
            }

            if (results.Any(result => result.Status == FileLoadStatus.Failed))
            {
                return ExitCodes.Failure;
            }

            await DemoStory.RegisterComparisonAsync(engine, cancellationToken);
            await DemoStory.RegisterLocksAsync(engine, cancellationToken);
            await DemoStory.PrintAsync(engine, cli.Output, cancellationToken);

            // The same story for people who would rather look than read.
            var reportPath = Path.Combine(folder, "report.html");
            await using (var connection = await engine.OpenAsync(cancellationToken))
            {
                var data = await ReportData.ReadAsync(connection, engine.Name, comparisonName: null, cancellationToken);
                await File.WriteAllTextAsync(reportPath, new HtmlReport(data).Render(), new UTF8Encoding(false), cancellationToken);
            }

            await cli.Output.WriteLineAsync();
            await cli.Output.WriteLineAsync($"The report: {reportPath} (open it in a browser; `warehouse report --out FILE.html` writes it again).");
            await cli.Output.WriteLineAsync($"The warehouse is {engine.DisplayConnection}; comparison '{DemoStory.ComparisonName}' and three locks are registered. Try:");
            await cli.Output.WriteLineAsync($"  warehouse deltas --comparison {DemoStory.ComparisonName}");
            await cli.Output.WriteLineAsync("  warehouse query \"select * from quality.divergences\" --format csv");
            await cli.Output.WriteLineAsync($"  warehouse gate --comparison {DemoStory.ComparisonName}");
            await cli.Output.WriteLineAsync("(warehouse is `dotnet run --project etl/Warehouse.Etl --` from the repository, or the published binary)");
            return ExitCodes.Success;
        });
    }
}
