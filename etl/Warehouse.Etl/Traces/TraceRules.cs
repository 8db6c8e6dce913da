using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Warehouse.Loading;
using Warehouse.Sources;
using Warehouse.Sources.Json;

namespace Warehouse.Traces;

/// <summary>
/// How one trace store's records become keys and flags, with every rule overridable under
/// `Sources:&lt;tool&gt;` in configuration:
/// <list type="bullet">
/// <item>`Keys:&lt;column&gt;`: attribute names (dotted, as flattened: `metadata.customer_tier`,
/// `app.customer_tier`) read in order. Without it, a key comes from the first attribute named as
/// the key, else the first whose name ends with `.&lt;key&gt;`, the key's underscores also read as dots
/// (`app.customer_tier`, `app.prompt.version`; names compare case-insensitively with `-` and spaces read as `_`), outside the semantic-convention namespaces (`telemetry.sdk.language`
/// is not a language).</item>
/// <item>`ComplaintPattern`: a metadata flag or feedback whose name matches and whose value is true is a complaint (default `complaint`).</item>
/// <item>`FeedbackNames`: feedback whose name matches is user feedback (default: feedback, thumb, rating, user, csat, satisfaction).</item>
/// <item>`ComplaintAtOrBelow`: user feedback at or below this score, or labelled thumbs-down, is a complaint (default 0).</item>
/// <item>`JsonParseErrorPattern`: an error type or message that matches is a JSON parse failure (default `json|SyntaxError`).</item>
/// <item>`Prices:&lt;model&gt;:InputPerMillion` / `OutputPerMillion`: the cost of a model call the store reports no cost for.</item>
/// </list>
/// </summary>
public sealed class TraceRules
{
    private static readonly string[] ReservedNamespaces =
    [
        "telemetry.", "process.", "os.", "host.", "container.", "k8s.", "cloud.", "service.", "deployment.", "gen_ai.", "llm.",
        "http.", "url.", "server.", "client.", "network.", "db.", "rpc.", "exception.", "error.", "code.", "thread.", "otel.",
        "openinference.", "input.", "output.", "retrieval.", "tool.", "embedding.", "reranker.", "message.", "messages.",
        "user_agent.", "browser.", "device.", "faas.", "aws.", "gcp.", "azure.", "webengine.", "session.", "user.",
    ];

    private readonly (string Column, string[]? Configured, string Dotted, string Suffix, string DottedSuffix)[] _columns;

    /// <summary>
    /// Attribute names as <see cref="Normalize"/> reads them and whether they name a complaint flag: every span repeats the
    /// same few dozen names. Concurrent: a format may read its records on more than one thread (OTLP parses lines in parallel).
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Name> _names = new(StringComparer.Ordinal);

    /// <summary>
    /// An attribute name as the default key rule reads it, worked out once per name: which columns it
    /// names outright (`customer_tier`, `app.prompt.version` for prompt_version's dotted spelling) and
    /// which by suffix outside the reserved namespaces, one bit per column of <see cref="_columns"/>.
    /// Testing each of a span's attributes against each column's names and suffixes was a third of
    /// an OTLP load's parsing (2.5 s of string compares in a million spans).
    /// </summary>
    private readonly record struct Name(string Normalized, bool Complaint, ulong Exact, ulong Suffix);

    private const int MaxCachedNames = 10_000;
    private readonly Regex _complaint;
    private readonly Regex _feedbackNames;
    private readonly Regex _jsonParse;

    public TraceRules(string sourceName, SourceSettings? settings = null)
    {
        settings ??= SourceSettings.Empty;
        SourceName = sourceName;
        var columns = TableSchema.TraceSummaries.Columns.Where(column => column.Role == ColumnRole.SharedKey).Select(column => column.Name)
            .Append("context_tokens")
            .ToList();
        if (settings.HasKeyPaths(sourceName, "session_id"))
        {
            columns.Add("session_id");
        }

        _columns = columns
            .Select(column => (column, settings.HasKeyPaths(sourceName, column)
                ? settings.KeyPaths(sourceName, column, []).Select(Normalize).ToArray()
                : null, column.Replace('_', '.'), "." + column, "." + column.Replace('_', '.')))
            .ToArray();
        if (_columns.Length > 64)
        {
            throw new InvalidOperationException($"{_columns.Length} key columns; the key rule's column bits hold 64");
        }

        _complaint = Pattern(settings.Option(sourceName, "ComplaintPattern") ?? "complaint", sourceName, "ComplaintPattern");
        _feedbackNames = Pattern(settings.Option(sourceName, "FeedbackNames") ?? "feedback|thumb|rating|user|csat|satisfaction", sourceName, "FeedbackNames");
        _jsonParse = Pattern(settings.Option(sourceName, "JsonParseErrorPattern") ?? "json|SyntaxError", sourceName, "JsonParseErrorPattern");
        var threshold = settings.Option(sourceName, "ComplaintAtOrBelow");
        ComplaintAtOrBelow = threshold is null
            ? 0
            : double.TryParse(threshold, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new LoadException($"Sources:{sourceName}:ComplaintAtOrBelow must be a number, not '{threshold}'");
        _prices = settings.Entries(sourceName, "Prices").ToDictionary(
            entry => entry.Key,
            entry => (Price(sourceName, entry.Key, entry.Value, "InputPerMillion"), Price(sourceName, entry.Key, entry.Value, "OutputPerMillion")),
            StringComparer.OrdinalIgnoreCase);
    }

    private readonly Dictionary<string, (decimal Input, decimal Output)> _prices;

    private static decimal Price(string sourceName, string model, IReadOnlyDictionary<string, string?> fields, string field) =>
        fields.TryGetValue(field, out var text) && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var price) && price >= 0
            ? price
            : throw new LoadException($"Sources:{sourceName}:Prices:{model}:{field} must be a price in USD per million tokens, not '{text}'");

    /// <summary>
    /// A model call's cost from `Prices:&lt;model&gt;` (USD per million input and output tokens), for
    /// stores that report none (the GenAI conventions have no cost attribute); null when the model
    /// has no price or the call no token counts.
    /// </summary>
    public decimal? ComputedCost(string? model, long? inputTokens, long? outputTokens)
    {
        if (model is null || (inputTokens is null && outputTokens is null) || !_prices.TryGetValue(model, out var price))
        {
            return null;
        }

        return ((inputTokens ?? 0) * price.Input + (outputTokens ?? 0) * price.Output) / 1_000_000m;
    }

    public string SourceName { get; }

    public double ComplaintAtOrBelow { get; }

    public bool IsJsonParseError(string? text) => !string.IsNullOrEmpty(text) && _jsonParse.IsMatch(text);

    public bool IsUserFeedback(string? name) => name is not null && _feedbackNames.IsMatch(name);

    public bool IsComplaintName(string? name) => name is not null && _complaint.IsMatch(name);

    /// <summary>
    /// Reads the keys and the complaint flag from a part's attributes, given in priority order (the
    /// span's own before its resource's, the record's metadata before anything broader).
    /// </summary>
    public void ApplyKeys(TracePart part, IReadOnlyList<KeyValuePair<string, string?>> attributes)
    {
        if (attributes.Count == 0)
        {
            return;
        }

        // Pooled: a span has a dozen or two attributes, and a million spans allocated this array each.
        var names = System.Buffers.ArrayPool<Name>.Shared.Rent(attributes.Count);
        try
        {
            ApplyKeys(part, attributes, names);
        }
        finally
        {
            System.Buffers.ArrayPool<Name>.Shared.Return(names, clearArray: true);
        }
    }

    private void ApplyKeys(TracePart part, IReadOnlyList<KeyValuePair<string, string?>> attributes, Name[] names)
    {
        ulong exact = 0, suffix = 0;
        for (var index = 0; index < attributes.Count; index++)
        {
            var key = attributes[index].Key;
            if (!_names.TryGetValue(key, out var name))
            {
                name = Read(key);
                if (_names.Count < MaxCachedNames)
                {
                    _names.TryAdd(key, name);
                }
            }

            names[index] = name;
            exact |= name.Exact;
            suffix |= name.Suffix;
        }

        for (var column = 0; column < _columns.Length; column++)
        {
            var (name, configured, _, _, _) = _columns[column];
            var bit = 1UL << column;
            if ((configured is null && ((exact | suffix) & bit) == 0) || part.Keys?.ContainsKey(name) == true)
            {
                continue;
            }

            var value = configured is null
                ? ByDefaultRule(bit, attributes, names)
                : ByNames(configured, attributes, names);
            if (value is not null)
            {
                part.SetKey(name, value);
            }
        }

        for (var index = 0; index < attributes.Count; index++)
        {
            if (names[index].Complaint && Truth(attributes[index].Value) is { } flag)
            {
                part.Complaint = (part.Complaint ?? false) || flag;
            }
        }
    }

    /// <summary>An attribute name as every rule reads it (see <see cref="Name"/>).</summary>
    private Name Read(string key)
    {
        var normalized = Normalize(key);
        ulong exact = 0, suffix = 0;
        var reserved = IsReserved(normalized);
        for (var column = 0; column < _columns.Length; column++)
        {
            var (name, _, dotted, nameSuffix, dottedSuffix) = _columns[column];
            if (normalized == name || normalized == dotted)
            {
                exact |= 1UL << column;
            }

            if (!reserved && (normalized.EndsWith(nameSuffix, StringComparison.Ordinal) || normalized.EndsWith(dottedSuffix, StringComparison.Ordinal)))
            {
                suffix |= 1UL << column;
            }
        }

        return new Name(normalized, _complaint.IsMatch(key), exact, suffix);
    }

    private static string? ByNames(string[] configured, IReadOnlyList<KeyValuePair<string, string?>> attributes, Name[] names)
    {
        foreach (var name in configured)
        {
            for (var index = 0; index < attributes.Count; index++)
            {
                if (names[index].Normalized == name && Value(attributes[index].Value) is { } value)
                {
                    return value;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The first attribute that names the column outright, else the first that ends with its name
    /// (`.customer_tier`, `.prompt.version`) outside the semantic-convention namespaces; blank values skipped.
    /// </summary>
    private static string? ByDefaultRule(ulong column, IReadOnlyList<KeyValuePair<string, string?>> attributes, Name[] names)
    {
        for (var index = 0; index < attributes.Count; index++)
        {
            if ((names[index].Exact & column) != 0 && Value(attributes[index].Value) is { } value)
            {
                return value;
            }
        }

        for (var index = 0; index < attributes.Count; index++)
        {
            if ((names[index].Suffix & column) != 0 && Value(attributes[index].Value) is { } value)
            {
                return value;
            }
        }

        return null;
    }

    private static bool IsReserved(string name)
    {
        foreach (var reserved in ReservedNamespaces)
        {
            if (name.StartsWith(reserved, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string? Value(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>Lowercase, with '-' and ' ' read as '_': `Customer-Tier` and `customer_tier` are the same name.</summary>
    public static string Normalize(string name) => name.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_');

    /// <summary>true/false/1/0/yes/no as a boolean; null for anything else.</summary>
    public static bool? Truth(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "y" or "1.0" => true,
        "false" or "0" or "no" or "n" or "0.0" => false,
        _ => null,
    };

    private static Regex Pattern(string pattern, string sourceName, string name)
    {
        try
        {
            return new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException error)
        {
            throw new LoadException($"Sources:{sourceName}:{name} is not a valid regular expression ({error.Message})");
        }
    }

    /// <summary>
    /// A JSON object flattened to dotted names (`metadata.customer_tier`), arrays and scalars as
    /// text, so key rules see every source's metadata bag the same way. Strings holding a JSON
    /// object (metadata stored as text) are flattened too when <paramref name="parseJsonStrings"/> is set.
    /// </summary>
    public static void Flatten(JsonElement element, string prefix, List<KeyValuePair<string, string?>> into, bool parseJsonStrings = true, int depth = 0)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object when depth < 8:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, prefix.Length == 0 ? property.Name : prefix + "." + property.Name, into, parseJsonStrings, depth + 1);
                }

                break;
            case JsonValueKind.String when parseJsonStrings && element.GetString() is { Length: > 1 } text && text.TrimStart().StartsWith('{'):
                try
                {
                    using var document = JsonDocument.Parse(text);
                    Flatten(document.RootElement, prefix, into, parseJsonStrings: false, depth + 1);
                }
                catch (JsonException)
                {
                    into.Add(new(prefix, text));
                }

                break;
            default:
                if (prefix.Length > 0)
                {
                    into.Add(new(prefix, JsonText.Of(element)));
                }

                break;
        }
    }
}
