using System.Globalization;
using Dapper;
using Warehouse.Engines;

namespace Warehouse.Tests.Sources.InspectAi;

/// <summary>One quality.eval_records row as these tests compare it.</summary>
public sealed class EvalRow
{
    public const string SelectList =
        "source as Source, eval_run_id as EvalRunId, case_id as CaseId, metric as Metric, epoch as Epoch, model_version as ModelVersion, "
        + "prompt_version as PromptVersion, retriever_version as RetrieverVersion, experiment_bucket as ExperimentBucket, dataset_id as DatasetId, "
        + "dataset_version as DatasetVersion, judge_version as JudgeVersion, feature as Feature, intent as Intent, language as Language, "
        + "customer_tier as CustomerTier, context_band as ContextBand, score as Score, is_passed as IsPassed, raw_score as RawScore, "
        + "latency_ms as LatencyMs, input_tokens as InputTokens, output_tokens as OutputTokens, evaluated_at as EvaluatedAt, attributes as Attributes";

    public string Source { get; set; } = "";
    public string EvalRunId { get; set; } = "";
    public string CaseId { get; set; } = "";
    public string Metric { get; set; } = "";
    public int Epoch { get; set; }
    public string ModelVersion { get; set; } = "";
    public string PromptVersion { get; set; } = "";
    public string RetrieverVersion { get; set; } = "";
    public string ExperimentBucket { get; set; } = "";
    public string DatasetId { get; set; } = "";
    public string DatasetVersion { get; set; } = "";
    public string JudgeVersion { get; set; } = "";
    public string Feature { get; set; } = "";
    public string Intent { get; set; } = "";
    public string Language { get; set; } = "";
    public string CustomerTier { get; set; } = "";
    public string ContextBand { get; set; } = "";
    public double? Score { get; set; }
    public bool? IsPassed { get; set; }
    public string? RawScore { get; set; }
    public double? LatencyMs { get; set; }
    public long? InputTokens { get; set; }
    public long? OutputTokens { get; set; }
    public DateTime? EvaluatedAt { get; set; }
    public string? Attributes { get; set; }

    public static async Task<List<EvalRow>> ReadAsync(WarehouseEngine engine, string where = "1 = 1")
    {
        await using var connection = await engine.OpenAsync(TestContext.Current.CancellationToken);
        return (await connection.QueryAsync<EvalRow>(engine.Sql(
            $"select {SelectList} from quality.eval_records where {where} order by case_id, epoch, metric"))).ToList();
    }

    /// <summary>An expected-rows CSV (header line, comma-separated, no quoting) as name → value maps.</summary>
    public static List<Dictionary<string, string>> ReadExpected(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        return lines.Skip(1).Where(line => line.Length > 0)
            .Select(line => header.Zip(line.Split(','), (name, value) => (name, value)).ToDictionary(pair => pair.name, pair => pair.value))
            .ToList();
    }

    public static double? Number(string text) => text.Length == 0 ? null : double.Parse(text, CultureInfo.InvariantCulture);

    public static bool? Flag(string text) => text.Length == 0 ? null : bool.Parse(text);

    public static DateTime Utc(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal).UtcDateTime;
}
