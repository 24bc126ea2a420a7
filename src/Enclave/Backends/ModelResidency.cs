namespace Enclave.Backends;

/// <summary>
/// Decides which local models are loaded. A request takes a <see cref="ModelLease"/> (<see cref="AcquireAsync"/>):
/// an unloaded model starts loading, and concurrent first requests share that one load. When the last lease of a
/// model ends, its keep-alive starts; when it runs out the worker is stopped (<see cref="WorkerState.Unloaded"/>,
/// not a crash). If loading a model would exceed the memory budget, idle models are unloaded least recently used
/// first; a model holding a lease is never unloaded, so when only busy models hold the budget the request is
/// refused with a retry time instead. Thread-safe: one lock guards every model's residency, so each budget
/// decision sees one consistent picture; workers are started and stopped without blocking it.
/// </summary>
public sealed partial class ModelResidency : IDisposable
{
    /// <summary>Retry-After for a request refused because models serving other requests hold the memory budget.</summary>
    public static readonly TimeSpan BudgetRetryAfter = TimeSpan.FromSeconds(5);

    // A System.Threading.Timer cannot be armed for more than about 49 days; longer keep-alives re-arm.
    private static readonly TimeSpan LongestTimer = TimeSpan.FromDays(1);

    private readonly object _gate = new();
    private readonly List<Entry> _entries;
    private readonly Dictionary<string, Entry> _byName;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private bool _disposed;

    internal ModelResidency(IEnumerable<Spec> models, long? budgetBytes, TimeProvider time, ILogger logger)
    {
        _entries = [.. models.Select(m => new Entry(m))];
        _byName = _entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        BudgetBytes = budgetBytes;
        _time = time;
        _logger = logger;
    }

    /// <summary>The memory the loaded models may use together, or null when unlimited.</summary>
    public long? BudgetBytes { get; }

    /// <summary>
    /// Takes a lease on <paramref name="model"/>, starting its worker when it is not loaded (after unloading idle
    /// models if the budget needs room). Does not wait for the worker to be ready; a model being unloaded is
    /// waited for and then loaded again. Refused (not thrown) when busy models hold the budget.
    /// </summary>
    public async ValueTask<ModelAdmission> AcquireAsync(string model, CancellationToken cancellationToken)
    {
        var entry = _byName.TryGetValue(model, out var found) ? found : throw new ArgumentException($"'{model}' is not a local model.", nameof(model));
        while (true)
        {
            Task unloading;
            lock (_gate)
            {
                if (_disposed)
                {
                    return ModelAdmission.Refused("The gateway is stopping.", TimeSpan.FromSeconds(1));
                }

                if (entry.Unloading is null)
                {
                    return entry.Resident ? Grant(entry) : Load(entry);
                }

                unloading = entry.Unloading;
            }

            await unloading.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Overrides <paramref name="model"/>'s keep-alive (Ollama's per-request <c>keep_alive</c>): negative keeps it
    /// loaded, zero unloads it as soon as it is idle, null returns to the configured value. It applies from the end
    /// of the requests in flight, or from now when the model is idle (so call it after the request it came with),
    /// and lasts until the model unloads or another override replaces it. False when the model is unknown.
    /// </summary>
    public bool SetKeepAlive(string model, TimeSpan? keepAlive)
    {
        if (!_byName.TryGetValue(model, out var entry))
        {
            return false;
        }

        lock (_gate)
        {
            entry.Override = keepAlive is { } k ? KeepAlive.From(k) : null;
            if (entry.Resident && entry.Leases == 0 && !_disposed)
            {
                ScheduleIdle(entry);
            }
        }

        return true;
    }

    /// <summary>Starts every preloaded model that fits the budget, in configuration order; the others load on first use.</summary>
    public void StartPreloads()
    {
        foreach (var entry in _entries.Where(e => e.Preload))
        {
            ModelAdmission admission;
            lock (_gate)
            {
                admission = entry.Resident ? Grant(entry) : Load(entry);
            }

            if (admission.Lease is { } lease)
            {
                // The keep-alive of a preloaded model starts once it is ready, as if its load had been a request.
                _ = HoldUntilReadyAsync(entry, lease);
            }
            else
            {
                LogNotPreloaded(_logger, entry.Name, admission.Refusal);
            }
        }
    }

    /// <summary>Every model's residency, in configuration order; reads each running worker's resident memory.</summary>
    public IReadOnlyList<ModelResidencyInfo> Snapshot()
    {
        lock (_gate)
        {
            return [.. _entries.Select(e =>
            {
                var resident = Measure(e);
                return new ModelResidencyInfo(e.Name, e.Worker.Snapshot().State, e.Preload, Size(e), e.EstimatedBytes, resident,
                    e.Leases, e.Override ?? e.KeepAlive, e.LastUsed, e.ExpiresAt);
            })];
        }
    }

    /// <summary>Why the last request for <paramref name="model"/> was refused, while no lease has been granted since.</summary>
    public ModelAdmission? LastRefusal(string model)
    {
        if (!_byName.TryGetValue(model, out var entry))
        {
            return null;
        }

        lock (_gate)
        {
            return entry.Refusal;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var entry in _entries)
            {
                entry.Timer?.Dispose();
                entry.Timer = null;
            }
        }

        _stopping.Cancel();
        _stopping.Dispose();
    }

    internal void Release(Entry entry)
    {
        lock (_gate)
        {
            entry.Leases--;
            entry.LastUsed = _time.GetUtcNow();
            Measure(entry);
            if (entry.Leases == 0 && entry.Resident && !_disposed)
            {
                ScheduleIdle(entry);
            }
        }
    }

    // Under _gate.
    private ModelAdmission Grant(Entry entry)
    {
        entry.Leases++;
        entry.LastUsed = _time.GetUtcNow();
        entry.ExpiresAt = null;
        entry.Timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        entry.Refusal = null;
        return ModelAdmission.Admitted(new ModelLease(this, entry, entry.Name));
    }

    // Under _gate: makes room within the budget, then starts the worker once every unload in progress has finished.
    private ModelAdmission Load(Entry entry)
    {
        var need = Size(entry);
        var sizes = _entries.Where(e => e != entry && e.Resident).ToDictionary(e => e, e =>
        {
            Measure(e);
            return Size(e);
        });
        var used = sizes.Values.Sum();
        if (BudgetBytes is { } budget)
        {
            if (need > budget)
            {
                LogTooLarge(_logger, entry.Name, Mib(need), Mib(budget));
                return Refuse(entry, $"The model '{entry.Name}' needs about {Mib(need)} MiB, more than the gateway's memory budget for models ({Mib(budget)} MiB, Residency:MemoryBudgetBytes).", BudgetRetryAfter);
            }

            var victims = new List<Entry>();
            foreach (var idle in sizes.Keys.Where(e => e.Leases == 0).OrderBy(e => e.LastUsed ?? DateTimeOffset.MinValue))
            {
                if (used + need <= budget)
                {
                    break;
                }

                victims.Add(idle);
                used -= sizes[idle];
            }

            if (used + need > budget)
            {
                var busy = string.Join(", ", sizes.Keys.Where(e => e.Leases > 0).Select(e => e.Name));
                LogBudgetFull(_logger, entry.Name, Mib(need), Mib(budget), busy);
                // Other models' names stay in the log: the client's key may not be allowed to see them.
                return Refuse(entry, $"The model '{entry.Name}' is not loaded, and the memory budget for models is held by models serving other requests. Retry after the time in Retry-After.", BudgetRetryAfter);
            }

            foreach (var victim in victims)
            {
                LogEvicting(_logger, victim.Name, entry.Name);
                BeginUnload(victim);
            }
        }

        entry.Resident = true;
        var admission = Grant(entry);
        var unloads = _entries.Select(e => e.Unloading).OfType<Task>().ToArray();
        if (unloads.Length == 0)
        {
            entry.Worker.Start();
        }
        else
        {
            _ = StartAfterAsync(entry, unloads);
        }

        var (size, inUse) = (Mib(need), Mib(used + need));
        var budgetText = BudgetBytes is { } b ? $"{Mib(b)} MiB" : "unlimited";
        LogLoading(_logger, entry.Name, size, inUse, budgetText);
        return admission;
    }

    private async Task StartAfterAsync(Entry entry, Task[] unloads)
    {
        await Task.WhenAll(unloads).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        lock (_gate)
        {
            // Unloaded again meanwhile: that unload's own reload (if any) starts it.
            if (!_disposed && entry.Resident && entry.Unloading is null)
            {
                entry.Worker.Start();
            }
        }
    }

    private async Task HoldUntilReadyAsync(Entry entry, ModelLease lease)
    {
        using (lease)
        {
            try
            {
                await entry.Worker.WaitReadyAsync(Timeout.InfiniteTimeSpan, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Shutting down.
            }
        }
    }

    // Under _gate.
    private static ModelAdmission Refuse(Entry entry, string message, TimeSpan retryAfter)
    {
        var refusal = ModelAdmission.Refused(message, retryAfter);
        entry.Refusal = refusal;
        return refusal;
    }

    // Under _gate: the model's last lease ended (or its keep-alive changed while idle).
    private void ScheduleIdle(Entry entry)
    {
        var keepAlive = entry.Override ?? entry.KeepAlive;
        if (keepAlive.Duration is not { } idle)
        {
            entry.ExpiresAt = null;
            entry.Timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        if (idle <= TimeSpan.Zero)
        {
            LogIdleUnload(_logger, entry.Name, keepAlive);
            BeginUnload(entry);
            return;
        }

        entry.ExpiresAt = _time.GetUtcNow() + idle;
        Arm(entry, idle);
    }

    // Under _gate.
    private void Arm(Entry entry, TimeSpan due)
    {
        entry.Timer ??= _time.CreateTimer(_ => OnTimer(entry), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        entry.Timer.Change(due < LongestTimer ? due : LongestTimer, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer(Entry entry)
    {
        lock (_gate)
        {
            if (_disposed || !entry.Resident || entry.Leases > 0 || entry.ExpiresAt is not { } expires)
            {
                return;
            }

            var left = expires - _time.GetUtcNow();
            if (left > TimeSpan.Zero)
            {
                Arm(entry, left);
                return;
            }

            LogIdleUnload(_logger, entry.Name, entry.Override ?? entry.KeepAlive);
            BeginUnload(entry);
        }
    }

    // Under _gate: the model stops counting against the budget now; a request for it waits for the unload to end.
    private void BeginUnload(Entry entry)
    {
        entry.Resident = false;
        entry.ExpiresAt = null;
        entry.Override = null;
        entry.Timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        var worker = entry.Worker;
        entry.Unloading = Task.Run(async () =>
        {
            try
            {
                await worker.UnloadAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A failed stop must not leave the model blocked in "unloading" for ever.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogUnloadFailed(_logger, worker.Name, ex);
            }
            finally
            {
                lock (_gate)
                {
                    entry.Unloading = null;
                }
            }
        });
    }

    // Under _gate: the worker's resident memory now, remembered when it is the largest seen.
    private static long? Measure(Entry entry)
    {
        if (!entry.Resident)
        {
            return null;
        }

        var resident = entry.Worker.ResidentBytes();
        if (resident > entry.PeakResidentBytes)
        {
            entry.PeakResidentBytes = resident.Value;
        }

        return resident;
    }

    // What a model counts against the budget: the estimate, or the most it was measured to use if that was more.
    private static long Size(Entry entry) => Math.Max(entry.EstimatedBytes, entry.PeakResidentBytes);

    private static long Mib(long bytes) => (bytes + (1L << 20) - 1) >> 20;
}
