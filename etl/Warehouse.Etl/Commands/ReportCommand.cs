using System.CommandLine;
using System.Text;
using Warehouse.Configuration;
using Warehouse.Reporting;

namespace Warehouse.Commands;

/// <summary>
/// `warehouse report --out FILE.html [--comparison N]`: one self-contained HTML file for release managers —
/// per comparison the headline verdicts, a forest plot of slice deltas offline and online, divergences,
/// locks and trends; then coverage gaps and the slice mix, seed candidates and load health. Every section
/// runs a saved query from reports/sql/ (embedded), so what the report shows is what a SQL client shows.
/// The file is written next to its final name and moved into place, so a reader never sees half a report.
/// </summary>
public sealed class ReportCommand(Cli cli)
{
    public Command Build()
    {
        var output = new Option<string>("--out") { Description = "the HTML file to write (its folder is created if missing)", Required = true };
        var comparison = new Option<string?>("--comparison") { Description = "only this comparison (default: every registered comparison)" };
        var command = new Command("report", "write a self-contained HTML report with charts: verdicts, slice deltas, divergences, coverage, locks, seeds, load health")
        {
            output, comparison,
        };
        return cli.Define(command, async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetValue(output)!;
            var comparisonName = parseResult.GetValue(comparison);
            if (string.IsNullOrWhiteSpace(path) || Directory.Exists(path))
            {
                throw new ConfigurationException($"--out '{path}' must name a file to write, e.g. report.html");
            }

            var engine = cli.OpenWarehouse(parseResult, out _);
            await using var connection = await engine.OpenAsync(cancellationToken);
            if (comparisonName is not null)
            {
                var known = await CompareCommand.NamesAsync(connection, cancellationToken);
                if (!known.Contains(comparisonName))
                {
                    throw new ConfigurationException(CompareCommand.UnknownComparison(comparisonName, known));
                }
            }

            var data = await ReportData.ReadAsync(connection, engine.Name, comparisonName, cancellationToken);
            var html = new HtmlReport(data).Render();
            var fullPath = Path.GetFullPath(path);
            try
            {
                await WriteAtomicallyAsync(fullPath, html, cancellationToken);
            }
            catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new ConfigurationException($"--out '{path}' could not be written: {problem.Message}");
            }

            var comparisons = data.Comparisons.Count switch
            {
                0 => "no comparison registered (warehouse compare add), so only coverage, seeds and load health",
                1 => $"comparison {data.Comparisons[0].Name}",
                var count => $"{count} comparisons",
            };
            await cli.Output.WriteLineAsync($"wrote {path} ({comparisons}; {html.Length / 1024:N0} KiB, opens without network)");
            return ExitCodes.Success;
        });
    }

    private static async Task WriteAtomicallyAsync(string fullPath, string html, CancellationToken cancellationToken)
    {
        if (Path.GetDirectoryName(fullPath) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        var temporary = fullPath + ".tmp-" + Environment.ProcessId;
        try
        {
            await File.WriteAllTextAsync(temporary, html, new UTF8Encoding(false), cancellationToken);
            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
