using System.Globalization;

namespace Warehouse.Tests.Sources;

/// <summary>One quality.eval_records row as read by `select *` (snake_case columns), with a comparable line.</summary>
public sealed class EvalRecordRow
{
    public string source { get; set; } = "";
    public string eval_run_id { get; set; } = "";
    public string case_id { get; set; } = "";
    public string metric { get; set; } = "";
    public int epoch { get; set; }
    public double? score { get; set; }
    public string? raw_score { get; set; }
    public bool? is_passed { get; set; }
    public string model_version { get; set; } = "";
    public string prompt_version { get; set; } = "";
    public string retriever_version { get; set; } = "";
    public string experiment_bucket { get; set; } = "";
    public string dataset_id { get; set; } = "";
    public string judge_version { get; set; } = "";
    public string feature { get; set; } = "";
    public string intent { get; set; } = "";
    public string language { get; set; } = "";
    public string customer_tier { get; set; } = "";
    public double? latency_ms { get; set; }
    public double? cost_usd { get; set; }
    public long? input_tokens { get; set; }
    public long? output_tokens { get; set; }
    public DateTime? evaluated_at { get; set; }
    public string? source_trace_id { get; set; }
    public string? attributes { get; set; }

    public string Line => string.Join("|", case_id, metric, epoch, score?.ToString("R", CultureInfo.InvariantCulture) ?? "null",
        raw_score ?? "null", is_passed?.ToString() ?? "null");
}
