using Warehouse.Sources;
using Warehouse.Sources.OpenAiEvals;

namespace Warehouse.Tests.Sources.OpenAiEvals;

/// <summary>Detection without a database.</summary>
public sealed class OpenAiEvalsFormatTests
{
    [Theory]
    [InlineData(OpenAiEvalsLoadSuite.ModelGradedLog)]
    [InlineData(OpenAiEvalsLoadSuite.MatchLog)]
    [InlineData(OpenAiEvalsLoadSuite.BadLog)]
    public void Detection_picks_the_record_log_format_with_no_format_given(string fixture)
    {
        var detected = SourceDetector.Detect(OpenAiEvalsLoadSuite.Fixture(fixture));

        Assert.Equal((OpenAiEvalsJsonlSource.FormatName, "eval"), (detected.Format.Name, detected.Schema.Kind));
    }

    [Fact]
    public void The_samples_file_alone_is_not_taken_for_a_record_log()
    {
        // Nothing claims it (the canonical formats explain why it is not theirs).
        Assert.Throws<Warehouse.Loading.LoadException>(() => SourceDetector.Detect(OpenAiEvalsLoadSuite.Fixture(OpenAiEvalsLoadSuite.SamplesFile)));
    }

    [Fact]
    public void The_format_names_its_samples_companion()
    {
        Assert.Contains("samples", new OpenAiEvalsJsonlSource().CompanionRoles.Keys);
    }
}
