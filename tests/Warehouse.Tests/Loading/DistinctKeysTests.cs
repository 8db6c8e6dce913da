using Warehouse.Loading;

namespace Warehouse.Tests.Loading;

/// <summary>A batch appending into an empty table removes repeated keys only when DistinctKeys cannot rule them out.</summary>
public sealed class DistinctKeysTests
{
    private static object?[] Eval(string source, string run, string caseId, string metric, int epoch)
    {
        var schema = TableSchema.EvalRecords;
        var row = new object?[schema.Columns.Count];
        row[schema.Ordinal("source")] = source;
        row[schema.Ordinal("eval_run_id")] = run;
        row[schema.Ordinal("case_id")] = caseId;
        row[schema.Ordinal("metric")] = metric;
        row[schema.Ordinal("epoch")] = epoch;
        row[schema.Ordinal("score")] = 0.5;
        return row;
    }

    [Fact]
    public void Keys_that_differ_in_any_column_are_distinct_and_a_repeat_is_noticed_whatever_the_other_values()
    {
        var keys = new DistinctKeys(TableSchema.EvalRecords);
        keys.Add(Eval("canonical", "r1", "c1", "m", 1));
        keys.Add(Eval("canonical", "r1", "c1", "m", 2));
        keys.Add(Eval("canonical", "r1", "c1m", "", 1));
        keys.Add(Eval("canonical", "r1c1", "", "m", 1));
        keys.Add(Eval("other", "r1", "c1", "m", 1));
        Assert.False(keys.MayRepeat);

        var repeated = Eval("canonical", "r1", "c1", "m", 2);
        repeated[TableSchema.EvalRecords.Ordinal("score")] = 0.9;
        keys.Add(repeated);
        Assert.True(keys.MayRepeat);
    }

    [Fact]
    public void Past_the_tracked_count_keys_may_repeat()
    {
        var keys = new DistinctKeys(TableSchema.EvalRecords, maxTracked: 3);
        for (var index = 0; index < 3; index++)
        {
            keys.Add(Eval("canonical", "r", "c" + index, "m", 1));
        }

        Assert.False(keys.MayRepeat);
        keys.Add(Eval("canonical", "r", "c3", "m", 1));
        Assert.True(keys.MayRepeat);
    }
}
