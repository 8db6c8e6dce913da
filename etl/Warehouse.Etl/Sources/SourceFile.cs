using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using CsvHelper;
using Warehouse.Sources.Canonical;

namespace Warehouse.Sources;

/// <summary>
/// A file on its way in: how to open it (gzip is decompressed as a stream), and what its first
/// bytes say about its format (the first line, the first JSON object's keys, a CSV header).
/// Formats detect themselves from this probe; none reads the whole file to decide.
/// </summary>
public sealed class SourceFile
{
    private const int ProbeBytes = 64 * 1024;

    private SourceFile(string path, bool isGzip, SourceSettings settings, IReadOnlyDictionary<string, string> companions)
    {
        Path = path;
        IsGzip = isGzip;
        Settings = settings;
        Companions = companions;
    }

    public string Path { get; }

    public bool IsGzip { get; }

    public SourceSettings Settings { get; }

    /// <summary>Files that belong with this one (an OpenAI Evals samples file, LangSmith feedback), by role.</summary>
    public IReadOnlyDictionary<string, string> Companions { get; }

    /// <summary>The first 64 KiB as text, byte order mark removed.</summary>
    public string Head { get; private set; } = "";

    /// <summary>The first line that is not blank.</summary>
    public string FirstLine { get; private set; } = "";

    /// <summary>
    /// True when the head is not text: a NUL byte in its first line, or NUL bytes more than one in a
    /// thousand (a stray NUL in one record is that record's problem, not the file's), or more than a
    /// tenth of it not decoding as UTF-8.
    /// </summary>
    public bool IsBinary { get; private set; }

    /// <summary>True when the file starts with a UTF-16 or UTF-32 byte order mark (the loader reads UTF-8 only).</summary>
    public bool IsUtf16Or32 { get; private set; }

    /// <summary>True when the first line starts with '{' and goes on past the probe (a JSON line longer than 64 KiB).</summary>
    public bool FirstLineIsCutOff { get; private set; }

    /// <summary>Property names of the first JSON object (the document's top level, or the first JSON line).</summary>
    public IReadOnlySet<string> TopLevelKeys { get; private set; } = new HashSet<string>();

    /// <summary>The header cells when the file reads as CSV; empty otherwise.</summary>
    public IReadOnlyList<string> CsvHeader { get; private set; } = [];

    /// <summary>True when the first line is a complete JSON object (JSON Lines rather than one document).</summary>
    public bool FirstLineIsJsonObject { get; private set; }

    public static SourceFile Probe(string path, SourceSettings? settings = null, IReadOnlyDictionary<string, string>? companions = null)
    {
        bool isGzip;
        using (var raw = OpenRaw(path))
        {
            Span<byte> magic = stackalloc byte[2];
            isGzip = raw.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        }

        var file = new SourceFile(path, isGzip, settings ?? SourceSettings.Empty, companions ?? new Dictionary<string, string>());
        file.ReadProbe();
        return file;
    }

    /// <summary>A fresh stream over the file's content, decompressed when it is gzip.</summary>
    public Stream Open()
    {
        var raw = OpenRaw(Path);
        return IsGzip ? new GZipStream(raw, CompressionMode.Decompress) : raw;
    }

    public static FileStream OpenRaw(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);

    private void ReadProbe()
    {
        var buffer = new byte[ProbeBytes];
        int length;
        using (var stream = Open())
        {
            try
            {
                length = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            }
            catch (InvalidDataException error)
            {
                throw new Loading.LoadException($"{Path}: the gzip stream is corrupt ({error.Message})");
            }
        }

        var head = buffer.AsSpan(0, length);
        IsUtf16Or32 = head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || head.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])
            || head.StartsWith((ReadOnlySpan<byte>)[0, 0, 0xFE, 0xFF]);
        Head = Encoding.UTF8.GetString(buffer, 0, length).TrimStart('\uFEFF');
        var nuls = head.Count((byte)0);
        var undecodable = Head.AsSpan().Count('\uFFFD');
        var firstLineEnd = head.IndexOf((byte)'\n');
        IsBinary = head[..(firstLineEnd < 0 ? length : firstLineEnd)].Contains((byte)0) || (nuls > 1 && nuls * 1000L > length)
            || (length >= 64 && undecodable * 10L > Head.Length && !Utf8.IsValid(head));
        FirstLine = Head.Split('\n').Select(line => line.Trim()).FirstOrDefault(line => line.Length > 0) ?? "";
        if (FirstLine.StartsWith('{'))
        {
            FirstLineIsJsonObject = IsJsonObject(FirstLine);
            FirstLineIsCutOff = !FirstLineIsJsonObject && length == buffer.Length && Head.TrimStart().IndexOfAny(['\n', '\r']) < 0;
            TopLevelKeys = FirstLineIsJsonObject ? KeysOfObject(FirstLine) : KeysOfTruncatedDocument(buffer.AsSpan(0, length));
        }
        else if (FirstLine.Length > 0 && !IsBinary && !FirstLine.StartsWith('['))
        {
            try
            {
                using var reader = CsvReader.Create(new MemoryStream(buffer, 0, length), CanonicalCsvSource.ReaderOptions(), leaveOpen: false);
                reader.ReadHeader();
                CsvHeader = reader.Headers?.Select(name => name.Trim()).ToList() ?? [];
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                CsvHeader = [];
            }
        }
    }

    private static bool IsJsonObject(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static HashSet<string> KeysOfObject(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateObject().Select(property => property.Name).ToHashSet();
    }

    /// <summary>The top-level property names a truncated document shows in its first bytes.</summary>
    private static HashSet<string> KeysOfTruncatedDocument(ReadOnlySpan<byte> head)
    {
        var keys = new HashSet<string>();
        var reader = new Utf8JsonReader(head, isFinalBlock: false, new JsonReaderState(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip }));
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
                {
                    keys.Add(reader.GetString()!);
                }
            }
        }
        catch (JsonException)
        {
            // NaN and other Python-isms stop the probe where they stand; the keys before them count.
        }

        return keys;
    }
}
