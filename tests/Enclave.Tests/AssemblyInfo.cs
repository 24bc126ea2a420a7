// Tests start real gateway and worker processes on a 2-core machine; running classes one at a time keeps the
// timing assertions (cancellation within 500 ms) meaningful.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
