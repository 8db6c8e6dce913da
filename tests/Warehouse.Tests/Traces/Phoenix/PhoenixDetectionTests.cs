using Warehouse.Loading;
using Warehouse.Sources;

namespace Warehouse.Tests.Traces.Phoenix;

/// <summary>Phoenix files are recognised by their content, and no Phoenix format claims another tool's fixture.</summary>
public sealed class PhoenixDetectionTests
{
    [Theory]
    [InlineData("spans.json", "phoenix-spans-json")]
    [InlineData("spans-page2.jsonl", "phoenix-spans-json")]
    [InlineData("spans-malformed.jsonl", "phoenix-spans-json")]
    [InlineData("trace-annotations.json", "phoenix-annotations-json")]
    [InlineData("span-annotations.json", "phoenix-annotations-json")]
    [InlineData("trace-annotations-later.json", "phoenix-annotations-json")]
    [InlineData("annotations-malformed.json", "phoenix-annotations-json")]
    public void Each_fixture_is_detected_by_content(string name, string format) =>
        Assert.Equal(format, SourceDetector.Detect(PhoenixSuite.File(name)).Format.Name);

    [Fact]
    public void No_phoenix_format_claims_another_tools_fixture() =>
        Assert.Empty(OtherFixtures.ClaimedBy("phoenix", Path.Combine("trace", "phoenix")));
}

/// <summary>Every fixture of the test project outside one store's folder, and the ones that store's formats claim.</summary>
internal static class OtherFixtures
{
    public static List<string> ClaimedBy(string sourceName, string ownFolder)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        var claimed = new List<string>();
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            if (Path.GetRelativePath(root, path).StartsWith(ownFolder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                if (SourceDetector.Detect(path).Format.SourceName == sourceName)
                {
                    claimed.Add(path);
                }
            }
            catch (LoadException)
            {
                // Not recognised by anything (companions, notes): not claimed either.
            }
        }

        return claimed;
    }
}
