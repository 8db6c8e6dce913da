using System.Globalization;
using Warehouse.Loading;

namespace Warehouse.Benchmarks.Generation;

/// <summary>One production trace as every trace writer describes it (canonical CSV and JSONL, OTLP spans).</summary>
internal sealed record SyntheticTrace(
    long Index,
    string TraceId,
    DateTime StartedAt,
    string ModelVersion,
    string PromptVersion,
    string RetrieverVersion,
    string GuardrailVersion,
    string ExperimentBucket,
    string Feature,
    string Intent,
    string Language,
    string CustomerTier,
    string OutputFormat,
    long ContextTokens,
    double LatencyMs,
    double CostUsd,
    long InputTokens,
    long OutputTokens,
    bool IsError,
    string? ErrorType,
    bool HasComplaint,
    double? FeedbackScore,
    bool HasToolParseFailure,
    bool HasJsonParseFailure,
    bool IsRetrievalEmpty,
    string SessionId,
    string InputPreview,
    string Region,
    int ModelCalls)
{
    public string ContextBand => ContextBands.FromTokens(ContextTokens);

    public string TraceUrl => "https://traces.example.com/project/refund-bot/traces/" + TraceId;

    public DateTime EndedAt => StartedAt.AddTicks((long)Math.Round(LatencyMs * TimeSpan.TicksPerMillisecond));
}

/// <summary>
/// Deterministic production traffic of a refund-support bot: trace i is a pure function of
/// (seed, i), so files are written streaming and every format describes the same traces.
/// The shape gives the views work: three models, three prompt versions (v3 baseline, v4
/// candidate, v5 canary), six features, five intents, six languages, three tiers, context
/// sizes from a few hundred to 100k tokens, and a candidate that hurts enterprise long-context
/// traffic (more complaints, errors and JSON failures) while it looks better offline.
/// </summary>
internal sealed class SyntheticTraces(int seed, long count)
{
    public static readonly DateTime From = new(2026, 10, 1, 0, 0, 0, DateTimeKind.Utc);
    public static readonly TimeSpan Window = TimeSpan.FromDays(30);

    private static readonly Weighted<string>[] Models =
        [new("gpt-4o-2024-08-06", 0.5), new("claude-sonnet-4-20250514", 0.3), new("gpt-4o-mini-2024-07-18", 0.2)];

    private static readonly Weighted<string>[] Prompts = [new("refund-v3", 0.45), new("refund-v4", 0.45), new("refund-v5", 0.10)];

    private static readonly Weighted<string>[] Features =
    [
        new("refund_request", 0.30), new("order_status", 0.22), new("billing_dispute", 0.15),
        new("shipping_delay", 0.13), new("account_change", 0.10), new("product_question", 0.10),
    ];

    // Each feature has its own few intents, as an intent classifier's taxonomy has them.
    private static readonly Dictionary<string, Weighted<string>[]> IntentsByFeature = new(StringComparer.Ordinal)
    {
        ["refund_request"] = [new("request_refund", 0.6), new("ask_policy", 0.25), new("escalate", 0.15)],
        ["order_status"] = [new("check_status", 0.8), new("complain", 0.2)],
        ["billing_dispute"] = [new("dispute_charge", 0.6), new("request_refund", 0.25), new("escalate", 0.15)],
        ["shipping_delay"] = [new("check_status", 0.6), new("complain", 0.4)],
        ["account_change"] = [new("update_details", 0.7), new("close_account", 0.3)],
        ["product_question"] = [new("ask_policy", 0.5), new("compare_products", 0.5)],
    };

    private static readonly Weighted<string>[] Languages =
        [new("en", 0.60), new("de", 0.12), new("fr", 0.10), new("es", 0.10), new("ja", 0.05), new("pt", 0.03)];

    private static readonly Weighted<string>[] Tiers = [new("consumer", 0.60), new("business", 0.25), new("enterprise", 0.15)];

    private static readonly Weighted<string>[] Formats = [new("text", 0.7), new("json", 0.3)];

    private static readonly Weighted<(long Min, long Max)>[] ContextSizes =
        [new((200, 2048), 0.45), new((2048, 8192), 0.30), new((8192, 32768), 0.18), new((32768, 110_000), 0.07)];

    private static readonly Weighted<string>[] ErrorTypes =
        [new("RateLimitError", 0.35), new("APITimeoutError", 0.3), new("JSONDecodeError", 0.2), new("ContextLengthExceeded", 0.15)];

    private static readonly Weighted<string>[] Regions = [new("eu-west-1", 0.45), new("us-east-1", 0.45), new("ap-northeast-1", 0.1)];

    private static readonly Dictionary<string, string[]> Previews = new(StringComparer.Ordinal)
    {
        ["en"] = ["Where is my refund for order #{0}? I was charged twice, \"again\".", "My parcel {0} never arrived, can I get my money back?", "Please change the billing address on account {0}."],
        ["de"] = ["Wo bleibt meine Rückerstattung für Bestellung {0}? Ich wurde doppelt belastet.", "Paket {0} ist nie angekommen, bitte um Erstattung."],
        ["fr"] = ["Où est mon remboursement pour la commande {0} ? J'ai été débité deux fois.", "Le colis {0} n'est jamais arrivé, « merci » de rembourser."],
        ["es"] = ["¿Dónde está mi reembolso del pedido {0}? Me cobraron dos veces.", "El paquete {0} nunca llegó; quiero mi dinero."],
        ["ja"] = ["注文{0}の返金はいつになりますか？二重に請求されました。"],
        ["pt"] = ["Onde está o reembolso do pedido {0}? Fui cobrado duas vezes."],
    };

    public int Seed { get; } = seed;

    public long Count { get; } = count;

    /// <summary>32 hex digits, as OTLP writes trace ids; the same id in every format.</summary>
    public string TraceId(long index) =>
        $"{Rng.Mix((ulong)Seed * 0x100000001B3UL + (ulong)index):x16}{Rng.Mix(~(ulong)index ^ (ulong)Seed):x16}";

    /// <summary>
    /// Trace <paramref name="index"/>. Revision 1 is a later export of the same traffic: one trace in
    /// ten got late feedback (a complaint filed a day later), the rest are unchanged.
    /// </summary>
    public SyntheticTrace Get(long index, int revision = 0)
    {
        var rng = Rng.For(Seed, index, salt: 1);
        var startedAt = From.AddTicks((long)(Window.Ticks * ((index + rng.NextDouble()) / Math.Max(1, Count))));
        startedAt = new DateTime(startedAt.Ticks - startedAt.Ticks % 10, DateTimeKind.Utc);
        var model = rng.Pick(Models);
        var prompt = rng.Pick(Prompts);
        var feature = rng.Pick(Features);
        var intent = rng.Pick(IntentsByFeature[feature]);
        var language = rng.Pick(Languages);
        var tier = rng.Pick(Tiers);
        var format = rng.Pick(Formats);
        var (min, max) = rng.Pick(ContextSizes);
        var contextTokens = rng.Between(min, max);
        var modelCalls = 1 + (rng.Chance(0.3) ? 1 : 0) + (rng.Chance(0.1) ? 1 : 0);
        var outputTokens = 40 + (long)rng.Exponential(260);
        var inputTokens = contextTokens + 150 + rng.Between(0, 400);
        var latency = Math.Round(350 + contextTokens * 0.04 + outputTokens * 18 + rng.Exponential(600), 1);
        var cost = Math.Round((inputTokens * 2.5 + outputTokens * 10.0) / 1_000_000 * modelCalls, 6);

        // The candidate's regression lives where the offline set is thin: long contexts, enterprise.
        var longContext = contextTokens >= 8192;
        var hurt = prompt == "refund-v4" && longContext;
        var errorRate = 0.015 + (longContext ? 0.01 : 0) + (hurt ? 0.01 : 0);
        var isError = rng.Chance(errorRate);
        var errorType = isError ? rng.Pick(ErrorTypes) : null;
        var jsonFailure = errorType == "JSONDecodeError" || rng.Chance(format == "json" ? (hurt ? 0.05 : 0.02) : 0.004);
        var toolFailure = rng.Chance(0.012);
        var retrievalEmpty = rng.Chance(feature == "product_question" ? 0.08 : 0.025);
        var complaintRate = 0.03 + (tier == "enterprise" ? 0.01 : 0) + (hurt ? (tier == "enterprise" ? 0.05 : 0.02) : 0) + (isError ? 0.1 : 0);
        var complaint = rng.Chance(complaintRate);
        double? feedback = rng.Chance(0.3) || complaint ? (complaint ? 0.0 : Math.Round(0.5 + rng.NextDouble() * 0.5, 2)) : null;
        var lateComplaint = rng.Chance(0.1);
        if (revision > 0 && lateComplaint && !complaint)
        {
            complaint = true;
            feedback = 0.0;
        }

        var templates = Previews[language];
        var preview = string.Format(CultureInfo.InvariantCulture, templates[rng.Next(templates.Length)], 100_000 + index);
        if (rng.Chance(0.05))
        {
            // Some users paste a whole email thread: long previews, as production has them.
            preview = string.Concat(Enumerable.Repeat(preview + " ", 2 + rng.Next(12)));
        }

        return new SyntheticTrace(index, TraceId(index), startedAt, model, prompt,
            // Infrastructure versions roll out by date, and the experiment bucket follows the prompt
            // arm, as they do in production: they are not independent of each other per request.
            RetrieverVersion: startedAt < From.AddDays(12) ? "kb-2026-09" : "kb-2026-10",
            GuardrailVersion: startedAt < From.AddDays(20) ? "guard-2" : "guard-3",
            ExperimentBucket: prompt switch { "refund-v3" => "control", "refund-v4" => "treatment", _ => "canary" },
            feature, intent, language, tier, format, contextTokens, latency, cost, inputTokens, outputTokens,
            isError, errorType, complaint, feedback, toolFailure, jsonFailure, retrievalEmpty,
            SessionId: "sess-" + (index / 3).ToString("x8", CultureInfo.InvariantCulture),
            preview, rng.Pick(Regions), modelCalls);
    }
}
