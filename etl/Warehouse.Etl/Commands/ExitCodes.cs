namespace Warehouse.Commands;

/// <summary>The console's exit codes (DESIGN section 7).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The gate failed, or nothing could be loaded.</summary>
    public const int Failure = 1;
    public const int UsageError = 2;
    /// <summary>Loaded, but some records were rejected.</summary>
    public const int LoadedWithRejects = 3;
}
