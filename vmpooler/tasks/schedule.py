"""The beat schedule, built from the settings by a pure function."""

from __future__ import annotations

from vmpooler.settings import Settings

POOLS_QUEUE = "pools"
PROVISION_QUEUE = "provision"
VMOPS_QUEUE = "vmops"
QUEUES = (POOLS_QUEUE, PROVISION_QUEUE, VMOPS_QUEUE)

TASK_QUEUES = {
    "vmpooler.pool.tick": POOLS_QUEUE,
    "vmpooler.pool.check": POOLS_QUEUE,
    "vmpooler.pool.repopulate": POOLS_QUEUE,
    "vmpooler.pool.migrate": POOLS_QUEUE,
    "vmpooler.provider.purge": POOLS_QUEUE,
    "vmpooler.ondemand.process": POOLS_QUEUE,
    "vmpooler.vm.clone": PROVISION_QUEUE,
    "vmpooler.vm.destroy": PROVISION_QUEUE,
    "vmpooler.vm.create_disk": VMOPS_QUEUE,
    "vmpooler.vm.snapshot": VMOPS_QUEUE,
    "vmpooler.vm.revert_snapshot": VMOPS_QUEUE,
    "vmpooler.health.heartbeat": POOLS_QUEUE,
}

TICK_SECONDS = 1.0
"""How often beat asks for the checks that are due: the finest pacing of a pool check."""

HEARTBEAT_TASK = "vmpooler.health.heartbeat"
HEARTBEAT_SECONDS = 10.0
"""How often beat proves itself alive; ``/healthcheck`` allows a few missed beats."""


def build_beat_schedule(settings: Settings) -> dict[str, dict]:
    """One tick every TICK_SECONDS that sends the pool checks now due (each check
    sets its pool's next due time, backing off from ``check_loop_delay_min`` to
    ``check_loop_delay_max`` while the pool is idle), so beat sends one message a
    second however many pools there are; the on-demand queues every global
    ``check_loop_delay_min`` (a request is also processed at once when it
    arrives), plus the purge of each provider that has it enabled."""
    schedule: dict[str, dict] = {
        "pool-tick": {
            "task": "vmpooler.pool.tick",
            "schedule": TICK_SECONDS,
            # A tick that waited longer than one interval is superseded by the next one.
            "options": {"queue": POOLS_QUEUE, "expires": TICK_SECONDS},
        },
    }
    ondemand_interval = float(settings.config.check_loop_delay_min)
    schedule["ondemand-process"] = {
        "task": "vmpooler.ondemand.process",
        "schedule": ondemand_interval,
        "options": {"queue": POOLS_QUEUE, "expires": ondemand_interval},
    }
    for name, provider in settings.providers.items():
        if provider.purge_unconfigured_resources and settings.pools_of_provider(name):
            schedule[f"purge-provider-{name}"] = {
                "task": "vmpooler.provider.purge",
                "schedule": float(settings.config.purge_interval),
                "args": (name,),
                "options": {"queue": POOLS_QUEUE, "expires": float(settings.config.purge_interval)},
            }
    schedule["heartbeat"] = {
        "task": HEARTBEAT_TASK,
        "schedule": HEARTBEAT_SECONDS,
        "options": {"queue": POOLS_QUEUE, "expires": HEARTBEAT_SECONDS},
    }
    return schedule
