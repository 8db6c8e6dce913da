using Microsoft.SqlServer.TransactSql.ScriptDom;
using Warehouse.Engines;

namespace Warehouse.Tests.Reports;

/// <summary>A saved query of reports/sql/: its file name, text, the columns its outer select
/// names (null when they cannot be told from the text) and its T-SQL parse errors.</summary>
public sealed record SavedQueryFile(string FileName, string Sql, IReadOnlyList<string>? Columns, IReadOnlyList<string> TsqlErrors);

/// <summary>
/// The saved queries in reports/sql/ as the repository has them, and the ones the console embeds.
/// Each is parsed with ScriptDom (SQL Server 2022 grammar): the parse errors are the T-SQL
/// portability check, and the tree gives the outer select list, following <c>select * from final</c>
/// into the CTE it reads.
/// </summary>
public static class SavedQueryFiles
{
    private const string ResourcePrefix = "reports/sql/";

    public static string Folder => Path.Combine(ViewReferenceDocument.RepositoryRoot, "reports", "sql");

    public static IReadOnlyList<SavedQueryFile> All() =>
        Directory.GetFiles(Folder, "*.sql")
            .Order(StringComparer.Ordinal)
            .Select(path => Read(Path.GetFileName(path), File.ReadAllText(path)))
            .ToList();

    /// <summary>The file names of the resources named reports/sql/&lt;file&gt;.sql in the console's assembly.</summary>
    public static IReadOnlyList<string> EmbeddedFileNames() =>
        typeof(WarehouseEngine).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(name => name[ResourcePrefix.Length..])
            .Order(StringComparer.Ordinal)
            .ToList();

    public static SavedQueryFile Read(string fileName, string sql)
    {
        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        using var reader = new StringReader(sql);
        var fragment = parser.Parse(reader, out var parseErrors);
        var errors = parseErrors.Select(error => $"({error.Line},{error.Column}) {error.Message}").ToList();
        var statements = (fragment as TSqlScript)?.Batches.SelectMany(batch => batch.Statements).ToList() ?? [];
        if (errors.Count == 0 && (statements.Count != 1 || statements[0] is not SelectStatement))
        {
            errors.Add($"expected exactly one select statement, found {statements.Count} statement(s) ({string.Join(", ", statements.Select(statement => statement.GetType().Name))})");
        }

        var columns = errors.Count == 0 && statements[0] is SelectStatement select
            ? SelectColumns(select.QueryExpression, select.WithCtesAndXmlNamespaces?.CommonTableExpressions ?? [])
            : null;
        return new SavedQueryFile(fileName, sql, columns, errors);
    }

    private static IReadOnlyList<string>? SelectColumns(QueryExpression query, IList<CommonTableExpression> ctes)
    {
        switch (query)
        {
            case BinaryQueryExpression union:
                return SelectColumns(union.FirstQueryExpression, ctes);
            case QueryParenthesisExpression parenthesis:
                return SelectColumns(parenthesis.QueryExpression, ctes);
            case QuerySpecification specification:
                var columns = new List<string>();
                foreach (var element in specification.SelectElements)
                {
                    switch (element)
                    {
                        case SelectScalarExpression { ColumnName: { } alias }:
                            columns.Add(alias.Value.ToLowerInvariant());
                            break;
                        case SelectScalarExpression { Expression: ColumnReferenceExpression { MultiPartIdentifier: { } identifier } }:
                            columns.Add(identifier.Identifiers[^1].Value.ToLowerInvariant());
                            break;
                        case SelectStarExpression { Qualifier: null } when specification.FromClause?.TableReferences is [NamedTableReference table]:
                            var cte = ctes.FirstOrDefault(candidate =>
                                string.Equals(candidate.ExpressionName.Value, table.SchemaObject.BaseIdentifier.Value, StringComparison.OrdinalIgnoreCase));
                            if (cte is null || table.SchemaObject.SchemaIdentifier is not null)
                            {
                                return null;
                            }

                            var cteColumns = cte.Columns.Count > 0
                                ? cte.Columns.Select(column => column.Value.ToLowerInvariant()).ToList()
                                : SelectColumns(cte.QueryExpression, ctes);
                            if (cteColumns is null)
                            {
                                return null;
                            }

                            columns.AddRange(cteColumns);
                            break;
                        default:
                            return null;
                    }
                }

                return columns;
            default:
                return null;
        }
    }
}
