using Warehouse.Loading;

namespace Warehouse.Sources.LangSmith;

/// <summary>
/// A LangSmith feedback file (`client.list_feedback` rows: `id`, `run_id`, `key`, `feedback_source`)
/// loaded on its own, e.g. because a whole folder was given. Feedback has no case, experiment or
/// inputs of its own, so it cannot become rows without its runs. It is recognised (so it is never
/// taken for a canonical trace file because it has `trace_id`) and the load fails with a message that
/// says how to load it: with its runs file. Beside a runs file `X.jsonl` as `X.feedback.jsonl` it is
/// picked up when the runs file loads.
/// </summary>
public sealed class LangSmithFeedbackSource : SourceFormat
{
    public override string Name => "langsmith-feedback-jsonl";

    public override string SourceName => LangSmithRunsSource.Tool;

    public override string Kind => "eval";

    public override bool Detect(SourceFile file) =>
        file.TopLevelKeys.Contains("id") && file.TopLevelKeys.Contains("run_id") && file.TopLevelKeys.Contains("key")
        && file.TopLevelKeys.Contains("feedback_source")
        && !file.TopLevelKeys.Contains("run_type") && !file.TopLevelKeys.Contains("metric") && !file.TopLevelKeys.Contains("case_id");

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
