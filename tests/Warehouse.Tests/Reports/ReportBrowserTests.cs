using System.Buffers.Binary;
using Warehouse.Demo;

namespace Warehouse.Tests.Reports;

/// <summary>
/// `warehouse report` as a reader sees it: the HTML written for the demo story (plus hostile traces)
/// opened from disk in headless Chromium, with the network cut off. Every section of the report's DOM
/// contract is there and visible, every chart is an inline SVG that draws something, the data's markup
/// is shown as text and never runs, and the page asks for nothing outside its own file.
/// </summary>
public sealed class ReportBrowserTests(ReportBrowserFixture report) : IClassFixture<ReportBrowserFixture>
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private OfflinePage Opened
    {
        get
        {
            if (report.SkipReason is { } reason)
            {
                Assert.Skip(reason);
            }

            return report.Page;
        }
    }

    [Fact]
    public async Task Report_has_every_section_of_the_comparison_and_the_global_ones_after_it()
    {
        await ReportBrowserChecks.AssertSectionsAsync(Opened.Page, DemoStory.ComparisonName);

        // The demo's story: better offline, worse in production.
        var headline = await ReportBrowserChecks.SectionTextAsync(Opened.Page, DemoStory.ComparisonName, "headline");
        Assert.Matches(@"\boffline:\s*improved\b", headline);
        Assert.Matches(@"\bonline:\s*regressed\b", headline);
    }

    [Fact]
    public async Task Report_draws_every_chart_as_an_inline_svg_and_the_forest_names_the_enterprise_slices()
    {
        await ReportBrowserChecks.AssertChartsAsync(Opened.Page, DemoStory.ComparisonName);
    }

    [Fact]
    public async Task Report_lists_the_offline_win_online_loss_divergence_and_the_failed_lock()
    {
        await ReportBrowserChecks.AssertDivergencesAsync(Opened.Page, DemoStory.ComparisonName);
        await ReportBrowserChecks.AssertLocksAsync(Opened.Page, DemoStory.ComparisonName, ReportBrowserFixture.LockName);
    }

    [Fact]
    public async Task Report_shows_markup_from_the_data_as_text_and_runs_none_of_it()
    {
        await ReportBrowserChecks.AssertInertAsync(Opened);
        await ReportBrowserChecks.AssertShownAsTextAsync(Opened.Page, ReportBrowserFixture.ScriptPayload, ReportBrowserFixture.ImagePayload);
    }

    [Fact]
    public async Task Report_is_one_self_contained_file_that_requests_nothing()
    {
        await ReportBrowserChecks.AssertSelfContainedAsync(Opened);
    }

    [Fact]
    public void Report_screenshot_and_html_are_kept_as_test_artifacts()
    {
        _ = Opened; // skips without a browser
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"Chromium: {report.ExecutablePath}");
        output?.WriteLine($"screenshot: {report.ScreenshotPath}");
        output?.WriteLine($"report:     {report.HtmlPath}");
        output?.WriteLine(report.ReportOutput.TrimEnd());

        var png = File.ReadAllBytes(report.ScreenshotPath);
        Assert.True(png.AsSpan().StartsWith(PngSignature), $"{report.ScreenshotPath} is not a PNG");
        // IHDR: width and height, big-endian, at bytes 16..23. A full-page shot is at least the viewport.
        var width = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4));
        var height = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4));
        Assert.True(width >= 1280 && height > 900, $"the screenshot is {width}×{height}, not a full page");
        var html = File.ReadAllBytes(report.HtmlPath);
        Assert.NotEmpty(html);
        TestContext.Current.AddAttachment("report.png", png, "image/png");
        TestContext.Current.AddAttachment("report.html", html, "text/html");
    }
}
