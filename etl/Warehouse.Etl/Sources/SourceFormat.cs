using Warehouse.Loading;

namespace Warehouse.Sources;

/// <summary>
/// One export format: recognises itself from a file's first bytes and turns the file into
/// records of one fact table. A format knows nothing about engines. Formats are found by
/// reflection, so adding one is adding a class.
/// </summary>
public abstract class SourceFormat
{
    /// <summary>The name `--format` takes, e.g. "promptfoo-json".</summary>
    public abstract string Name { get; }

    /// <summary>The tool, as the `source` column and the configuration section `Sources:&lt;tool&gt;` name it.</summary>
    public abstract string SourceName { get; }

    /// <summary>'eval' or 'trace'; formats whose kind depends on the content override <see cref="SchemaFor"/>.</summary>
    public abstract string Kind { get; }

    /// <summary>Detection order: specific formats before generic ones (canonical files are last).</summary>
    public virtual int DetectionPriority => 100;

    /// <summary>Companion files this format can use (role → what it is), named in `load --help`.</summary>
    public virtual IReadOnlyDictionary<string, string> CompanionRoles { get; } = new Dictionary<string, string>();

    public abstract bool Detect(SourceFile file);

    /// <summary>
    /// Companion files the format reads without being told (e.g. `X.feedback.jsonl` beside `X.jsonl`),
    /// by role. The loader hashes them with the file, so a new companion makes a new batch.
    /// </summary>
    public virtual IReadOnlyDictionary<string, string> ImpliedCompanions(SourceFile file) => new Dictionary<string, string>();

    /// <summary>
    /// For a file that is only ever read as another file's companion: that main file, when it is
    /// beside it. The loader then skips this file (it is loaded with its main file) instead of failing.
    /// </summary>
    public virtual string? MainFileFor(SourceFile file) => null;

    public virtual TableSchema SchemaFor(SourceFile file, string? forcedKind) =>
        TableSchema.ForKind(forcedKind ?? Kind);

    public abstract IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken);
}
