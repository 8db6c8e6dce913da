using Microsoft.Extensions.Configuration;

namespace Warehouse.Sources;

/// <summary>
/// Where each shared key comes from, per tool: configuration section
/// `Sources:&lt;tool&gt;:Keys:&lt;key&gt;` is a list of JSON paths (first non-empty wins) that replaces the
/// format's default list for that key.
/// </summary>
public sealed class SourceSettings
{
    private readonly IConfiguration? _configuration;

    public SourceSettings(IConfiguration? configuration) => _configuration = configuration;

    public static SourceSettings Empty { get; } = new(null);

    /// <summary>A single setting `Sources:&lt;tool&gt;:&lt;name&gt;` (for example a pattern or a threshold), or null.</summary>
    public string? Option(string sourceName, string name) =>
        _configuration?[$"Sources:{sourceName}:{name}"] is { Length: > 0 } value ? value : null;

    /// <summary>The settings under `Sources:&lt;tool&gt;:&lt;name&gt;:&lt;entry&gt;:&lt;field&gt;` by entry and field (for example a price table by model).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string?>> Entries(string sourceName, string name) =>
        _configuration?.GetSection($"Sources:{sourceName}:{name}").GetChildren()
            .ToDictionary(entry => entry.Key,
                entry => (IReadOnlyDictionary<string, string?>)entry.GetChildren().ToDictionary(field => field.Key, field => field.Value, StringComparer.OrdinalIgnoreCase),
                StringComparer.OrdinalIgnoreCase)
        ?? new Dictionary<string, IReadOnlyDictionary<string, string?>>();

    /// <summary>True when `Sources:&lt;tool&gt;:Keys:&lt;key&gt;` is configured.</summary>
    public bool HasKeyPaths(string sourceName, string key) =>
        _configuration?.GetSection($"Sources:{sourceName}:Keys:{key}").Exists() == true;

    public IReadOnlyList<string> KeyPaths(string sourceName, string key, IReadOnlyList<string> defaults)
    {
        var section = _configuration?.GetSection($"Sources:{sourceName}:Keys:{key}");
        if (section is null || !section.Exists())
        {
            return defaults;
        }

        // A single string is accepted as a one-element list.
        var configured = section.Value is { Length: > 0 } single
            ? [single]
            : section.GetChildren().Select(child => child.Value).OfType<string>().Where(path => path.Length > 0).ToList();
        return configured.Count > 0 ? configured : defaults;
    }
}
