"""Every Redis key name, in one place.

The names, types and fields are those of vmpooler 1.3.0 so that a Redis used by
the Ruby service carries over. Keys this port adds (locks, clone slots, the
ready order, the dummy provider's inventory) are marked as such.
"""

from __future__ import annotations

import re

from vmpooler.domain.states import State

PREFIX = "vmpooler__"
SEPARATOR = "__"

# Letters, digits, '.' and '-', with single '_' only between them: no separator ('__'), no
# component that could merge with one ('a_' + '__' + 'b' == 'a' + '__' + '_b'), no glob
# character (* ? [ ]), no blank, control or non-ASCII character, no ':' (the on-demand
# task members use it as their field separator).
_SAFE_COMPONENT = re.compile(r"[A-Za-z0-9.-]+(?:_[A-Za-z0-9.-]+)*")
MAX_COMPONENT_LENGTH = 255


class UnsafeKeyComponent(ValueError):
    """A key name would be built from a string that could reach another key."""


def is_safe_component(value: object) -> bool:
    return (isinstance(value, str) and len(value) <= MAX_COMPONENT_LENGTH
            and _SAFE_COMPONENT.fullmatch(value) is not None)


def safe(value: str) -> str:
    """``value`` if it may be part of a key name, else :class:`UnsafeKeyComponent`."""
    if not is_safe_component(value):
        raise UnsafeKeyComponent(f"refusing {value!r} as part of a Redis key name: only letters, digits, "
                                 f"'.', '-' and single '_' between them are allowed (at most "
                                 f"{MAX_COMPONENT_LENGTH} characters)")
    return value


_STATE_NAMES = {state: state.value for state in State}


def state_set(state: State, pool: str) -> str:
    """``vmpooler__{pending,ready,running,completed,discovered,migrating}__<pool>`` (SET)."""
    # A lookup rather than an f-string of the enum (which formats as "State.READY"); a string
    # that names no state is a KeyError.
    return f"{PREFIX}{_STATE_NAMES[state]}__{safe(pool)}"


VM_PREFIX = f"{PREFIX}vm__"
"""What ``vm(name)`` puts before the name (for scripts that build the key of the VM they pick)."""


def state_set_prefix(state: State) -> str:
    """``state_set`` without its pool, for a script that reads the pool from a VM hash."""
    return f"{PREFIX}{_STATE_NAMES[state]}__"


def vm(name: str) -> str:
    """Per-VM metadata HASH."""
    return f"{VM_PREFIX}{safe(name)}"


def active(pool: str) -> str:
    """HASH vm -> checkout time; the lifetime clock of running VMs."""
    return f"{PREFIX}active__{safe(pool)}"


def empty(pool: str) -> str:
    """STRING "true" while the pool has no ready VM."""
    return f"{PREFIX}empty__{safe(pool)}"


LASTBOOT = f"{PREFIX}lastboot"
POOLS = f"{PREFIX}pools"


def pool(name: str) -> str:
    """HASH of a pool's configuration, written at start."""
    return f"{PREFIX}pool__{safe(name)}"


CLONE_COUNTER = f"{PREFIX}tasks__clone"
ONDEMAND_CLONE_COUNTER = f"{PREFIX}tasks__ondemandclone"
DISK_TASKS = f"{PREFIX}tasks__disk"
SNAPSHOT_TASKS = f"{PREFIX}tasks__snapshot"
SNAPSHOT_REVERT_TASKS = f"{PREFIX}tasks__snapshot-revert"
MIGRATIONS = f"{PREFIX}migration"

CONFIG_POOLSIZE = f"{PREFIX}config__poolsize"
CONFIG_TEMPLATE = f"{PREFIX}config__template"
CONFIG_CLONE_TARGET = f"{PREFIX}config__clone_target"
POOLRESET = f"{PREFIX}poolreset"
UNDO_TEMPLATE_OVERRIDE = f"{PREFIX}pool__undo_template_override"
UNDO_SIZE_OVERRIDE = f"{PREFIX}pool__undo_size_override"
TEMPLATE_PREPARED = f"{PREFIX}template__prepared"
TEMPLATE_DELTAS = f"{PREFIX}template__deltas"

PROVISIONING_REQUEST = f"{PREFIX}provisioning__request"
PROVISIONING_PROCESSING = f"{PREFIX}provisioning__processing"
ODCREATE_TASK = f"{PREFIX}odcreate__task"


# The first component of every key this module builds. An on-demand request's VM sets are
# ``vmpooler__<request id>__<alias>__<pool>`` (1.3.0's layout), so a request id equal to one of
# these would put its sets among another kind of key (``token`` among the tokens, for one).
NAMESPACES = frozenset({
    "pending", "ready", "running", "completed", "discovered", "migrating", "vm", "active", "empty",
    "lastboot", "pools", "pool", "tasks", "migration", "config", "poolreset", "template",
    "provisioning", "odcreate", "odrequest", "boot", "clone", "tag", "token", "ready_order", "lock",
    "check", "dummy", "ondemand", "prometheus", "health", "ratelimit", "queued", "replication", "check_due", "dummy_pools",
    "destroy_requests",
})


def request_id_component(request_id: str) -> str:
    """``request_id`` if it may name an on-demand request's keys (see ``NAMESPACES``)."""
    if safe(request_id).lower() in NAMESPACES:
        raise UnsafeKeyComponent(f"refusing {request_id!r} as an on-demand request id: it names a kind of key")
    return request_id


def odrequest(request_id: str) -> str:
    return f"{PREFIX}odrequest__{request_id_component(request_id)}"


def request_vms(request_id: str, alias: str, pool_name: str) -> str:
    """SET of the VMs allocated to an on-demand request for one alias and pool."""
    return f"{PREFIX}{request_id_component(request_id)}__{safe(alias)}__{safe(pool_name)}"


def boot_stats(day: str) -> str:
    """HASH ``<pool>:<vm>`` -> seconds from clone start to ready, one per day."""
    return f"{PREFIX}boot__{safe(day)}"


def clone_stats(day: str) -> str:
    """HASH ``<pool>:<vm>`` -> seconds taken by the provider's clone."""
    return f"{PREFIX}clone__{safe(day)}"


def tag_stats(day: str) -> str:
    return f"{PREFIX}tag__{safe(day)}"


TAG_STATS_PATTERN = f"{PREFIX}tag__*"


def token(value: str) -> str:
    return f"{PREFIX}token__{safe(value)}"


TOKEN_PREFIX = f"{PREFIX}token__"
TOKEN_PATTERN = f"{TOKEN_PREFIX}*"

# ---- Keys added by this port (not shared with the Ruby service) ----


def ready_order(pool_name: str) -> str:
    """ZSET vm -> epoch it became ready: hands out the oldest ready VM first."""
    return f"{PREFIX}ready_order__{safe(pool_name)}"


CLONE_SLOTS = f"{PREFIX}tasks__clone__slots"
"""ZSET of VMs holding one of the fleet-wide ``task_limit`` clone slots."""

ONDEMAND_CLONE_SLOTS = f"{PREFIX}tasks__ondemandclone__slots"
"""ZSET of VMs holding one of the fleet-wide ``ondemand_clone_limit`` slots."""

CLONE_WAITING = f"{PREFIX}tasks__clone__waiting"
"""ZSET of pools that wanted a clone slot while all were taken (FIFO by score)."""


def vm_lock(name: str) -> str:
    """Lease held while a task works on a VM (clone, check, destroy)."""
    return f"{PREFIX}lock__vm__{safe(name)}"


def pool_lock(name: str) -> str:
    """Lease held while one check or repopulation of a pool runs."""
    return f"{PREFIX}lock__pool__{safe(name)}"


def pool_check_state(name: str) -> str:
    """HASH with the adaptive check delay of a pool (``delay``, ``next``, ``ready``)."""
    return f"{PREFIX}check__{safe(name)}"


def dummy_inventory(provider: str, pool_name: str) -> str:
    """HASH vm -> JSON record: the dummy provider's 'hypervisor'."""
    return f"{PREFIX}dummy__{safe(provider)}__{safe(pool_name)}"


def dummy_pools(provider: str) -> str:
    """SET of the pools a dummy provider instance holds VMs for."""
    # Its own namespace: under dummy__<provider>__ it would be the inventory of a pool named 'pools'.
    return f"{PREFIX}dummy_pools__{safe(provider)}"


def config_lock(pool_name: str) -> str:
    """Lease serialising runtime configuration changes of one pool across the fleet."""
    return f"{PREFIX}lock__config__{safe(pool_name)}"


ONDEMAND_LOCK = f"{PREFIX}lock__ondemand"
"""Lease held while one worker processes the on-demand queues."""

ONDEMAND_WAKE = f"{PREFIX}ondemand__wake"
"""STRING set when on-demand work arrives; the lease holder runs again if it is set."""

# ---- Monitoring keys added by this port

PROMETHEUS_COUNTERS = f"{PREFIX}prometheus__counters"
"""HASH series -> total: Prometheus counters summed over every process of the deployment."""

PROMETHEUS_GAUGES = f"{PREFIX}prometheus__gauges"
"""HASH series -> last value set by any process."""

PROMETHEUS_HISTOGRAMS = f"{PREFIX}prometheus__histograms"
"""HASH series+bucket -> observations in that bucket alone (made cumulative when served)."""

HEALTH_BEAT = f"{PREFIX}health__beat"
"""STRING epoch seconds of beat's last heartbeat."""

HEALTH_WORKERS = f"{PREFIX}health__workers"
"""HASH Celery worker hostname -> epoch seconds it was last seen alive."""

RATE_LIMIT_PREFIX = f"{PREFIX}ratelimit"
"""Prefix of the API's rate-limit counters (written by the ``limits`` library, shared by every API process)."""


# ---- Control-loop keys added by this port


def queued_work(kind: str, pool_name: str) -> str:
    """STRING set while a pool task of ``kind`` (check, repopulate, migrate) waits in the
    queue: further wake-ups of the pool coalesce into that one task."""
    return f"{queued_work_prefix(kind)}{safe(pool_name)}"


def queued_work_prefix(kind: str) -> str:
    """What every ``queued_work`` key of ``kind`` starts with (a script appends the pool)."""
    return f"{PREFIX}queued__{safe(kind)}__"


DESTROY_REQUESTS = f"{PREFIX}destroy_requests"
"""LIST of ``<pool> <vm>`` (names never hold a blank): VMs a user returned, whose destroy a
worker is to queue. The return's script pushes the entry, so the API sends no task message."""

CHECK_DUE = f"{PREFIX}check_due"
"""ZSET pool -> epoch its next check is due; beat's tick sends the checks that are due.
Its own namespace: ``check__due`` is the check state of a pool named 'due'."""


HEALTH_REDIS = f"{PREFIX}health__redis"
"""HASH (added by this port) the Redis master in use: ``address``, ``since``, ``previous``,
``failovers`` (master changes seen through Sentinel) and ``reconnects`` (connections
re-established after a failure, summed over every process)."""

REPLICATION_PROBE = f"{PREFIX}replication__probe"
"""STRING (added by this port) written just before ``WAIT`` so that the wait covers every
earlier write of the deployment, whichever pooled connection made it."""
