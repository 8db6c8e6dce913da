using System.Text;
using System.Text.Json;
using Warehouse.Traces;

namespace Warehouse.Tests.Traces;

/// <summary>
/// The source-generated body must be the text the reflection serializer wrote: stored bodies are
/// compared to new ones on a re-load, and bodies stored by earlier versions are read back.
/// </summary>
public sealed class TracePartJsonTests
{
    private static IEnumerable<TracePart> Parts()
    {
        yield return new TracePart { TraceId = "t", PartId = "span:1", Kind = PartKind.Span };
        var full = new TracePart
        {
            TraceId = "t1",
            PartId = "feedback:9",
            Kind = PartKind.Feedback,
            ParentId = "abc",
            IsRoot = true,
            Name = "chat \"quoted\" <b>é</b> 🎉 \u0001 \\ /",
            Role = SpanRole.Retrieval,
            Start = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(1234567),
            End = new DateTime(2026, 1, 2, 3, 4, 6, DateTimeKind.Utc),
            DurationMs = 12.5,
            Model = "gpt-4o",
            InputTokens = 0,
            OutputTokens = 77,
            CostUsd = 0.1 + 0.2,
            TotalsCoverTrace = true,
            IsError = true,
            ErrorType = "JSONDecodeError",
            JsonParseFailure = true,
            RetrievalEmpty = false,
            Complaint = false,
            SessionId = "s",
            TraceUrl = "https://x/y?a=1&b=2",
            InputPreview = "line1\nline2\t",
            FeedbackName = "thumbs",
            FeedbackScore = 0,
            FeedbackLabel = "👎",
            FeedbackComment = "",
            FeedbackAt = DateTime.UnixEpoch,
        };
        full.SetKey("customer_tier", "gold");
        full.SetKey("model_version", "gpt-4o", derived: true);
        full.SetAttribute("service_name", "svc");
        full.SetAttribute("provider", "openai");
        yield return full;
    }

    [Fact]
    public void The_body_is_the_text_the_reflection_serializer_wrote_and_reads_back_the_same()
    {
        foreach (var part in Parts())
        {
            var reflected = JsonSerializer.Serialize(part, TracePartJson.Options);
            var generated = TracePartJson.Serialize(part);
            Assert.Equal(reflected, generated);

            var back = TracePartJson.Deserialize(generated);
            Assert.Equal(reflected, JsonSerializer.Serialize(back, TracePartJson.Options));
            var reflectedBack = JsonSerializer.Deserialize<TracePart>(reflected, TracePartJson.Options)!;
            Assert.Equal(JsonSerializer.Serialize(reflectedBack, TracePartJson.Options), TracePartJson.Serialize(back));
        }
    }

    /// <summary>Parts with every property set or not, at random, from a fixed seed: strings that need escaping, extreme numbers and times.</summary>
    private static IEnumerable<TracePart> RandomParts(int count)
    {
        var random = new Random(20261126);
        string[] texts = ["", " ", "a", "chat \"q\" <b>é</b>", "🎉 line\nbreak\ttab \u0001 \\ /", "ünïcödé ❤", new string('x', 300), "{\"json\":[1,2]}"];
        string? Text() => random.Next(3) == 0 ? null : texts[random.Next(texts.Length)];
        double? Number() => random.Next(3) switch
        {
            0 => null,
            1 => random.NextDouble() * Math.Pow(10, random.Next(-8, 12)),
            _ => new[] { 0d, -0d, 1, 0.1 + 0.2, double.Epsilon, double.MaxValue, 1e-300 }[random.Next(7)],
        };
        long? Count() => random.Next(3) == 0 ? null : new[] { 0L, 1, 1843, long.MaxValue, -5 }[random.Next(5)];
        DateTime? Time() => random.Next(3) == 0
            ? null
            : new DateTime(2020, 1, 1, 0, 0, 0, random.Next(2) == 0 ? DateTimeKind.Utc : DateTimeKind.Unspecified).AddTicks(random.NextInt64(0, 400_000_000_000_000));
        bool? Flag() => random.Next(3) switch { 0 => null, 1 => true, _ => false };
        for (var index = 0; index < count; index++)
        {
            var part = new TracePart
            {
                TraceId = "t" + index,
                PartId = "span:" + index,
                Kind = (PartKind)random.Next(3),
                ParentId = Text(),
                IsRoot = random.Next(2) == 0,
                Name = Text(),
                Role = (SpanRole)random.Next(5),
                Start = Time(),
                End = Time(),
                DurationMs = Number(),
                Model = Text(),
                InputTokens = Count(),
                OutputTokens = Count(),
                CostUsd = Number(),
                TotalsCoverTrace = random.Next(2) == 0,
                IsError = random.Next(2) == 0,
                ErrorType = Text(),
                JsonParseFailure = random.Next(2) == 0,
                RetrievalEmpty = Flag(),
                Complaint = Flag(),
                SessionId = Text(),
                TraceUrl = Text(),
                InputPreview = Text(),
                FeedbackName = Text(),
                FeedbackScore = Number(),
                FeedbackLabel = Text(),
                FeedbackComment = Text(),
                FeedbackAt = Time(),
            };
            for (var key = random.Next(4); key > 0; key--)
            {
                part.SetKey(texts[random.Next(texts.Length)] + key, Text());
                part.SetKey("k" + key, Text(), derived: true);
                part.SetAttribute(texts[random.Next(texts.Length)] + "/" + key, Text());
            }

            if (random.Next(10) == 0)
            {
                part.Keys = [];
            }

            yield return part;
        }
    }

    [Fact]
    public void The_hand_written_body_is_the_serializer_s_byte_for_byte_and_reads_back_without_it()
    {
        foreach (var part in Parts().Concat(RandomParts(2_000)))
        {
            var reflected = JsonSerializer.SerializeToUtf8Bytes(part, TracePartJson.Options);
            var written = TracePartJson.SerializeToUtf8Bytes(part);
            Assert.Equal(Encoding.UTF8.GetString(reflected), Encoding.UTF8.GetString(written));

            // Read by hand (no fallback), it is the part the serializer reads.
            var read = TracePartJson.TryRead(written);
            Assert.NotNull(read);
            var expected = JsonSerializer.Deserialize<TracePart>(reflected, TracePartJson.Options)!;
            Assert.Equal(JsonSerializer.Serialize(expected, TracePartJson.Options), JsonSerializer.Serialize(read, TracePartJson.Options));
            Assert.Equal(expected.Start?.Kind, read.Start?.Kind);
            Assert.Equal(expected.FeedbackAt?.Kind, read.FeedbackAt?.Kind);
        }
    }

    [Fact]
    public void The_packed_form_reads_back_as_the_part_its_body_reads_back_as()
    {
        foreach (var part in Parts().Concat(RandomParts(2_000)))
        {
            var fromBody = TracePartJson.Deserialize(TracePartJson.SerializeToUtf8Bytes(part));
            var packed = TracePartPacked.PackToSpan(part).ToArray();
            var unpacked = TracePartPacked.Unpack(packed);
            Assert.Equal(TracePartJson.Serialize(fromBody), TracePartJson.Serialize(unpacked));
            Assert.Equal(fromBody.Start, unpacked.Start);
            Assert.Equal(fromBody.Start?.Kind, unpacked.Start?.Kind);
            Assert.Equal(fromBody.End?.Kind, unpacked.End?.Kind);
            Assert.Equal(fromBody.FeedbackAt?.Kind, unpacked.FeedbackAt?.Kind);
            Assert.Equal(fromBody.Keys is null, unpacked.Keys is null);
            Assert.Equal(fromBody.Keys?.ToList(), unpacked.Keys?.ToList());
            Assert.Equal(fromBody.DerivedKeys?.ToList(), unpacked.DerivedKeys?.ToList());
            Assert.Equal(fromBody.Attributes?.ToList(), unpacked.Attributes?.ToList());
            Assert.Equal(fromBody.CostUsd.HasValue ? BitConverter.DoubleToInt64Bits(fromBody.CostUsd.Value) : (long?)null,
                unpacked.CostUsd.HasValue ? BitConverter.DoubleToInt64Bits(unpacked.CostUsd.Value) : (long?)null);
            Assert.Equal("", unpacked.TraceId);
            Assert.Equal("", unpacked.PartId);
            Assert.True(packed.Length < TracePartJson.SerializeToUtf8Bytes(part).Length + 16);
        }
    }

    [Fact]
    public void A_packed_form_with_bytes_left_over_or_cut_short_is_refused()
    {
        var packed = TracePartPacked.PackToSpan(Parts().Last()).ToArray();
        Assert.Throws<InvalidDataException>(() => TracePartPacked.Unpack([.. packed, 0]));
        Assert.ThrowsAny<Exception>(() => TracePartPacked.Unpack(packed.AsSpan(0, packed.Length - 3)));
    }

    [Theory]
    [InlineData("""{"Kind":"span"}""")]
    [InlineData("""{"Kind":1,"Role":3}""")]
    [InlineData("""{"Na\u006De":"escaped name"}""")]
    [InlineData("""{"Name":"x","Unknown":{"a":[1,2]}}""")]
    [InlineData("""{"TraceId":"ignored","Name":"x"}""")]
    [InlineData("""{"Keys":{"a":"1","a":"2"}}""")]
    [InlineData("""{"Keys":{"a":null}}""")]
    [InlineData("""{"Name":"first","Name":"second"}""")]
    public void A_body_the_hand_written_reader_does_not_expect_reads_as_the_serializer_reads_it(string body)
    {
        var expected = JsonSerializer.Deserialize<TracePart>(body, TracePartJson.Options)!;
        Assert.Equal(JsonSerializer.Serialize(expected, TracePartJson.Options), JsonSerializer.Serialize(TracePartJson.Deserialize(body), TracePartJson.Options));
    }

    [Theory]
    [InlineData("""{"IsRoot":null}""")]
    [InlineData("""{"InputTokens":12.0}""")]
    [InlineData("""{"Kind":"Nothing"}""")]
    [InlineData("""{"Start":"not a time"}""")]
    [InlineData("""{"Name":"x"} trailing""")]
    [InlineData("""[1]""")]
    public void A_body_the_serializer_refuses_is_refused(string body)
    {
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<TracePart>(body, TracePartJson.Options));
        Assert.ThrowsAny<JsonException>(() => TracePartJson.Deserialize(body));
    }
}
