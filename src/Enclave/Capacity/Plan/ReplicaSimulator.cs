using Enclave.Capacity.Bench;

namespace Enclave.Capacity.Plan;

/// <summary>How a load balancer spreads requests over replicas.</summary>
public enum Balancer
{
    /// <summary>To the replica with the fewest requests in it (in service plus waiting); ties to the lowest index.</summary>
    Least,

    /// <summary>To a replica chosen at random: each replica sees an independent Poisson stream.</summary>
    Random,
}

/// <summary>
/// A discrete-event simulation of R replicas behind a balancer, with Poisson arrivals. Each replica is the
/// load-dependent server of a <see cref="ServiceCurve"/>: up to <c>slots</c> requests in service share its rate
/// μ(n) equally (processor sharing, tracked in virtual time), later ones wait first-in first-out. A request's
/// latency is its wait plus its service; its TTFT is its wait plus a TTFT measured at the concurrency it joined.
/// The first tenth of the requests warms the system up and is not counted. Deterministic for a seed.
/// Thread-safe (stateless).
/// </summary>
public static class ReplicaSimulator
{
    public static SimulationResult Simulate(ServiceCurve curve, int slots, int replicas, double arrivalRate, Balancer balancer, int requests, int seed)
    {
        ArgumentNullException.ThrowIfNull(curve);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(requests, 10);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(arrivalRate);
        var random = new Random(seed);
        var servers = Enumerable.Range(0, replicas).Select(_ => new Server()).ToArray();
        var rates = Enumerable.Range(0, slots + 1).Select(curve.Rate).ToArray();
        var warm = requests / 10;
        var latency = new List<double>(requests);
        var ttft = new List<double>(requests);
        var waits = new List<double>(requests);
        var nextArrival = Exponential(random, arrivalRate);
        var arrived = 0;
        var now = 0.0;
        double busyTime = 0, lastNow = 0, inService = 0;
        while (true)
        {
            var (server, completion) = NextCompletion(servers, rates);
            var arrival = arrived < requests ? nextArrival : double.PositiveInfinity;
            if (double.IsPositiveInfinity(arrival) && server < 0)
            {
                break;
            }

            now = Math.Min(arrival, completion);
            foreach (var s in servers)
            {
                busyTime += s.InService.Count > 0 ? now - lastNow : 0;
                inService += s.InService.Count * (now - lastNow);
            }

            lastNow = now;
            if (completion <= arrival)
            {
                var s = servers[server];
                s.Advance(now, rates);
                var job = s.InService.Dequeue();
                if (job.Id >= warm)
                {
                    latency.Add((now - job.Arrived) * 1000);
                    waits.Add((job.Started - job.Arrived) * 1000);
                    ttft.Add(((job.Started - job.Arrived) * 1000) + job.TtftMs);
                }

                if (s.Waiting.Count > 0)
                {
                    Admit(s, s.Waiting.Dequeue(), now, curve, random);
                }
            }
            else
            {
                var job = new Job(arrived, now, curve.Work[random.Next(curve.Work.Count)]);
                arrived++;
                nextArrival = now + Exponential(random, arrivalRate);
                var s = balancer == Balancer.Random ? servers[random.Next(servers.Length)] : servers.MinBy(x => x.InService.Count + x.Waiting.Count)!;
                s.Advance(now, rates);
                if (s.InService.Count < slots)
                {
                    Admit(s, job, now, curve, random);
                }
                else
                {
                    s.Waiting.Enqueue(job);
                }
            }
        }

        return new SimulationResult(
            replicas,
            Distribution.Of(latency),
            Distribution.Of(ttft),
            Distribution.Of(waits),
            now > 0 ? busyTime / (now * replicas) : 0,
            now > 0 ? inService / (now * replicas) : 0);
    }

    private static void Admit(Server server, Job job, double now, ServiceCurve curve, Random random)
    {
        job.Started = now;
        job.TtftMs = curve.SampleTtft(server.InService.Count + 1, random);
        server.InService.Enqueue(job, server.Virtual + job.Work);
    }

    private static (int Server, double Time) NextCompletion(Server[] servers, double[] rates)
    {
        var best = -1;
        var time = double.PositiveInfinity;
        for (var i = 0; i < servers.Length; i++)
        {
            var s = servers[i];
            if (s.InService.TryPeek(out _, out var tag))
            {
                var n = s.InService.Count;
                var t = s.Updated + ((tag - s.Virtual) / (rates[n] / n));
                if (t < time)
                {
                    (best, time) = (i, t);
                }
            }
        }

        return (best, time);
    }

    private static double Exponential(Random random, double rate) => -Math.Log(1.0 - random.NextDouble()) / rate;

    /// <summary>One replica: jobs in service keyed by the virtual time at which they finish, and a FIFO queue.</summary>
    private sealed class Server
    {
        public PriorityQueue<Job, double> InService { get; } = new();

        public Queue<Job> Waiting { get; } = new();

        /// <summary>Work done per job in service since the start (each progresses at μ(n)/n).</summary>
        public double Virtual { get; private set; }

        public double Updated { get; private set; }

        public void Advance(double now, double[] rates)
        {
            var n = InService.Count;
            if (n > 0)
            {
                Virtual += (now - Updated) * rates[n] / n;
            }

            Updated = now;
        }
    }

    private sealed class Job(int id, double arrived, double work)
    {
        public int Id { get; } = id;

        public double Arrived { get; } = arrived;

        public double Work { get; } = work;

        public double Started { get; set; }

        public double TtftMs { get; set; }
    }
}

/// <summary>
/// What a simulation measured (milliseconds): latency, TTFT and queue wait, the share of time a replica had work,
/// and the mean number of requests in service per replica. Immutable.
/// </summary>
public sealed record SimulationResult(int Replicas, Distribution LatencyMs, Distribution TtftMs, Distribution WaitMs, double BusyFraction, double MeanInService);
