using System.Collections.Concurrent;
using PuppeteerSharp;

namespace Warehouse.Tests.Reports;

/// <summary>
/// A headless Chromium that is already on the machine (a test never downloads a browser), driven
/// through PuppeteerSharp. Pages open with the network cut off: every request other than the page's
/// own file and <c>data:</c> URLs is aborted and recorded, so a test can prove a report is one
/// self-contained file. The page's own Content-Security-Policy is bypassed, so what the HTML would
/// do without that safety net is what gets observed.
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    /// <summary>The Chromium (or Chrome) executable to use; `.ci/run` sets it.</summary>
    public const string ExecutableVariable = "WAREHOUSE_TEST_CHROMIUM";

    private static readonly string[] KnownPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    private static readonly string[] CommandNames = ["chromium", "chromium-browser"];

    private static readonly string[] Arguments =
    [
        // The tests run as root in CI, where Chromium's sandbox refuses to start.
        "--no-sandbox",
        "--disable-gpu",
        // Containers give /dev/shm 64 MB, too little for a tall full-page screenshot.
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        // Belt and braces behind the request interception: no host name resolves. PuppeteerSharp
        // joins the arguments into one command line, so the value with spaces is quoted.
        "--host-resolver-rules=\"MAP * ~NOTFOUND\"",
    ];

    private readonly IBrowser _browser;

    private BrowserSession(IBrowser browser, string executablePath)
    {
        _browser = browser;
        ExecutablePath = executablePath;
    }

    public string ExecutablePath { get; }

    /// <summary>
    /// The browser to launch: <see cref="ExecutableVariable"/> when set (it must exist), else
    /// /usr/bin/chromium, else <c>chromium</c> on PATH; null with the reason when there is none.
    /// </summary>
    public static string? FindExecutable(out string reason)
    {
        var configured = Environment.GetEnvironmentVariable(ExecutableVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            // A configured browser that is not there is a broken CI setup, not a reason to skip.
            if (!File.Exists(configured))
            {
                throw new InvalidOperationException($"{ExecutableVariable} is '{configured}', which does not exist.");
            }

            reason = "";
            return configured;
        }

        var found = KnownPaths.FirstOrDefault(File.Exists) ?? CommandNames.Select(OnPath).FirstOrDefault(path => path is not null);
        reason = found is null
            ? $"no Chromium found: set {ExecutableVariable} or install one (apt-get install chromium); tests never download a browser"
            : "";
        return found;
    }

    public static async Task<BrowserSession> LaunchAsync(string executablePath)
    {
        var options = new LaunchOptions
        {
            ExecutablePath = executablePath,
            Headless = true,
            Args = Arguments,
            Timeout = 60_000,
            DefaultViewport = new ViewPortOptions { Width = 1280, Height = 900 },
        };
        var browser = await Puppeteer.LaunchAsync(options);
        return new BrowserSession(browser, executablePath);
    }

    /// <summary>Opens <paramref name="htmlFile"/> (a file:// URL) offline and waits for its load event.</summary>
    public async Task<OfflinePage> OpenAsync(string htmlFile)
    {
        var url = new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri;
        var page = await _browser.NewPageAsync();
        var opened = new OfflinePage(page, url);
        // The report may carry a Content-Security-Policy that forbids script and outside loads; the
        // tests look through it, so that they check the HTML's own escaping and self-containment
        // rather than the safety net (a broken escape would otherwise pass, merely refused).
        await page.SetBypassCSPAsync(true);
        await page.SetRequestInterceptionAsync(true);
        page.Request += async (_, args) =>
        {
            var requested = args.Request.Url;
            if (opened.IsAllowed(requested))
            {
                await args.Request.ContinueAsync();
            }
            else
            {
                opened.Blocked.Enqueue(requested);
                await args.Request.AbortAsync(RequestAbortErrorCode.BlockedByClient);
            }
        };
        page.PageError += (_, args) => opened.Errors.Enqueue(args.Message);
        // Whatever the browser refuses or fails to do, it says on the console.
        page.Console += (_, args) =>
        {
            if (args.Message.Type == ConsoleType.Error)
            {
                opened.ConsoleErrors.Enqueue(args.Message.Text);
            }
        };
        page.Dialog += async (_, args) =>
        {
            // A dialog can only come from script the report should never run; record it and move on.
            opened.Dialogs.Enqueue(args.Dialog.Message);
            await args.Dialog.Dismiss();
        };
        await page.GoToAsync(url, new NavigationOptions { Timeout = 120_000, WaitUntil = [WaitUntilNavigation.Load] });
        return opened;
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        _browser.Dispose();
    }

    private static string? OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, command))
            .FirstOrDefault(File.Exists);
}

/// <summary>A page opened by <see cref="BrowserSession.OpenAsync"/>, with what it tried to do.</summary>
public sealed class OfflinePage(IPage page, string url) : IAsyncDisposable
{
    public IPage Page { get; } = page;

    public string Url { get; } = url;

    /// <summary>Requests that were aborted: anything but the page's own file and data: URLs.</summary>
    public ConcurrentQueue<string> Blocked { get; } = new();

    /// <summary>Uncaught script errors.</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>Console errors, among them the browser's Content-Security-Policy refusals.</summary>
    public ConcurrentQueue<string> ConsoleErrors { get; } = new();

    /// <summary>alert/confirm/prompt messages: script ran.</summary>
    public ConcurrentQueue<string> Dialogs { get; } = new();

    internal bool IsAllowed(string requested) =>
        requested == Url
        || requested.StartsWith("data:", StringComparison.Ordinal)
        || requested == "about:blank";

    public async ValueTask DisposeAsync()
    {
        await Page.CloseAsync();
        Page.Dispose();
    }
}
