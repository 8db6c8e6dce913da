using System.Text;
using Microsoft.Extensions.Configuration;
using Warehouse.Commands;
using Warehouse.Engines;
using Warehouse.Loading;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.BadInput;

/// <summary>
/// The bad-input corpus on every engine: each kind of broken, hostile or odd file either fails as
/// a whole with a message naming the file and the reason (exit 1), or loads with the bad records
/// rejected by line and reason (exit 3), or loads verbatim (exit 0), and gives the same rows on
/// every engine. Files are written by the tests (the 50 MB line included), never committed.
/// </summary>
public abstract class BadInputSuite : DatabaseSuite
{
    protected override bool MigrateOnInitialize => true;

    private const string Header = CanonicalFiles.EvalHeader;

    /// <summary>One canonical eval CSV row in <see cref="CanonicalFiles.EvalHeader"/> order.</summary>
    private static string Row(string caseId = "c1", string score = "0.5", string evaluatedAt = "2026-11-20T10:00:00Z", string tokens = "10",
        string feature = "refund_request", string metric = "correctness") =>
        $"promptfoo,run-1,{caseId},{metric},1,gpt-4o,v3,ds,{feature},consumer,{score},true,{evaluatedAt},{tokens}";

    private static string Csv(params string[] rows) => Header + "\n" + string.Join("\n", rows) + "\n";

    /// <summary>One canonical eval JSON line; <paramref name="extra"/> is spliced in as further properties.</summary>
    private static string Line(string caseId, string extra = "") =>
        $$"""{"source":"promptfoo","eval_run_id":"run-1","case_id":"{{caseId}}","metric":"correctness","score":0.5{{(extra.Length > 0 ? "," + extra : "")}}}""";

    private string WriteBytes(string name, byte[] content)
    {
        var path = Path.Combine(Files.Folder, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static string Fixture(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);

    /// <summary>`warehouse load` on this suite's engine: exit code, standard output and standard error.</summary>
    private async Task<(int ExitCode, string Output, string Error)> CliLoadAsync(params string[] arguments)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var engine = Engine.Kind switch
        {
            EngineKind.DuckDb => "duckdb",
            EngineKind.Postgres => "postgres",
            _ => "sqlserver",
        };
        var exitCode = await new Cli(output, error, new ConfigurationBuilder().Build())
            .InvokeAsync(["load", .. arguments, "--engine", engine, "--connection", Engine.ConnectionString], Token);
        return (exitCode, output.ToString(), error.ToString());
    }

    private Task<long> CountAsync(string table) => ScalarAsync<long>($"select count(*) from {table}");

    private async Task AssertNothingLoadedAsync(FileLoadResult result, string because)
    {
        Assert.Equal(FileLoadStatus.Failed, result.Status);
        Assert.Contains(because, result.Message);
        Assert.Equal(ExitCodes.Failure, LoadCommand.ExitCodeFor([result]));
        Assert.Equal(0L, await CountAsync("quality.eval_records"));
        Assert.Equal(0L, await CountAsync("quality.trace_summaries"));
    }

    private async Task<List<(long Line, string Reason)>> RejectsAsync() =>
        (await QueryAsync<(long, string)>("select record_number, reason from etl.rejected_records order by record_number")).ToList();

    // ---- Files that are not data at all -----------------------------------------------------

    [Fact]
    public async Task Empty_files_fail_as_empty_with_exit_1()
    {
        var empty = Files.Write("empty.csv", "");
        var bomOnly = WriteBytes("bom-only.jsonl", [0xEF, 0xBB, 0xBF]);

        var (exitCode, _, error) = await CliLoadAsync(empty);
        var bomResult = await LoadAsync(bomOnly);

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Contains($"{empty}: the file is empty", error);
        await AssertNothingLoadedAsync(bomResult, "the file is empty");
        Assert.Equal(2L, await ScalarAsync<long>("select count(*) from etl.load_batches where status = 'failed'"));
    }

    [Fact]
    public async Task Whitespace_only_files_fail_with_exit_1()
    {
        var path = Files.Write("blank.jsonl", "  \n\r\n\t\n   \n");

        var (exitCode, _, error) = await CliLoadAsync(path);

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Contains($"{path}: the file holds only whitespace", error);
        Assert.Equal("failed", await ScalarAsync<string>("select status from etl.load_batches"));
    }

    [Fact]
    public async Task Binary_files_fail_as_binary_random_bytes_and_a_png_alike()
    {
        var random = new byte[8192];
        new Random(20261126).NextBytes(random);
        byte[] png = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, (byte)'I', (byte)'H', (byte)'D', (byte)'R',
            0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89];
        var noNul = random.Select(value => value == 0 ? (byte)1 : value).ToArray();

        foreach (var (name, content) in new[] { ("random.csv", random), ("image.png", png), ("random-no-nul.jsonl", noNul) })
        {
            var path = WriteBytes(name, content);
            var result = await LoadAsync(path);
            await AssertNothingLoadedAsync(result, $"{path}: the file is binary");
        }
    }

    [Fact]
    public async Task Unknown_formats_fail_with_no_known_format_and_exit_1()
    {
        var cases = new[]
        {
            Files.Write("notes.txt", "Refund bot eval notes\nnothing tabular here\n"),
            Files.Write("other.csv", "a,b\n1,2\n"),
            Files.Write("array.json", "[1, 2, 3]\n"),
            Files.Write("page.xml", "<?xml version=\"1.0\"?>\n<results><case id=\"1\"/></results>\n"),
            Files.Write("unknown.jsonl", "{\"foo\":1,\"bar\":2}\n"),
        };

        var (exitCode, _, error) = await CliLoadAsync(cases);

        Assert.Equal(ExitCodes.Failure, exitCode);
        foreach (var path in cases)
        {
            Assert.Contains($"warehouse: {path}: no known format recognises this file", error);
        }

        Assert.Equal((long)cases.Length, await ScalarAsync<long>("select count(*) from etl.load_batches where status = 'failed'"));
        Assert.Equal(0L, await CountAsync("quality.eval_records"));
    }

    [Fact]
    public async Task A_forced_unknown_format_fails_and_names_the_known_ones()
    {
        var path = Files.Write("evals.csv", Csv(Row()));

        var result = await LoadAsync(path, new LoadOptions(Format: "excel"));

        await AssertNothingLoadedAsync(result, "unknown format 'excel'; known formats: ");
        Assert.Contains("canonical-csv", result.Message);
    }

    // ---- Cut-off files -----------------------------------------------------------------------

    [Fact]
    public async Task A_json_document_cut_off_fails_as_a_whole_and_keeps_nothing()
    {
        var inspect = File.ReadAllBytes(Fixture("eval", "inspect_ai", "2026-11-18T02-09-41+00-00_refund-summary_hT4kQ9wZr2Lm7Nc5Xv8Bp3.json"));
        var deepEval = File.ReadAllBytes(Fixture("eval", "deepeval", "test_run_20241104_091502.json"));

        foreach (var (name, content) in new[] { ("inspect-cut.json", inspect), ("test_run_cut.json", deepEval) })
        {
            var path = WriteBytes(name, content[..(content.Length * 6 / 10)]);
            var result = await LoadAsync(path);
            await AssertNothingLoadedAsync(result, $"{path}: the file cannot be read to the end");
        }
    }

    [Fact]
    public async Task A_jsonl_whose_last_line_is_cut_off_rejects_that_line_and_loads_the_rest()
    {
        var path = Files.Write("cut.jsonl", Line("c1") + "\n" + Line("c2") + "\n" + Line("c3")[..40]);

        var (exitCode, _, error) = await CliLoadAsync(path);

        Assert.Equal(ExitCodes.LoadedWithRejects, exitCode);
        Assert.Contains($"{path} line 3: line is not valid JSON", error);
        Assert.Equal(2L, await CountAsync("quality.eval_records"));
        Assert.Equal(3L, Assert.Single(await RejectsAsync()).Line);
    }

    [Fact]
    public async Task An_otlp_file_whose_last_line_is_cut_off_rejects_that_line_and_loads_the_spans_before_it()
    {
        var lines = File.ReadAllLines(Fixture("trace", "otlp", "collector-0001.jsonl")).Where(line => line.Length > 0).ToList();
        var path = Files.Write("collector-cut.jsonl", string.Join("\n", lines[..^1]) + "\n" + lines[^1][..(lines[^1].Length / 2)]);

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal("otlp-traces-jsonl", result.Format);
        var reject = Assert.Single(result.FirstRejects!);
        Assert.Equal(lines.Count, reject.RecordNumber);
        Assert.Contains("not valid JSON, or is cut off", reject.Reason);
        Assert.True(await CountAsync("quality.trace_summaries") > 0);
    }

    [Fact]
    public async Task An_otlp_span_with_nul_in_a_key_rejects_its_trace_and_sql_in_an_attribute_is_kept_verbatim()
    {
        const string Span = """{"traceId":"{0}","spanId":"0102030405060708","name":"root","kind":1,"startTimeUnixNano":"1764151200000000000","endTimeUnixNano":"1764151201000000000","attributes":[{"key":"app.customer_tier","value":{"stringValue":"{1}"}},{"key":"note","value":{"stringValue":"'); drop table quality.trace_summaries; --"}}],"status":{}}""";
        string Request(string traceId, string tier) =>
            """{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bot"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":["""
            + Span.Replace("{0}", traceId).Replace("{1}", tier) + "]}]}]}";
        var path = Files.Write("otlp-nul.jsonl",
            Request("1234567890abcdef1234567890abcdef", "cons\\u0000umer") + "\n" + Request("abcdef1234567890abcdef1234567890", "consumer") + "\n");

        var result = await LoadAsync(path);

        Assert.Equal((FileLoadStatus.LoadedWithRejects, "otlp-traces-jsonl"), (result.Status, result.Format));
        var reject = Assert.Single(result.FirstRejects!);
        Assert.Contains("trace 1234567890abcdef1234567890abcdef: customer_tier contains a NUL character", reject.Reason);
        Assert.Equal(["abcdef1234567890abcdef1234567890"], await QueryAsync<string>("select trace_id from quality.trace_summaries"));
        Assert.Equal(1L, await CountAsync("quality.trace_summaries"));
    }

    // ---- Size ---------------------------------------------------------------------------------

    [Fact]
    public async Task A_50_MB_jsonl_line_is_rejected_without_being_read_into_memory_and_the_other_lines_load()
    {
        // Written as a stream: the test itself never holds the 50 MB line either.
        var path = Path.Combine(Files.Folder, "huge.jsonl");
        await using (var writer = new StreamWriter(path, false, new UTF8Encoding(false)))
        {
            await writer.WriteAsync(Line("c1") + "\n");
            await writer.WriteAsync(Line("c2", "\"attributes\":{\"blob\":\"")[..^2]);
            var chunk = new string('x', 1 << 20);
            for (var index = 0; index < 50; index++)
            {
                await writer.WriteAsync(chunk);
            }

            await writer.WriteAsync("\"}}\n" + Line("c3") + "\n");
        }

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.LoadedWithRejects, result.Status);
        Assert.Equal((3L, 2L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var (line, reason) = Assert.Single(await RejectsAsync());
        Assert.Equal(2L, line);
        Assert.Contains("longer than the 16 MiB a record may take", reason);
        // The raw text of a reject is capped at 64 KiB, so the evidence is kept but not the whole line.
        Assert.True(await ScalarAsync<long>("select length(raw_record) from etl.rejected_records") <= 64 * 1024);
        Assert.Equal(["c1", "c3"], await QueryAsync<string>("select case_id from quality.eval_records order by case_id"));
    }

    [Fact]
    public async Task A_first_line_longer_than_the_detection_probe_is_still_recognised()
    {
        var attributes = $"\"attributes\":{{\"note\":\"{new string('n', 200_000)}\"}}";
        var path = Files.Write("long-first.jsonl", Line("c1", attributes) + "\n" + Line("c2") + "\n");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal("canonical-jsonl", result.Format);
        Assert.Equal(2L, result.RowsLoaded);
        Assert.Equal(200_000L + "{\"note\":\"\"}".Length,
            await ScalarAsync<long>("select length(attributes) from quality.eval_records where case_id = 'c1'"));
    }

    [Fact]
    public async Task Extremely_long_attributes_json_is_stored_verbatim()
    {
        // 5 MB of attributes in 20,000 properties, and one 1 MB string value.
        var properties = string.Join(",", Enumerable.Range(0, 20_000).Select(index => $"\"k{index:D5}\":\"{new string('v', 240)}\""));
        var attributes = $"{{{properties},\"big\":\"{new string('b', 1 << 20)}\"}}";
        var path = Files.Write("wide.jsonl", Line("c1", $"\"attributes\":{attributes}") + "\n");

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        var stored = await ScalarAsync<string>("select attributes from quality.eval_records");
        Assert.Equal(attributes, stored);
    }

    [Fact]
    public async Task Attributes_nested_deeper_than_64_levels_reject_the_record_with_the_depth()
    {
        var deep = new string('[', 200) + new string(']', 200);
        var path = Files.Write("deep.jsonl", Line("c1") + "\n" + Line("c2", $"\"attributes\":{{\"x\":{deep}}}") + "\n");

        var result = await LoadAsync(path);

        Assert.Equal((1L, 1L), (result.RowsLoaded, result.RowsRejected));
        var (line, reason) = Assert.Single(await RejectsAsync());
        Assert.Equal(2L, line);
        Assert.Contains("depth", reason);
    }

    // ---- Encodings and line ends ---------------------------------------------------------------

    [Fact]
    public async Task A_utf8_byte_order_mark_is_not_part_of_the_first_column()
    {
        var bom = new byte[] { 0xEF, 0xBB, 0xBF };
        var csv = WriteBytes("bom.csv", [.. bom, .. Encoding.UTF8.GetBytes(Csv(Row("c1"), Row("c2")))]);
        var jsonl = WriteBytes("bom.jsonl", [.. bom, .. Encoding.UTF8.GetBytes(Line("j1") + "\n" + Line("j2") + "\n")]);

        var csvResult = await LoadAsync(csv);
        var jsonlResult = await LoadAsync(jsonl);

        Assert.Equal((FileLoadStatus.Loaded, 2L), (csvResult.Status, csvResult.RowsLoaded));
        Assert.Equal((FileLoadStatus.Loaded, 2L), (jsonlResult.Status, jsonlResult.RowsLoaded));
        Assert.Equal(["c1", "c2", "j1", "j2"], await QueryAsync<string>("select case_id from quality.eval_records order by case_id"));
        Assert.Equal(0L, await ScalarAsync<long>("select count(*) from quality.eval_records where source <> 'promptfoo'"));
        Assert.Null(await ScalarAsync<string?>("select max(attributes) from quality.eval_records"));
    }

    [Fact]
    public async Task Crlf_line_ends_load_normally_and_rejects_name_the_right_line()
    {
        var csv = Files.Write("crlf.csv", Csv(Row("c1"), Row("c2", score: "high"), Row("c3", feature: "x")).Replace("\n", "\r\n"));
        var jsonl = Files.Write("crlf.jsonl", string.Join("\r\n", Line("j1"), "", Line("j2", "\"score\":\"high\""), Line("j3")) + "\r\n");

        var csvResult = await LoadAsync(csv);
        var jsonlResult = await LoadAsync(jsonl);

        Assert.Equal((2L, 1L), (csvResult.RowsLoaded, csvResult.RowsRejected));
        Assert.Equal(3L, Assert.Single(csvResult.FirstRejects!).RecordNumber);
        Assert.Equal((2L, 1L), (jsonlResult.RowsLoaded, jsonlResult.RowsRejected));
        Assert.Equal(3L, Assert.Single(jsonlResult.FirstRejects!).RecordNumber);
        // No carriage return survives in the last column (CSV) or anywhere else.
        Assert.Equal(10L, await ScalarAsync<long>("select context_tokens from quality.eval_records where case_id = 'c3'"));
        Assert.Equal("x", await ScalarAsync<string>("select feature from quality.eval_records where case_id = 'c3'"));
        var carriageReturn = Engine.Kind == EngineKind.SqlServer ? "char(13)" : "chr(13)";
        var concat = Engine.Kind == EngineKind.SqlServer ? $"'%' + {carriageReturn} + '%'" : $"'%' || {carriageReturn} || '%'";
        Assert.Equal(0L, await ScalarAsync<long>($"select count(*) from etl.rejected_records where raw_record like {concat}"));
    }

    [Fact]
    public async Task Invalid_utf8_rejects_the_record_and_keeps_the_rest_of_the_file()
    {
        byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
        byte[] latin1 = [(byte)'c', (byte)'a', (byte)'f', 0xE9];
        var bad = Row("MARK").Split("MARK");
        var csv = WriteBytes("latin1.csv", [.. Bytes(Header + "\n" + Row("c1") + "\n" + bad[0]), .. latin1, .. Bytes(bad[1] + "\n" + Row("c3") + "\n")]);
        var jsonl = WriteBytes("latin1.jsonl", [.. Bytes(Line("j1") + "\n" + Line("j2")[..^1] + ",\"feature\":\""), .. latin1, .. Bytes("\"}\n" + Line("j3") + "\n")]);

        var csvResult = await LoadAsync(csv);
        var jsonlResult = await LoadAsync(jsonl);

        Assert.Equal((FileLoadStatus.LoadedWithRejects, 2L, 1L), (csvResult.Status, csvResult.RowsLoaded, csvResult.RowsRejected));
        Assert.Equal(3L, Assert.Single(csvResult.FirstRejects!).RecordNumber);
        Assert.Contains("not valid UTF-8", csvResult.FirstRejects![0].Reason);
        Assert.Equal((FileLoadStatus.LoadedWithRejects, 2L, 1L), (jsonlResult.Status, jsonlResult.RowsLoaded, jsonlResult.RowsRejected));
        Assert.Equal(2L, Assert.Single(jsonlResult.FirstRejects!).RecordNumber);
        Assert.Contains("not valid UTF-8", jsonlResult.FirstRejects![0].Reason);
        Assert.Equal(["c1", "c3", "j1", "j3"], await QueryAsync<string>("select case_id from quality.eval_records order by case_id"));
        // The raw text is kept as evidence, with the bad byte shown as U+FFFD.
        Assert.All(await QueryAsync<string>("select raw_record from etl.rejected_records"), raw => Assert.Contains("caf\uFFFD", raw));
    }

    [Fact]
    public async Task Nul_characters_in_text_reject_the_record_and_nul_in_extra_columns_is_kept_escaped()
    {
        var jsonl = Files.Write("nul.jsonl", Line("j1") + "\n" + Line("j\\u0000x") + "\n" + Line("j3", "\"note\":\"a\\u0000b\"") + "\n");
        var csv = Files.Write("nul.csv", Csv(Row("c1"), Row("c\0x"), Row("c3")));

        var jsonlResult = await LoadAsync(jsonl);
        var csvResult = await LoadAsync(csv);

        Assert.Equal((2L, 1L), (jsonlResult.RowsLoaded, jsonlResult.RowsRejected));
        Assert.Equal(2L, jsonlResult.FirstRejects![0].RecordNumber);
        Assert.Contains("case_id contains a NUL character", jsonlResult.FirstRejects[0].Reason);
        Assert.Equal((FileLoadStatus.LoadedWithRejects, 2L, 1L), (csvResult.Status, csvResult.RowsLoaded, csvResult.RowsRejected));
        Assert.Equal(3L, csvResult.FirstRejects![0].RecordNumber);
        Assert.Equal("{\"note\":\"a\\u0000b\"}", await ScalarAsync<string>("select attributes from quality.eval_records where case_id = 'j3'"));
    }

    // ---- Keys and values ------------------------------------------------------------------------

    [Fact]
    public async Task Duplicate_natural_keys_within_one_file_keep_the_last_record()
    {
        var csv = Files.Write("dupes.csv", Csv(Row("c1", score: "0.1"), Row("c2"), Row("c1", score: "0.2"), Row("c1", score: "0.3")));
        var jsonl = Files.Write("dupes.jsonl",
            string.Join("\n", Line("j1", "\"feature\":\"first\""), Line("j1", "\"feature\":\"second\""), Line("j1", "\"feature\":\"last\"")) + "\n");

        var csvResult = await LoadAsync(csv);
        var jsonlResult = await LoadAsync(jsonl);

        Assert.Equal((4L, 2L), (csvResult.RowsRead, csvResult.RowsInserted));
        Assert.Equal((3L, 1L), (jsonlResult.RowsRead, jsonlResult.RowsInserted));
        Assert.Equal(0.3, await ScalarAsync<double>("select score from quality.eval_records where case_id = 'c1'"));
        Assert.Equal("last", await ScalarAsync<string>("select feature from quality.eval_records where case_id = 'j1'"));
        Assert.Equal(3L, await CountAsync("quality.eval_records"));
    }

    [Fact]
    public async Task Keys_of_10000_characters_are_rejected_with_the_columns_limit()
    {
        var longKey = new string('k', 10_000);
        var emoji = string.Concat(Enumerable.Repeat("\U0001F600", 129));
        var path = Files.Write("long-keys.jsonl", string.Join("\n",
            Line(longKey), Line("ok"), Line("m", $"\"metric\":\"{emoji}\"").Replace("\"metric\":\"correctness\",", ""),
            Line("f", $"\"feature\":\"{longKey}\"")) + "\n");

        var result = await LoadAsync(path);

        Assert.Equal((1L, 3L), (result.RowsLoaded, result.RowsRejected));
        var reasons = (await RejectsAsync()).Select(reject => reject.Reason).ToList();
        Assert.Equal("case_id is 10000 characters long, more than the 256 allowed", reasons[0]);
        Assert.Equal("metric is 258 characters long, more than the 128 allowed", reasons[1]);
        Assert.Equal("feature is 10000 characters long, more than the 200 allowed", reasons[2]);
    }

    [Fact]
    public async Task Sql_in_string_values_is_stored_verbatim_and_every_table_stays()
    {
        const string Sql = "'); drop table quality.eval_records; --";
        var csv = Files.Write("it's; drop table etl.load_batches;--.csv",
            Csv(Row($"\"{Sql}\""), Row("c2", feature: $"\"{Sql.Replace("'", "''")}\"")));
        var jsonl = Files.Write("sql.jsonl", Line("j1", $"\"prompt_version\":\"{Sql}\",\"note\":\"{Sql}\",\"{Sql}\":1") + "\n");

        var csvResult = await LoadAsync(csv);
        var jsonlResult = await LoadAsync(jsonl);

        Assert.Equal((FileLoadStatus.Loaded, FileLoadStatus.Loaded), (csvResult.Status, jsonlResult.Status));
        Assert.Equal(3L, await CountAsync("quality.eval_records"));
        Assert.Equal(1L, await ScalarAsync<long>("select count(*) from quality.eval_records where case_id = @Sql", new { Sql }));
        Assert.Equal(Sql.Replace("'", "''"), await ScalarAsync<string>("select feature from quality.eval_records where case_id = 'c2'"));
        Assert.Equal(Sql, await ScalarAsync<string>("select prompt_version from quality.eval_records where case_id = 'j1'"));
        Assert.Equal($"{{\"note\":\"{Sql}\",\"{Sql}\":\"1\"}}", await ScalarAsync<string>("select attributes from quality.eval_records where case_id = 'j1'"));
        Assert.Equal(csv, await ScalarAsync<string>("select file_path from etl.load_batches where batch_id = @id", new { id = csvResult.BatchId }));
        Assert.Equal(2L, await ScalarAsync<long>("select count(*) from etl.load_batches"));
    }

    [Fact]
    public async Task Numbers_out_of_range_are_rejected_with_the_column_and_value()
    {
        var path = Files.Write("numbers.csv", Csv(
            Row("ok", score: "1e308", tokens: "9223372036854775807"),
            Row("huge", score: "1e400"),
            Row("negative", tokens: "-5"),
            Row("two63", tokens: "9223372036854775808"),
            Row("nan", score: "NaN"),
            Row("inf", score: "Infinity"),
            Row("neginf", score: "-Infinity"),
            Row("tiny", score: "4.9e-324"),
            Row("fraction", tokens: "10.5")));
        var jsonl = Files.Write("numbers.jsonl", string.Join("\n",
            Line("j-ok", "\"input_tokens\":12.0,\"epoch\":2147483647"),
            Line("j-bare-nan").Replace("\"score\":0.5", "\"score\":NaN"),
            Line("j-nan-text").Replace("\"score\":0.5", "\"score\":\"NaN\""),
            Line("j-huge").Replace("\"score\":0.5", "\"score\":-1e400"),
            Line("j-epoch", "\"epoch\":2147483648")) + "\n");

        var csvResult = await LoadAsync(path);
        var jsonlResult = await LoadAsync(jsonl);

        Assert.Equal((1L, 8L), (csvResult.RowsLoaded, csvResult.RowsRejected));
        Assert.Equal((1L, 4L), (jsonlResult.RowsLoaded, jsonlResult.RowsRejected));
        var reasons = await QueryAsync<string>("select reason from etl.rejected_records order by batch_id, record_number");
        Assert.Equal(
        [
            "score '1e400' is not a finite number",
            "context_tokens '-5' is not a non-negative whole number",
            "context_tokens '9223372036854775808' is not a non-negative whole number",
            "score 'NaN' is not a finite number",
            "score 'Infinity' is not a finite number",
            "score '-Infinity' is not a finite number",
            "score '4.9e-324' is too close to zero to be stored on every engine (below 2.2250738585072014E-308)",
            "context_tokens '10.5' is not a non-negative whole number",
        ], reasons.Take(8));
        Assert.StartsWith("line is not valid JSON", reasons[8]);
        Assert.Equal(["score 'NaN' is not a finite number", "score '-1e400' is not a finite number",
            "epoch '2147483648' is not a whole number in the 32-bit range"], reasons.Skip(9));
        var ok = (await QueryAsync<(double, long)>("select score, context_tokens from quality.eval_records where case_id = 'ok'")).Single();
        Assert.Equal((1e308, long.MaxValue), ok);
        Assert.Equal((12L, 2147483647), (await QueryAsync<(long, int)>("select input_tokens, epoch from quality.eval_records where case_id = 'j-ok'")).Single());
    }

    [Fact]
    public async Task Dates_from_year_1_to_9999_load_the_same_on_every_engine_and_later_ones_are_rejected()
    {
        var path = Files.Write("dates.csv", Csv(
            Row("y1", evaluatedAt: "0001-01-01T00:00:01Z"),
            Row("y1900", evaluatedAt: "1900-01-01T00:00:00Z"),
            Row("y9999", evaluatedAt: "9999-12-31T00:00:00Z"),
            Row("last", evaluatedAt: "9999-12-31T23:59:59.9999999Z"),
            Row("ticks", evaluatedAt: "2026-11-20T10:00:00.1234567Z"),
            Row("y10000", evaluatedAt: "10000-01-01T00:00:00Z"),
            Row("before1", evaluatedAt: "0001-01-01T00:00:00+01:00"),
            Row("after9999", evaluatedAt: "9999-12-31T23:00:00-05:00"),
            Row("y0", evaluatedAt: "0000-12-31T00:00:00Z")));

        var result = await LoadAsync(path);

        Assert.Equal((5L, 4L), (result.RowsLoaded, result.RowsRejected));
        Assert.Equal([7L, 8L, 9L, 10L], result.FirstRejects!.Select(reject => reject.RecordNumber));
        Assert.All(result.FirstRejects!, reject => Assert.Contains("is not an ISO-8601 timestamp between 0001-01-01 and 9999-12-31", reject.Reason));
        var stored = (await QueryAsync<(string, DateTime)>("select case_id, evaluated_at from quality.eval_records order by case_id"))
            .ToDictionary(row => row.Item1, row => DateTime.SpecifyKind(row.Item2.Kind == DateTimeKind.Local ? row.Item2.ToUniversalTime() : row.Item2, DateTimeKind.Utc));
        Assert.Equal(new DateTime(1, 1, 1, 0, 0, 1, DateTimeKind.Utc), stored["y1"]);
        Assert.Equal(new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc), stored["y1900"]);
        Assert.Equal(new DateTime(9999, 12, 31, 0, 0, 0, DateTimeKind.Utc), stored["y9999"]);
        // Sub-microsecond digits are cut on the way in: every engine keeps microseconds, none rounds differently.
        Assert.Equal(new DateTime(9999, 12, 31, 23, 59, 59, DateTimeKind.Utc).AddTicks(9_999_990), stored["last"]);
        Assert.Equal(new DateTime(2026, 11, 20, 10, 0, 0, DateTimeKind.Utc).AddTicks(1_234_560), stored["ticks"]);
        // Ordered comparisons in SQL see the same instants (no engine turned an extreme into infinity).
        Assert.Equal(2L, await ScalarAsync<long>($"select count(*) from quality.eval_records where evaluated_at < {Timestamp("1950-01-01 00:00:00")}"));
        Assert.Equal(2L, await ScalarAsync<long>($"select count(*) from quality.eval_records where evaluated_at > {Timestamp("9000-01-01 00:00:00")}"));
        Assert.Equal(1L, await ScalarAsync<long>($"select count(*) from quality.eval_records where evaluated_at > {Timestamp("0001-01-01 00:00:00")} and evaluated_at < {Timestamp("0001-01-02 00:00:00")}"));
    }

    [Fact]
    public async Task The_first_instant_of_year_1_is_stored_as_that_instant()
    {
        var path = Files.Write("year1.csv", Csv(Row("y1", evaluatedAt: "0001-01-01T00:00:00Z")));

        var result = await LoadAsync(path);

        Assert.Equal(FileLoadStatus.Loaded, result.Status);
        Assert.Equal(1L, await ScalarAsync<long>(
            $"select count(*) from quality.eval_records where evaluated_at >= {Timestamp("0001-01-01 00:00:00")} and evaluated_at < {Timestamp("0001-01-02 00:00:00")}"));
    }

    private string Timestamp(string utc) => Engine.Kind switch
    {
        EngineKind.SqlServer => $"cast('{utc.Replace(' ', 'T')}' as datetime2(6))",
        EngineKind.Postgres => $"cast('{utc}+00' as timestamptz)",
        _ => $"cast('{utc}+00' as timestamptz)",
    };

    // ---- CSV structure --------------------------------------------------------------------------

    [Fact]
    public async Task Ragged_csv_rows_are_rejected_with_their_line_and_field_counts()
    {
        var path = Files.Write("ragged.csv", Csv(Row("c1"), Row("c2") + ",extra,cells", Row("c3"), string.Join(",", Row("c4").Split(',')[..5]), Row("c5")));

        var (exitCode, _, error) = await CliLoadAsync(path);

        Assert.Equal(ExitCodes.LoadedWithRejects, exitCode);
        Assert.Contains($"{path} line 3: row has 16 fields but the header has 14", error);
        Assert.Contains($"{path} line 5: row has 5 fields but the header has 14", error);
        Assert.Equal(["c1", "c3", "c5"], await QueryAsync<string>("select case_id from quality.eval_records order by case_id"));
    }

    [Fact]
    public async Task An_unterminated_quote_rejects_the_record_it_opens_and_says_so()
    {
        var path = Files.Write("quote.csv", Csv(Row("c1"), Row("c2"), Row("\"c3 never closed"), Row("c4"), Row("c5")));

        var (exitCode, _, error) = await CliLoadAsync(path);

        Assert.Equal(ExitCodes.LoadedWithRejects, exitCode);
        Assert.Contains($"{path} line 4: ", error);
        Assert.Contains("unterminated quote", error);
        Assert.Equal(["c1", "c2"], await QueryAsync<string>("select case_id from quality.eval_records order by case_id"));
        Assert.Equal(4L, Assert.Single(await RejectsAsync()).Line);
    }

    // ---- Mixed kinds ------------------------------------------------------------------------------

    [Fact]
    public async Task Mixed_eval_and_trace_columns_fail_unless_kind_is_forced()
    {
        var path = Files.Write("mixed.csv", "trace_id,eval_run_id,case_id,metric,score\nt1,r,c1,m,0.5\n");

        var (exitCode, _, error) = await CliLoadAsync(path);
        var forced = await LoadAsync(path, new LoadOptions(Kind: "eval"));

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Contains($"{path}: no known format recognises this file", error);
        Assert.Contains("the columns fit both eval_records and trace_summaries; say which with --kind eval or --kind trace", error);
        Assert.Equal(FileLoadStatus.Loaded, forced.Status);
        Assert.Equal("{\"trace_id\":\"t1\"}", await ScalarAsync<string>("select attributes from quality.eval_records"));
    }

    [Fact]
    public async Task A_trace_line_in_an_eval_jsonl_is_rejected_for_its_missing_keys()
    {
        var path = Files.Write("mixed.jsonl", Line("j1") + "\n" + "{\"trace_id\":\"t1\",\"latency_ms\":12}\n" + Line("j3") + "\n");

        var result = await LoadAsync(path);

        Assert.Equal(("quality.eval_records", 2L, 1L), (result.Table, result.RowsLoaded, result.RowsRejected));
        Assert.Equal((2L, "missing key column eval_run_id"), Assert.Single(await RejectsAsync()));
        Assert.Equal(0L, await CountAsync("quality.trace_summaries"));
    }
}

public sealed class DuckDbBadInputTests : BadInputSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.DuckDbAsync();
}

public sealed class PostgresBadInputTests : BadInputSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.PostgresAsync();
}

public sealed class SqlServerBadInputTests : BadInputSuite
{
    protected override Task<TestDatabase> CreateDatabaseAsync() => TestDatabases.SqlServerAsync();
}
