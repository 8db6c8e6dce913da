using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Sources.Json;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Sources;

/// <summary>The pieces every tool format stands on: streaming JSON, paths, settings, detection, gzip.</summary>
public sealed class SourceInfrastructureTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static MemoryStream Utf8(string text) => new(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void ArrayItems_streams_a_nested_array_and_WithoutArray_keeps_what_comes_after_it()
    {
        const string document = """
            {"evalId": "e1", "results": {"version": 3, "results": [{"a": 1}, {"a": [2, {"b": "x"}]}, 3, "four", null], "stats": {"n": 5}},
             "config": {"metadata": {"prompt_version": "v4"}}}
            """;

        var items = JsonDocuments.ArrayItems(Utf8(document), ["results", "results"]).Select(item => item.GetRawText()).ToList();
        using var rest = JsonDocuments.WithoutArray(Utf8(document), ["results", "results"]);

        Assert.Equal(["""{"a": 1}""", """{"a": [2, {"b": "x"}]}""", "3", "\"four\"", "null"], items);
        Assert.Equal(0, rest.RootElement.GetProperty("results").GetProperty("results").GetArrayLength());
        Assert.Equal("v4", rest.RootElement.GetProperty("config").GetProperty("metadata").GetProperty("prompt_version").GetString());
        Assert.Equal(5, rest.RootElement.GetProperty("results").GetProperty("stats").GetProperty("n").GetInt32());
        Assert.Equal("e1", rest.RootElement.GetProperty("evalId").GetString());
    }

    [Fact]
    public void ArrayItems_reads_items_larger_than_its_buffer_and_many_more_than_fit_in_it()
    {
        var big = new string('x', 200_000);
        var builder = new StringBuilder("{\"samples\": [");
        builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"{{\"id\": 0, \"text\": \"{big}\"}}");
        for (var index = 1; index < 20_000; index++)
        {
            builder.Append(System.Globalization.CultureInfo.InvariantCulture, $", {{\"id\": {index}, \"text\": \"caf\\u00e9 \\\"{index}\\\"\"}}");
        }

        builder.Append("]}");

        var items = JsonDocuments.ArrayItems(Utf8(builder.ToString()), ["samples"]).ToList();

        Assert.Equal(20_000, items.Count);
        Assert.Equal(big, items[0].GetProperty("text").GetString());
        Assert.Equal("café \"19999\"", items[^1].GetProperty("text").GetString());
    }

    [Fact]
    public void ArrayItems_is_empty_when_the_path_is_absent_and_fails_on_a_truncated_document()
    {
        Assert.Empty(JsonDocuments.ArrayItems(Utf8("""{"other": [1, 2]}"""), ["samples"]));
        Assert.ThrowsAny<JsonException>(() => JsonDocuments.ArrayItems(Utf8("""{"samples": [{"id": 1}, {"id": 2"""), ["samples"]).ToList());
    }

    [Fact]
    public void NonFiniteNumberStream_turns_bare_NaN_and_Infinity_into_null_but_leaves_strings_alone()
    {
        const string python = """{"a": NaN, "b": Infinity, "c": -Infinity, "d": "NaN \" Infinity", "e": [NaN, -1.5, 2]}""";

        using var reader = new StreamReader(new NonFiniteNumberStream(Utf8(python)));
        using var document = JsonDocument.Parse(reader.ReadToEnd());

        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("a").ValueKind);
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("b").ValueKind);
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("c").ValueKind);
        Assert.Equal("NaN \" Infinity", document.RootElement.GetProperty("d").GetString());
        Assert.Equal("[null,-1.5,2]", document.RootElement.GetProperty("e").GetRawText().Replace(" ", ""));
    }

    [Fact]
    public void JsonScope_finds_paths_in_the_record_first_then_at_run_level()
    {
        using var record = JsonDocument.Parse("""{"testCase": {"metadata": {"feature": "refunds", "tier": ""}}, "list": [{"x": 7}], "a.b": {"c": true}}""");
        using var run = JsonDocument.Parse("""{"config": {"metadata": {"feature": "run-level", "tier": "enterprise"}}}""");
        var scope = new JsonScope(record.RootElement, run.RootElement);

        Assert.Equal("refunds", scope.Text("testCase.metadata.feature"));
        Assert.Equal("run-level", scope.Text("config.metadata.feature"));
        Assert.Null(scope.Text("testCase.metadata.tier"));
        Assert.Equal("enterprise", scope.FirstText(["testCase.metadata.tier", "config.metadata.tier"]));
        Assert.Equal("7", scope.Text("list[0].x"));
        Assert.Equal("true", scope.Text("['a.b'].c"));
        Assert.Null(scope.Text("list[3].x"));
        Assert.Throws<FormatException>(() => JsonPath.Parse("list[abc"));
    }

    [Fact]
    public void SourceSettings_replace_a_tools_default_paths_per_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sources:promptfoo:Keys:customer_tier:0"] = "vars.tier",
            ["Sources:promptfoo:Keys:customer_tier:1"] = "testCase.metadata.customer_tier",
            ["Sources:promptfoo:Keys:feature"] = "vars.feature",
        }).Build();
        var settings = new SourceSettings(configuration);

        Assert.Equal(["vars.tier", "testCase.metadata.customer_tier"], settings.KeyPaths("promptfoo", "customer_tier", ["default"]));
        Assert.Equal(["vars.feature"], settings.KeyPaths("promptfoo", "feature", ["default"]));
        Assert.Equal(["default"], settings.KeyPaths("promptfoo", "intent", ["default"]));
        Assert.Equal(["default"], settings.KeyPaths("inspect_ai", "customer_tier", ["default"]));
    }

    [Theory]
    [InlineData("openai:chat:gpt-4o-2024-08-06", "gpt-4o-2024-08-06")]
    [InlineData("openai/gpt-4o-2024-08-06", "gpt-4o-2024-08-06")]
    [InlineData("anthropic:messages:claude-3-5-sonnet", "claude-3-5-sonnet")]
    [InlineData("gpt-4o-2024-08-06", "gpt-4o-2024-08-06")]
    [InlineData(" my-finetune ", "my-finetune")]
    public void Model_ids_lose_their_provider_prefix(string raw, string expected) => Assert.Equal(expected, ModelVersions.Normalize(raw));

    [Fact]
    public void Detection_names_the_file_and_its_first_line_when_no_format_recognises_it()
    {
        var path = _files.Write("mystery.json", """{"hello": "world"}""" + "\n");

        var error = Assert.Throws<LoadException>(() => SourceDetector.Detect(path));

        Assert.Contains("mystery.json", error.Message);
        Assert.Contains("canonical", error.Message);
    }

    [Fact]
    public void Forcing_an_unknown_format_lists_the_known_ones()
    {
        var path = _files.EvalCsv("evals.csv", cases: 1);

        var error = Assert.Throws<LoadException>(() => SourceDetector.Detect(path, format: "excel"));

        Assert.Contains("unknown format 'excel'", error.Message);
        Assert.Contains("canonical-csv", error.Message);
    }

    [Fact]
    public async Task A_gzip_file_is_read_as_a_stream_with_its_format_detected_inside()
    {
        var plain = _files.TraceJsonl("traces.jsonl", traces: 50);
        var gzipped = Path.Combine(_files.Folder, "traces.jsonl.gz");
        await using (var output = File.Create(gzipped))
        await using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        await using (var input = File.OpenRead(plain))
        {
            await input.CopyToAsync(gzip, TestContext.Current.CancellationToken);
        }

        await using var database = await TestDatabases.DuckDbAsync();
        new Warehouse.Migrations.Migrator(database.Engine).Migrate();
        var result = await new Loader(database.Engine).LoadFileAsync(gzipped, new LoadOptions(), TestContext.Current.CancellationToken);

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal((50L, "canonical-jsonl"), (result.RowsInserted, result.Format));
    }

    [Fact]
    public async Task A_corrupt_gzip_file_fails_with_the_file_named()
    {
        var path = Path.Combine(_files.Folder, "broken.jsonl.gz");
        await File.WriteAllBytesAsync(path, [0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03], TestContext.Current.CancellationToken);

        await using var database = await TestDatabases.DuckDbAsync();
        new Warehouse.Migrations.Migrator(database.Engine).Migrate();
        var result = await new Loader(database.Engine).LoadFileAsync(path, new LoadOptions(), TestContext.Current.CancellationToken);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("broken.jsonl.gz", result.Message);
    }

    [Fact]
    public async Task A_missing_companion_file_fails_the_load_with_its_role()
    {
        var path = _files.TraceJsonl("traces.jsonl", traces: 1);

        await using var database = await TestDatabases.DuckDbAsync();
        new Warehouse.Migrations.Migrator(database.Engine).Migrate();
        var result = await new Loader(database.Engine).LoadFileAsync(path,
            new LoadOptions(Companions: new Dictionary<string, string> { ["samples"] = Path.Combine(_files.Folder, "nope.jsonl") }),
            TestContext.Current.CancellationToken);

        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains("given as the samples file", result.Message);
    }
}

public sealed class CompanionFileTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await new Warehouse.Commands.Cli(output, error, new ConfigurationBuilder().Build())
            .InvokeAsync(args, TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task A_folder_with_runs_and_their_companions_loads_once_and_a_changed_companion_loads_again()
    {
        var folder = Path.Combine(_files.Folder, "exports");
        Directory.CreateDirectory(folder);
        foreach (var name in new[] { "experiment.jsonl", "experiment.feedback.jsonl", "experiment.examples.jsonl" })
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval", "langsmith", name), Path.Combine(folder, name));
        }

        var database = Path.Combine(_files.Folder, "warehouse.duckdb");

        var first = await RunAsync("load", folder, "--connection", database);
        var again = await RunAsync("load", folder, "--connection", database);
        var feedback = Path.Combine(folder, "experiment.feedback.jsonl");
        var lines = File.ReadAllLines(feedback);
        File.WriteAllLines(feedback, lines.Take(lines.Length - 1));
        var changed = await RunAsync("load", Path.Combine(folder, "experiment.jsonl"), "--connection", database);

        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Single(first.Output.Split('\n'), line => line.StartsWith("loaded", StringComparison.Ordinal));
        Assert.Equal(2, first.Output.Split('\n').Count(line => line.StartsWith("skipped", StringComparison.Ordinal)));
        Assert.Equal(3, again.Output.Split('\n').Count(line => line.StartsWith("skipped", StringComparison.Ordinal)));
        Assert.StartsWith("loaded", changed.Output);
    }
}

public sealed class JsonDocumentTruncationTests
{
    [Fact]
    public void ArrayItems_fails_when_the_document_is_cut_off_after_the_array()
    {
        var cut = new MemoryStream(Encoding.UTF8.GetBytes("""{"samples": [{"id": 1}, {"id": 2}], "config": {"model": "gpt"""));

        Assert.ThrowsAny<JsonException>(() => JsonDocuments.ArrayItems(cut, ["samples"]).ToList());
    }

    [Fact]
    public void WithoutArrays_empties_every_listed_array_and_object()
    {
        var document = new MemoryStream(Encoding.UTF8.GetBytes(
            """{"results": {"results": [1, 2], "table": {"head": [1], "body": [2]}, "stats": 1}, "traces": [3, 4], "config": {"a": [5]}}"""));

        using var rest = JsonDocuments.WithoutArrays(document, [["results", "results"], ["results", "table"], ["traces"]]);

        Assert.Equal("""{"results":{"results":[],"table":{},"stats":1},"traces":[],"config":{"a":[5]}}""", rest.RootElement.GetRawText());
    }
}
