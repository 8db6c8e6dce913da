using System.Text;
using System.Text.Json;
using Warehouse.Sources;
using Warehouse.Sources.Otlp;
using Warehouse.Traces;

namespace Warehouse.Tests.Traces.Otlp;

/// <summary>
/// The collector reader parses lines on the thread pool, ahead of its caller: the spans must still
/// come out in file order, a rejected span's evidence must be its own JSON (read from the line
/// after the line's document is gone), and a caller that stops early must not break anything.
/// </summary>
public sealed class OtlpReaderTests
{
    private static string Span(int line, int span, string traceId) =>
        $$$"""{"traceId":"{{{traceId}}}","spanId":"{{{line + 1:x8}}}{{{span + 1:x8}}}","name":"chat ü {{{line}}}/{{{span}}}","startTimeUnixNano":"1790812803599885000","endTimeUnixNano":"1790812804287515000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"{{{line * 100 + span}}}"}}]}""";

    private static string Line(IEnumerable<string> spans) =>
        $$$"""{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bot"}}]},"scopeSpans":[{"spans":[{{{string.Join(",", spans)}}}]}]}]}""";

    /// <summary>A collector file of these lines in a folder of its own, deleted on dispose.</summary>
    private sealed class CollectorFile : IDisposable
    {
        private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("wh_otlp_reader_");

        public CollectorFile(IEnumerable<string> lines)
        {
            Path = System.IO.Path.Combine(_folder.FullName, "collector.jsonl");
            File.WriteAllText(Path, string.Join("\n", lines) + "\n");
        }

        public string Path { get; }

        public void Dispose() => _folder.Delete(recursive: true);
    }

    [Fact]
    public void Each_span_comes_with_its_body_and_packed_form_written_while_its_line_was_parsed()
    {
        // Lines of many spans, so a line's buffer of bodies grows past its first size.
        using var file = new CollectorFile(Enumerable.Range(0, 12)
            .Select(line => Line(Enumerable.Range(0, 300).Select(span => Span(line, span, $"{line + 1:x16}{span + 1:x16}")))));
        var count = 0;
        foreach (var record in new OtlpTracesSource().ReadParts(SourceFile.Probe(file.Path), new TraceRules(OtlpTracesSource.SourceKey), CancellationToken.None))
        {
            // Read before asking for the next record: the buffer is reused after that.
            Assert.True(record.IsPrepared);
            Assert.Equal(TracePartJson.Serialize(record.Part!), Encoding.UTF8.GetString(record.Body.Span));
            Assert.Equal(TracePartJson.Serialize(record.Part!), TracePartJson.Serialize(TracePartPacked.Unpack(record.Packed.Span)));
            count++;
        }

        Assert.Equal(12 * 300, count);
    }

    [Fact]
    public void Spans_of_many_lines_come_out_in_file_order_and_a_rejected_span_keeps_its_own_json()
    {
        var badSpan = Span(40, 3, "not-a-trace-id");
        var lines = new List<string>();
        for (var line = 0; line < 80; line++)
        {
            var spans = Enumerable.Range(0, 7).Select(span => line == 40 && span == 3 ? badSpan : Span(line, span, $"{line + 1:x16}{line + 1:x16}")).ToList();
            lines.Add(line == 60 ? "{\"resourceSpans\": [ cut off" : Line(spans));
        }

        using var file = new CollectorFile(lines);
        var format = new OtlpTracesSource();
        var records = format.ReadParts(SourceFile.Probe(file.Path), new TraceRules(OtlpTracesSource.SourceKey), CancellationToken.None)
            .Select(record => (record.RecordNumber, record.Part?.Name, record.Part?.InputTokens, record.Error, Raw: record.RawText?.Invoke()))
            .ToList();

        Assert.Equal(79 * 7 + 1, records.Count);
        // Every span of every line but the cut-off one, in file order.
        var expected = Enumerable.Range(0, 80).Where(line => line != 60)
            .SelectMany(line => Enumerable.Range(0, 7).Select(span => (line, span)))
            .ToList();
        var parts = records.Where(record => record.Error is null).ToList();
        Assert.Equal(expected.Where(item => item != (40, 3)).Select(item => $"chat ü {item.line}/{item.span}"), parts.Select(part => part.Name));
        Assert.Equal(expected.Where(item => item != (40, 3)).Select(item => (long?)(item.line * 100 + item.span)), parts.Select(part => part.InputTokens));
        Assert.Equal(records.Select(record => record.RecordNumber).Order(), records.Select(record => record.RecordNumber));
        // A kept span's record text (read only if the loader turns it down) is its own JSON too.
        Assert.Equal(expected.Where(item => item != (40, 3)).Select(item => Span(item.line, item.span, $"{item.line + 1:x16}{item.line + 1:x16}")),
            parts.Select(part => part.Raw));

        var rejects = records.Where(record => record.Error is not null).ToList();
        Assert.Equal(2, rejects.Count);
        Assert.Equal(41, rejects[0].RecordNumber);
        Assert.Contains("traceId 'not-a-trace-id' is not 32 hex digits", rejects[0].Error);
        Assert.Equal(badSpan, rejects[0].Raw);
        Assert.Equal(61, rejects[1].RecordNumber);
        Assert.StartsWith("the line is not valid JSON", rejects[1].Error);
        Assert.Equal(lines[60], rejects[1].Raw);
    }

    [Fact]
    public void A_caller_that_stops_early_leaves_nothing_running_that_fails()
    {
        using var file = new CollectorFile(Enumerable.Range(0, 30).Select(line => Line(Enumerable.Range(0, 50).Select(span => Span(line, span, $"{line + 1:x32}")))));
        var format = new OtlpTracesSource();
        var rules = new TraceRules(OtlpTracesSource.SourceKey);

        Assert.Equal(10, format.ReadParts(SourceFile.Probe(file.Path), rules, CancellationToken.None).Take(10).Count());
        using var cancel = new CancellationTokenSource();
        var read = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var _ in format.ReadParts(SourceFile.Probe(file.Path), rules, cancel.Token))
            {
                if (++read == 120)
                {
                    cancel.Cancel();
                }
            }
        });
        // Both readers ran to completion on the file, which can be deleted (no handle left open).
        File.Delete(file.Path);
    }
}

/// <summary>gen_ai.retrieval.documents read without a document: the same answer as parsing it.</summary>
public sealed class RetrievalDocumentsTests
{
    [Theory]
    [InlineData("[]")]
    [InlineData(" [ \n ] ")]
    [InlineData("[{\"id\":\"kb-refund-policy\",\"score\":0.82},{\"id\":\"kb-shipping\"}]")]
    [InlineData("[[]]")]
    [InlineData("[] trailing")]
    [InlineData("[],[]")]
    [InlineData("[")]
    [InlineData("[1,")]
    [InlineData("[1,]")]
    [InlineData("[{\"a\":}]")]
    [InlineData("[\"unterminated]")]
    public void An_array_of_documents_is_empty_or_not_as_a_parser_reads_it(string documents)
    {
        bool? expected;
        try
        {
            using var parsed = JsonDocument.Parse(documents.Trim());
            expected = parsed.RootElement.ValueKind == JsonValueKind.Array && parsed.RootElement.GetArrayLength() == 0;
        }
        catch (JsonException)
        {
            expected = null;
        }

        var attributes = new Dictionary<string, string?> { ["gen_ai.retrieval.documents"] = documents };
        Assert.Equal(expected, OtlpTracesSource.IsRetrievalEmpty(attributes, openInference: false));
    }
}

/// <summary>Short JSON strings are shared, and every string reads as the serializer reads it.</summary>
public sealed class Utf8StringsTests
{
    [Theory]
    [InlineData("chat")]
    [InlineData("")]
    [InlineData("München — 東京 🚀")]
    [InlineData("a\\u0062c \\\"quoted\\\"")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234 longer than the cache takes")]
    public void A_string_reads_as_the_serializer_reads_it_and_a_short_plain_one_is_shared(string escaped)
    {
        var json = $$"""{"a":"{{escaped}}","b":"{{escaped}}"}""";
        var expected = JsonSerializer.Deserialize<Dictionary<string, string>>(json)!["a"];
        using var document = JsonDocument.Parse(json);
        var first = Warehouse.Sources.Json.Utf8Strings.Get(document.RootElement.GetProperty("a"));
        var second = Warehouse.Sources.Json.Utf8Strings.Get(document.RootElement.GetProperty("b"));
        Assert.Equal(expected, first);
        Assert.Equal(expected, second);

        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        var fromReader = new List<string>();
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
            {
                fromReader.Add(Warehouse.Sources.Json.Utf8Strings.Get(ref reader));
            }
        }

        Assert.Equal(["a", expected, "b", expected], fromReader);
        var shareable = !escaped.Contains('\\') && Encoding.UTF8.GetByteCount(escaped) <= Warehouse.Sources.Json.Utf8Strings.MaxLength;
        Assert.Equal(shareable, ReferenceEquals(first, second) && ReferenceEquals(first, fromReader[1]));
    }

    [Fact]
    public void A_thread_that_has_read_many_strings_before_still_shares_new_ones()
    {
        for (var i = 0; i < Warehouse.Sources.Json.Utf8Strings.Slots * 4; i++)
        {
            var filler = new Utf8JsonReader(Encoding.UTF8.GetBytes($"\"value {i}\""));
            filler.Read();
            Warehouse.Sources.Json.Utf8Strings.Get(ref filler);
        }

        var json = Encoding.UTF8.GetBytes("[\"a value never read before\",\"a value never read before\"]");
        var reader = new Utf8JsonReader(json);
        var read = new List<string>();
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                read.Add(Warehouse.Sources.Json.Utf8Strings.Get(ref reader));
            }
        }

        Assert.Equal(2, read.Count);
        Assert.Same(read[0], read[1]);
    }
}

/// <summary>Ids and times read from the line's bytes where they are plain, else as text: the same values and reasons either way.</summary>
public sealed class OtlpIdAndTimeTests
{
    [Theory]
    [InlineData("\"ABCDEF0123456789abcdef0123456789\"", "abcdef0123456789abcdef0123456789", null)]
    [InlineData("\"\\u0041BCDEF0123456789abcdef0123456789\"", "abcdef0123456789abcdef0123456789", null)]
    [InlineData("\"00000000000000000000000000000000\"", null, "traceId is all zeros (an invalid id)")]
    [InlineData("\"0000000000000000000000000000000g\"", null, "traceId '0000000000000000000000000000000g' is not 32 hex digits")]
    [InlineData("\"abcdef0123456789abcdef012345678\"", null, "traceId 'abcdef0123456789abcdef012345678' is not 32 hex digits")]
    [InlineData("12345678901234567890123456789012", "12345678901234567890123456789012", null)]
    [InlineData("123", null, "traceId '123' is not 32 hex digits")]
    [InlineData("\"\"", null, null)]
    [InlineData("null", null, null)]
    public void A_trace_id_reads_lowercased_or_with_its_reason(string json, string? expected, string? reason)
    {
        using var document = System.Text.Json.JsonDocument.Parse($$"""{"traceId":{{json}}}""");
        var ok = Warehouse.Sources.Otlp.OtlpJson.TryId(document.RootElement, "traceId", 16, out var id, out var problem);
        Assert.Equal(reason is null, ok);
        Assert.Equal(expected, id);
        Assert.Equal(reason, problem);
    }

    [Theory]
    [InlineData("\"1790812803599885000\"", 639264096035998850L, null)]
    [InlineData("1790812803599885000", 639264096035998850L, null)]
    [InlineData("\"0001790812803599885000\"", 639264096035998850L, null)]
    [InlineData("\"0\"", null, null)]
    [InlineData("null", null, null)]
    [InlineData("\"\"", null, "startTimeUnixNano '' is not a count of nanoseconds")]
    [InlineData("\"+1\"", null, "startTimeUnixNano '+1' is not a count of nanoseconds")]
    [InlineData("\"99999999999999999999\"", null, "startTimeUnixNano '99999999999999999999' is not a count of nanoseconds")]
    [InlineData("\"\\u0031790812803599885000\"", 639264096035998850L, null)]
    public void A_time_reads_as_utc_ticks_or_with_its_reason(string json, long? ticks, string? reason)
    {
        using var document = System.Text.Json.JsonDocument.Parse($$"""{"startTimeUnixNano":{{json}}}""");
        var ok = Warehouse.Sources.Otlp.OtlpJson.TryTime(document.RootElement, "startTimeUnixNano", out var time, out var problem);
        Assert.Equal(reason is null, ok);
        Assert.Equal(ticks, time?.Ticks);
        Assert.Equal(reason, problem);
        if (time is { } value)
        {
            Assert.Equal(DateTimeKind.Utc, value.Kind);
        }
    }
}
