using System.Text.Json;
using Warehouse.Loading;
using Warehouse.Sources.Canonical;

namespace Warehouse.Sources.LangSmith;

/// <summary>
/// Where a LangSmith runs file's feedback and examples are: the file given for the role
/// (`load --feedback / --examples`), else the file named by convention beside the runs file:
/// `X.jsonl` (or `X.runs.jsonl`, either optionally `.gz`) → `X.feedback.jsonl` / `X.examples.jsonl`
/// (either optionally `.gz`).
/// </summary>
public static class LangSmithCompanions
{
    public const string FeedbackRole = "feedback";
    public const string ExamplesRole = "examples";

    public static string? Find(SourceFile file, string role) =>
        file.Companions.TryGetValue(role, out var given) ? given : Beside(file.Path, role);

    /// <summary>The conventional companion of a runs file that exists on disk, or null.</summary>
    public static string? Beside(string runsPath, string role)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(runsPath)) ?? ".";
        var name = Path.GetFileName(runsPath);
        if (name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            name = name[..^3];
        }

        var stem = Path.GetFileNameWithoutExtension(name);
        var stems = new List<string> { stem };
        if (stem.EndsWith(".runs", StringComparison.OrdinalIgnoreCase) && stem.Length > 5)
        {
            stems.Add(stem[..^5]);
        }

        foreach (var candidate in stems.SelectMany(each => new[] { $"{each}.{role}.jsonl", $"{each}.{role}.jsonl.gz" }))
        {
            var path = Path.Combine(folder, candidate);
            if (File.Exists(path) && !string.Equals(Path.GetFullPath(path), Path.GetFullPath(runsPath), StringComparison.Ordinal))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>What a feedback or examples file loaded on its own says: how it is loaded, and by which runs file when one is beside it.</summary>
    /// <summary>The runs file a conventionally named companion (`X.feedback.jsonl`) belongs to, when it exists.</summary>
    public static string? RunsFileFor(string path, string role)
    {
        var name = Path.GetFileName(path);
        var suffix = new[] { $".{role}.jsonl", $".{role}.jsonl.gz" }.FirstOrDefault(end => name.EndsWith(end, StringComparison.OrdinalIgnoreCase));
        var folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        return suffix is null
            ? null
            : new[] { ".jsonl", ".jsonl.gz", ".runs.jsonl", ".runs.jsonl.gz" }
                .Select(end => Path.Combine(folder, name[..^suffix.Length] + end))
                .FirstOrDefault(File.Exists);
    }

    public static string LoadedAloneMessage(string path, string role, string what)
    {
        var message = $"{path}: this is a LangSmith {what}; it is not loaded on its own";
        var name = Path.GetFileName(path);
        var runs = RunsFileFor(path, role);
        return runs is not null
            ? $"{message}: it is read with the runs file beside it, {Path.GetFileName(runs)}, when that file loads"
            : $"{message}. Give it with its runs file: `warehouse load <runs>.jsonl --{role} {name}`, or name it <runs>.{role}.jsonl beside the runs file";
    }

    /// <summary>
    /// The JSON objects of a companion JSON Lines file with their line numbers. A line that is not
    /// a JSON object fails the whole load: a companion cannot be half-read without silently
    /// changing the rows of runs that do load.
    /// </summary>
    public static IEnumerable<(long LineNumber, JsonElement Item)> Objects(string path, string role, CancellationToken cancellationToken)
    {
        var companion = SourceFile.Probe(path);
        using var stream = companion.Open();
        foreach (var (lineNumber, line) in JsonLines.Read(stream, cancellationToken))
        {
            JsonElement item;
            try
            {
                using var document = JsonDocument.Parse(line);
                item = document.RootElement.Clone();
            }
            catch (JsonException error)
            {
                throw new LoadException($"{path} (the {role} file) line {lineNumber} is not valid JSON ({error.Message}); nothing was loaded");
            }

            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new LoadException($"{path} (the {role} file) line {lineNumber} is a JSON {item.ValueKind.ToString().ToLowerInvariant()}, not an object; nothing was loaded");
            }

            yield return (lineNumber, item);
        }
    }

    /// <summary>An object without the named properties (an example without its inputs and outputs).</summary>
    public static JsonElement Without(JsonElement item, params string[] names)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in item.EnumerateObject())
            {
                if (!names.Contains(property.Name, StringComparer.Ordinal))
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }
}
