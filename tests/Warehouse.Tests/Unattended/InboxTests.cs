using Warehouse.Loading;

namespace Warehouse.Tests.Unattended;

/// <summary>The inbox's rules without a database: what is ready, what is left, where files go.</summary>
public sealed class InboxTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("wh_inbox_");

    private string InboxPath => Path.Combine(_root.FullName, "inbox");

    public void Dispose() => _root.Delete(recursive: true);

    private string Write(string relative, string content = "x")
    {
        var path = Path.Combine(InboxPath, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void Scan_finds_files_in_name_order_and_sets_aside_partial_names_hidden_files_and_its_own_folders()
    {
        var b = Write("b.jsonl");
        var a = Write("a.csv");
        var nested = Write(Path.Combine("2026-11-26", "traces.jsonl.gz"));
        var part = Write("upload.jsonl.part");
        var tmp = Write("x.tmp");
        Write(".hidden.jsonl");
        Write(Path.Combine(".archive", "2026-11-25", "old.csv"));
        Write(Path.Combine("done", "loaded.csv"));
        var inbox = new Inbox(InboxFolders.Resolve(InboxPath, Path.Combine(InboxPath, "done"), null));

        var (files, partial) = inbox.Scan();

        Assert.Equal([nested, a, b], files.Select(file => file.Path));
        Assert.Equal([part, tmp], partial);
    }

    [Fact]
    public async Task A_file_that_changes_while_settling_is_left_for_the_next_run()
    {
        var steady = Write("steady.jsonl", "{}\n");
        File.SetLastWriteTimeUtc(steady, DateTime.UtcNow.AddMinutes(-5));
        var growing = Write("growing.jsonl", "{}\n");
        File.SetLastWriteTimeUtc(growing, DateTime.UtcNow.AddMinutes(-5));
        var fresh = Write("fresh.jsonl", "{}\n");
        var inbox = new Inbox(InboxFolders.Resolve(InboxPath, null, null));
        var (files, _) = inbox.Scan();

        var settling = inbox.SettleAsync(files, TimeSpan.FromMilliseconds(600), TestContext.Current.CancellationToken);
        await File.AppendAllTextAsync(growing, "{}\n", TestContext.Current.CancellationToken);
        var (ready, busy) = await settling;

        // A file written just before the scan that then stays put for the settle time is ready; one that grew is not.
        Assert.Equal([fresh, steady], ready.Select(file => file.Path));
        Assert.Equal([growing], busy);
    }

    [Fact]
    public void Archive_keeps_the_path_under_a_dated_folder_and_never_overwrites()
    {
        var folders = InboxFolders.Resolve(InboxPath, Path.Combine(_root.FullName, "archive"), null);
        var inbox = new Inbox(folders);
        var first = inbox.Archive(Write(Path.Combine("langfuse", "traces.jsonl.gz"), "one"));
        var second = inbox.Archive(Write(Path.Combine("langfuse", "traces.jsonl.gz"), "two"));

        var day = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(Path.Combine(folders.Archive, day, "langfuse", "traces.jsonl.gz"), first);
        Assert.Equal(Path.Combine(folders.Archive, day, "langfuse", "traces-1.jsonl.gz"), second);
        Assert.Equal(("one", "two"), (File.ReadAllText(first), File.ReadAllText(second)));
        Assert.False(File.Exists(Path.Combine(InboxPath, "langfuse", "traces.jsonl.gz")));
    }

    [Fact]
    public void Quarantine_writes_the_reason_beside_the_file()
    {
        var inbox = new Inbox(InboxFolders.Resolve(InboxPath, null, Path.Combine(_root.FullName, "quarantine")));
        var target = inbox.Quarantine(Write("bad.csv", "a,b\n"), "bad.csv: no known format recognises this file", batchId: 42);

        var reason = File.ReadAllText(target + ".error.txt");
        Assert.StartsWith("bad.csv: no known format recognises this file", reason);
        Assert.Contains("batch: 42", reason);
        Assert.Equal("a,b\n", File.ReadAllText(target));
    }

    [Fact]
    public void An_archive_that_cannot_be_written_is_an_error_not_a_silent_loss()
    {
        // A file where the archive folder should be: nothing can be created under it (as with a read-only or full disk).
        var blocked = Path.Combine(_root.FullName, "archive");
        File.WriteAllText(blocked, "not a folder");
        var source = Write("good.csv");
        var inbox = new Inbox(InboxFolders.Resolve(InboxPath, blocked, null));

        Assert.ThrowsAny<IOException>(() => inbox.Archive(source));
        Assert.True(File.Exists(source));
    }
}
