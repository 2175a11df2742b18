"""What a step of the lifecycle reports back, one enum per step.

String-valued, so a Celery task result or a Lua script reply carries the same
text as before (``CloneSlot("ok")`` parses a reply, ``CloneSlot.OK == "ok"``).
"""

from enum import Enum


class PoolCheckSkipped(str, Enum):
    """Why ``vmpooler.pool.check`` returned without a pass (a pass returns its counts)."""

    UNKNOWN_POOL = "unknown pool"
    NOT_DUE = "not due"
    BUSY = "busy"


class PendingCheck(str, Enum):
    READY = "ready"
    WAITING = "waiting"
    FAILED = "failed"
    BUSY = "busy"


class ReadyCheck(str, Enum):
    KEPT = "kept"
    REMOVED = "removed"
    SKIPPED = "skipped"
    """Checked less than ``vm_checktime`` ago."""
    BUSY = "busy"


class CloneSlot(str, Enum):
    OK = "ok"
    TAKEN = "taken"
    """The name is already in use."""
    FULL = "full"
    """Every clone slot (``task_limit``) is taken."""


class Requeue(str, Enum):
    """A failed clone of an on-demand request."""

    RETRY = "retry"
    EXHAUSTED = "exhausted"
    """The retry budget is spent: the request should fail."""
    IGNORED = "ignored"
    """The request is over or gone."""


class RequestEnd(str, Enum):
    """Ending an on-demand request (delete or fail)."""

    OK = "ok"
    MISSING = "missing"
    # Already over: the status it ended with.
    DELETED = "deleted"
    FAILED = "failed"
    READY = "ready"


class Promotion(str, Enum):
    """A VM cloned for an on-demand request became ready."""

    RUNNING = "running"
    """It now serves the request; every other outcome sent it to completed."""
    SURPLUS = "surplus"
    FAILED = "failed"
    DELETED = "deleted"
    MISSING = "missing"
    GONE = "gone"
    """It was no longer pending: nothing moved."""


class Return(str, Enum):
    """What became of a user's return of a VM (``DELETE /vm/<name>``)."""

    RETURNED = "returned"
    UNKNOWN = "unknown"
    NOT_RUNNING = "not_running"
    NEEDS_TOKEN = "needs_token"
    BAD_TOKEN = "bad_token"
    NOT_OWNER = "not_owner"
