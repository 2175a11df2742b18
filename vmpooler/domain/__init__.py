"""Pure-Python domain model: VM states, time format, hostnames."""
