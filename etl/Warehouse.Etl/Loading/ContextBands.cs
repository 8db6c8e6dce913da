namespace Warehouse.Loading;

/// <summary>
/// Context-length bands. Boundaries are powers of two (2,048 / 8,192 / 32,768 tokens) because
/// that is how model context windows are named ("8k", "32k"): a band then says which window a
/// request would have filled.
/// </summary>
public static class ContextBands
{
    public const string Under2K = "<2k";
    public const string From2KTo8K = "2k-8k";
    public const string From8KTo32K = "8k-32k";
    public const string From32K = ">=32k";

    public static readonly string[] All = [Under2K, From2KTo8K, From8KTo32K, From32K, TableSchema.Unknown];

    public static string FromTokens(long? contextTokens) => contextTokens switch
    {
        null => TableSchema.Unknown,
        < 2048 => Under2K,
        < 8192 => From2KTo8K,
        < 32768 => From8KTo32K,
        _ => From32K,
    };

    public static bool IsValid(string band) => Array.IndexOf(All, band) >= 0;
}
