using System.Text.Json;
using Warehouse.Sources;
using Warehouse.Sources.InspectAi;

namespace Warehouse.Tests.Sources.InspectAi;

/// <summary>Detection and the score rules, without a database.</summary>
public sealed class InspectAiFormatTests
{
    [Theory]
    [InlineData(InspectAiLoadSuite.LogName)]
    [InlineData("refund-summary-bad-samples.json")]
    [InlineData("legacy-0.3.40-samples-first.json")]
    public void Detection_picks_the_inspect_format_with_no_format_given(string fixture)
    {
        var detected = SourceDetector.Detect(InspectAiLoadSuite.Fixture(fixture));

        Assert.Equal((InspectAiJsonSource.FormatName, "eval"), (detected.Format.Name, detected.Schema.Kind));
    }

    [Fact]
    public void Detection_leaves_other_eval_tools_alone()
    {
        var reference = Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "openai_evals", "261118021533ZQ4XKR7M_gpt-4o_refund-summary.jsonl");

        Assert.NotEqual(InspectAiJsonSource.FormatName, SourceDetector.Detect(reference).Format.Name);
    }

    [Theory]
    [InlineData("\"C\"", 1.0, true, "C")]
    [InlineData("\"P\"", 0.5, false, "P")]
    [InlineData("\"I\"", 0.0, false, "I")]
    [InlineData("\"N\"", 0.0, false, "N")]
    [InlineData("true", 1.0, true, "true")]
    [InlineData("false", 0.0, false, "false")]
    [InlineData("\"Yes\"", 1.0, true, "Yes")]
    [InlineData("\"no\"", 0.0, false, "no")]
    [InlineData("\"0.8\"", 0.8, false, "0.8")]
    [InlineData("1.0", 1.0, true, "1.0")]
    [InlineData("0.25", 0.25, false, "0.25")]
    public void Score_values_follow_value_to_float_and_pass_at_one(string json, double score, bool passed, string raw)
    {
        using var value = JsonDocument.Parse(json);

        var read = InspectScoreValue.Read(value.RootElement);

        Assert.Equal((score, passed, raw, (string?)null), (read.Score!.Value, read.IsPassed!.Value, read.RawScore, read.Error));
    }

    [Theory]
    [InlineData("null", null, "NaN")]
    [InlineData("4", null, "4")]
    [InlineData("\"A\"", "is not C/I/P/N", "A")]
    [InlineData("[1, 0]", "list of 2 item(s)", "[1, 0]")]
    public void Unscored_out_of_scale_and_unusable_values_keep_their_raw_text(string json, string? error, string raw)
    {
        using var value = JsonDocument.Parse(json);

        var read = InspectScoreValue.Read(value.RootElement);

        Assert.Equal((null, null, raw), (read.Score, read.IsPassed, read.RawScore));
        if (error is null)
        {
            Assert.Null(read.Error);
        }
        else
        {
            Assert.Contains(error, read.Error);
        }
    }
}
