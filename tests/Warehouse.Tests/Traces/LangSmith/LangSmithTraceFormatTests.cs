using Warehouse.Sources;
using Warehouse.Sources.LangSmith;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Traces.LangSmith;

/// <summary>Which LangSmith file is a trace export and which stays the eval adapter's: no database needed.</summary>
public sealed class LangSmithTraceFormatTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Eval(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "langsmith", name);

    private static readonly string[] TraceFormats = ["langsmith-trace-runs-jsonl", "langsmith-trace-runs-parquet", "langsmith-trace-feedback-jsonl"];

    [Theory]
    [InlineData("production.jsonl", "langsmith-trace-runs-jsonl")]
    [InlineData("production-later.jsonl", "langsmith-trace-runs-jsonl")]
    [InlineData("malformed.jsonl", "langsmith-trace-runs-jsonl")]
    [InlineData("production.feedback.jsonl", "langsmith-trace-feedback-jsonl")]
    [InlineData("malformed-feedback.jsonl", "langsmith-trace-feedback-jsonl")]
    public void Trace_exports_are_detected_by_content(string name, string format)
    {
        var detected = SourceDetector.Detect(TraceSuite.Fixture("langsmith", name));

        Assert.Equal(format, detected.Format.Name);
        Assert.Equal("langsmith", detected.Format.SourceName);
        Assert.Equal("quality.trace_summaries", detected.Schema.QualifiedName);
    }

    [Theory]
    [InlineData("experiment.jsonl", "langsmith-runs-jsonl")]
    [InlineData("experiment-malformed.jsonl", "langsmith-runs-jsonl")]
    [InlineData("experiment.feedback.jsonl", "langsmith-feedback-jsonl")]
    [InlineData("experiment-malformed.feedback.jsonl", "langsmith-feedback-jsonl")]
    [InlineData("experiment.examples.jsonl", "langsmith-examples-jsonl")]
    [InlineData("production-traces.jsonl", "langsmith-trace-runs-jsonl")]
    public void Experiment_files_stay_the_eval_adapters_and_production_runs_are_traces(string name, string format)
    {
        Assert.Equal(format, SourceDetector.Detect(Eval(name)).Format.Name);
    }

    [Fact]
    public void A_feedback_file_is_eval_feedback_only_beside_experiment_runs()
    {
        var experimentFeedback = File.ReadAllText(Eval("experiment.feedback.jsonl"));
        var alone = _files.Write("export.jsonl", experimentFeedback);
        var besideTraces = _files.Write("prod.feedback.jsonl", experimentFeedback);
        File.Copy(TraceSuite.Fixture("langsmith", "production.jsonl"), Path.Combine(_files.Folder, "prod.jsonl"));
        var besideExperiment = _files.Write("exp.feedback.jsonl", experimentFeedback);
        File.Copy(Eval("experiment.jsonl"), Path.Combine(_files.Folder, "exp.jsonl"));

        Assert.Equal("langsmith-trace-feedback-jsonl", SourceDetector.Detect(alone).Format.Name);
        Assert.Equal("langsmith-trace-feedback-jsonl", SourceDetector.Detect(besideTraces).Format.Name);
        Assert.Equal("langsmith-feedback-jsonl", SourceDetector.Detect(besideExperiment).Format.Name);
    }

    [Fact]
    public void The_SmithDB_shape_without_parent_run_id_or_dotted_order_is_a_run()
    {
        var path = _files.Write("runs.jsonl",
            """{"id": "r1", "trace_id": "r1", "run_type": "CHAIN", "is_root": true, "status": "SUCCESS", "metadata": {}, "parent_run_ids": []}""" + "\n");

        Assert.Equal("langsmith-trace-runs-jsonl", SourceDetector.Detect(path).Format.Name);
    }

    /// <summary>Every other fixture in the test project (eval and other trace stores) is left alone by the LangSmith trace formats.</summary>
    [Fact]
    public void No_other_stores_or_tools_fixture_is_claimed()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        var formats = SourceDetector.Formats.Where(format => TraceFormats.Contains(format.Name)).ToList();
        Assert.Equal(3, formats.Count);
        var checkedFiles = 0;
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (relative.StartsWith("trace/langsmith/", StringComparison.Ordinal) || relative == "eval/langsmith/production-traces.jsonl")
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
            Assert.All(formats, format => Assert.False(format.Detect(file), $"{format.Name} claims {relative}"));
        }

        Assert.True(checkedFiles > 10);
    }

    [Theory]
    [InlineData("JSONDecodeError('Expecting value: line 1 column 1 (char 0)')", "JSONDecodeError")]
    [InlineData("openai.RateLimitError: Error code: 429", "openai.RateLimitError")]
    [InlineData("Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'order'", "KeyError")]
    [InlineData("tool returned garbage", "tool returned garbage")]
    public void Error_types_are_the_exception_class_else_the_first_line(string error, string type)
    {
        Assert.Equal(type, LangSmithRunParts.ErrorType(error));
    }
}
