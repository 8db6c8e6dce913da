using System.Text.Json;
using PuppeteerSharp;

namespace Warehouse.Tests.Reports;

/// <summary>
/// The report's DOM contract, checked in a live page: each check fails with a message that says what
/// is missing or wrong, so <see cref="ReportBrowserTests"/> reads as a list of promises.
/// </summary>
public static class ReportBrowserChecks
{
    public static readonly string[] ComparisonSections = ["headline", "forest", "divergences", "locks", "trend"];

    public static readonly string[] GlobalSections = ["coverage", "seeds", "load-health"];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The comparison's five sections in its article, and the global sections after every article.</summary>
    public static async Task AssertSectionsAsync(IPage page, string comparison)
    {
        var found = await EvaluateAsync<SectionLayout>(page, """
            (name) => {
                const articles = [...document.querySelectorAll('article.comparison')];
                const article = articles.find(candidate => candidate.getAttribute('data-comparison') === name);
                const describe = section => ({ name: section.getAttribute('data-section'), visible: section.getClientRects().length > 0 });
                const globals = [...document.querySelectorAll('section[data-section]')].filter(section => !section.closest('article.comparison'));
                const last = articles[articles.length - 1];
                return {
                    comparisons: articles.map(candidate => candidate.getAttribute('data-comparison')),
                    sections: article ? [...article.querySelectorAll('section[data-section]')].map(describe) : [],
                    globals: globals.map(describe),
                    globalsAfterArticles: !!last && globals.every(section => last.compareDocumentPosition(section) & Node.DOCUMENT_POSITION_FOLLOWING),
                    headline: article?.querySelector('section[data-section="headline"]')?.innerText ?? '',
                };
            }
            """, comparison);

        Assert.Contains(comparison, found.Comparisons);
        var names = found.Sections.Select(section => section.Name).ToList();
        Assert.All(ComparisonSections, name => Assert.True(names.Contains(name),
            $"article '{comparison}' has no section '{name}'; it has: {string.Join(", ", names)}"));
        var globals = found.Globals.Select(section => section.Name).ToList();
        Assert.All(GlobalSections, name => Assert.True(globals.Contains(name),
            $"no global section '{name}' outside the comparison articles; found: {string.Join(", ", globals)}"));
        Assert.True(found.GlobalsAfterArticles, "the global sections must come after the comparison articles");
        var hidden = found.Sections.Concat(found.Globals).Where(section => !section.Visible).Select(section => section.Name).ToList();
        Assert.True(hidden.Count == 0, $"sections not rendered: {string.Join(", ", hidden)}");
        Assert.Matches(@"(?m)\boffline:\s*(regressed|improved|unchanged|insufficient data|no data)\b", found.Headline);
        Assert.Matches(@"(?m)\bonline:\s*(regressed|improved|unchanged|insufficient data|no data)\b", found.Headline);
    }

    /// <summary>
    /// Every chart the contract names, each in its section with one inline SVG that has a size on
    /// screen, marks with a size, and text; the forest labels the enterprise or long-context slices.
    /// </summary>
    public static async Task AssertChartsAsync(IPage page, string comparison)
    {
        var charts = await EvaluateAsync<Chart[]>(page, """
            () => [...document.querySelectorAll('figure.chart')].map(figure => {
                const svgs = figure.querySelectorAll('svg');
                const svg = svgs[0];
                const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
                const marks = svg ? [...svg.querySelectorAll('path, line, rect, polyline, polygon, circle, ellipse')]
                    .filter(mark => { const b = mark.getBBox(); return b.width > 0 || b.height > 0; }).length : 0;
                return {
                    kind: figure.getAttribute('data-chart') ?? '',
                    section: figure.closest('section[data-section]')?.getAttribute('data-section') ?? '',
                    comparison: figure.closest('article.comparison')?.getAttribute('data-comparison') ?? '',
                    svgs: svgs.length,
                    marks,
                    texts: svg ? svg.querySelectorAll('text').length : 0,
                    text: svg ? svg.textContent : '',
                    width: box.width,
                    height: box.height,
                };
            })
            """);

        Chart Single(string kind, string section, string owner)
        {
            var matching = charts.Where(chart => chart.Kind == kind && chart.Section == section && chart.Comparison == owner).ToList();
            Assert.True(matching.Count == 1,
                $"expected one '{kind}' chart in section '{section}'{(owner == "" ? "" : $" of '{owner}'")}, found {matching.Count}; charts: "
                + string.Join(", ", charts.Select(chart => $"{chart.Kind}@{chart.Section}/{chart.Comparison}")));
            return matching[0];
        }

        // trend-offline may be missing only when there are no eval records; these checks run on data with some.
        Chart[] expected =
        [
            Single("forest", "forest", comparison),
            Single("trend-online", "trend", comparison),
            Single("trend-offline", "trend", comparison),
            Single("slice-mix", "coverage", ""),
        ];

        Assert.All(expected, chart =>
        {
            Assert.True(chart.Svgs == 1, $"chart '{chart.Kind}' holds {chart.Svgs} svg elements, not one");
            Assert.True(chart.Width > 50 && chart.Height > 50, $"chart '{chart.Kind}' is {chart.Width}×{chart.Height} on screen");
            Assert.True(chart.Marks >= 3, $"chart '{chart.Kind}' draws {chart.Marks} marks");
            Assert.True(chart.Texts > 0 && chart.Text.Trim().Length > 0, $"chart '{chart.Kind}' has no text");
        });
        Assert.Matches("enterprise|>=32k|8k-32k", expected[0].Text);
    }

    /// <summary>A divergence row where offline won and online lost.</summary>
    public static async Task AssertDivergencesAsync(IPage page, string comparison)
    {
        var rows = await TableRowsAsync(page, $"article.comparison[data-comparison=\"{comparison}\"] section[data-section=\"divergences\"]");
        Assert.True(rows.Any(row => row.Contains("offline_win_online_loss", StringComparison.Ordinal)),
            "no divergence row reads offline_win_online_loss; rows:\n" + string.Join('\n', rows.Take(10)));
    }

    /// <summary>The lock is on the board, failed on the candidate.</summary>
    public static async Task AssertLocksAsync(IPage page, string comparison, string lockName)
    {
        var rows = await TableRowsAsync(page, $"article.comparison[data-comparison=\"{comparison}\"] section[data-section=\"locks\"]");
        Assert.True(rows.Any(row => row.Contains(lockName, StringComparison.Ordinal) && row.Contains("failed", StringComparison.Ordinal)),
            $"no locks row names {lockName} as failed; rows:\n" + string.Join('\n', rows.Take(10)));
    }

    /// <summary>No script ran, no handler or script URL exists, and no dialog or error happened.</summary>
    public static async Task AssertInertAsync(OfflinePage opened)
    {
        var page = opened.Page;
        var pwned = await page.EvaluateExpressionAsync<string>("String(window.__pwned)");
        Assert.True(pwned == "undefined", $"window.__pwned is {pwned}: markup from the data ran as script");
        Assert.True(opened.Dialogs.IsEmpty, "dialogs opened: " + string.Join(", ", opened.Dialogs));
        Assert.True(opened.Errors.IsEmpty, "script errors: " + string.Join(", ", opened.Errors));
        Assert.True(opened.ConsoleErrors.IsEmpty, "console errors: " + string.Join("\n", opened.ConsoleErrors));
        var scripts = await page.EvaluateExpressionAsync<string[]>("[...document.scripts].map(script => script.outerHTML)");
        Assert.DoesNotContain(scripts, script => script.Contains("__pwned", StringComparison.Ordinal));
        Assert.Equal(0, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('img[onerror]').length"));
        var handlers = await page.EvaluateExpressionAsync<string[]>("""
            [...document.querySelectorAll('*')].flatMap(element => [...element.attributes]
                .filter(attribute => attribute.name.toLowerCase().startsWith('on'))
                .map(attribute => `<${element.localName} ${attribute.name}="${attribute.value}">`))
            """);
        Assert.True(handlers.Length == 0, "event handler attributes: " + string.Join(", ", handlers));
        var scriptUrls = await page.EvaluateExpressionAsync<string[]>("""
            [...document.querySelectorAll('*')].flatMap(element => [...element.attributes]
                .filter(attribute => ['href', 'src', 'xlink:href', 'action', 'formaction', 'srcdoc'].includes(attribute.name.toLowerCase())
                    && /^\s*(javascript|vbscript):/i.test(attribute.value))
                .map(attribute => `<${element.localName} ${attribute.name}="${attribute.value}">`))
            """);
        Assert.True(scriptUrls.Length == 0, "script URLs: " + string.Join(", ", scriptUrls));
    }

    /// <summary>The payloads are on the page as the characters the data holds, in the seed candidates among others.</summary>
    public static async Task AssertShownAsTextAsync(IPage page, params string[] payloads)
    {
        var text = await page.EvaluateExpressionAsync<string>("document.body.innerText");
        var seeds = await page.EvaluateExpressionAsync<string>("document.querySelector('section[data-section=\"seeds\"]')?.innerText ?? ''");
        Assert.All(payloads, payload =>
        {
            Assert.Contains(payload, text, StringComparison.Ordinal);
            Assert.Contains(payload, seeds, StringComparison.Ordinal);
        });
    }

    /// <summary>Nothing requested beyond the file itself, nothing that would be, and no navigation away.</summary>
    public static async Task AssertSelfContainedAsync(OfflinePage opened)
    {
        var page = opened.Page;
        Assert.True(opened.Blocked.IsEmpty, "requests outside the file: " + string.Join(", ", opened.Blocked));
        Assert.True(opened.ConsoleErrors.IsEmpty, "console errors: " + string.Join("\n", opened.ConsoleErrors));
        Assert.Equal(opened.Url, await page.EvaluateExpressionAsync<string>("location.href"));
        Assert.Empty(await page.EvaluateExpressionAsync<string[]>("performance.getEntriesByType('resource').map(entry => entry.name)"));
        // Links may point anywhere (incident URLs); anything that loads must be inline or a data: URL.
        var references = await page.EvaluateExpressionAsync<string[]>("""
            [...document.querySelectorAll('*')].filter(element => element.localName !== 'a').flatMap(element => [...element.attributes]
                .filter(attribute => ['src', 'href', 'xlink:href', 'srcset', 'poster', 'data', 'background', 'action'].includes(attribute.name.toLowerCase())
                    && !/^\s*(#|data:)/i.test(attribute.value))
                .map(attribute => `<${element.localName} ${attribute.name}="${attribute.value}">`))
            """);
        Assert.True(references.Length == 0, "external references: " + string.Join(", ", references));
        var cssUrls = await page.EvaluateExpressionAsync<string[]>("""
            [...document.styleSheets].flatMap(sheet => [...sheet.cssRules].map(rule => rule.cssText))
                .filter(css => /@import|url\(\s*["']?(?!data:|#)/i.test(css))
            """);
        Assert.True(cssUrls.Length == 0, "style sheets load: " + string.Join(", ", cssUrls));
    }

    /// <summary>The rendered text of one section of a comparison's article ("" when it is not there).</summary>
    public static Task<string> SectionTextAsync(IPage page, string comparison, string section) =>
        page.EvaluateFunctionAsync<string>("""
            (name, section) => [...document.querySelectorAll('article.comparison')]
                .find(article => article.getAttribute('data-comparison') === name)
                ?.querySelector(`section[data-section="${section}"]`)?.innerText ?? ''
            """, comparison, section);

    /// <summary>The text of every body row (a row with a td) of the tables under <paramref name="selector"/>, cells tab-separated.</summary>
    private static async Task<string[]> TableRowsAsync(IPage page, string selector) =>
        await page.EvaluateFunctionAsync<string[]>("""
            (selector) => [...document.querySelectorAll(selector + ' table tr')]
                .filter(row => row.querySelector('td'))
                .map(row => [...row.cells].map(cell => cell.innerText.trim()).join('\t'))
            """, selector);

    private static async Task<T> EvaluateAsync<T>(IPage page, string function, params object[] args)
    {
        var json = await page.EvaluateFunctionAsync<string>($"(...args) => JSON.stringify(({function})(...args))", args);
        return JsonSerializer.Deserialize<T>(json, Json) ?? throw new InvalidOperationException("the page returned null");
    }

    private sealed record Section(string Name, bool Visible);

    private sealed record SectionLayout(string[] Comparisons, Section[] Sections, Section[] Globals, bool GlobalsAfterArticles, string Headline);

    private sealed record Chart(string Kind, string Section, string Comparison, int Svgs, int Marks, int Texts, string Text, double Width, double Height);
}
