using Warehouse.Loading;
using Warehouse.Sources.Canonical;

namespace Warehouse.Sources;

/// <summary>A file, the format that reads it, and the table it fills.</summary>
public sealed record DetectedSource(SourceFormat Format, TableSchema Schema, SourceFile File);

/// <summary>
/// Picks the format for a file from its content (its first bytes), unless `--format` / `--kind`
/// force it. Every <see cref="SourceFormat"/> in this assembly takes part, most specific first.
/// </summary>
public static class SourceDetector
{
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["csv"] = CanonicalCsvSource.FormatName,
        ["jsonl"] = CanonicalJsonlSource.FormatName,
    };

    public static IReadOnlyList<SourceFormat> Formats { get; } = typeof(SourceFormat).Assembly.GetTypes()
        .Where(type => type.IsSubclassOf(typeof(SourceFormat)) && !type.IsAbstract && type.GetConstructor(Type.EmptyTypes) is not null)
        .Select(type => (SourceFormat)Activator.CreateInstance(type)!)
        .OrderByDescending(format => format.DetectionPriority)
        .ThenBy(format => format.Name, StringComparer.Ordinal)
        .ToList();

    public static IEnumerable<string> KnownFormats => Formats.Select(format => format.Name).Concat(Aliases.Keys).Order(StringComparer.Ordinal);

    public static DetectedSource Detect(string path, string? format = null, string? kind = null, SourceSettings? settings = null,
        IReadOnlyDictionary<string, string>? companions = null)
    {
        if (kind is not null && kind is not ("eval" or "trace"))
        {
            throw new LoadException($"--kind must be eval or trace, not '{kind}'");
        }

        var forced = format is null ? null : Resolve(format);
        var file = SourceFile.Probe(path, settings, companions);
        if (file.Head.Length == 0)
        {
            throw new LoadException($"{path}: the file is empty");
        }

        if (file.Head.Trim().Length == 0)
        {
            throw new LoadException($"{path}: the file holds only whitespace");
        }

        if (forced is not null)
        {
            return new DetectedSource(forced, forced.SchemaFor(file, kind), file);
        }

        foreach (var candidate in Formats)
        {
            if (candidate.Detect(file))
            {
                return new DetectedSource(candidate, candidate.SchemaFor(file, kind), file);
            }
        }

        if (file.IsUtf16Or32)
        {
            throw new LoadException($"{path}: the file is UTF-16 or UTF-32 text (it starts with that byte order mark); save it as UTF-8");
        }

        if (file.IsBinary)
        {
            throw new LoadException($"{path}: the file is binary (NUL bytes, or bytes that are not UTF-8 text), and no known format reads it");
        }

        // Nothing claimed it: a canonical-looking file gets the canonical explanation, or, when --kind
        // settles what its columns leave open (eval and trace keys both), is read as canonical.
        var fields = file.FirstLineIsJsonObject || file.FirstLineIsCutOff ? file.TopLevelKeys.ToList() : file.CsvHeader.ToList();
        var noFormat = $"{path}: no known format recognises this file (first line: {Shorten(Printable(file.FirstLine))})";
        if (fields.Count > 0 && (file.FirstLineIsJsonObject || file.FirstLineIsCutOff || file.CsvHeader.Count > 1))
        {
            TableSchema schema;
            try
            {
                schema = CanonicalKind.Resolve(file, fields, kind);
            }
            catch (LoadException error)
            {
                throw new LoadException($"{noFormat}; as a canonical file: {error.Message.Replace($"{path}: ", "", StringComparison.Ordinal)}", error);
            }

            if (kind is not null)
            {
                var canonical = file.FirstLineIsJsonObject || file.FirstLineIsCutOff ? Resolve(CanonicalJsonlSource.FormatName) : Resolve(CanonicalCsvSource.FormatName);
                return new DetectedSource(canonical, schema, file);
            }
        }

        throw new LoadException($"{noFormat}; known formats: {string.Join(", ", Formats.Select(known => known.Name))}");
    }

    /// <summary>Control characters (a binary-looking first line) shown as U+FFFD so a message stays one readable line.</summary>
    private static string Printable(string text) =>
        string.Create(text.Length, text, (span, source) =>
        {
            for (var index = 0; index < source.Length; index++)
            {
                span[index] = char.IsControl(source[index]) && source[index] != '\t' ? '\uFFFD' : source[index];
            }
        });

    private static SourceFormat Resolve(string format)
    {
        var name = Aliases.GetValueOrDefault(format, format);
        return Formats.FirstOrDefault(known => string.Equals(known.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new LoadException($"unknown format '{format}'; known formats: {string.Join(", ", KnownFormats)}");
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");
}
