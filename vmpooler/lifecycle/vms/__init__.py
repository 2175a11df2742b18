"""The VM state machine: pending, ready, running, completed, and the pool check that drives it."""
