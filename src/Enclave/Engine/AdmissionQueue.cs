namespace Enclave.Engine;

/// <summary>
/// The engine's bounded first-in-first-out admission queue. A request whose token is cancelled while it waits
/// leaves at once: its place is freed for the next request, its event channel is completed, and it is never
/// admitted to a slot (llama.cpp #13262: a queued request of a client that had gone away still ran). A channel
/// cannot drop an item from its middle, hence a list under a lock. Thread-safe.
/// </summary>
internal sealed class AdmissionQueue(int capacity)
{
    private readonly LinkedList<PendingGeneration> _items = new();
    private readonly Lock _gate = new();

    /// <summary>Requests waiting now (cancelled ones have left already).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _items.Count;
            }
        }
    }

    /// <summary>Adds <paramref name="pending"/> at the end; false when the queue is full.</summary>
    public bool TryEnqueue(PendingGeneration pending)
    {
        lock (_gate)
        {
            if (_items.Count >= capacity)
            {
                return false;
            }

            pending.QueueNode = _items.AddLast(pending);
            // Inside the lock so a dequeue never sees a half-made registration. A token that is already cancelled
            // runs Leave inline on this thread, which re-enters the lock (Lock is reentrant) and takes it out again.
            pending.QueueRegistration = pending.Cancellation.UnsafeRegister(
                static state =>
                {
                    var (queue, waiting) = ((AdmissionQueue, PendingGeneration))state!;
                    queue.Leave(waiting);
                },
                (this, pending));
        }

        return true;
    }

    /// <summary>Takes the oldest waiting request, if any. Its token may have been cancelled just now; the caller checks.</summary>
    public bool TryDequeue(out PendingGeneration pending)
    {
        lock (_gate)
        {
            if (_items.First is not { } first)
            {
                pending = null!;
                return false;
            }

            _items.Remove(first);
            pending = first.Value;
            pending.QueueNode = null;
            // Unregister does not wait for a callback that is running; that callback finds the node gone.
            pending.QueueRegistration.Unregister();
            return true;
        }
    }

    private void Leave(PendingGeneration pending)
    {
        lock (_gate)
        {
            if (pending.QueueNode is not { } node)
            {
                return;
            }

            _items.Remove(node);
            pending.QueueNode = null;
        }

        pending.Output.Writer.TryComplete();
    }
}
