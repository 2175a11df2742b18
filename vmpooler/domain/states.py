"""The per-pool state sets a VM moves through."""

from enum import Enum


class State(str, Enum):
    PENDING = "pending"
    READY = "ready"
    RUNNING = "running"
    COMPLETED = "completed"
    DISCOVERED = "discovered"
    MIGRATING = "migrating"


# A VM is in exactly one of these; MIGRATING is an extra marker next to RUNNING.
EXCLUSIVE_STATES = (
    State.PENDING,
    State.READY,
    State.RUNNING,
    State.COMPLETED,
    State.DISCOVERED,
)
