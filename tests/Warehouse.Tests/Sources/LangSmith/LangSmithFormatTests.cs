using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Sources.LangSmith;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources.LangSmith;

/// <summary>Detection, companion lookup and score rules: no database needed.</summary>
public sealed class LangSmithFormatTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("experiment.jsonl", "langsmith-runs-jsonl")]
    [InlineData("experiment-malformed.jsonl", "langsmith-runs-jsonl")]
    [InlineData("experiment.feedback.jsonl", "langsmith-feedback-jsonl")]
    [InlineData("experiment.examples.jsonl", "langsmith-examples-jsonl")]
    public void Each_LangSmith_file_is_detected_as_its_own_format_with_no_format_option(string name, string format)
    {
        var detected = SourceDetector.Detect(LangSmithSuite.Fixture(name));

        Assert.Equal(format, detected.Format.Name);
        Assert.Equal("langsmith", detected.Format.SourceName);
        Assert.Equal("quality.eval_records", detected.Schema.QualifiedName);
    }

    [Fact]
    public void Production_trace_runs_without_a_reference_example_are_left_for_a_trace_format()
    {
        var file = SourceFile.Probe(LangSmithSuite.Fixture("production-traces.jsonl"));

        Assert.False(new LangSmithRunsSource().Detect(file));
        Assert.False(new LangSmithFeedbackSource().Detect(file));
        Assert.False(new LangSmithExamplesSource().Detect(file));
    }

    [Fact]
    public void Gzip_runs_are_detected_and_find_companions_beside_them()
    {
        var runs = Path.Combine(_files.Folder, "exp.jsonl.gz");
        using (var output = File.Create(runs))
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
        {
            gzip.Write(File.ReadAllBytes(LangSmithSuite.Fixture("experiment.jsonl")));
        }

        var feedback = _files.Write("exp.feedback.jsonl", "{}\n");

        Assert.Equal("langsmith-runs-jsonl", SourceDetector.Detect(runs).Format.Name);
        Assert.Equal(feedback, LangSmithCompanions.Beside(runs, "feedback"));
        Assert.Null(LangSmithCompanions.Beside(runs, "examples"));
    }

    [Fact]
    public void Companions_by_convention_accept_a_runs_suffix_and_gzip_and_an_explicit_file_wins()
    {
        var runs = _files.Write("exp.runs.jsonl", "{}\n");
        var examples = _files.Write("exp.examples.jsonl.gz", "");
        var feedback = _files.Write("exp.feedback.jsonl", "{}\n");
        var given = _files.Write("other.jsonl", "{}\n");

        Assert.Equal(examples, LangSmithCompanions.Beside(runs, "examples"));
        Assert.Equal(feedback, LangSmithCompanions.Find(SourceFile.Probe(runs), "feedback"));
        Assert.Equal(given, LangSmithCompanions.Find(SourceFile.Probe(runs, companions: new Dictionary<string, string> { ["feedback"] = given }), "feedback"));
    }

    [Theory]
    [InlineData("""{"score": true}""", "1", true, "true")]
    [InlineData("""{"score": false, "value": "ignored"}""", "0", false, "false")]
    [InlineData("""{"score": 1}""", "1", true, "1")]
    [InlineData("""{"score": 0}""", "0", false, "0")]
    [InlineData("""{"score": 0.25}""", "0.25", null, "0.25")]
    [InlineData("""{"score": 4, "feedback_config": {"type": "continuous", "min": 1, "max": 5}}""", "0.75", null, "4")]
    [InlineData("""{"score": 5, "extra": {"feedback_config": {"min": 1, "max": 5}}}""", "1", true, "5")]
    [InlineData("""{"score": 7}""", null, null, "7")]
    [InlineData("""{"score": null, "value": "PASS"}""", "1", true, "PASS")]
    [InlineData("""{"value": "incorrect"}""", "0", false, "incorrect")]
    [InlineData("""{"value": "friendly"}""", null, null, "friendly")]
    [InlineData("""{"value": 0.5}""", "0.5", null, "0.5")]
    [InlineData("""{"value": {"label": "x"}}""", null, null, null)]
    [InlineData("""{"comment": "evaluator failed"}""", null, null, null)]
    public void Feedback_values_become_scores_by_the_documented_rules(string json, string? score, bool? passed, string? raw)
    {
        using var document = JsonDocument.Parse(json);

        var result = LangSmithScores.FromFeedback(document.RootElement);

        Assert.Null(result.Error);
        Assert.Equal((score, passed, raw), (result.Score, result.Passed, result.Raw));
    }

    [Theory]
    [InlineData("""{"score": "high"}""", "score \"high\" is a JSON string, not a number or boolean")]
    [InlineData("""{"score": {"a": 1}}""", "is a JSON object")]
    public void A_score_of_the_wrong_type_is_an_error(string json, string error)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Contains(error, LangSmithScores.FromFeedback(document.RootElement).Error);
    }

    [Fact]
    public void The_runs_format_names_its_companion_roles()
    {
        var format = new LangSmithRunsSource();

        Assert.Equal(["examples", "feedback"], format.CompanionRoles.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("eval", format.Kind);
        Assert.Same(TableSchema.EvalRecords, format.SchemaFor(SourceFile.Probe(LangSmithSuite.Fixture("experiment.jsonl")), null));
    }
}
