using System.Data.Common;

namespace Warehouse.Engines;

/// <summary>Keeps secrets in connection strings out of every message the tool prints.</summary>
public static class ConnectionStrings
{
    private static readonly string[] SecretKeys =
        ["password", "pwd", "access token", "accesstoken", "token", "secret", "client secret", "key", "accountkey", "sas"];

    public static string Mask(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString) || !connectionString.Contains('='))
        {
            return connectionString;
        }

        try
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
            foreach (var key in builder.Keys.Cast<string>().ToList())
            {
                if (SecretKeys.Contains(key.ToLowerInvariant()))
                {
                    builder[key] = "***";
                }
            }

            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            // A string the builder cannot read may still hold a secret: show none of it.
            return "(connection string hidden: it could not be parsed)";
        }
    }

    /// <summary>Removes every masked secret value from a message (driver errors sometimes quote the string).</summary>
    public static string Scrub(string message, string connectionString)
    {
        if (string.IsNullOrEmpty(connectionString) || !connectionString.Contains('='))
        {
            return message;
        }

        try
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
            foreach (var key in builder.Keys.Cast<string>())
            {
                if (SecretKeys.Contains(key.ToLowerInvariant()) && builder[key] is string { Length: > 0 } secret)
                {
                    message = message.Replace(secret, "***", StringComparison.Ordinal);
                }
            }

            return message.Replace(connectionString, Mask(connectionString), StringComparison.Ordinal);
        }
        catch (ArgumentException)
        {
            return message.Replace(connectionString, "(connection string hidden)", StringComparison.Ordinal);
        }
    }
}
