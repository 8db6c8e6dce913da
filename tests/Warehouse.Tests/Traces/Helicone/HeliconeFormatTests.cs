using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.Helicone;

/// <summary>Helicone detection: its exports by content, nobody else's files. No database needed.</summary>
public sealed class HeliconeFormatTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("requests.jsonl")]
    [InlineData("requests-later.jsonl")]
    [InlineData("malformed.jsonl")]
    public void Request_exports_are_detected_by_content(string name)
    {
        var detected = SourceDetector.Detect(TraceSuite.Fixture("helicone", name));

        Assert.Equal("helicone-requests-jsonl", detected.Format.Name);
        Assert.Equal("helicone", detected.Format.SourceName);
        Assert.Equal("quality.trace_summaries", detected.Schema.QualifiedName);
    }

    [Fact]
    public void A_gzipped_export_is_detected()
    {
        var path = Path.Combine(_files.Folder, "export.jsonl.gz");
        using (var output = File.Create(path))
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
        {
            gzip.Write(File.ReadAllBytes(TraceSuite.Fixture("helicone", "requests.jsonl")));
        }

        Assert.Equal("helicone-requests-jsonl", SourceDetector.Detect(path).Format.Name);
    }

    [Fact]
    public void No_other_stores_or_tools_fixture_is_claimed()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        var format = SourceDetector.Formats.Single(each => each.Name == "helicone-requests-jsonl");
        var checkedFiles = 0;
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (relative.StartsWith("trace/helicone/", StringComparison.Ordinal))
            {
                continue;
            }

            SourceFile file;
            try
            {
                file = SourceFile.Probe(path);
            }
            catch (Warehouse.Loading.LoadException)
            {
                continue;
            }

            checkedFiles++;
            Assert.False(format.Detect(file), $"helicone-requests-jsonl claims {relative}");
        }

        Assert.True(checkedFiles > 10);
    }
}
