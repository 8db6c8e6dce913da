namespace Warehouse.Loading;

/// <summary>A file that cannot be loaded at all: the message names the file and the reason.</summary>
public sealed class LoadException(string message, Exception? inner = null) : Exception(message, inner);
