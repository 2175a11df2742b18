"""How much concurrency one worker process needs, derived from the fleet-wide limits.

A clone or a destroy spends nearly all its time waiting on a hypervisor, so a
worker runs them on threads rather than one process each: one process can then
drive every clone slot at once.
"""

from __future__ import annotations

HEADROOM = 8
"""Threads left for the ``pools`` queue (checks, repopulation, on-demand), the
heartbeat and disk or snapshot work while every clone and destroy thread is busy."""


def worker_threads(task_limit: int, ondemand_clone_limit: int) -> int:
    """Every pool-fill and on-demand clone slot at once, as many destroys as
    pool-fill clones (a busy pool returns about as many VMs as it clones), plus headroom."""
    return 2 * task_limit + ondemand_clone_limit + HEADROOM


def redis_connections(threads: int) -> int:
    """A task thread and the lease heartbeat beside it may each hold a connection."""
    return 2 * threads + HEADROOM
