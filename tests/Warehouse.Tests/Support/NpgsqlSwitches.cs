using System.Runtime.CompilerServices;

namespace Warehouse.Tests.Support;

/// <summary>
/// The switch PostgresEngine sets, set before the tests touch Npgsql on their own (creating test
/// databases), so Npgsql reads the same setting the console runs with.
/// </summary>
internal static class NpgsqlSwitches
{
#pragma warning disable CA2255 // A test assembly's module initializer is the earliest safe place.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void DisableInfinityConversions() => AppContext.SetSwitch("Npgsql.DisableDateTimeInfinityConversions", true);
}
