using Warehouse.Loading;
using Warehouse.Sources;

namespace Warehouse.Traces;

/// <summary>
/// A trace store's export: read as parts (trace records, spans, feedback) that the loader keeps
/// in etl.trace_parts and rolls up to one quality.trace_summaries row per trace. All formats of
/// one store share its <see cref="SourceFormat.SourceName"/>, so the parts of a trace meet
/// whichever export they came in.
/// </summary>
public abstract class TracePartFormat : SourceFormat
{
    public sealed override string Kind => "trace";

    public override TableSchema SchemaFor(SourceFile file, string? forcedKind) => forcedKind is null or "trace"
        ? TableSchema.TraceSummaries
        : throw new LoadException($"{file.Path}: {Name} is a trace-store export; it loads into quality.trace_summaries, not as --kind {forcedKind}");

    public sealed override IEnumerable<FieldRecord> Read(SourceFile file, TableSchema schema, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Name} is read as trace parts");

    /// <summary>True for files that may legitimately hold nothing this loader keeps (a logs export with no feedback events).</summary>
    public virtual bool MayHaveNoParts => false;

    /// <summary>The file's parts in file order; a record that cannot be read is one reject with its reason.</summary>
    public abstract IEnumerable<PartRecord> ReadParts(SourceFile file, TraceRules rules, CancellationToken cancellationToken);
}
