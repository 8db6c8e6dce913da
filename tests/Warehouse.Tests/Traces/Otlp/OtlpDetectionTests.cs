using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Tests.Traces.Phoenix;

namespace Warehouse.Tests.Traces.Otlp;

/// <summary>OTLP files are recognised by their content (whatever their name), `--format` forces a reading, and no OTLP format claims another tool's fixture.</summary>
public sealed class OtlpDetectionTests
{
    [Theory]
    [InlineData("collector-0001.jsonl", "otlp-traces-jsonl")]
    [InlineData("collector-0002.jsonl", "otlp-traces-jsonl")]
    [InlineData("malformed.jsonl", "otlp-traces-jsonl")]
    [InlineData("feedback-0001.logs.jsonl", "otlp-logs-jsonl")]
    [InlineData("feedback-0002.logs.jsonl", "otlp-logs-jsonl")]
    public void Each_fixture_is_detected_by_content(string name, string format) =>
        Assert.Equal(format, SourceDetector.Detect(TraceSuite.Fixture("otlp", name)).Format.Name);

    [Fact]
    public void A_renamed_file_is_still_recognised_and_a_forced_format_is_taken_as_given()
    {
        var folder = Directory.CreateTempSubdirectory("wh_otlp_");
        try
        {
            var renamed = Path.Combine(folder.FullName, "data-2026-11-26T05-02-14.173.json");
            File.Copy(TraceSuite.Fixture("otlp", "collector-0001.jsonl"), renamed);

            Assert.Equal("otlp-traces-jsonl", SourceDetector.Detect(renamed).Format.Name);
            Assert.Equal("otlp-logs-jsonl", SourceDetector.Detect(renamed, format: "otlp-logs-jsonl").Format.Name);
            var wrongKind = Assert.Throws<LoadException>(() => SourceDetector.Detect(renamed, kind: "eval"));
            Assert.Contains("loads into quality.trace_summaries, not as --kind eval", wrongKind.Message);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void No_otlp_format_claims_another_tools_fixture() =>
        Assert.Empty(OtherFixtures.ClaimedBy("otlp", Path.Combine("trace", "otlp")));
}
