using System.Globalization;

namespace Warehouse.Sources.OpenAiEvals;

/// <summary>
/// What one sample's scattered events add up to, kept while the record log is read: a few
/// numbers per metric and per sampled model, never the events themselves (their prompts and
/// completions are dropped as soon as their line is read). One of these per sample is the
/// adapter's whole memory, so a log of N samples needs N small objects, not its size in bytes.
/// </summary>
internal sealed class SampleResult(string sampleId, string? runId, long firstLine)
{
    public string SampleId { get; } = sampleId;

    public string? RunId { get; set; } = runId;

    public long FirstLine { get; } = firstLine;

    /// <summary>Metric name → tally, in the order the metrics first appeared.</summary>
    public List<MetricTally> Metrics { get; } = [];

    /// <summary>Resolved model (`sampling.data.model`) → token tally.</summary>
    public Dictionary<string, UsageTally> Usage { get; } = new(StringComparer.Ordinal);

    /// <summary>The grader's last `choice` (modelgraded evals).</summary>
    public string? Choice { get; set; }

    public string? Error { get; set; }

    /// <summary>True when one of the sample's match or metrics lines was rejected.</summary>
    public bool HasRejectedEvent { get; set; }

    public MetricTally Metric(string name, long line)
    {
        foreach (var metric in Metrics)
        {
            if (metric.Name == name)
            {
                return metric;
            }
        }

        var added = new MetricTally(name, line);
        Metrics.Add(added);
        return added;
    }

    /// <summary>The line index `sample_id` ends with (`&lt;base&gt;.&lt;split&gt;.&lt;idx&gt;`), the 0-based line of the samples file.</summary>
    public int? LineIndex
    {
        get
        {
            var dot = SampleId.LastIndexOf('.');
            return int.TryParse(SampleId.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : null;
        }
    }
}

/// <summary>One metric of one sample across its events: a count, a sum and the last raw value.</summary>
internal sealed class MetricTally(string name, long firstLine)
{
    public string Name { get; } = name;

    public long FirstLine { get; } = firstLine;

    public int Count { get; private set; }

    public double Sum { get; private set; }

    public int Passed { get; private set; }

    /// <summary>False once a value outside 0..1 was seen: the scale is unknown, so no score is stored.</summary>
    public bool InUnitScale { get; private set; } = true;

    /// <summary>True when the values are `correct` flags or booleans (pass = all true).</summary>
    public bool IsBoolean { get; private set; }

    /// <summary>True when there is no number at all, only a categorical choice.</summary>
    public bool IsCategorical { get; private set; }

    public string? LastRaw { get; private set; }

    public long? EvaluatedAtTicks { get; private set; }

    public void AddBoolean(bool value, long? atTicks)
    {
        IsBoolean = true;
        Count++;
        Sum += value ? 1 : 0;
        Passed += value ? 1 : 0;
        LastRaw = value ? "true" : "false";
        Seen(atTicks);
    }

    public void AddNumber(double value, string raw, long? atTicks)
    {
        Count++;
        Sum += value;
        Passed += value >= 1 ? 1 : 0;
        InUnitScale &= value is >= 0 and <= 1;
        LastRaw = raw;
        Seen(atTicks);
    }

    public void AddCategory(string raw, long? atTicks)
    {
        IsCategorical = true;
        Count++;
        LastRaw = raw;
        Seen(atTicks);
    }

    public double? Score => IsCategorical || !InUnitScale || Count == 0 ? null : Sum / Count;

    /// <summary>`correct` (all of the sample's matches) for booleans; score ≥ 1 on a 0..1 scale otherwise.</summary>
    public bool? IsPassed => IsCategorical || !InUnitScale || Count == 0 ? null : Passed == Count;

    public string? RawScore => Count switch
    {
        0 => null,
        1 => LastRaw,
        _ when IsBoolean => string.Create(CultureInfo.InvariantCulture, $"{Passed}/{Count} true"),
        _ when IsCategorical => LastRaw,
        _ => string.Create(CultureInfo.InvariantCulture, $"mean of {Count}: {(Sum / Count):R}"),
    };

    private void Seen(long? atTicks)
    {
        if (atTicks is { } ticks && (EvaluatedAtTicks is null || ticks > EvaluatedAtTicks))
        {
            EvaluatedAtTicks = ticks;
        }
    }
}

/// <summary>Tokens one model used for one sample, over its `sampling` events.</summary>
internal sealed class UsageTally
{
    public long PromptTokens { get; set; }

    public long CompletionTokens { get; set; }

    public long LargestPrompt { get; set; }

    public bool HasUsage { get; set; }

    public int Calls { get; set; }
}
