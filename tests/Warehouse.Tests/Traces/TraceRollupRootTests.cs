using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Traces;

namespace Warehouse.Tests.Traces;

/// <summary>
/// Which span is a trace's root (its name is the row's root_name, its metadata read first): the earliest span marked
/// root; else the earliest span whose parent is not in the trace, the part id breaking ties; else the earliest span.
/// A trace of a few spans and one of many (past the size where part ids are looked up in a set) must agree.
/// </summary>
public sealed class TraceRollupRootTests
{
    private static readonly DateTime At = new(2026, 11, 1, 12, 0, 0, DateTimeKind.Utc);

    private static TracePart Span(string id, string? parent, int second, bool isRoot = false) => new()
    {
        TraceId = "t-1",
        PartId = "span:" + id,
        Kind = PartKind.Span,
        ParentId = parent,
        IsRoot = isRoot,
        Name = id,
        Start = At.AddSeconds(second),
        End = At.AddSeconds(second + 1),
    };

    /// <summary>Filler spans whose parent is the span "a" (so never a root while "a" is in the trace), late in the trace.</summary>
    private static IEnumerable<TracePart> Children(int count) =>
        Enumerable.Range(0, count).Select(index => Span($"child-{index:D3}", "a", 100 + index));

    private static string? RootName(IEnumerable<TracePart> parts)
    {
        var record = TraceRollup.Build("otlp", "t-1", parts.ToList(), new TraceRules("otlp"))!;
        var attributes = (string)record.Values[TableSchema.TraceSummaries.Ordinal("attributes")]!;
        return JsonDocument.Parse(attributes).RootElement.TryGetProperty("root_name", out var name) ? name.GetString() : null;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    public void The_earliest_span_marked_root_wins_over_an_earlier_orphan(int children)
    {
        var parts = new[] { Span("orphan", "gone", 0), Span("late-root", null, 5, isRoot: true), Span("a", null, 3, isRoot: true) }
            .Concat(Children(children));
        Assert.Equal("a", RootName(parts));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    public void Without_a_marked_root_the_earliest_span_whose_parent_is_missing_wins_and_the_part_id_breaks_a_tie(int children)
    {
        // "b" starts first but its parent "a" is in the trace; "z" and "m" are orphans at the same start: "m" sorts first.
        var parts = new[] { Span("b", "a", 0), Span("z", "gone", 2), Span("a", "b", 4), Span("m", "lost", 2) }.Concat(Children(children));
        Assert.Equal("m", RootName(parts));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    public void When_every_parent_is_in_the_trace_the_earliest_span_wins_and_the_first_listed_of_equal_starts(int children)
    {
        // A cycle: a's parent is c, c's is b, b's is a.
        var parts = new[] { Span("c", "b", 7), Span("b", "a", 1), Span("a", "c", 1) }.Concat(Children(children));
        Assert.Equal("b", RootName(parts));
    }

    [Fact]
    public void A_part_id_without_a_prefix_matches_its_parent_id_as_it_is()
    {
        static TracePart Bare(string id, string? parent, int second)
        {
            var span = Span(id, parent, second);
            span.PartId = id;
            return span;
        }

        // "child" starts first and its parent "parent" is in the trace under the bare id "parent".
        Assert.Equal("parent", RootName([Bare("child", "parent", 0), Bare("parent", "gone", 3)]));
    }

    [Fact]
    public void A_trace_with_only_a_trace_record_and_feedback_still_rolls_up_without_spans()
    {
        var parts = new List<TracePart>
        {
            new() { TraceId = "t-1", PartId = "trace", Kind = PartKind.Trace, Name = "turn", Start = At },
            new() { TraceId = "t-1", PartId = "feedback:1", Kind = PartKind.Feedback, FeedbackName = "user_feedback", FeedbackScore = 0, FeedbackAt = At },
        };
        Assert.Equal("turn", RootName(parts));
        var record = TraceRollup.Build("otlp", "t-1", parts, new TraceRules("otlp"))!;
        Assert.Equal("true", record.Values[TableSchema.TraceSummaries.Ordinal("has_complaint")]);
    }
}
