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
}
