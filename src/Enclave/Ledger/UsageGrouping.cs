namespace Enclave.Ledger;

/// <summary>How <see cref="LedgerQueries.UsageAsync"/> groups the ledger.</summary>
public enum UsageGrouping
{
    /// <summary>By API key id.</summary>
    Key,

    /// <summary>By requested model.</summary>
    Model,

    /// <summary>By backend.</summary>
    Backend,

    /// <summary>By UTC calendar day (<c>yyyy-MM-dd</c>).</summary>
    Day,
}
