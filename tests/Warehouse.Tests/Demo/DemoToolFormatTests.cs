using Warehouse.Demo;
using Warehouse.Sources;
using Warehouse.Tests.Support;

namespace Warehouse.Tests.Demo;

public sealed class DemoToolFormatTests : IDisposable
{
    private readonly CanonicalFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void The_offline_half_is_written_as_promptfoo_and_inspect_logs_the_detector_recognises()
    {
        var files = DemoDataGenerator.GenerateWithToolFormats(Path.Combine(_files.Folder, "a"), traces: 200, evalCases: 40);

        Assert.Equal(["promptfoo-json", "inspect-json"], files.EvalFiles.Select(file => SourceDetector.Detect(file).Format.Name));
        Assert.Equal(160, files.EvalRecords);
        Assert.False(File.Exists(Path.Combine(_files.Folder, "a", DemoDataGenerator.EvalFileName)));
    }

    [Fact]
    public void The_same_seed_writes_the_same_tool_files()
    {
        var first = DemoDataGenerator.GenerateWithToolFormats(Path.Combine(_files.Folder, "a"), seed: 7, traces: 100, evalCases: 30);
        var second = DemoDataGenerator.GenerateWithToolFormats(Path.Combine(_files.Folder, "b"), seed: 7, traces: 100, evalCases: 30);

        foreach (var (left, right) in first.EvalFiles.Zip(second.EvalFiles))
        {
            Assert.Equal(File.ReadAllBytes(left), File.ReadAllBytes(right));
        }
    }
}
