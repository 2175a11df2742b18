"""Every Redis key name, in one place.

The names, types and fields are those of vmpooler 1.3.0 so that a Redis used by
the Ruby service carries over. Keys this port adds (locks, clone slots, the
ready order, the dummy provider's inventory) are marked as such.
"""

from __future__ import annotations

PREFIX = "vmpooler__"


def state_set(state: str, pool: str) -> str:
    """``vmpooler__{pending,ready,running,completed,discovered,migrating}__<pool>`` (SET)."""
    return f"{PREFIX}{state}__{pool}"


def vm(name: str) -> str:
    """Per-VM metadata HASH."""
    return f"{PREFIX}vm__{name}"


def active(pool: str) -> str:
    """HASH vm -> checkout time; the lifetime clock of running VMs."""
    return f"{PREFIX}active__{pool}"


def empty(pool: str) -> str:
    """STRING "true" while the pool has no ready VM."""
    return f"{PREFIX}empty__{pool}"


LASTBOOT = f"{PREFIX}lastboot"
POOLS = f"{PREFIX}pools"


def pool(name: str) -> str:
    """HASH of a pool's configuration, written at start."""
    return f"{PREFIX}pool__{name}"


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


def odrequest(request_id: str) -> str:
    return f"{PREFIX}odrequest__{request_id}"


def request_vms(request_id: str, alias: str, pool_name: str) -> str:
    """SET of the VMs allocated to an on-demand request for one alias and pool."""
    return f"{PREFIX}{request_id}__{alias}__{pool_name}"


def boot_stats(day: str) -> str:
    """HASH ``<pool>:<vm>`` -> seconds from clone start to ready, one per day."""
    return f"{PREFIX}boot__{day}"


def clone_stats(day: str) -> str:
    """HASH ``<pool>:<vm>`` -> seconds taken by the provider's clone."""
    return f"{PREFIX}clone__{day}"


def tag_stats(day: str) -> str:
    return f"{PREFIX}tag__{day}"


def token(value: str) -> str:
    return f"{PREFIX}token__{value}"


TOKEN_PATTERN = f"{PREFIX}token__*"

# ---- Keys added by this port (not shared with the Ruby service) ----


def ready_order(pool_name: str) -> str:
    """ZSET vm -> epoch it became ready: hands out the oldest ready VM first."""
    return f"{PREFIX}ready_order__{pool_name}"


CLONE_SLOTS = f"{PREFIX}tasks__clone__slots"
"""ZSET of VMs holding one of the fleet-wide ``task_limit`` clone slots."""

ONDEMAND_CLONE_SLOTS = f"{PREFIX}tasks__ondemandclone__slots"
"""ZSET of VMs holding one of the fleet-wide ``ondemand_clone_limit`` slots."""

CLONE_WAITING = f"{PREFIX}tasks__clone__waiting"
"""ZSET of pools that wanted a clone slot while all were taken (FIFO by score)."""


def vm_lock(name: str) -> str:
    """Lease held while a task works on a VM (clone, check, destroy)."""
    return f"{PREFIX}lock__vm__{name}"


def pool_lock(name: str) -> str:
    """Lease held while one check or repopulation of a pool runs."""
    return f"{PREFIX}lock__pool__{name}"


def pool_check_state(name: str) -> str:
    """HASH with the adaptive check delay of a pool (``delay``, ``next``, ``ready``)."""
    return f"{PREFIX}check__{name}"


def dummy_inventory(provider: str, pool_name: str) -> str:
    """HASH vm -> JSON record: the dummy provider's 'hypervisor'."""
    return f"{PREFIX}dummy__{provider}__{pool_name}"


def dummy_pools(provider: str) -> str:
    """SET of the pools a dummy provider instance holds VMs for."""
    return f"{PREFIX}dummy__{provider}__pools"


def config_lock(pool_name: str) -> str:
    """Lease serialising runtime configuration changes of one pool across the fleet."""
    return f"{PREFIX}lock__config__{pool_name}"


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

HEALTH_REDIS = f"{PREFIX}health__redis"
"""HASH (added by this port) the Redis master in use: ``address``, ``since``, ``previous``,
``failovers`` (master changes seen through Sentinel) and ``reconnects`` (connections
re-established after a failure, summed over every process)."""

REPLICATION_PROBE = f"{PREFIX}replication__probe"
"""STRING (added by this port) written just before ``WAIT`` so that the wait covers every
earlier write of the deployment, whichever pooled connection made it."""
