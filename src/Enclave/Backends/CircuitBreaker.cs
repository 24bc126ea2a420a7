namespace Enclave.Backends;

public enum CircuitState
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>
/// One backend's circuit: it opens after <c>BreakerConsecutiveFailures</c> failures in a row, or when failures
/// reach <c>BreakerFailureRatio</c> of at least <c>BreakerMinimumRequests</c> outcomes within the sliding window.
/// After <c>BreakerOpenMs</c> one trial request is let through (half-open); its success closes the circuit, its
/// failure opens it again. A passing active health check also ends the open period early. Thread-safe.
/// </summary>
public sealed class CircuitBreaker(ResilienceOptions options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Queue<(long At, bool Failed)> _window = new();
    private int _consecutive;
    private int _failuresInWindow;
    private long _openedAt;
    private bool _trialInFlight;

    public CircuitState State { get; private set; } = CircuitState.Closed;

    /// <summary>Times the circuit opened, for metrics.</summary>
    public int Openings { get; private set; }

    /// <summary>When an open circuit may let a trial through.</summary>
    public TimeSpan RetryAfter
    {
        get
        {
            lock (_lock)
            {
                if (State != CircuitState.Open)
                {
                    return TimeSpan.Zero;
                }

                var left = TimeSpan.FromMilliseconds(options.BreakerOpenMs) - time.GetElapsedTime(_openedAt);
                return left > TimeSpan.Zero ? left : TimeSpan.Zero;
            }
        }
    }

    /// <summary>True when a request may go to the backend now; in half-open state only one trial at a time.</summary>
    public bool TryAcquire()
    {
        lock (_lock)
        {
            if (State == CircuitState.Open && time.GetElapsedTime(_openedAt) >= TimeSpan.FromMilliseconds(options.BreakerOpenMs))
            {
                State = CircuitState.HalfOpen;
                _trialInFlight = false;
            }

            switch (State)
            {
                case CircuitState.Closed:
                    return true;
                case CircuitState.HalfOpen when !_trialInFlight:
                    _trialInFlight = true;
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>True when the circuit would let a request through now (without taking the half-open trial).</summary>
    public bool IsAvailable
    {
        get
        {
            lock (_lock)
            {
                return State == CircuitState.Closed
                    || (State == CircuitState.HalfOpen && !_trialInFlight)
                    || (State == CircuitState.Open && time.GetElapsedTime(_openedAt) >= TimeSpan.FromMilliseconds(options.BreakerOpenMs));
            }
        }
    }

    public void RecordSuccess() => Record(failed: false);

    public void RecordFailure() => Record(failed: true);

    /// <summary>A request that was let through but never judged the backend (client gone, a 4xx): frees a half-open trial.</summary>
    public void RecordNeutral()
    {
        lock (_lock)
        {
            _trialInFlight = false;
        }
    }

    /// <summary>An active health check passed: an open circuit moves to half-open at once.</summary>
    public void RecordHealthy()
    {
        lock (_lock)
        {
            if (State == CircuitState.Open)
            {
                State = CircuitState.HalfOpen;
                _trialInFlight = false;
            }
        }
    }

    private void Record(bool failed)
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            _window.Enqueue((now, failed));
            if (failed)
            {
                _failuresInWindow++;
            }

            var span = TimeSpan.FromMilliseconds(options.BreakerWindowMs);
            while (_window.Count > 0 && time.GetElapsedTime(_window.Peek().At, now) > span)
            {
                if (_window.Dequeue().Failed)
                {
                    _failuresInWindow--;
                }
            }

            _consecutive = failed ? _consecutive + 1 : 0;
            if (State == CircuitState.HalfOpen)
            {
                _trialInFlight = false;
                if (failed)
                {
                    Open(now);
                }
                else
                {
                    Close();
                }

                return;
            }

            if (State == CircuitState.Closed && failed
                && (_consecutive >= options.BreakerConsecutiveFailures
                    || (_window.Count >= options.BreakerMinimumRequests && _failuresInWindow >= options.BreakerFailureRatio * _window.Count)))
            {
                Open(now);
            }
        }
    }

    private void Open(long now)
    {
        State = CircuitState.Open;
        _openedAt = now;
        Openings++;
    }

    private void Close()
    {
        State = CircuitState.Closed;
        _consecutive = 0;
        _window.Clear();
        _failuresInWindow = 0;
    }
}
