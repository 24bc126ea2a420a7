using Enclave.Capacity.Plan;

namespace Enclave.Tests.Capacity;

/// <summary>The replica simulation against closed-form queueing results.</summary>
public sealed class ReplicaSimulatorTests
{
    private const int Requests = 150_000;

    private static double[] Exponential(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => -Math.Log(1 - random.NextDouble())).ToArray();
    }

    private static ServiceCurve Curve(IEnumerable<(int N, double Rps)> points, IReadOnlyList<double> work)
    {
        var list = points.Select(p => new CurvePoint(p.N, p.Rps, 1000 / p.Rps, 10)).ToList();
        return ServiceCurve.Create(list, work, list.Select(_ => (IReadOnlyList<double>)[10.0]).ToArray());
    }

    [Fact]
    public void Simulate_OneSlotExponentialWork_MatchesMM1()
    {
        // M/M/1 with mu = 10/s, lambda = 7/s: mean response 1/(mu - lambda) = 333 ms, p95 ln(20)/(mu - lambda) = 999 ms.
        var curve = Curve([(1, 10)], Exponential(50_000, 1));

        var result = ReplicaSimulator.Simulate(curve, slots: 1, replicas: 1, arrivalRate: 7, Balancer.Least, Requests, seed: 3);

        Assert.InRange(result.LatencyMs.Mean, 333.3 * 0.94, 333.3 * 1.06);
        Assert.InRange(result.LatencyMs.P95, 998.6 * 0.93, 998.6 * 1.07);
        Assert.InRange(result.BusyFraction, 0.68, 0.72);
    }

    [Fact]
    public void Simulate_DeterministicWork_MatchesPollaczekKhinchine()
    {
        // M/D/1 with mu = 10/s, lambda = 5/s: mean wait rho / (2 mu (1 - rho)) = 50 ms.
        var curve = Curve([(1, 10)], [1.0]);

        var result = ReplicaSimulator.Simulate(curve, slots: 1, replicas: 1, arrivalRate: 5, Balancer.Least, Requests, seed: 4);

        Assert.InRange(result.WaitMs.Mean, 50 * 0.93, 50 * 1.07);
        Assert.InRange(result.LatencyMs.Mean, 150 * 0.97, 150 * 1.03);
    }

    [Fact]
    public void Simulate_FourSlotsEachAsFastAsOne_MatchesErlangC()
    {
        // mu(n) = n for n <= 4: M/M/4 with mu = 1/s per server, lambda = 3/s.
        var curve = Curve([(1, 1), (2, 2), (3, 3), (4, 4)], Exponential(50_000, 2));
        double c = 4, a = 3, rho = a / c;
        var sum = Enumerable.Range(0, 4).Sum(k => Math.Pow(a, k) / Factorial(k));
        var top = Math.Pow(a, c) / Factorial(4) / (1 - rho);
        var erlangC = top / (sum + top);
        var meanWait = erlangC / ((c * 1) - a) * 1000;

        var result = ReplicaSimulator.Simulate(curve, slots: 4, replicas: 1, arrivalRate: 3, Balancer.Least, Requests, seed: 5);

        Assert.InRange(result.WaitMs.Mean, meanWait * 0.92, meanWait * 1.08);
        Assert.InRange(result.MeanInService, a * 0.96, a * 1.04);
    }

    [Fact]
    public void Simulate_RandomSplitOverReplicas_EachReplicaIsAnMM1AtItsShare()
    {
        var curve = Curve([(1, 10)], Exponential(50_000, 6));

        var random = ReplicaSimulator.Simulate(curve, slots: 1, replicas: 3, arrivalRate: 21, Balancer.Random, Requests, seed: 7);
        var least = ReplicaSimulator.Simulate(curve, slots: 1, replicas: 3, arrivalRate: 21, Balancer.Least, Requests, seed: 7);

        Assert.InRange(random.LatencyMs.Mean, 333.3 * 0.93, 333.3 * 1.07);
        Assert.True(least.LatencyMs.P95 < random.LatencyMs.P95 * 0.8, $"least {least.LatencyMs.P95} vs random {random.LatencyMs.P95}");
    }

    [Fact]
    public void Simulate_SameSeed_SameResult()
    {
        var curve = Curve([(1, 5), (4, 12)], Exponential(1000, 9));

        var first = ReplicaSimulator.Simulate(curve, 4, 2, 15, Balancer.Least, 5000, seed: 11);
        var second = ReplicaSimulator.Simulate(curve, 4, 2, 15, Balancer.Least, 5000, seed: 11);

        Assert.Equal(first, second);
    }

    [Fact]
    public void Rate_BetweenAndBeyondMeasuredPoints_InterpolatesAndStaysFlat()
    {
        var curve = Curve([(2, 10), (4, 30), (8, 32)], [1.0]);

        Assert.Equal(5, curve.Rate(1));
        Assert.Equal(20, curve.Rate(3));
        Assert.Equal(30.5, curve.Rate(5));
        Assert.Equal(32, curve.Rate(64));
        Assert.Equal(32, curve.MaxRate(16));
    }

    [Fact]
    public void Plan_HigherTargetRate_NeedsMoreReplicasAndTheFewestThatMeetIt()
    {
        var curve = Curve([(1, 2), (2, 3.6), (4, 6), (8, 7)], Exponential(20_000, 12));
        var target = new ReplicaTarget(10, E2eMs: 2000, TtftMs: null);

        var plan = ReplicaPlanner.Plan(curve, target, slots: null, Balancer.Least, 20_000, seed: 1);
        var busier = ReplicaPlanner.Plan(curve, target with { RequestsPerS = 40 }, null, Balancer.Least, 20_000, seed: 1);

        Assert.NotNull(plan.Needed);
        Assert.True(busier.Needed > plan.Needed, $"{busier.Needed} vs {plan.Needed}");
        Assert.Equal(2, plan.MinimumForStability);
        var row = plan.Sweep.Single(r => r.Replicas == plan.Needed);
        Assert.True(row.Meets && row.LatencyMs.P95 <= 2000);
        Assert.All(plan.Sweep.Where(r => r.Replicas < plan.Needed), r => Assert.False(r.Meets));
        Assert.Equal(plan.Needed + ReplicaPlanner.ExtraRowsShown, plan.Sweep[^1].Replicas);
    }

    [Fact]
    public void Plan_LimitBelowTheServiceTime_FindsNoneAndSaysWhy()
    {
        var curve = Curve([(1, 2), (4, 6)], Exponential(5_000, 13));

        var plan = ReplicaPlanner.Plan(curve, new ReplicaTarget(4, E2eMs: 100, TtftMs: null), null, Balancer.Least, 5000, seed: 1);

        Assert.Null(plan.Needed);
        Assert.Contains("below the measured median latency", plan.Note);
    }

    private static double Factorial(int n) => Enumerable.Range(1, Math.Max(1, n)).Aggregate(1.0, (a, b) => a * b);
}
