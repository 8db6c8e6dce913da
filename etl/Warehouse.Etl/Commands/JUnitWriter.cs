using System.Globalization;
using System.Text;
using System.Xml;

namespace Warehouse.Commands;

/// <summary>The outcome of one gate check, as one JUnit test case.</summary>
public enum CheckOutcome
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>One check of the gate: a lock or a slice-metric. <paramref name="Message"/> explains a failure or skip.</summary>
public sealed record GateCheck(string ClassName, string Name, CheckOutcome Outcome, string? FailureType = null, string? Message = null, string? Details = null);

/// <summary>One JUnit test suite: a group of checks (the locks, or one side's slice deltas).</summary>
public sealed record GateSuite(string Name, IReadOnlyList<GateCheck> Checks);

/// <summary>
/// Writes the gate's checks as JUnit XML in the common form CI servers read (the Jenkins/Ant
/// dialect that GitHub Actions reporters and Azure Pipelines' PublishTestResults accept):
/// `testsuites` (totals) › `testsuite name tests failures errors skipped` › `testcase classname name`
/// with a `failure message type` or `skipped message` child. UTF-8 without a byte order mark.
/// </summary>
public static class JUnitWriter
{
    public static void Write(string path, string name, IReadOnlyList<GateSuite> suites, DateTime timestampUtc, TimeSpan elapsed)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        using var stream = File.Create(path);
        Write(stream, name, suites, timestampUtc, elapsed);
    }

    public static void Write(Stream stream, string name, IReadOnlyList<GateSuite> suites, DateTime timestampUtc, TimeSpan elapsed)
    {
        var settings = new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true, NewLineChars = "\n" };
        using var writer = XmlWriter.Create(stream, settings);
        var all = suites.SelectMany(suite => suite.Checks).ToList();
        var time = Seconds(elapsed);
        writer.WriteStartDocument();
        writer.WriteStartElement("testsuites");
        writer.WriteAttributeString("name", Clean(name));
        writer.WriteAttributeString("tests", Count(all.Count));
        writer.WriteAttributeString("failures", Count(all.Count(check => check.Outcome == CheckOutcome.Failed)));
        writer.WriteAttributeString("errors", "0");
        writer.WriteAttributeString("time", time);
        foreach (var suite in suites)
        {
            writer.WriteStartElement("testsuite");
            writer.WriteAttributeString("name", Clean(suite.Name));
            writer.WriteAttributeString("tests", Count(suite.Checks.Count));
            writer.WriteAttributeString("failures", Count(suite.Checks.Count(check => check.Outcome == CheckOutcome.Failed)));
            writer.WriteAttributeString("errors", "0");
            writer.WriteAttributeString("skipped", Count(suite.Checks.Count(check => check.Outcome == CheckOutcome.Skipped)));
            writer.WriteAttributeString("time", "0");
            writer.WriteAttributeString("timestamp", timestampUtc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
            foreach (var check in suite.Checks)
            {
                writer.WriteStartElement("testcase");
                writer.WriteAttributeString("classname", Clean(check.ClassName));
                writer.WriteAttributeString("name", Clean(check.Name));
                writer.WriteAttributeString("time", "0");
                if (check.Outcome == CheckOutcome.Failed)
                {
                    writer.WriteStartElement("failure");
                    writer.WriteAttributeString("message", Clean(check.Message ?? "failed"));
                    writer.WriteAttributeString("type", Clean(check.FailureType ?? "failed"));
                    if (check.Details is not null)
                    {
                        writer.WriteString(Clean(check.Details));
                    }

                    writer.WriteEndElement();
                }
                else if (check.Outcome == CheckOutcome.Skipped)
                {
                    writer.WriteStartElement("skipped");
                    writer.WriteAttributeString("message", Clean(check.Message ?? "skipped"));
                    writer.WriteEndElement();
                }

                writer.WriteEndElement();
            }

            writer.WriteEndElement();
        }

        writer.WriteEndElement();
        writer.WriteEndDocument();
    }

    private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan elapsed) => elapsed.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);

    /// <summary>Labels come from data: characters XML 1.0 cannot hold become U+FFFD instead of failing the write.</summary>
    internal static string Clean(string text)
    {
        if (text.All(XmlConvert.IsXmlChar))
        {
            return text;
        }

        var clean = new StringBuilder(text.Length);
        for (var index = 0; index < text.Length; index++)
        {
            if (XmlConvert.IsXmlChar(text[index]))
            {
                clean.Append(text[index]);
            }
            else if (index + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[index + 1], text[index]))
            {
                clean.Append(text, index, 2);
                index++;
            }
            else
            {
                clean.Append('\uFFFD');
            }
        }

        return clean.ToString();
    }
}
