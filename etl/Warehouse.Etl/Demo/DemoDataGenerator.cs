using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Warehouse.Demo;

/// <summary>Where <see cref="DemoDataGenerator"/> wrote the demo files and how many records each holds.</summary>
public sealed record DemoFiles(
    string EvalFile,
    string TraceFile,
    string LateFeedbackFile,
    int EvalRecords,
    int Traces,
    int LateFeedbackTraces,
    IReadOnlyList<string> EvalFiles,
    IReadOnlyList<string> TraceFiles,
    IReadOnlyList<string> LateFeedbackFiles);

/// <summary>
/// Writes the refund-bot story of DESIGN section 1 as canonical files (column names are the
/// table columns): `refund-v4` beats `refund-v3` offline on an eval set of mostly short consumer
/// cases, while in production enterprise customers and long contexts complain about twice as
/// often on v4. Everything is drawn from one seeded <see cref="Random"/>, so a seed always gives
/// byte-identical files; rows are streamed, never held in memory.
/// </summary>
public static partial class DemoDataGenerator
{
    public const string EvalFileName = "evals.csv";
    public const string TraceFileName = "traces.jsonl";
    public const string LateFeedbackFileName = "traces-feedback.jsonl";

    public const string EvalSource = "promptfoo";
    public const string TraceSource = "langfuse";
    public const string BaselinePromptVersion = "refund-v3";
    public const string CandidatePromptVersion = "refund-v4";
    public const string ModelVersion = "gpt-4o-2024-08-06";
    public const string RetrieverVersion = "bm25-v2";
    public const string GuardrailVersion = "gr-1";
    public const string OfflineBucket = "offline";
    public const string OnlineBucket = "production";
    public const string DatasetId = "refund-golden";
    public const string DatasetVersion = "2026-11-01";
    public const string JudgeVersion = "gpt-4o-judge-v2";
    public const string CorrectnessMetric = "correctness";
    public const string RefusalPolicyMetric = "refusal_policy";

    public const int DefaultSeed = 20261126;

    /// <summary>Column order of `evals.csv`: the columns of `quality.eval_records` a source provides.</summary>
    public static readonly string[] EvalColumns =
    [
        "source", "eval_run_id", "case_id", "metric", "epoch",
        "model_version", "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket",
        "dataset_id", "dataset_version", "judge_version",
        "feature", "intent", "language", "customer_tier", "output_format",
        "score", "is_passed", "raw_score", "latency_ms", "cost_usd",
        "input_tokens", "output_tokens", "context_tokens", "evaluated_at",
        "source_trace_id", "artifact_url", "attributes",
    ];

    /// <summary>Key order of each `traces.jsonl` object: the columns of `quality.trace_summaries` a source provides.</summary>
    public static readonly string[] TraceColumns =
    [
        "source", "trace_id", "started_at",
        "model_version", "prompt_version", "retriever_version", "guardrail_version", "experiment_bucket",
        "feature", "intent", "language", "customer_tier", "output_format",
        "latency_ms", "cost_usd", "input_tokens", "output_tokens", "context_tokens",
        "is_error", "error_type", "has_complaint", "feedback_score",
        "has_tool_parse_failure", "has_json_parse_failure", "is_retrieval_empty",
        "session_id", "trace_url", "input_preview", "attributes",
    ];

    private const string Enterprise = "enterprise";
    private const string Consumer = "consumer";
    private const string Smb = "smb";

    // gpt-4o list prices: USD 2.50 per million input tokens, 10.00 per million output tokens.
    private const double InputUsdPerToken = 2.5e-6;
    private const double OutputUsdPerToken = 10e-6;

    // Complaints filed a day later: this share of all complaints first arrives with no complaint
    // flag and comes back in the late-feedback export, about 3 % of all traces.
    private const double LateComplaintShare = 0.55;

    private static readonly DateTime BaselineWindowStart = new(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime CandidateWindowStart = new(2026, 11, 15, 0, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan OnlineWindowLength = TimeSpan.FromDays(14);
    private static readonly DateTime BaselineEvalStart = new(2026, 11, 20, 10, 15, 0, DateTimeKind.Utc);
    private static readonly DateTime CandidateEvalStart = new(2026, 11, 20, 13, 40, 0, DateTimeKind.Utc);
    private const int SecondsPerEvalCase = 5;

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private static readonly (string Value, double Weight)[] ProductionTiers =
        [(Enterprise, 0.35), (Consumer, 0.40), (Smb, 0.25)];

    private static readonly (string Value, double Weight)[] EvalTiers =
        [(Consumer, 0.70), (Smb, 0.20), (Enterprise, 0.10)];

    private static readonly (string Value, double Weight)[] ProductionFeatures =
        [("refund_request", 0.40), ("order_status", 0.25), ("cancel_subscription", 0.20), ("billing_dispute", 0.15)];

    private static readonly (string Value, double Weight)[] EvalFeatures =
        [("refund_request", 0.45), ("order_status", 0.25), ("cancel_subscription", 0.18), ("billing_dispute", 0.12)];

    private static readonly Dictionary<string, (string Value, double Weight)[]> IntentsByFeature = new()
    {
        ["refund_request"] = [("full_refund", 0.45), ("partial_refund", 0.30), ("refund_status", 0.25)],
        ["order_status"] = [("track_order", 0.50), ("delivery_delay", 0.35), ("wrong_item", 0.15)],
        ["cancel_subscription"] = [("cancel_now", 0.50), ("cancel_end_of_term", 0.30), ("pause_subscription", 0.20)],
        ["billing_dispute"] = [("double_charge", 0.40), ("unknown_charge", 0.35), ("invoice_correction", 0.25)],
    };

    private static readonly (string Value, double Weight)[] ProductionLanguages =
        [("en", 0.70), ("de", 0.13), ("fr", 0.10), ("es", 0.07)];

    private static readonly (string Value, double Weight)[] EvalLanguages =
        [("en", 0.80), ("de", 0.08), ("fr", 0.07), ("es", 0.05)];

    // Share of requests per context band (<2k, 2k-8k, 8k-32k, >=32k). Enterprise accounts carry long
    // order histories and tool outputs; overall about 25 % of traces reach 8k and 8 % reach 32k.
    private static readonly Dictionary<string, double[]> ProductionBandsByTier = new()
    {
        [Enterprise] = [0.30, 0.25, 0.30, 0.15],
        [Consumer] = [0.55, 0.35, 0.07, 0.03],
        [Smb] = [0.45, 0.33, 0.16, 0.06],
    };

    // The golden set was written by hand from short tickets: 3 % at 8k-32k, 1 % at 32k or more.
    private static readonly double[] EvalBands = [0.80, 0.16, 0.03, 0.01];

    private static readonly Dictionary<string, double> ProductionJsonShareByTier = new()
    {
        [Enterprise] = 0.55,
        [Consumer] = 0.10,
        [Smb] = 0.30,
    };

    private static readonly string[] Companies =
    [
        "Contoso GmbH", "Fabrikam, Inc.", "Northwind Traders", "Tailspin Toys", "Wide World Importers",
        "Adventure Works Cycles", "Müller & Söhne KG", "Société Générale d'Achats",
    ];

    private static readonly Dictionary<string, string[]> EnglishTemplatesByIntent = new()
    {
        ["full_refund"] =
        [
            "Hi, the blender from order {order} arrived with a cracked jar. I'd like a full refund, not a replacement.",
            "I want my money back for order {order}, {amount} total. The item never worked.",
        ],
        ["partial_refund"] =
        [
            "Order {order}: one of the three mugs was broken, can I get a partial refund for just that one?",
            "The jacket in order {order} was missing its belt. A partial refund of, say, $15 would be fine.",
        ],
        ["refund_status"] =
        [
            "You said \"refund issued\" on {date} for order {order}, but I still don't see {amount} on my card.",
            "Where is my refund? I returned order {order} two weeks ago.",
        ],
        ["track_order"] =
        [
            "Where is my order {order}? Tracking has said \"label created\" for a week.",
            "Can you tell me when order {order} will arrive?",
        ],
        ["delivery_delay"] =
        [
            "Order {order}\nStill no delivery, it's been 9 days past the promised date.",
            "My order {order} was due on {date}. It's late, again, and I needed it for a birthday.",
        ],
        ["wrong_item"] =
        [
            "I ordered the blue jacket (size M), order {order}, and got a red one in XL.",
            "Wrong item in order {order}: I got a \"Deluxe\" kettle instead of the travel one.",
        ],
        ["cancel_now"] =
        [
            "Please cancel my subscription immediately, I don't want to be charged {amount} again.",
            "Cancel everything. Now. I've asked three times already.",
        ],
        ["cancel_end_of_term"] =
        [
            "Cancel my plan at the end of the current billing period, not before. Thanks, Sam",
            "I'd like to stop my subscription when this term ends on {date}.",
        ],
        ["pause_subscription"] =
        [
            "Can I pause my subscription for two months instead of cancelling? Travelling, back in March.",
            "Is there a way to pause, not cancel, my plan until {date}?",
        ],
        ["double_charge"] =
        [
            "I was charged twice for order {order}: {amount} on {date}, then again the next day. Refund the duplicate, please.",
            "Two identical charges of {amount} for one order ({order}). Why?",
        ],
        ["unknown_charge"] =
        [
            "What is this {amount} charge labelled \"RB*SERVICES\"? I don't recognise it.",
            "There's a charge on my statement from {date} that I never authorised.",
        ],
        ["invoice_correction"] =
        [
            "Our invoice for order {order} shows the wrong VAT number, please reissue it with \"DE 812 345 678\".",
            "The invoice for {order} has our old address; can you correct it and resend?",
        ],
    };

    private static readonly Dictionary<(string Language, string Feature), string[]> TranslatedTemplates = new()
    {
        [("de", "refund_request")] =
        [
            "Hallo, ich möchte eine Rückerstattung für Bestellung {order}. Der Artikel war beschädigt, bitte nicht \"umtauschen\".",
            "Wann kommt meine Rückerstattung über {amount} €? Bestellung {order}, die Rücksendung ist längst da.",
        ],
        [("de", "order_status")] =
        [
            "Wo bleibt meine Bestellung {order}? Die Sendungsverfolgung zeigt seit Tagen nichts Neues.",
        ],
        [("de", "cancel_subscription")] =
        [
            "Bitte kündigen Sie mein Abo zum nächstmöglichen Zeitpunkt. Grüße, Jürgen Müller",
        ],
        [("de", "billing_dispute")] =
        [
            "Mir wurden {amount} € doppelt abgebucht, Bestellung {order}. Bitte erstatten Sie die Überzahlung.",
        ],
        [("fr", "refund_request")] =
        [
            "Bonjour, je voudrais être remboursé pour la commande {order}, l'article est arrivé cassé.",
        ],
        [("fr", "order_status")] =
        [
            "Où en est ma commande {order} ? Le suivi indique « en préparation » depuis une semaine.",
        ],
        [("fr", "cancel_subscription")] =
        [
            "Je souhaite résilier mon abonnement dès aujourd'hui, merci de confirmer.",
        ],
        [("fr", "billing_dispute")] =
        [
            "J'ai été débité deux fois de {amount} € pour la commande {order}, pouvez-vous corriger ?",
        ],
        [("es", "refund_request")] =
        [
            "Hola, quiero un reembolso de mi pedido {order}, llegó dañado y no funciona.",
        ],
        [("es", "order_status")] =
        [
            "¿Dónde está mi pedido {order}? Ya pasó la fecha de entrega.",
        ],
        [("es", "cancel_subscription")] =
        [
            "Quiero cancelar mi suscripción, no autoricé la renovación de {amount} €.",
        ],
        [("es", "billing_dispute")] =
        [
            "Me cobraron dos veces {amount} € por el pedido {order}, ¿pueden devolverme uno?",
        ],
    };

    private static readonly Dictionary<string, string> TestDescriptionsByIntent = new()
    {
        ["full_refund"] = "Full refund for a damaged item within the return window",
        ["partial_refund"] = "Partial refund for one broken item of a multi-item order",
        ["refund_status"] = "Customer asks where an issued refund is",
        ["track_order"] = "Order tracking question with a valid order number",
        ["delivery_delay"] = "Late delivery, customer upset, no refund asked",
        ["wrong_item"] = "Wrong item delivered; offer exchange or refund",
        ["cancel_now"] = "Immediate cancellation; must not promise a refund of past terms",
        ["cancel_end_of_term"] = "Cancellation at end of billing period",
        ["pause_subscription"] = "Pause instead of cancel",
        ["double_charge"] = "Duplicate charge on one order",
        ["unknown_charge"] = "Unrecognised charge; must not disclose other accounts",
        ["invoice_correction"] = "Invoice correction request (VAT number, address)",
    };

    private static readonly (string Value, double Weight)[] Channels =
        [("web", 0.55), ("app", 0.30), ("email", 0.15)];

    private static readonly (string Value, double Weight)[] Regions =
        [("eu-west-1", 0.55), ("us-east-1", 0.45)];

    /// <summary>
    /// Writes `evals.csv`, `traces.jsonl` and `traces-feedback.jsonl` into <paramref name="directory"/>
    /// (created when missing; existing files are replaced).
    /// </summary>
    public static DemoFiles Generate(string directory, int seed = DefaultSeed, int traces = 24000, int evalCases = 600) =>
        Generate(directory, seed, traces, evalCases, toolFormats: false);

    /// <summary>
    /// As <see cref="Generate(string, int, int, int)"/>, but the offline half is written as the tools
    /// write it (see <see cref="PromptfooFileName"/> and <see cref="InspectFileName"/>) instead of `evals.csv`.
    /// </summary>
    public static DemoFiles GenerateWithToolFormats(string directory, int seed = DefaultSeed, int traces = 24000, int evalCases = 600) =>
        Generate(directory, seed, traces, evalCases, toolFormats: true);

    private static DemoFiles Generate(string directory, int seed, int traces, int evalCases, bool toolFormats)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(traces);
        ArgumentOutOfRangeException.ThrowIfNegative(evalCases);

        Directory.CreateDirectory(directory);
        var evalFile = Path.GetFullPath(Path.Combine(directory, EvalFileName));
        var traceFile = Path.GetFullPath(Path.Combine(directory, TraceFileName));
        var lateFeedbackFile = Path.GetFullPath(Path.Combine(directory, LateFeedbackFileName));

        var random = new Random(seed);
        var traceSeed = random.Next();
        var evalSeed = random.Next();

        // Short complaint traces of the baseline period, from which about 5 % of the eval cases
        // were written (bounded by the number of eval cases, so memory does not grow with traces).
        var complaintTraces = new List<SeedTrace>();
        if (toolFormats)
        {
            int lateTraces;
            string[] online;
            string[] late;
            var root = Path.GetFullPath(directory);
            using (var otlp = new OtlpTraceSink(Path.Combine(root, OtlpFolderName)))
            using (var langfuse = new LangfuseTraceSink(Path.Combine(root, LangfuseFolderName)))
            {
                // The baseline weeks were traced with the Langfuse SDK, the candidate's with OpenTelemetry.
                var byWindow = new WindowSink(langfuse, otlp);
                lateTraces = WriteTraces(traceFile, lateFeedbackFile, new Random(traceSeed), traces, complaintTraces, evalCases, byWindow);
                online = [langfuse.TracesFile, otlp.ChildrenFile, otlp.RootsFile, otlp.FeedbackFile];
                late = [langfuse.LaterFile, otlp.LateFeedbackFile];
            }

            Shuffle(random, complaintTraces);
            var records = WriteToolFormatEvals(directory, evalSeed, evalCases, complaintTraces, out var promptfooFile, out var inspectFile);
            return new DemoFiles(promptfooFile, online[0], late[0], records, traces, lateTraces, [promptfooFile, inspectFile], online, late);
        }

        var lateFeedbackTraces = WriteTraces(traceFile, lateFeedbackFile, new Random(traceSeed), traces, complaintTraces, evalCases);
        Shuffle(random, complaintTraces);
        var evalRecords = WriteEvals(evalFile, evalSeed, evalCases, complaintTraces);
        return new DemoFiles(evalFile, traceFile, lateFeedbackFile, evalRecords, traces, lateFeedbackTraces, [evalFile], [traceFile], [lateFeedbackFile]);
    }

    private static int WriteTraces(
        string traceFile, string lateFeedbackFile, Random random, int traces, List<SeedTrace> complaintTraces, int maxComplaintTraces,
        ITraceSink? otlp = null)
    {
        // In the tool-format demo the traces go out in trace-store formats instead (OTLP, Langfuse): no canonical files.
        using var traceWriter = otlp is null ? CreateWriter(traceFile) : StreamWriter.Null;
        using var lateWriter = otlp is null ? CreateWriter(lateFeedbackFile) : StreamWriter.Null;
        var line = new JsonLineBuilder();
        var baselineCount = (traces + 1) / 2;
        var candidateCount = traces - baselineCount;
        var lateCount = 0;
        var sessionNumber = 0;
        User user = default;

        for (var index = 0; index < traces; index++)
        {
            var isCandidate = index >= baselineCount;
            var positionInWindow = isCandidate ? index - baselineCount : index;
            var tracesInWindow = isCandidate ? candidateCount : baselineCount;
            var windowStart = isCandidate ? CandidateWindowStart : BaselineWindowStart;
            var secondsPerTrace = OnlineWindowLength.TotalSeconds / tracesInWindow;
            var startedAt = windowStart.AddSeconds(Math.Floor((positionInWindow + random.NextDouble()) * secondsPerTrace));

            // A session is one customer's conversation: a few consecutive turns share tier and language.
            if (positionInWindow == 0 || random.NextDouble() < 0.45)
            {
                sessionNumber++;
                user = DrawUser(random);
            }

            var feature = Pick(random, ProductionFeatures);
            var intent = Pick(random, IntentsByFeature[feature]);
            var outputFormat = random.NextDouble() < ProductionJsonShareByTier[user.Tier] ? "json" : "text";
            var contextTokens = DrawContextTokens(random, ProductionBandsByTier[user.Tier]);
            var inputTokens = contextTokens + random.Next(150, 650);
            var isLongContext = contextTokens >= 8192;

            // The regression of the story: v4's longer instructions break down on enterprise
            // accounts and long contexts; short consumer and smb turns are as good or a bit better.
            var isAffected = isCandidate && (user.Tier == Enterprise || isLongContext);
            var isImproved = isCandidate && !isAffected;

            var isRetrievalEmpty = random.NextDouble() < 0.03;
            var hasToolParseFailure = random.NextDouble() < (isAffected ? 0.015 : isImproved ? 0.009 : 0.01);
            // A tool output that fails to parse is a JSON parse failure too (the loaders derive both from one error).
            var hasJsonParseFailure = random.NextDouble() < (isAffected ? 0.04 : isImproved ? 0.009 : 0.01) || hasToolParseFailure;
            string? errorType = null;
            if (random.NextDouble() < (isAffected ? 0.025 : 0.02))
            {
                errorType = random.NextDouble() < 0.55 ? "timeout" : "rate_limit";
            }
            var decodeErrorDraw = random.NextDouble();
            if (errorType is null && hasJsonParseFailure && decodeErrorDraw < 0.25)
            {
                errorType = "JSONDecodeError";
            }
            var isError = errorType is not null;

            var outputTokens = errorType is "timeout" or "rate_limit"
                ? 0
                : outputFormat == "json" ? random.Next(60, 240) : random.Next(90, 400);
            var latencyMs = errorType switch
            {
                "timeout" => 30000 + random.NextDouble() * 5000,
                "rate_limit" => 80 + random.NextDouble() * 300,
                _ => (450 + 0.035 * contextTokens + 14.0 * outputTokens)
                    * LogNormal(random, 0.25)
                    * (isAffected ? 1.3 : isImproved ? 0.98 : 1.0),
            };
            var costUsd = errorType == "rate_limit" ? 0.0 : inputTokens * InputUsdPerToken + outputTokens * OutputUsdPerToken;

            var hasFailure = isError || hasJsonParseFailure || hasToolParseFailure || isRetrievalEmpty;
            var complaintBase = isAffected ? 0.08 : isImproved ? 0.028 : 0.032;
            var hasComplaint = random.NextDouble() < (hasFailure ? 0.20 : complaintBase);
            var isLateComplaint = hasComplaint && random.NextDouble() < LateComplaintShare;
            var feedbackDraw = random.NextDouble();
            var negativeDraw = random.NextDouble();
            var scoreDraw = random.NextDouble();
            double? feedbackScore;
            double? lateFeedbackScore = null;
            if (isLateComplaint)
            {
                // A lukewarm thumbs at first, the ticket a day later.
                feedbackScore = Round2(0.4 + 0.4 * scoreDraw);
                lateFeedbackScore = Round2(0.2 * random.NextDouble());
            }
            else if (hasComplaint)
            {
                feedbackScore = Round2(0.3 * scoreDraw);
            }
            else if (feedbackDraw < 0.26)
            {
                var isNegative = negativeDraw < (isAffected ? 0.20 : isImproved ? 0.09 : 0.10);
                feedbackScore = Round2(isNegative ? 0.4 * scoreDraw : 0.6 + 0.4 * scoreDraw);
            }
            else
            {
                feedbackScore = null;
            }

            var traceId = HexTraceId(index + 1);
            var inputPreview = DrawInputPreview(random, feature, intent, user, isLongContext);
            var toolCalls = random.Next(0, 2) + (isLongContext ? random.Next(1, 4) : 0);
            var attributes = Invariant(
                $"{{\"user_id\":\"{user.UserId}\",\"channel\":\"{(outputFormat == "json" ? "api" : user.Channel)}\",\"region\":\"{user.Region}\",\"tool_calls\":{toolCalls},\"langfuse_project\":\"refund-bot\"}}");

            var row = new TraceRow(
                TraceId: traceId,
                StartedAt: startedAt,
                PromptVersion: isCandidate ? CandidatePromptVersion : BaselinePromptVersion,
                Feature: feature,
                Intent: intent,
                Language: user.Language,
                CustomerTier: user.Tier,
                OutputFormat: outputFormat,
                LatencyMs: Math.Round(latencyMs, 1),
                CostUsd: Math.Round(costUsd, 6),
                InputTokens: inputTokens,
                OutputTokens: outputTokens,
                ContextTokens: contextTokens,
                IsError: isError,
                ErrorType: errorType,
                HasComplaint: hasComplaint && !isLateComplaint,
                FeedbackScore: feedbackScore,
                HasToolParseFailure: hasToolParseFailure,
                HasJsonParseFailure: hasJsonParseFailure,
                IsRetrievalEmpty: isRetrievalEmpty,
                SessionId: "sess-" + sessionNumber.ToString("D6", CultureInfo.InvariantCulture),
                InputPreview: inputPreview,
                Attributes: attributes);

            if (otlp is null)
            {
                WriteTraceLine(traceWriter, line, row);
            }
            else
            {
                otlp.Write(row);
            }

            if (isLateComplaint)
            {
                var late = row with { HasComplaint = true, FeedbackScore = lateFeedbackScore };
                if (otlp is null)
                {
                    WriteTraceLine(lateWriter, line, late);
                }
                else
                {
                    otlp.WriteLate(late);
                }

                lateCount++;
            }

            // Eval authors turned short baseline complaints into cases; long tool outputs did not fit
            // the eval tool's case format, which is the blind spot the warehouse should reveal.
            if (!isCandidate && hasComplaint && !isLongContext && complaintTraces.Count < maxComplaintTraces)
            {
                complaintTraces.Add(new SeedTrace(traceId, feature, intent, user.Language, user.Tier, outputFormat, contextTokens));
            }
        }

        return lateCount;
    }

    private static int WriteEvals(string evalFile, int evalSeed, int evalCases, List<SeedTrace> complaintTraces)
    {
        using var writer = CreateWriter(evalFile);
        var fields = new string?[EvalColumns.Length];
        WriteCsvRow(writer, EvalColumns);
        var records = 0;

        // Both runs replay the same draws (same seed), so run v4 sees exactly the cases of run v3
        // and each case keeps its latent difficulty: pass/fail pairs up by case.
        foreach (var isCandidate in (ReadOnlySpan<bool>)[false, true])
        {
            var random = new Random(evalSeed);
            var promptVersion = isCandidate ? CandidatePromptVersion : BaselinePromptVersion;
            var evalRunId = "eval-2026-11-20-" + promptVersion;
            var artifactUrl = "https://promptfoo.example/eval/" + evalRunId;
            var runStart = isCandidate ? CandidateEvalStart : BaselineEvalStart;
            var seededCases = 0;

            for (var index = 0; index < evalCases; index++)
            {
                var evalCase = DrawEvalCase(random, index, complaintTraces, ref seededCases);
                var outcome = isCandidate ? evalCase.Candidate : evalCase.Baseline;
                var evaluatedAt = runStart.AddSeconds(index * SecondsPerEvalCase);

                foreach (var metric in (ReadOnlySpan<string>)[CorrectnessMetric, RefusalPolicyMetric])
                {
                    var isCorrectness = metric == CorrectnessMetric;
                    var score = isCorrectness ? outcome.CorrectnessScore : outcome.PassesRefusalPolicy ? 1.0 : 0.0;
                    var isPassed = isCorrectness ? score >= 0.5 : outcome.PassesRefusalPolicy;
                    var column = 0;
                    fields[column++] = EvalSource;
                    fields[column++] = evalRunId;
                    fields[column++] = evalCase.CaseId;
                    fields[column++] = metric;
                    fields[column++] = "1";
                    fields[column++] = ModelVersion;
                    fields[column++] = promptVersion;
                    fields[column++] = RetrieverVersion;
                    fields[column++] = GuardrailVersion;
                    fields[column++] = OfflineBucket;
                    fields[column++] = DatasetId;
                    fields[column++] = DatasetVersion;
                    fields[column++] = JudgeVersion;
                    fields[column++] = evalCase.Feature;
                    fields[column++] = evalCase.Intent;
                    fields[column++] = evalCase.Language;
                    fields[column++] = evalCase.CustomerTier;
                    fields[column++] = evalCase.OutputFormat;
                    fields[column++] = FormatNumber(score);
                    fields[column++] = FormatBoolean(isPassed);
                    fields[column++] = isCorrectness ? FormatNumber(score) : isPassed ? "pass" : "fail";
                    fields[column++] = FormatNumber(outcome.LatencyMs);
                    fields[column++] = FormatNumber(outcome.CostUsd);
                    fields[column++] = FormatInteger(evalCase.InputTokens);
                    fields[column++] = FormatInteger(outcome.OutputTokens);
                    fields[column++] = FormatInteger(evalCase.ContextTokens);
                    fields[column++] = FormatTimestamp(evaluatedAt);
                    fields[column++] = evalCase.SourceTraceId;
                    fields[column++] = artifactUrl;
                    fields[column++] = evalCase.Attributes;
                    WriteCsvRow(writer, fields);
                    records++;
                }
            }
        }

        return records;
    }

    private static EvalCase DrawEvalCase(Random random, int index, List<SeedTrace> complaintTraces, ref int seededCases)
    {
        // Every draw happens in the same order whatever its outcome, so both runs stay in step.
        var seedDraw = random.NextDouble();
        var missingFeatureDraw = random.NextDouble();
        var drawnTier = Pick(random, EvalTiers);
        var drawnFeature = Pick(random, EvalFeatures);
        var drawnIntent = Pick(random, IntentsByFeature[drawnFeature]);
        var drawnLanguage = Pick(random, EvalLanguages);
        var drawnFormat = random.NextDouble() < 0.2 ? "json" : "text";
        var drawnContextTokens = DrawContextTokens(random, EvalBands);
        var promptOverhead = random.Next(150, 650);
        var difficulty = random.NextDouble();
        var refusalDifficulty = random.NextDouble();
        var baselineNoise = Normal(random) * 0.05;
        var candidateNoise = Normal(random) * 0.05;
        var baselineRefusalNoise = Normal(random) * 0.01;
        var candidateRefusalNoise = Normal(random) * 0.01;
        var baselineOutputShare = random.NextDouble();
        var candidateOutputShare = random.NextDouble();
        var baselineLatencyFactor = LogNormal(random, 0.2);
        var candidateLatencyFactor = LogNormal(random, 0.2);

        SeedTrace? seedTrace = null;
        if (seedDraw < 0.05 && seededCases < complaintTraces.Count)
        {
            seedTrace = complaintTraces[seededCases++];
        }

        var feature = seedTrace?.Feature ?? (missingFeatureDraw < 0.01 ? null : drawnFeature);
        var intent = seedTrace?.Intent ?? drawnIntent;
        var tier = seedTrace?.CustomerTier ?? drawnTier;
        var contextTokens = seedTrace?.ContextTokens ?? drawnContextTokens;
        var outputFormat = seedTrace?.OutputFormat ?? drawnFormat;
        var isHardSlice = tier == Enterprise || contextTokens >= 8192;

        var description = TestDescriptionsByIntent[intent];
        var attributes = seedTrace is null
            ? Invariant($"{{\"test_description\":\"{description}\",\"provider\":\"openai:{ModelVersion}\"}}")
            : Invariant($"{{\"test_description\":\"{description} (from a complaint)\",\"provider\":\"openai:{ModelVersion}\",\"seeded_from\":\"{TraceSource}\"}}");

        // Correctness passes when the case is easier than the version's threshold: about 84 % for
        // v3 everywhere, about 89.5 % for v4 except on enterprise and long contexts (85 %), which
        // the set barely covers, so the offline average still says "v4 is better".
        var baseline = DrawOutcome(0.84 - difficulty + baselineNoise, refusalDifficulty + baselineRefusalNoise < 0.97,
            baselineOutputShare, baselineLatencyFactor, outputFormat, contextTokens, contextTokens + promptOverhead, 1.0);
        var candidate = DrawOutcome((isHardSlice ? 0.85 : 0.895) - difficulty + candidateNoise,
            refusalDifficulty + candidateRefusalNoise < 0.975,
            candidateOutputShare, candidateLatencyFactor, outputFormat, contextTokens, contextTokens + promptOverhead, 1.05);

        return new EvalCase(
            CaseId: "case-" + (index + 1).ToString("D4", CultureInfo.InvariantCulture),
            Feature: feature,
            Intent: intent,
            Language: seedTrace?.Language ?? drawnLanguage,
            CustomerTier: tier,
            OutputFormat: outputFormat,
            InputTokens: contextTokens + promptOverhead,
            ContextTokens: contextTokens,
            SourceTraceId: seedTrace?.TraceId,
            Attributes: attributes,
            Baseline: baseline,
            Candidate: candidate);
    }

    private static EvalOutcome DrawOutcome(
        double margin, bool passesRefusalPolicy, double outputShare, double latencyFactor,
        string outputFormat, long contextTokens, long inputTokens, double verbosity)
    {
        var outputTokens = (long)Math.Round((outputFormat == "json" ? 60 + 180 * outputShare : 90 + 310 * outputShare) * verbosity);
        var latencyMs = (500 + 0.035 * contextTokens + 14.0 * outputTokens) * latencyFactor;
        var costUsd = inputTokens * InputUsdPerToken + outputTokens * OutputUsdPerToken;
        return new EvalOutcome(
            CorrectnessScore: Round2(Math.Clamp(0.5 + 1.6 * margin, 0.0, 1.0)),
            PassesRefusalPolicy: passesRefusalPolicy,
            LatencyMs: Math.Round(latencyMs, 1),
            CostUsd: Math.Round(costUsd, 6),
            OutputTokens: outputTokens);
    }

    private static User DrawUser(Random random)
    {
        var tier = Pick(random, ProductionTiers);
        var language = Pick(random, ProductionLanguages);
        var channel = Pick(random, Channels);
        var region = language == "en" ? Pick(random, Regions) : "eu-west-1";
        var company = Companies[random.Next(Companies.Length)];
        var account = random.Next(1000, 10000);
        var userId = "u-" + random.Next(1, 100000).ToString("D5", CultureInfo.InvariantCulture);
        return new User(tier, language, channel, region, tier == Enterprise ? company : null, account, userId);
    }

    private static long DrawContextTokens(Random random, double[] bandShares)
    {
        var draw = random.NextDouble();
        var position = random.NextDouble();
        var band = 0;
        var cumulative = 0.0;
        for (; band < bandShares.Length - 1; band++)
        {
            cumulative += bandShares[band];
            if (draw < cumulative)
            {
                break;
            }
        }

        var (low, high) = band switch
        {
            0 => (150, 2048),
            1 => (2048, 8192),
            2 => (8192, 32768),
            _ => (32768, 120000),
        };
        return low + (long)Math.Floor(position * (high - low));
    }

    private static string DrawInputPreview(Random random, string feature, string intent, User user, bool isLongContext)
    {
        var templates = user.Language == "en" ? EnglishTemplatesByIntent[intent] : TranslatedTemplates[(user.Language, feature)];
        var template = templates[random.Next(templates.Length)];
        var order = "A-" + random.Next(10000, 100000).ToString(CultureInfo.InvariantCulture);
        var amountValue = (random.Next(999, 49999) / 100.0).ToString("0.00", CultureInfo.InvariantCulture);
        var amount = user.Language == "en" ? "$" + amountValue : amountValue.Replace('.', ',');
        var date = "Nov " + random.Next(1, 29).ToString(CultureInfo.InvariantCulture);
        var orderCount = random.Next(12, 240);
        var message = template.Replace("{order}", order).Replace("{amount}", amount).Replace("{date}", date);
        if (user.Company is not null)
        {
            message = Invariant($"{user.Company} (account ENT-{user.Account}): {message}");
        }

        if (isLongContext && user.Language == "en")
        {
            message = Invariant($"{message} Our full order history is attached ({orderCount} orders).");
        }

        return message;
    }

    private static void WriteTraceLine(StreamWriter writer, JsonLineBuilder line, TraceRow row)
    {
        line.Begin();
        line.String("source", TraceSource);
        line.String("trace_id", row.TraceId);
        line.String("started_at", FormatTimestamp(row.StartedAt));
        line.String("model_version", ModelVersion);
        line.String("prompt_version", row.PromptVersion);
        line.String("retriever_version", RetrieverVersion);
        line.String("guardrail_version", GuardrailVersion);
        line.String("experiment_bucket", OnlineBucket);
        line.String("feature", row.Feature);
        line.String("intent", row.Intent);
        line.String("language", row.Language);
        line.String("customer_tier", row.CustomerTier);
        line.String("output_format", row.OutputFormat);
        line.Number("latency_ms", row.LatencyMs);
        line.Number("cost_usd", row.CostUsd);
        line.Integer("input_tokens", row.InputTokens);
        line.Integer("output_tokens", row.OutputTokens);
        line.Integer("context_tokens", row.ContextTokens);
        line.Boolean("is_error", row.IsError);
        line.String("error_type", row.ErrorType);
        line.Boolean("has_complaint", row.HasComplaint);
        line.Number("feedback_score", row.FeedbackScore);
        line.Boolean("has_tool_parse_failure", row.HasToolParseFailure);
        line.Boolean("has_json_parse_failure", row.HasJsonParseFailure);
        line.Boolean("is_retrieval_empty", row.IsRetrievalEmpty);
        line.String("session_id", row.SessionId);
        line.String("trace_url", "https://langfuse.example/trace/" + row.TraceId);
        line.String("input_preview", row.InputPreview);
        line.String("attributes", row.Attributes);
        writer.Write(line.End());
        writer.Write('\n');
    }

    private static void WriteCsvRow(StreamWriter writer, IReadOnlyList<string?> fields)
    {
        for (var index = 0; index < fields.Count; index++)
        {
            if (index > 0)
            {
                writer.Write(',');
            }

            var value = fields[index];
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            // RFC 4180: quote a field holding a separator, quote or line break, and double its quotes;
            // also quote edge whitespace so that no reader trims it away.
            var needsQuotes = value.AsSpan().IndexOfAny(",\"\r\n") >= 0
                || char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]);
            if (needsQuotes)
            {
                writer.Write('"');
                writer.Write(value.Replace("\"", "\"\""));
                writer.Write('"');
            }
            else
            {
                writer.Write(value);
            }
        }

        writer.Write('\n');
    }

    private static StreamWriter CreateWriter(string path) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read), Utf8NoBom) { NewLine = "\n" };

    private static string Pick(Random random, (string Value, double Weight)[] choices)
    {
        var draw = random.NextDouble();
        var cumulative = 0.0;
        for (var index = 0; index < choices.Length - 1; index++)
        {
            cumulative += choices[index].Weight;
            if (draw < cumulative)
            {
                return choices[index].Value;
            }
        }

        return choices[^1].Value;
    }

    private static void Shuffle<T>(Random random, List<T> items)
    {
        for (var index = items.Count - 1; index > 0; index--)
        {
            var other = random.Next(index + 1);
            (items[index], items[other]) = (items[other], items[index]);
        }
    }

    /// <summary>Standard normal draw (Box–Muller), from two uniform draws.</summary>
    private static double Normal(Random random)
    {
        var first = 1.0 - random.NextDouble();
        var second = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(first)) * Math.Cos(2.0 * Math.PI * second);
    }

    /// <summary>A multiplicative noise factor with median 1.</summary>
    private static double LogNormal(Random random, double sigma) => Math.Exp(sigma * Normal(random));

    private static double Round2(double value) => Math.Round(value, 2);

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);

    private static string FormatNumber(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string FormatInteger(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string FormatBoolean(bool value) => value ? "true" : "false";

    private static string FormatTimestamp(DateTime value) =>
        value.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private readonly record struct User(
        string Tier, string Language, string Channel, string Region, string? Company, int Account, string UserId);

    private sealed record SeedTrace(
        string TraceId, string Feature, string Intent, string Language, string CustomerTier, string OutputFormat, long ContextTokens);

    private sealed record EvalOutcome(double CorrectnessScore, bool PassesRefusalPolicy, double LatencyMs, double CostUsd, long OutputTokens);

    private sealed record EvalCase(
        string CaseId,
        string? Feature,
        string Intent,
        string Language,
        string CustomerTier,
        string OutputFormat,
        long InputTokens,
        long ContextTokens,
        string? SourceTraceId,
        string Attributes,
        EvalOutcome Baseline,
        EvalOutcome Candidate);

    private sealed record TraceRow(
        string TraceId,
        DateTime StartedAt,
        string PromptVersion,
        string Feature,
        string Intent,
        string Language,
        string CustomerTier,
        string OutputFormat,
        double LatencyMs,
        double CostUsd,
        long InputTokens,
        long OutputTokens,
        long ContextTokens,
        bool IsError,
        string? ErrorType,
        bool HasComplaint,
        double? FeedbackScore,
        bool HasToolParseFailure,
        bool HasJsonParseFailure,
        bool IsRetrievalEmpty,
        string SessionId,
        string InputPreview,
        string Attributes);

    /// <summary>
    /// One JSON object on one line, keys in the order written. Strings keep non-ASCII text readable
    /// ("Rückerstattung", not "R\u00fcckerstattung"); quotes, backslashes and control characters
    /// are escaped.
    /// </summary>
    private sealed class JsonLineBuilder
    {
        private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        private readonly StringBuilder _text = new();
        private bool _isFirst;

        public void Begin()
        {
            _text.Clear();
            _text.Append('{');
            _isFirst = true;
        }

        public void String(string name, string? value)
        {
            Name(name);
            if (value is null)
            {
                _text.Append("null");
            }
            else
            {
                Quoted(value);
            }
        }

        public void Number(string name, double? value)
        {
            Name(name);
            _text.Append(value is { } number ? FormatNumber(number) : "null");
        }

        public void Integer(string name, long value)
        {
            Name(name);
            _text.Append(FormatInteger(value));
        }

        public void Boolean(string name, bool value)
        {
            Name(name);
            _text.Append(FormatBoolean(value));
        }

        public string End()
        {
            _text.Append('}');
            return _text.ToString();
        }

        private void Name(string name)
        {
            if (!_isFirst)
            {
                _text.Append(',');
            }

            _isFirst = false;
            Quoted(name);
            _text.Append(':');
        }

        private void Quoted(string value)
        {
            _text.Append('"');
            _text.Append(JsonEncodedText.Encode(value, Encoder).Value);
            _text.Append('"');
        }
    }
}
