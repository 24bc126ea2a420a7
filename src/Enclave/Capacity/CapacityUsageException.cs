namespace Enclave.Capacity;

/// <summary>
/// Bad input to <c>enclave bench</c>, <c>plan</c> or <c>cost</c> (a malformed list, a missing file, a bad dataset
/// line): the command prints <see cref="Exception.Message"/> on one line and exits with code 2. The message names
/// the option or file and says what would be accepted.
/// </summary>
public sealed class CapacityUsageException : Exception
{
    public CapacityUsageException(string message) : base(message)
    {
    }

    public CapacityUsageException()
    {
    }

    public CapacityUsageException(string message, Exception inner) : base(message, inner)
    {
    }
}
