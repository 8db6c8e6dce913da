using Warehouse.Loading;

namespace Warehouse.Sources.LangSmith;

/// <summary>
/// A LangSmith feedback file (`client.list_feedback` rows: `id`, `run_id`, `key`, `feedback_source`)
/// that belongs to an experiment: named `X.feedback.jsonl` beside an experiment runs file `X.jsonl`
/// (one the eval adapter claims). It is skipped when loaded on its own (e.g. a folder load): the runs
/// file reads it. Forced with `--format langsmith-feedback-jsonl` on a file with no runs beside it,
/// the load fails with a message that says how to load it. Any other feedback file (beside production
/// trace runs, or standalone) is trace feedback (<see cref="LangSmithTraceFeedbackSource"/>).
/// </summary>
public sealed class LangSmithFeedbackSource : SourceFormat
{
    public override string Name => "langsmith-feedback-jsonl";

    public override string SourceName => LangSmithRunsSource.Tool;

    public override string Kind => "eval";

    public override bool Detect(SourceFile file) => LooksLikeFeedback(file.TopLevelKeys) && IsBesideExperimentRuns(file.Path);

    /// <summary>The first JSON object is a feedback row: `id`, `run_id`, `key` and a score, value, source or creation time.</summary>
    internal static bool LooksLikeFeedback(IReadOnlySet<string> keys) =>
        keys.Contains("id") && keys.Contains("run_id") && keys.Contains("key")
        && (keys.Contains("feedback_source") || keys.Contains("score") || keys.Contains("value") || keys.Contains("created_at"))
        && !keys.Contains("run_type") && !keys.Contains("metric") && !keys.Contains("case_id");

    /// <summary>The file is `X.feedback.jsonl` beside a runs file `X.jsonl` that holds experiment runs.</summary>
    internal static bool IsBesideExperimentRuns(string path)
    {
        if (LangSmithCompanions.RunsFileFor(path, LangSmithCompanions.FeedbackRole) is not { } runs)
        {
            return false;
        }

        try
        {
            return new LangSmithRunsSource().Detect(SourceFile.Probe(runs));
        }
        catch (LoadException)
        {
            return false;
        }
    }

    public override string? MainFileFor(SourceFile file) => LangSmithCompanions.RunsFileFor(file.Path, LangSmithCompanions.FeedbackRole);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken) =>
        throw new LoadException(LangSmithCompanions.LoadedAloneMessage(file.Path, LangSmithCompanions.FeedbackRole, "feedback file"));
}

/// <summary>
/// A LangSmith dataset examples file (`client.list_examples` rows: `id`, `dataset_id`, `inputs`,
/// `outputs`, `metadata`) loaded on its own. Examples are cases without results; like feedback they are
/// recognised and the load fails with a message that says to give them with the runs file.
/// </summary>
public sealed class LangSmithExamplesSource : SourceFormat
{
    public override string Name => "langsmith-examples-jsonl";

    public override string SourceName => LangSmithRunsSource.Tool;

    public override string Kind => "eval";

    public override bool Detect(SourceFile file)
    {
        var keys = file.TopLevelKeys;
        return keys.Contains("id") && keys.Contains("dataset_id") && keys.Contains("inputs")
               && (keys.Contains("outputs") || keys.Contains("metadata"))
               && (keys.Contains("source_run_id") || keys.Contains("modified_at") || keys.Contains("created_at"))
               && !keys.Contains("run_type") && !keys.Contains("trace_id")
               && !keys.Contains("eval_run_id") && !keys.Contains("case_id") && !keys.Contains("metric");
    }

    public override string? MainFileFor(SourceFile file) => LangSmithCompanions.RunsFileFor(file.Path, LangSmithCompanions.ExamplesRole);

    public override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken) =>
        throw new LoadException(LangSmithCompanions.LoadedAloneMessage(file.Path, LangSmithCompanions.ExamplesRole, "dataset examples file"));
}
