using System.Data.Common;
using Polly;
using Polly.Retry;
using Warehouse.Engines;

namespace Warehouse.Loading;

/// <summary>
/// How often and how patiently a file is loaded again after the database went away: exponential
/// backoff with jitter (Polly), only for errors the engine calls transient.
/// </summary>
public sealed record LoadRetry(int MaxAttempts, TimeSpan FirstDelay, TimeSpan MaxDelay)
{
    /// <summary>5 attempts, 2 s doubling to at most 30 s: rides out a server restart of about a minute.</summary>
    public static LoadRetry Default { get; } = new(5, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));

    public static LoadRetry None { get; } = new(1, TimeSpan.Zero, TimeSpan.Zero);

    internal ResiliencePipeline<FileLoadResult> Pipeline(WarehouseEngine engine, Action<int, TimeSpan, Exception> onRetry)
    {
        if (MaxAttempts <= 1)
        {
            return ResiliencePipeline<FileLoadResult>.Empty;
        }

        return new ResiliencePipelineBuilder<FileLoadResult>()
            .AddRetry(new RetryStrategyOptions<FileLoadResult>
            {
                MaxRetryAttempts = MaxAttempts - 1,
                Delay = FirstDelay,
                MaxDelay = MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder<FileLoadResult>().Handle<DbException>(engine.IsTransient),
                OnRetry = arguments =>
                {
                    onRetry(arguments.AttemptNumber + 1, arguments.RetryDelay, arguments.Outcome.Exception!);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }
}
