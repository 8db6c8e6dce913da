namespace Warehouse.Benchmarks.Generation;

/// <summary>
/// SplitMix64: a tiny, fast generator whose whole state is one number, so every record can get
/// its own stream from (seed, index) and any writer can regenerate record i without the others.
/// </summary>
internal struct Rng
{
    private ulong _state;

    public Rng(ulong seed) => _state = seed;

    public static Rng For(int seed, long index, ulong salt = 0) =>
        new(Mix(((ulong)(uint)seed << 32) ^ (ulong)index ^ (salt * 0xD1B54A32D192ED03UL)));

    public static ulong Mix(ulong value)
    {
        value += 0x9E3779B97F4A7C15UL;
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        var value = _state;
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public int Next(int exclusiveMax) => (int)(NextDouble() * exclusiveMax);

    public long Between(long min, long max) => min + (long)(NextDouble() * (max - min));

    public bool Chance(double probability) => NextDouble() < probability;

    /// <summary>Exponential with the given mean: long-tailed latencies and sizes.</summary>
    public double Exponential(double mean) => -mean * Math.Log(1 - NextDouble());

    /// <summary>Picks by weight (weights need not sum to 1).</summary>
    public T Pick<T>(Weighted<T>[] choices)
    {
        var total = 0.0;
        foreach (var choice in choices)
        {
            total += choice.Weight;
        }

        var at = NextDouble() * total;
        foreach (var choice in choices)
        {
            at -= choice.Weight;
            if (at < 0)
            {
                return choice.Value;
            }
        }

        return choices[^1].Value;
    }
}

internal readonly record struct Weighted<T>(T Value, double Weight);
