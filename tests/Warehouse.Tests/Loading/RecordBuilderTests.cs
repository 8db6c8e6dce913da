using Warehouse.Loading;

namespace Warehouse.Tests.Loading;

public sealed class RecordBuilderTests
{
    private static readonly DateTime LoadedAt = new(2026, 11, 26, 0, 0, 0, DateTimeKind.Utc);

    private static (bool Ok, object?[] Row, string? Reason) Build(TableSchema schema, params (string Column, string? Value)[] fields)
    {
        var record = new FieldRecord(7, schema.Columns.Count);
        foreach (var (column, value) in fields)
        {
            record.Values[schema.Ordinal(column)] = value;
        }

        var ok = new RecordBuilder(schema).TryBuild(record, 42, LoadedAt, out var row, out var reason);
        return (ok, row, reason);
    }

    private static object? Value(TableSchema schema, object?[] row, string column) => row[schema.Ordinal(column)];

    [Theory]
    [InlineData(null, "unknown")]
    [InlineData(1000L, "<2k")]
    [InlineData(2047L, "<2k")]
    [InlineData(2048L, "2k-8k")]
    [InlineData(8191L, "2k-8k")]
    [InlineData(8192L, "8k-32k")]
    [InlineData(32767L, "8k-32k")]
    [InlineData(32768L, ">=32k")]
    public void Context_band_follows_the_token_boundaries(long? tokens, string band) =>
        Assert.Equal(band, ContextBands.FromTokens(tokens));

    [Fact]
    public void Context_band_from_tokens_overrides_a_given_band()
    {
        var schema = TableSchema.TraceSummaries;

        var (ok, row, _) = Build(schema, ("trace_id", "t"), ("context_tokens", "40000"), ("context_band", "<2k"));

        Assert.True(ok);
        Assert.Equal(">=32k", Value(schema, row, "context_band"));
    }

    [Fact]
    public void A_given_band_without_tokens_must_be_a_known_band()
    {
        var (ok, _, reason) = Build(TableSchema.TraceSummaries, ("trace_id", "t"), ("context_band", "huge"));

        Assert.False(ok);
        Assert.Contains("context_band 'huge'", reason);
    }

    [Fact]
    public void Timestamps_with_offsets_become_utc_and_zone_less_ones_are_utc()
    {
        var schema = TableSchema.TraceSummaries;

        var (_, withOffset, _) = Build(schema, ("trace_id", "t"), ("started_at", "2026-11-20T10:00:00+02:00"));
        var (_, zoneLess, _) = Build(schema, ("trace_id", "t"), ("started_at", "2026-11-20 10:00:00"));

        Assert.Equal(new DateTime(2026, 11, 20, 8, 0, 0, DateTimeKind.Utc), Value(schema, withOffset, "started_at"));
        Assert.Equal(new DateTime(2026, 11, 20, 10, 0, 0, DateTimeKind.Utc), Value(schema, zoneLess, "started_at"));
    }

    [Theory]
    [InlineData("TRUE", true)]
    [InlineData("yes", true)]
    [InlineData("1", true)]
    [InlineData("f", false)]
    [InlineData("No", false)]
    public void Booleans_accept_the_common_spellings(string text, bool expected)
    {
        var schema = TableSchema.TraceSummaries;

        var (ok, row, _) = Build(schema, ("trace_id", "t"), ("is_error", text));

        Assert.True(ok);
        Assert.Equal(expected, Value(schema, row, "is_error"));
    }

    [Fact]
    public void Flags_left_empty_are_false_and_values_left_empty_are_null()
    {
        var schema = TableSchema.TraceSummaries;

        var (_, row, _) = Build(schema, ("trace_id", "t"), ("is_error", ""), ("latency_ms", " "));

        Assert.Equal(false, Value(schema, row, "is_error"));
        Assert.Null(Value(schema, row, "latency_ms"));
        Assert.Equal(42L, Value(schema, row, "_batch_id"));
        Assert.Equal(LoadedAt, Value(schema, row, "_loaded_at"));
    }

    [Theory]
    [InlineData("latency_ms", "NaN", "not a finite number")]
    [InlineData("latency_ms", "1e400", "not a finite number")]
    [InlineData("input_tokens", "-5", "non-negative whole number")]
    [InlineData("input_tokens", "1.5", "non-negative whole number")]
    [InlineData("feedback_score", "-0.1", "outside 0..1")]
    [InlineData("session_id", "a\0b", "NUL character")]
    public void Values_no_engine_could_store_are_rejected_with_the_reason(string column, string value, string reason)
    {
        var (ok, _, why) = Build(TableSchema.TraceSummaries, ("trace_id", "t"), (column, value));

        Assert.False(ok);
        Assert.Contains(column, why);
        Assert.Contains(reason, why);
    }

    [Fact]
    public void Whole_numbers_written_as_doubles_are_accepted()
    {
        var schema = TableSchema.EvalRecords;

        var (ok, row, _) = Build(schema, ("eval_run_id", "r"), ("case_id", "c"), ("metric", "m"), ("epoch", "2.0"), ("input_tokens", "120.0"));

        Assert.True(ok);
        Assert.Equal(2, Value(schema, row, "epoch"));
        Assert.Equal(120L, Value(schema, row, "input_tokens"));
    }

    [Fact]
    public void Extra_columns_are_merged_into_attributes_and_the_attributes_column_wins()
    {
        var schema = TableSchema.TraceSummaries;
        var record = new FieldRecord(1, schema.Columns.Count);
        record.Values[schema.Ordinal("trace_id")] = "t";
        record.Values[schema.Ordinal("attributes")] = """{"region":"eu","team":"billing"}""";
        record.AddExtra("region", "us");
        record.AddExtra("ticket", "T-1");

        Assert.True(new RecordBuilder(schema).TryBuild(record, 1, LoadedAt, out var row, out _));

        Assert.Equal("""{"region":"eu","team":"billing","ticket":"T-1"}""", Value(schema, row, "attributes"));
    }

    public static TheoryData<string> AttributeTexts() =>
    [
        """{"a":1,"b":[true,null,"x"]}""", "[1,2]", "42", "\"text\"", "{} trailing", "{}{}", "{\"a\":", "{'a':1}", "{\"a\":1,}",
        "/* c */ {}", new string('[', 65) + new string(']', 65), new string('[', 64) + new string(']', 64),
        "{\"long\":\"" + new string('x', 5000) + "\"}",
    ];

    [Fact]
    public void Attributes_with_a_lone_surrogate_are_read_as_utf8_reads_it_not_a_crash()
    {
        // A JSON Lines record can carry "\ud800" in a string; the text is checked as UTF-8 (U+FFFD in its place), as it is stored.
        var (ok, _, _) = Build(TableSchema.TraceSummaries, ("trace_id", "t"), ("attributes", "{\"a\":\"\ud800\"}"));

        Assert.True(ok);
    }

    [Theory]
    [MemberData(nameof(AttributeTexts))]
    public void Attributes_are_accepted_exactly_when_they_parse_as_one_json_value(string attributes)
    {
        bool parses;
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(attributes);
            parses = true;
        }
        catch (System.Text.Json.JsonException)
        {
            parses = false;
        }

        var (ok, _, reason) = Build(TableSchema.TraceSummaries, ("trace_id", "t"), ("attributes", attributes));

        Assert.Equal(parses, ok);
        if (!ok)
        {
            Assert.Contains("attributes is not valid JSON", reason);
        }
    }

    [Fact]
    public void Attributes_that_are_not_json_are_rejected()
    {
        var (ok, _, reason) = Build(TableSchema.TraceSummaries, ("trace_id", "t"), ("attributes", "{not json"));

        Assert.False(ok);
        Assert.Contains("attributes is not valid JSON", reason);
    }

    [Fact]
    public void Input_preview_is_cut_to_2000_characters_without_splitting_a_surrogate_pair()
    {
        var schema = TableSchema.TraceSummaries;
        var preview = new string('a', 1999) + "😀" + new string('b', 10);

        var (ok, row, _) = Build(schema, ("trace_id", "t"), ("input_preview", preview));

        Assert.True(ok);
        Assert.Equal(new string('a', 1999), Value(schema, row, "input_preview"));
    }
}
