using System.Globalization;
using System.Text;

namespace Warehouse.Loading;

/// <summary>Where `watch` finds files and where it puts them afterwards.</summary>
public sealed record InboxFolders(string Inbox, string Archive, string Quarantine)
{
    /// <summary>The folders as given, or the defaults: `.archive` and `.quarantine` inside the inbox (hidden, so never scanned).</summary>
    public static InboxFolders Resolve(string inbox, string? archive, string? quarantine)
    {
        var root = Path.GetFullPath(inbox);
        return new InboxFolders(root,
            Path.GetFullPath(archive ?? Path.Combine(root, ".archive")),
            Path.GetFullPath(quarantine ?? Path.Combine(root, ".quarantine")));
    }
}

/// <summary>A file seen in the inbox: its path, and its size and write time when it was seen.</summary>
public readonly record struct InboxFile(string Path, long Length, DateTime LastWriteUtc);

/// <summary>
/// The inbox of unattended loading: which files are ready (not hidden, not named like a partial
/// upload, not growing or still being touched), and moving each one afterwards: loaded files to a
/// dated archive folder, files that cannot be loaded at all to quarantine beside a
/// `&lt;file&gt;.error.txt` that says why. A move never overwrites: a name already taken gets a suffix.
/// </summary>
public sealed class Inbox(InboxFolders folders, TimeProvider? clock = null)
{
    /// <summary>Names of files still being written by common uploaders and downloaders.</summary>
    private static readonly string[] PartialSuffixes = [".tmp", ".part", ".partial", ".crdownload", ".filepart", ".download", ".inprogress", ".uploading", "~"];

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public InboxFolders Folders { get; } = folders;

    /// <summary>True for names that say the file is still being written (`x.jsonl.part`, `x.tmp`, `.x.swp`).</summary>
    public static bool IsPartialName(string fileName) =>
        fileName.StartsWith('.') || PartialSuffixes.Any(suffix => fileName.EndsWith(suffix, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Every file under the inbox in name order (ordinal, so a day's files come in the order they
    /// were named), except hidden folders, the archive and quarantine folders, and partial names
    /// (returned separately, to be reported as left for the next run).
    /// </summary>
    public (List<InboxFile> Files, List<string> Partial) Scan()
    {
        var files = new List<InboxFile>();
        var partial = new List<string>();
        if (!Directory.Exists(Folders.Inbox))
        {
            throw new DirectoryNotFoundException($"the inbox {Folders.Inbox} does not exist");
        }

        Walk(Folders.Inbox);
        files.Sort((left, right) => string.CompareOrdinal(left.Path, right.Path));
        partial.Sort(StringComparer.Ordinal);
        return (files, partial);

        void Walk(string folder)
        {
            foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo directory)
                {
                    if (!directory.Name.StartsWith('.') && !IsSameOrInside(directory.FullName, Folders.Archive)
                        && !IsSameOrInside(directory.FullName, Folders.Quarantine) && (directory.Attributes & FileAttributes.ReparsePoint) == 0)
                    {
                        Walk(directory.FullName);
                    }
                }
                else if (entry is FileInfo file)
                {
                    if (IsPartialName(file.Name))
                    {
                        if (!file.Name.StartsWith('.'))
                        {
                            partial.Add(file.FullName);
                        }
                    }
                    else
                    {
                        files.Add(new InboxFile(file.FullName, file.Length, file.LastWriteTimeUtc));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Splits files into those that stayed the same over <paramref name="settle"/> (ready) and those
    /// whose size or write time changed, or that were written less than <paramref name="settle"/> ago
    /// (still being written: left for the next run).
    /// </summary>
    public async Task<(List<InboxFile> Ready, List<string> Busy)> SettleAsync(IReadOnlyList<InboxFile> files, TimeSpan settle, CancellationToken cancellationToken)
    {
        if (settle > TimeSpan.Zero && files.Count > 0)
        {
            await Task.Delay(settle, _clock, cancellationToken);
        }

        var ready = new List<InboxFile>();
        var busy = new List<string>();
        var now = _clock.GetUtcNow().UtcDateTime;
        foreach (var seen in files)
        {
            var file = new FileInfo(seen.Path);
            file.Refresh();
            if (!file.Exists)
            {
                continue;
            }

            if (file.Length != seen.Length || file.LastWriteTimeUtc != seen.LastWriteUtc || now - file.LastWriteTimeUtc < settle)
            {
                busy.Add(seen.Path);
            }
            else
            {
                ready.Add(seen);
            }
        }

        return (ready, busy);
    }

    /// <summary>Moves a loaded file to `archive/yyyy-MM-dd/&lt;its path under the inbox&gt;`; returns where it went.</summary>
    public string Archive(string file)
    {
        var day = _clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return MoveUnder(file, Path.Combine(Folders.Archive, day));
    }

    /// <summary>Moves a file that cannot be loaded to quarantine and writes `&lt;file&gt;.error.txt` beside it.</summary>
    public string Quarantine(string file, string reason, long? batchId)
    {
        var target = MoveUnder(file, Folders.Quarantine);
        var text = new StringBuilder()
            .AppendLine(reason)
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"file: {file}")
            .AppendLine(CultureInfo.InvariantCulture, $"quarantined: {_clock.GetUtcNow().UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}")
            .AppendLine(batchId is { } id ? $"batch: {id} (see etl.load_batches)" : "batch: none (the file was not recognised)")
            .AppendLine("To retry: fix the file (or the configuration) and put it back in the inbox.")
            .ToString();
        File.WriteAllText(target + ".error.txt", text, new UTF8Encoding(false));
        return target;
    }

    private string MoveUnder(string file, string folder)
    {
        var relative = Path.GetRelativePath(Folders.Inbox, file);
        if (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            relative = Path.GetFileName(file);
        }

        var target = Path.Combine(folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        target = FreeName(target);
        File.Move(file, target);
        return target;
    }

    /// <summary>The path, or the path with -1, -2, … before its extension when the name is taken.</summary>
    private static string FreeName(string path)
    {
        if (!File.Exists(path))
        {
            return path;
        }

        var folder = Path.GetDirectoryName(path)!;
        var name = Path.GetFileName(path);
        var dot = name.IndexOf('.', 1);
        var stem = dot > 0 ? name[..dot] : name;
        var extension = dot > 0 ? name[dot..] : "";
        for (var number = 1; ; number++)
        {
            var candidate = Path.Combine(folder, $"{stem}-{number}{extension}");
            if (!File.Exists(candidate))
            {
                return candidate;
            }
        }
    }

    private static bool IsSameOrInside(string path, string folder)
    {
        var relative = Path.GetRelativePath(folder, path);
        return relative == "." || (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative));
    }
}
