namespace Warehouse.Tests.Views;

/// <summary>What one statistical test says about one slice × metric, in the columns slice_deltas has.</summary>
public sealed record TestOutcome(
    string Test,
    double? ValueBaseline,
    double? ValueCandidate,
    double? Delta,
    double? CiLow,
    double? CiHigh,
    double? ZScore,
    double? PValue);

/// <summary>
/// An independent implementation of the statistics in VIEWS-SPEC.md, written from the math and not
/// from the view SQL, so the views are checked against something that shares none of their code.
/// In particular erfc is computed to about 1e-14 (a positive-term series below 2.5, a Laplace
/// continued fraction above), not with the Abramowitz &amp; Stegun 7.1.26 formula the SQL uses: the
/// SQL's approximation (absolute error at most 1.5e-7) is then checked against a better one.
/// </summary>
public static class StatisticsReference
{
    /// <summary>The 97.5 % normal quantile as the spec writes it (the CI is delta ± 1.959964·se).</summary>
    public const double Z975 = 1.959964;

    public const double SignificanceLevel = 0.05;

    /// <summary>Both arms need this many observations for a verdict other than insufficient_data.</summary>
    public const int MinimumArmSize = 30;

    public const string PairedZ = "paired_z";
    public const string TwoProportionZ = "two_proportion_z";
    public const string WelchZ = "welch_z";

    private const double SeriesLimit = 2.5;

    /// <summary>The complementary error function, absolute error about 1e-14 for every x.</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        if (x < 0)
        {
            return 2.0 - Erfc(-x);
        }

        return x < SeriesLimit ? 1.0 - ErfSeries(x) : ErfcContinuedFraction(x);
    }

    /// <summary>
    /// erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·5···(2n+1)) (A&amp;S 7.1.6). Every term is positive,
    /// so there is no cancellation; below x = 2.5 it converges to machine precision in under 80 terms.
    /// </summary>
    private static double ErfSeries(double x)
    {
        var term = x;
        var sum = x;
        var x2 = x * x;
        for (var n = 1; n < 500; n++)
        {
            term *= 2.0 * x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17)
            {
                break;
            }
        }

        return 2.0 / Math.Sqrt(Math.PI) * Math.Exp(-x2) * sum;
    }

    /// <summary>
    /// erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))) (A&amp;S 7.1.14),
    /// evaluated from a deep tail backwards; above x = 2.5, 300 levels are far more than enough.
    /// </summary>
    private static double ErfcContinuedFraction(double x)
    {
        var fraction = x;
        for (var k = 300; k >= 1; k--)
        {
            fraction = x + k / 2.0 / fraction;
        }

        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / fraction;
    }

    /// <summary>Φ(z), the standard normal distribution function.</summary>
    public static double NormalCdf(double z) => 0.5 * Erfc(-z / Math.Sqrt(2.0));

    /// <summary>The two-sided p-value 2·(1 − Φ(|z|)) = erfc(|z|/√2).</summary>
    public static double TwoSidedP(double z) => Erfc(Math.Abs(z) / Math.Sqrt(2.0));

    /// <summary>
    /// Two-proportion z: x successes of n per arm. The CI uses the unpooled standard error, the test
    /// the pooled one under H0 (p_b = p_c).
    /// </summary>
    public static TestOutcome TwoProportion(long successesBaseline, long sizeBaseline, long successesCandidate, long sizeCandidate)
    {
        double? valueBaseline = sizeBaseline >= 1 ? (double)successesBaseline / sizeBaseline : null;
        double? valueCandidate = sizeCandidate >= 1 ? (double)successesCandidate / sizeCandidate : null;
        double? delta = valueBaseline is not null && valueCandidate is not null ? valueCandidate - valueBaseline : null;
        if (sizeBaseline < 2 || sizeCandidate < 2)
        {
            return new TestOutcome(TwoProportionZ, valueBaseline, valueCandidate, delta, null, null, null, null);
        }

        var pb = valueBaseline!.Value;
        var pc = valueCandidate!.Value;
        var d = delta!.Value;
        var ciSe = Math.Sqrt(pb * (1 - pb) / sizeBaseline + pc * (1 - pc) / sizeCandidate);
        var pooled = (double)(successesBaseline + successesCandidate) / (sizeBaseline + sizeCandidate);
        var testSe = Math.Sqrt(pooled * (1 - pooled) * (1.0 / sizeBaseline + 1.0 / sizeCandidate));
        var (z, p) = Test(d, testSe);
        return new TestOutcome(TwoProportionZ, pb, pc, d, d - Z975 * ciSe, d + Z975 * ciSe, z, p);
    }

    /// <summary>Welch z: difference of means with sample variances (n − 1), normal reference.</summary>
    public static TestOutcome Welch(IReadOnlyList<double> baseline, IReadOnlyList<double> candidate)
    {
        double? valueBaseline = baseline.Count >= 1 ? Mean(baseline) : null;
        double? valueCandidate = candidate.Count >= 1 ? Mean(candidate) : null;
        double? delta = valueBaseline is not null && valueCandidate is not null ? valueCandidate - valueBaseline : null;
        if (baseline.Count < 2 || candidate.Count < 2)
        {
            return new TestOutcome(WelchZ, valueBaseline, valueCandidate, delta, null, null, null, null);
        }

        var d = delta!.Value;
        var se = Math.Sqrt(SampleVariance(baseline) / baseline.Count + SampleVariance(candidate) / candidate.Count);
        var (z, p) = Test(d, se);
        return new TestOutcome(WelchZ, valueBaseline, valueCandidate, d, d - Z975 * se, d + Z975 * se, z, p);
    }

    /// <summary>Paired z over case means: d = candidate − baseline per pair, se = sd(d)/√n.</summary>
    public static TestOutcome Paired(IReadOnlyList<double> baselineMeans, IReadOnlyList<double> candidateMeans)
    {
        if (baselineMeans.Count != candidateMeans.Count)
        {
            throw new ArgumentException("paired samples must have the same length");
        }

        var n = baselineMeans.Count;
        if (n == 0)
        {
            return new TestOutcome(PairedZ, null, null, null, null, null, null, null);
        }

        var differences = baselineMeans.Zip(candidateMeans, (b, c) => c - b).ToList();
        var d = Mean(differences);
        if (n < 2)
        {
            return new TestOutcome(PairedZ, Mean(baselineMeans), Mean(candidateMeans), d, null, null, null, null);
        }

        var se = Math.Sqrt(SampleVariance(differences)) / Math.Sqrt(n);
        var (z, p) = Test(d, se);
        return new TestOutcome(PairedZ, Mean(baselineMeans), Mean(candidateMeans), d, d - Z975 * se, d + Z975 * se, z, p);
    }

    /// <summary>z = delta/se; a zero se has no z and p = 1 when delta = 0, else 0 (a certain difference).</summary>
    private static (double? Z, double P) Test(double delta, double se)
    {
        if (se == 0)
        {
            return (null, delta == 0 ? 1.0 : 0.0);
        }

        var z = delta / se;
        return (z, TwoSidedP(z));
    }

    /// <summary>
    /// Holm's step-down adjustment. The family is given in tie-break order (the caller sorts ties);
    /// a stable sort by p keeps that order. Returns the adjusted values in the input order.
    /// </summary>
    public static double[] Holm(IReadOnlyList<double> pValues)
    {
        var m = pValues.Count;
        var order = Enumerable.Range(0, m).OrderBy(index => pValues[index]).ToList();
        var adjusted = new double[m];
        var running = 0.0;
        for (var rank = 0; rank < m; rank++)
        {
            var index = order[rank];
            running = Math.Max(running, (m - rank) * pValues[index]);
            adjusted[index] = Math.Min(1.0, running);
        }

        return adjusted;
    }

    /// <summary>The verdict rule: both arms ≥ 30, then Holm-adjusted p &lt; 0.05, direction by higher_is_better.</summary>
    public static string Verdict(long sizeBaseline, long sizeCandidate, double? pAdjusted, double? delta, bool higherIsBetter)
    {
        if (sizeBaseline < MinimumArmSize || sizeCandidate < MinimumArmSize)
        {
            return "insufficient_data";
        }

        if (pAdjusted < SignificanceLevel)
        {
            return (delta > 0) == higherIsBetter ? "improved" : "regressed";
        }

        return "unchanged";
    }

    public static double Mean(IReadOnlyList<double> values)
    {
        var sum = 0.0;
        foreach (var value in values)
        {
            sum += value;
        }

        return sum / values.Count;
    }

    /// <summary>Sample variance (n − 1), two-pass so a constant sample gives exactly 0 for exact inputs.</summary>
    public static double SampleVariance(IReadOnlyList<double> values)
    {
        var mean = Mean(values);
        var sum = 0.0;
        foreach (var value in values)
        {
            sum += (value - mean) * (value - mean);
        }

        return sum / (values.Count - 1);
    }
}
