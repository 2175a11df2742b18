"""How much concurrency one worker process needs, derived from the fleet-wide limits.

A clone or a destroy spends nearly all its time waiting on a hypervisor, so a
worker runs them on threads rather than one process each: one process can then
drive every clone slot at once.
"""

from __future__ import annotations

HEADROOM = 16
"""Threads left for the ``pools`` queue (checks, repopulation, on-demand), the
heartbeat and disk or snapshot work while every clone and destroy thread is busy."""

DESTROYS_PER_CLONE_SLOT = 2
"""Destroys are not limited: a busy pool returns VMs as fast as it clones them, in
bursts. When every thread is taken, quick pool tasks wait behind long provider
calls (a repopulation then leaves free clone slots unused), so destroys get twice
the clone slots."""


def worker_threads(task_limit: int, ondemand_clone_limit: int) -> int:
    """Every pool-fill and on-demand clone slot at once, room for the destroys, plus headroom."""
    return (1 + DESTROYS_PER_CLONE_SLOT) * task_limit + ondemand_clone_limit + HEADROOM


def redis_connections(threads: int) -> int:
    """A task thread and the lease heartbeat beside it may each hold a connection."""
    return 2 * threads + HEADROOM
