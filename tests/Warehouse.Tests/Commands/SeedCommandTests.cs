using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Commands;

/// <summary>
/// `warehouse seed` on DuckDB through the Cli: exact jsonl, csv and promptfoo (YAML and JSON) output for a
/// small fixture, the limit and reason filters, the empty case, and the round trip seed → promptfoo tests
/// → the results.json promptfoo writes for them → `warehouse load` → eval records linked to the traces,
/// which then leave quality.seed_candidates.
/// </summary>
public sealed class SeedCommandTests : IDisposable
{
    /// <summary>
    /// Four traces: tr-a a complaint with low feedback (complaint, 105), tr-b an error (60), tr-c a JSON
    /// parse failure (70), tr-d a happy trace (no candidate). tr-a's input has quotes, a comma, a newline
    /// and non-ASCII text; tr-b's looks like YAML syntax.
    /// </summary>
    private const string Traces =
        """
        {"source":"langfuse","trace_id":"tr-a","started_at":"2026-11-02T12:00:00Z","model_version":"gpt-4o-2024-08-06","prompt_version":"refund-v4","retriever_version":"kb-retriever-2.3.1","guardrail_version":"gr-7","experiment_bucket":"treatment","feature":"refund_summary","intent":"refund_request","language":"de","customer_tier":"enterprise","output_format":"markdown","has_complaint":true,"feedback_score":0.2,"context_tokens":9000,"trace_url":"https://langfuse.example/trace/tr-a","input_preview":"Wo bleibt meine Rückerstattung, \"bitte\"?\nBestellung 42"}
        {"source":"langfuse","trace_id":"tr-b","started_at":"2026-11-03T12:00:00Z","prompt_version":"refund-v4","feature":"refund_summary","intent":"contract_dispute","language":"en","customer_tier":"consumer","is_error":true,"context_tokens":1200,"input_preview":"# key: value - [not yaml] {{var}}"}
        {"source":"langfuse","trace_id":"tr-c","started_at":"2026-11-04T12:00:00Z","prompt_version":"refund-v4","feature":"refund_summary","has_json_parse_failure":true}
        {"source":"langfuse","trace_id":"tr-d","started_at":"2026-11-05T12:00:00Z","prompt_version":"refund-v4","feature":"refund_summary","feedback_score":0.9,"input_preview":"thanks"}

        """;

    private const string JsonlA =
        """{"case_id":"seed-tr-a","source_trace_id":"tr-a","trace_source":"langfuse","dataset_id":"seeds","reason":"complaint","reasons":"complaint,negative_feedback","priority":105,"model_version":"gpt-4o-2024-08-06","prompt_version":"refund-v4","retriever_version":"kb-retriever-2.3.1","guardrail_version":"gr-7","experiment_bucket":"treatment","feature":"refund_summary","intent":"refund_request","language":"de","customer_tier":"enterprise","output_format":"markdown","context_band":"8k-32k","context_tokens":9000,"started_at":"2026-11-02T12:00:00Z","trace_url":"https://langfuse.example/trace/tr-a","input_preview":"Wo bleibt meine Rückerstattung, \"bitte\"?\nBestellung 42"}""";

    private const string JsonlC =
        """{"case_id":"seed-tr-c","source_trace_id":"tr-c","trace_source":"langfuse","dataset_id":"seeds","reason":"json_parse_failure","reasons":"json_parse_failure","priority":70,"model_version":"unknown","prompt_version":"refund-v4","retriever_version":"unknown","guardrail_version":"unknown","experiment_bucket":"unknown","feature":"refund_summary","intent":"unknown","language":"unknown","customer_tier":"unknown","output_format":"unknown","context_band":"unknown","context_tokens":null,"started_at":"2026-11-04T12:00:00Z","trace_url":null,"input_preview":null}""";

    private const string JsonlB =
        """{"case_id":"seed-tr-b","source_trace_id":"tr-b","trace_source":"langfuse","dataset_id":"seeds","reason":"error","reasons":"error","priority":60,"model_version":"unknown","prompt_version":"refund-v4","retriever_version":"unknown","guardrail_version":"unknown","experiment_bucket":"unknown","feature":"refund_summary","intent":"contract_dispute","language":"en","customer_tier":"consumer","output_format":"unknown","context_band":"<2k","context_tokens":1200,"started_at":"2026-11-03T12:00:00Z","trace_url":null,"input_preview":"# key: value - [not yaml] {{var}}"}""";

    private const string YamlHeader =
        """
        # promptfoo tests seeded from production traces (warehouse seed, quality.seed_candidates).
        # Use in promptfooconfig.yaml as: tests: file://<this file>. The prompt reads the user input as {{input}}.
        # metadata.case_id and metadata.source_trace_id link the eval results back to the trace; keep them.

        """;

    private const string YamlA =
        """
        - description: "seed-tr-a: complaint (priority 105)"
          vars:
            input: "Wo bleibt meine Rückerstattung, \"bitte\"?\nBestellung 42"
            feature: "refund_summary"
            intent: "refund_request"
            language: "de"
            customer_tier: "enterprise"
            output_format: "markdown"
            context_band: "8k-32k"
            context_tokens: 9000
          metadata:
            case_id: "seed-tr-a"
            source_trace_id: "tr-a"
            dataset_id: "seeds"
            feature: "refund_summary"
            intent: "refund_request"
            language: "de"
            customer_tier: "enterprise"
            output_format: "markdown"
            context_band: "8k-32k"
            context_tokens: 9000
            reason: "complaint"
            reasons: "complaint,negative_feedback"
            priority: 105
            trace_source: "langfuse"
            trace_model_version: "gpt-4o-2024-08-06"
            trace_prompt_version: "refund-v4"
            trace_retriever_version: "kb-retriever-2.3.1"
            trace_guardrail_version: "gr-7"
            trace_experiment_bucket: "treatment"
            trace_started_at: "2026-11-02T12:00:00Z"
            trace_url: "https://langfuse.example/trace/tr-a"

        """;

    private const string YamlC =
        """
        - description: "seed-tr-c: json_parse_failure (priority 70)"
          vars:
            input: ""
            feature: "refund_summary"
            intent: "unknown"
            language: "unknown"
            customer_tier: "unknown"
            output_format: "unknown"
            context_band: "unknown"
          metadata:
            case_id: "seed-tr-c"
            source_trace_id: "tr-c"
            dataset_id: "seeds"
            feature: "refund_summary"
            intent: "unknown"
            language: "unknown"
            customer_tier: "unknown"
            output_format: "unknown"
            context_band: "unknown"
            reason: "json_parse_failure"
            reasons: "json_parse_failure"
            priority: 70
            trace_source: "langfuse"
            trace_model_version: "unknown"
            trace_prompt_version: "refund-v4"
            trace_retriever_version: "unknown"
            trace_guardrail_version: "unknown"
            trace_experiment_bucket: "unknown"
            trace_started_at: "2026-11-04T12:00:00Z"

        """;

    private const string YamlB =
        """
        - description: "seed-tr-b: error (priority 60)"
          vars:
            input: "# key: value - [not yaml] {{var}}"
            feature: "refund_summary"
            intent: "contract_dispute"
            language: "en"
            customer_tier: "consumer"
            output_format: "unknown"
            context_band: "<2k"
            context_tokens: 1200
          metadata:
            case_id: "seed-tr-b"
            source_trace_id: "tr-b"
            dataset_id: "seeds"
            feature: "refund_summary"
            intent: "contract_dispute"
            language: "en"
            customer_tier: "consumer"
            output_format: "unknown"
            context_band: "<2k"
            context_tokens: 1200
            reason: "error"
            reasons: "error"
            priority: 60
            trace_source: "langfuse"
            trace_model_version: "unknown"
            trace_prompt_version: "refund-v4"
            trace_retriever_version: "unknown"
            trace_guardrail_version: "unknown"
            trace_experiment_bucket: "unknown"
            trace_started_at: "2026-11-03T12:00:00Z"

        """;

    private readonly CanonicalFiles _files = new();

    private string Database => Path.Combine(_files.Folder, "warehouse.duckdb");

    public void Dispose() => _files.Dispose();

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var configuration = new ConfigurationBuilder().Build();
        var exitCode = await new Cli(output, error, configuration)
            .InvokeAsync([.. args, "--connection", Database], TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    private async Task LoadTracesAsync()
    {
        var load = await RunAsync("load", _files.Write("traces.jsonl", Traces));
        Assert.True(load.ExitCode == 0, load.Output + load.Error);
    }

    private async Task<string> SeedAsync(string fileName, params string[] options)
    {
        var path = Path.Combine(_files.Folder, fileName);
        var seed = await RunAsync(["seed", "--out", path, .. options]);
        Assert.True(seed.ExitCode == 0, seed.Output + seed.Error);
        return path;
    }

    private async Task<List<string>> CandidatesAsync()
    {
        var query = await RunAsync("query", "select trace_id from quality.seed_candidates order by trace_id", "--format", "csv");
        Assert.True(query.ExitCode == 0, query.Error);
        return query.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
    }

    [Fact]
    public async Task Jsonl_writes_one_case_per_line_highest_priority_first_with_trace_link_keys_and_input()
    {
        await LoadTracesAsync();
        var path = Path.Combine(_files.Folder, "seeds.jsonl");

        var seed = await RunAsync("seed", "--out", path);

        Assert.True(seed.ExitCode == 0, seed.Error);
        Assert.Equal($"wrote 3 seed candidates to {path} (jsonl, dataset_id seeds)\n", seed.Output.ReplaceLineEndings("\n"));
        Assert.Equal(JsonlA + "\n" + JsonlC + "\n" + JsonlB + "\n", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Csv_writes_a_header_and_one_properly_quoted_row_per_case()
    {
        await LoadTracesAsync();
        var path = await SeedAsync("seeds.csv");

        Assert.Equal(
            string.Join(",", SeedCommand.Fields) + "\n"
            + "seed-tr-a,tr-a,langfuse,seeds,complaint,\"complaint,negative_feedback\",105,gpt-4o-2024-08-06,refund-v4,kb-retriever-2.3.1,gr-7,"
            + "treatment,refund_summary,refund_request,de,enterprise,markdown,8k-32k,9000,2026-11-02T12:00:00Z,https://langfuse.example/trace/tr-a,"
            + "\"Wo bleibt meine Rückerstattung, \"\"bitte\"\"?\nBestellung 42\"\n"
            + "seed-tr-c,tr-c,langfuse,seeds,json_parse_failure,json_parse_failure,70,unknown,refund-v4,unknown,unknown,unknown,refund_summary,"
            + "unknown,unknown,unknown,unknown,unknown,,2026-11-04T12:00:00Z,,\n"
            + "seed-tr-b,tr-b,langfuse,seeds,error,error,60,unknown,refund-v4,unknown,unknown,unknown,refund_summary,contract_dispute,en,consumer,"
            + "unknown,<2k,1200,2026-11-03T12:00:00Z,,# key: value - [not yaml] {{var}}\n",
            await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
        Assert.Equal(
            "case_id,source_trace_id,trace_source,dataset_id,reason,reasons,priority,model_version,prompt_version,retriever_version,"
            + "guardrail_version,experiment_bucket,feature,intent,language,customer_tier,output_format,context_band,context_tokens,started_at,"
            + "trace_url,input_preview",
            string.Join(",", SeedCommand.Fields));
    }

    [Fact]
    public async Task Promptfoo_yaml_is_a_list_of_tests_with_description_vars_and_metadata()
    {
        await LoadTracesAsync();
        var path = Path.Combine(_files.Folder, "seeds.yaml");

        var seed = await RunAsync("seed", "--out", path);

        Assert.True(seed.ExitCode == 0, seed.Error);
        Assert.StartsWith($"wrote 3 seed candidates to {path} (promptfoo tests, YAML, dataset_id seeds)\n", seed.Output.ReplaceLineEndings("\n"));
        Assert.Contains("tests: file://seeds.yaml", seed.Output);
        Assert.Equal(YamlHeader + YamlA + YamlC + YamlB, await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Promptfoo_json_for_a_json_path_holds_the_same_tests_as_the_yaml()
    {
        await LoadTracesAsync();
        var yaml = await SeedAsync("seeds.yaml", "--dataset", "refund-seeds");
        var json = await SeedAsync("seeds.json", "--format", "promptfoo", "--dataset", "refund-seeds");

        var fromJson = JsonNode.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken))!.AsArray();
        var fromYaml = ReadSeedYaml(await File.ReadAllTextAsync(yaml, TestContext.Current.CancellationToken));
        Assert.Equal(3, fromJson.Count);
        Assert.True(JsonNode.DeepEquals(fromYaml, fromJson), fromJson.ToJsonString());
        Assert.All(fromJson, test => Assert.Equal("refund-seeds", (string?)test!["metadata"]!["dataset_id"]));
        Assert.Equal("Wo bleibt meine Rückerstattung, \"bitte\"?\nBestellung 42", (string?)fromJson[0]!["vars"]!["input"]);
    }

    [Fact]
    public async Task Format_comes_from_the_extension_and_promptfoo_refuses_an_extension_promptfoo_would_misread()
    {
        await LoadTracesAsync();
        var csv = await SeedAsync("by-extension.csv");
        var refused = await RunAsync("seed", "--out", Path.Combine(_files.Folder, "tests.jsonl"), "--format", "promptfoo");

        Assert.StartsWith("case_id,source_trace_id,", await File.ReadAllTextAsync(csv, TestContext.Current.CancellationToken));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("use .yaml", refused.Error);
        Assert.False(File.Exists(Path.Combine(_files.Folder, "tests.jsonl")));

        // A folder is no file: one sentence naming the path, exit 2.
        var folder = await RunAsync("seed", "--out", _files.Folder);
        Assert.Equal(2, folder.ExitCode);
        Assert.StartsWith($"warehouse: --out '{_files.Folder}' could not be written: ", folder.Error);
    }

    [Fact]
    public async Task Limit_keeps_the_highest_priorities_and_says_how_many_were_left_out()
    {
        await LoadTracesAsync();
        var path = Path.Combine(_files.Folder, "top.jsonl");

        var seed = await RunAsync("seed", "--out", path, "--limit", "2");

        Assert.True(seed.ExitCode == 0, seed.Error);
        Assert.Equal($"wrote 2 of 3 seed candidates to {path} (jsonl, dataset_id seeds); raise --limit for the other 1\n",
            seed.Output.ReplaceLineEndings("\n"));
        Assert.Equal(JsonlA + "\n" + JsonlC + "\n", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Reason_filters_on_the_views_reason_and_may_be_repeated()
    {
        await LoadTracesAsync();
        var errors = await SeedAsync("errors.jsonl", "--reason", "error");
        var two = await SeedAsync("two.jsonl", "--reason", "error", "--reason", "complaint");
        // negative_feedback is one of tr-a's reasons, but not its weightiest: the filter is on `reason`.
        var path = Path.Combine(_files.Folder, "none.yaml");
        var none = await RunAsync("seed", "--out", path, "--reason", "negative_feedback");
        var unknown = await RunAsync("seed", "--out", path, "--reason", "bad_vibes");

        Assert.Equal(JsonlB + "\n", await File.ReadAllTextAsync(errors, TestContext.Current.CancellationToken));
        Assert.Equal(JsonlA + "\n" + JsonlB + "\n", await File.ReadAllTextAsync(two, TestContext.Current.CancellationToken));
        Assert.Equal(0, none.ExitCode);
        Assert.StartsWith("no seed candidates with reason negative_feedback", none.Output);
        Assert.Equal(YamlHeader + "[]\n", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken));
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("bad_vibes", unknown.Error);
    }

    [Fact]
    public async Task No_candidates_writes_an_empty_file_says_so_and_exits_0()
    {
        var jsonl = Path.Combine(_files.Folder, "out", "empty.jsonl");
        var csv = Path.Combine(_files.Folder, "empty.csv");

        var first = await RunAsync("seed", "--out", jsonl);
        var second = await RunAsync("seed", "--out", csv);

        Assert.Equal(0, first.ExitCode);
        Assert.Contains("no seed candidates", first.Output);
        Assert.Contains($"wrote an empty file to {jsonl} (jsonl)", first.Output);
        Assert.Equal("", await File.ReadAllTextAsync(jsonl, TestContext.Current.CancellationToken));
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(string.Join(",", SeedCommand.Fields) + "\n", await File.ReadAllTextAsync(csv, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Round_trip_seeded_promptfoo_tests_run_and_loaded_link_eval_records_to_their_traces_which_leave_the_candidates()
    {
        await LoadTracesAsync();
        var seeds = await SeedAsync("seeds.yaml", "--limit", "2", "--dataset", "refund-seeds");
        var tests = ReadSeedYaml(await File.ReadAllTextAsync(seeds, TestContext.Current.CancellationToken));
        Assert.Equal(["tr-a", "tr-b", "tr-c"], await CandidatesAsync());

        var results = _files.Write("results.json", PromptfooResults(tests).ToJsonString());
        var load = await RunAsync("load", results);
        Assert.True(load.ExitCode == 0, load.Output + load.Error);
        Assert.Contains("promptfoo-json", load.Output);

        var rows = await RunAsync("query",
            "select case_id, source_trace_id, metric, dataset_id, dataset_version, prompt_version, model_version, retriever_version, "
            + "experiment_bucket, feature, intent, language, customer_tier, output_format, context_band, context_tokens, is_passed "
            + "from quality.eval_records order by case_id, metric", "--format", "csv");
        Assert.True(rows.ExitCode == 0, rows.Error);
        Assert.Equal(
            "case_id,source_trace_id,metric,dataset_id,dataset_version,prompt_version,model_version,retriever_version,experiment_bucket,"
            + "feature,intent,language,customer_tier,output_format,context_band,context_tokens,is_passed\n"
            // The slice labels and the link come from the tests' metadata; the version keys from the run that
            // evaluated them (prompt.label, provider.id, config.metadata), not from the production trace.
            + "seed-tr-a,tr-a,policy_accuracy,refund-seeds,s1,refund-v5,gpt-4o-2024-08-06,kb-retriever-2.4.0,offline,refund_summary,"
            + "refund_request,de,enterprise,markdown,8k-32k,9000,false\n"
            + "seed-tr-a,tr-a,tone,refund-seeds,s1,refund-v5,gpt-4o-2024-08-06,kb-retriever-2.4.0,offline,refund_summary,"
            + "refund_request,de,enterprise,markdown,8k-32k,9000,true\n"
            + "seed-tr-c,tr-c,policy_accuracy,refund-seeds,s1,refund-v5,gpt-4o-2024-08-06,kb-retriever-2.4.0,offline,refund_summary,"
            + "unknown,unknown,unknown,unknown,unknown,,true\n"
            + "seed-tr-c,tr-c,tone,refund-seeds,s1,refund-v5,gpt-4o-2024-08-06,kb-retriever-2.4.0,offline,refund_summary,"
            + "unknown,unknown,unknown,unknown,unknown,,true\n",
            rows.Output.ReplaceLineEndings("\n"));

        // Every seeded case is linked; the seeded traces leave the candidates, the one not seeded stays.
        Assert.Equal(["tr-b"], await CandidatesAsync());
        var again = await RunAsync("seed", "--out", seeds);
        Assert.Equal(0, again.ExitCode);
        Assert.Equal(YamlHeader + YamlB, await File.ReadAllTextAsync(seeds, TestContext.Current.CancellationToken));
    }

    /// <summary>
    /// The results.json (`promptfoo eval -o results.json`, OutputFile with EvaluateSummary v3) that running
    /// <paramref name="tests"/> against one prompt (label refund-v5) and one provider writes: per test one
    /// result with testCase (description, vars, metadata, assert, options), vars, metadata (the test's metadata
    /// plus _promptfooFileMetadata), prompt, provider, response, success, score, namedScores and gradingResult.
    /// </summary>
    private static JsonObject PromptfooResults(JsonArray tests)
    {
        const string evalId = "eval-S3d-2026-11-25T08:00:00";
        JsonArray Asserts() =>
        [
            new JsonObject { ["type"] = "llm-rubric", ["value"] = "States eligibility and a next step.", ["metric"] = "policy_accuracy" },
            new JsonObject { ["type"] = "llm-rubric", ["value"] = "Polite and calm.", ["metric"] = "tone" },
        ];

        var results = new JsonArray();
        for (var testIdx = 0; testIdx < tests.Count; testIdx++)
        {
            var test = tests[testIdx]!.AsObject();
            var passPolicy = testIdx != 0;
            var policyScore = passPolicy ? 1 : 0;
            var metadata = test["metadata"]!.DeepClone().AsObject();
            metadata["_promptfooFileMetadata"] = new JsonObject();
            var testCase = new JsonObject
            {
                ["description"] = test["description"]!.DeepClone(),
                ["vars"] = test["vars"]!.DeepClone(),
                ["assert"] = Asserts(),
                ["options"] = new JsonObject { ["provider"] = "openai:chat:gpt-4o-mini-2024-07-18" },
                ["metadata"] = test["metadata"]!.DeepClone(),
            };
            results.Add(new JsonObject
            {
                ["cost"] = 0.0012,
                ["error"] = passPolicy ? null : "The summary does not state eligibility.",
                ["gradingResult"] = new JsonObject
                {
                    ["pass"] = passPolicy,
                    ["score"] = passPolicy ? 1 : 0.5,
                    ["reason"] = passPolicy ? "All assertions passed" : "The summary does not state eligibility.",
                    ["namedScores"] = new JsonObject { ["policy_accuracy"] = policyScore, ["tone"] = 1 },
                    ["componentResults"] = new JsonArray
                    {
                        new JsonObject
                        {
                            ["pass"] = passPolicy, ["score"] = policyScore, ["reason"] = passPolicy ? "Eligible, next step named." : "No eligibility.",
                            ["assertion"] = Asserts()[0]!.DeepClone(),
                        },
                        new JsonObject { ["pass"] = true, ["score"] = 1, ["reason"] = "Polite.", ["assertion"] = Asserts()[1]!.DeepClone() },
                    },
                },
                ["id"] = $"5eed0000-0000-4000-8000-00000000000{testIdx}",
                ["latencyMs"] = 900 + testIdx,
                ["namedScores"] = new JsonObject { ["policy_accuracy"] = policyScore, ["tone"] = 1 },
                ["prompt"] = new JsonObject { ["raw"] = "Summarize: " + (string?)test["vars"]!["input"], ["label"] = "refund-v5" },
                ["promptId"] = "9f2c0000000000000000000000000000000000000000000000000000000000aa",
                ["promptIdx"] = 0,
                ["provider"] = new JsonObject { ["id"] = "openai:chat:gpt-4o-2024-08-06" },
                ["response"] = new JsonObject
                {
                    ["output"] = "Summary.",
                    ["tokenUsage"] = new JsonObject { ["total"] = 420, ["prompt"] = 400, ["completion"] = 20, ["cached"] = 0, ["numRequests"] = 1 },
                    ["cached"] = false,
                    ["cost"] = 0.0012,
                    ["finishReason"] = "stop",
                },
                ["score"] = passPolicy ? 1 : 0.5,
                ["success"] = passPolicy,
                ["testCase"] = testCase,
                ["testIdx"] = testIdx,
                ["vars"] = test["vars"]!.DeepClone(),
                ["metadata"] = metadata,
                ["failureReason"] = passPolicy ? 0 : 1,
            });
        }

        return new JsonObject
        {
            ["evalId"] = evalId,
            ["results"] = new JsonObject
            {
                ["version"] = 3,
                ["timestamp"] = "2026-11-25T08:00:00.000Z",
                ["prompts"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["raw"] = "Summarize: {{input}}", ["label"] = "refund-v5", ["provider"] = "openai:chat:gpt-4o-2024-08-06",
                        ["id"] = "9f2c0000000000000000000000000000000000000000000000000000000000aa",
                    },
                },
                ["results"] = results,
                ["stats"] = new JsonObject { ["successes"] = tests.Count - 1, ["failures"] = 1, ["errors"] = 0 },
            },
            ["config"] = new JsonObject
            {
                ["description"] = "refund-v5 on seeded production cases",
                ["prompts"] = new JsonArray { new JsonObject { ["id"] = "file://prompts/refund_v5.txt", ["label"] = "refund-v5" } },
                ["providers"] = new JsonArray { "openai:chat:gpt-4o-2024-08-06" },
                ["tests"] = "file://seeds.yaml",
                ["metadata"] = new JsonObject
                {
                    ["dataset_version"] = "s1", ["retriever_version"] = "kb-retriever-2.4.0", ["experiment_bucket"] = "offline",
                },
            },
            ["shareableUrl"] = null,
            ["metadata"] = new JsonObject
            {
                ["promptfooVersion"] = "0.121.11", ["nodeVersion"] = "v20.17.0", ["platform"] = "linux", ["arch"] = "x64",
                ["exportedAt"] = "2026-11-25T08:01:00.000Z", ["evaluationCreatedAt"] = "2026-11-25T08:00:00.000Z",
            },
        };
    }

    /// <summary>
    /// Reads the YAML `seed` writes (a block list of tests; each a mapping of scalars and one-level mappings;
    /// scalars double-quoted with JSON escapes, or integers) into the JSON promptfoo's YAML reader would give.
    /// Fails on anything else, so a change in the writer's shape shows up here.
    /// </summary>
    internal static JsonArray ReadSeedYaml(string yaml)
    {
        var tests = new JsonArray();
        JsonObject? test = null;
        JsonObject? nested = null;
        foreach (var line in yaml.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#') || line == "[]")
            {
                continue;
            }

            var (indent, body) = line.StartsWith("- ", StringComparison.Ordinal) ? (2, line[2..])
                : line.StartsWith("    ", StringComparison.Ordinal) ? (4, line[4..])
                : line.StartsWith("  ", StringComparison.Ordinal) ? (2, line[2..])
                : throw new FormatException($"unexpected line: {line}");
            if (line.StartsWith("- ", StringComparison.Ordinal))
            {
                test = [];
                tests.Add(test);
                nested = null;
            }

            var colon = body.IndexOf(':', StringComparison.Ordinal);
            Assert.True(colon > 0, line);
            var key = body[..colon];
            var rest = body[(colon + 1)..];
            if (indent == 2 && rest.Length == 0)
            {
                nested = [];
                test![key] = nested;
                continue;
            }

            Assert.StartsWith(" ", rest);
            var scalar = rest[1..];
            JsonNode value = scalar.StartsWith('"')
                ? JsonValue.Create(JsonSerializer.Deserialize<string>(scalar))!
                : JsonValue.Create(long.Parse(scalar, System.Globalization.CultureInfo.InvariantCulture));
            (indent == 4 ? nested! : test!)[key] = value;
        }

        return tests;
    }

    [Fact]
    public void Yaml_scalars_are_double_quoted_with_json_escapes_and_non_printables_escaped()
    {
        Assert.Equal("\"a \\\"b\\\" \\\\ c\\n\\r\\t\"", SeedCommand.YamlScalar("a \"b\" \\ c\n\r\t"));
        Assert.Equal("\"\\u0000\\u0085\\u2028\\uFEFF\\uFFFE\\uD800x\"", SeedCommand.YamlScalar("\0\u0085\u2028\uFEFF\uFFFE\uD800x"));
        Assert.Equal("\"Rückerstattung 😀: #1 - [x] {y}\"", SeedCommand.YamlScalar("Rückerstattung 😀: #1 - [x] {y}"));
        Assert.Equal("42", SeedCommand.YamlScalar(42L));
        foreach (var text in new[] { "a \"b\" \\ c\n\r\t", "\0\u0085\u2028\uFEFF", "Rückerstattung 😀" })
        {
            Assert.Equal(text, JsonSerializer.Deserialize<string>(SeedCommand.YamlScalar(text)));
        }
    }
}
