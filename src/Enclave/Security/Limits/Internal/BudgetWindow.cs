using System.Globalization;
using Enclave.Security.Keys;

namespace Enclave.Security.Limits.Internal;

/// <summary>
/// The calendar period (UTC) a budget counts in. <see cref="Key"/> is the period's first day as
/// <c>yyyy-MM-dd</c>, the <c>period_start</c> column; a day and a month that start on the same date share a row,
/// which is right because that day's usage is part of that month's. Immutable.
/// </summary>
internal readonly record struct BudgetWindow(BudgetPeriod Period, DateTimeOffset Start, DateTimeOffset End)
{
    public string Key => Start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static BudgetWindow Containing(BudgetPeriod period, DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        if (period == BudgetPeriod.Day)
        {
            var day = new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
            return new(period, day, day.AddDays(1));
        }

        var month = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return new(period, month, month.AddMonths(1));
    }
}

/// <summary>A budget as one admission sees it: the limit and the usage read from the database.</summary>
internal readonly record struct BudgetView(BudgetWindow Window, long Limit, long Used);
