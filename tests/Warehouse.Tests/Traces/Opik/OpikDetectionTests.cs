using Warehouse.Sources;
using Warehouse.Tests.Traces.Phoenix;

namespace Warehouse.Tests.Traces.Opik;

/// <summary>Opik files are recognised by their content (traces and spans apart), and no Opik format claims another tool's fixture.</summary>
public sealed class OpikDetectionTests
{
    [Theory]
    [InlineData("traces.json", "opik-traces-json")]
    [InlineData("traces-page2.jsonl", "opik-traces-json")]
    [InlineData("traces-later.json", "opik-traces-json")]
    [InlineData("traces-malformed.jsonl", "opik-traces-json")]
    [InlineData("spans.json", "opik-spans-json")]
    public void Each_fixture_is_detected_by_content(string name, string format) =>
        Assert.Equal(format, SourceDetector.Detect(OpikSuite.File(name)).Format.Name);

    [Fact]
    public void No_opik_format_claims_another_tools_fixture() =>
        Assert.Empty(OtherFixtures.ClaimedBy("opik", Path.Combine("trace", "opik")));
}
