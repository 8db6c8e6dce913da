using Warehouse.Loading;
using Warehouse.Sources.Json;

namespace Warehouse.Sources;

/// <summary>
/// A tool's default paths for the shared keys (and any other column it maps from metadata),
/// overridable per key in configuration. Applying it fills a record's columns from a scope.
/// </summary>
public sealed class KeyMapping
{
    private readonly (int Ordinal, IReadOnlyList<string> Paths)[] _columns;

    public KeyMapping(TableSchema schema, string sourceName, SourceSettings settings, IReadOnlyDictionary<string, string[]> defaults)
    {
        foreach (var column in defaults.Keys.Where(column => !schema.HasColumn(column)))
        {
            throw new ArgumentException($"{sourceName}: default key path for unknown column {column}", nameof(defaults));
        }

        // Every shared key can be configured even when the tool has no default for it. Slice labels
        // live together in a tool's metadata, so a label without its own default (context_band,
        // and context_tokens, from which the band derives) is looked for where `feature` is.
        var mapped = schema.Columns.Where(column => column.Role == ColumnRole.SharedKey).Select(column => column.Name)
            .Append("context_tokens")
            .Concat(defaults.Keys)
            .Where(schema.HasColumn)
            .Distinct(StringComparer.Ordinal);
        _columns = mapped
            .Select(column => (schema.Ordinal(column), settings.KeyPaths(sourceName, column, DefaultsFor(column, defaults))))
            .Where(pair => pair.Item2.Count > 0)
            .ToArray();
    }

    private static IReadOnlyList<string> DefaultsFor(string column, IReadOnlyDictionary<string, string[]> defaults)
    {
        if (defaults.TryGetValue(column, out var own))
        {
            return own;
        }

        return column is "context_band" or "context_tokens" && defaults.TryGetValue("feature", out var feature)
            ? feature.Where(path => path.EndsWith(".feature", StringComparison.Ordinal))
                .Select(path => path[..^"feature".Length] + column)
                .ToArray()
            : [];
    }

    /// <summary>Sets every mapped column that is still empty from the first path with a value.</summary>
    public void Apply(FieldRecord record, JsonScope scope)
    {
        foreach (var (ordinal, paths) in _columns)
        {
            if (record.Values[ordinal] is null && scope.FirstText(paths) is { } value)
            {
                record.Values[ordinal] = value;
            }
        }
    }

    /// <summary>Default paths for the keys a tool keeps in free-form metadata: record paths first, then run-level ones.</summary>
    public static Dictionary<string, string[]> MetadataDefaults(IEnumerable<string> keys, params string[] prefixes) =>
        keys.ToDictionary(key => key, key => prefixes.Select(prefix => $"{prefix}.{key}").ToArray());
}

/// <summary>Model ids as tools write them ("openai:chat:gpt-4o", "openai/gpt-4o") to the model version.</summary>
public static class ModelVersions
{
    private static readonly string[] ProviderPrefixes =
    [
        "openai:chat:", "openai:completion:", "openai:responses:", "openai:", "openai/",
        "anthropic:messages:", "anthropic:", "anthropic/", "azureopenai:chat:", "azure:chat:", "azure:", "azure/",
        "bedrock:", "bedrock/", "vertex:", "vertex/", "google:", "google/", "mistral:", "mistral/",
        "groq:", "groq/", "ollama:chat:", "ollama:", "ollama/", "together:", "together/", "openrouter:", "openrouter/",
    ];

    public static string Normalize(string raw)
    {
        var value = raw.Trim();
        foreach (var prefix in ProviderPrefixes)
        {
            if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && value.Length > prefix.Length)
            {
                return value[prefix.Length..];
            }
        }

        return value;
    }
}
