"""What the API reads and writes about VMs besides their state: tags, lifetime,
token ownership, and the daily statistics hashes behind ``/summary``."""

from __future__ import annotations

from typing import Iterable, Mapping

import redis

from vmpooler.domain.states import State
from vmpooler.store import keys
from vmpooler.store.replies import hash_mapping


class VmMeta:
    def __init__(self, client: redis.Redis):
        self.r = client

    def exists(self, vm: str) -> bool:
        return bool(self.r.exists(keys.vm(vm)))

    def update(self, vm: str, lifetime: int | None, tags: Mapping[str, str], day: str) -> bool:
        """Set the lifetime and tags of an existing VM (tags also counted for ``day``).

        Returns False, writing nothing, when the VM's hash is gone.
        """
        values: dict[str, str] = {f"tag:{name}": value for name, value in tags.items()}
        if lifetime is not None:
            values["lifetime"] = str(lifetime)
        if not values:
            return self.exists(vm)
        with self.r.pipeline(transaction=True) as pipe:
            # WATCH/MULTI: a VM destroyed (hash expired) meanwhile is not recreated.
            while True:
                try:
                    pipe.watch(keys.vm(vm))
                    if not pipe.exists(keys.vm(vm)):
                        pipe.reset()
                        return False
                    pipe.multi()
                    pipe.hset(keys.vm(vm), mapping=hash_mapping(values))
                    if tags:
                        pipe.hset(keys.tag_stats(day), mapping={f"{vm}:{name}": value for name, value in tags.items()})
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def token_vms(self, pools: Iterable[str], token: str) -> list[str]:
        """Running VMs (of ``pools``) checked out with ``token``."""
        pools = list(pools)
        pipe = self.r.pipeline(transaction=False)
        for pool in pools:
            pipe.smembers(keys.state_set(State.RUNNING, pool))
        running = sorted({vm for members in pipe.execute() for vm in members})
        if not running:
            return []
        pipe = self.r.pipeline(transaction=False)
        for vm in running:
            pipe.hget(keys.vm(vm), "token:token")
        return [vm for vm, owner in zip(running, pipe.execute()) if owner == token]

    def daily_stats(self, days: list[str]) -> dict[str, dict[str, dict[str, str]]]:
        """day -> {"boot", "clone", "tag"} hashes, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for day in days:
            pipe.hgetall(keys.boot_stats(day))
            pipe.hgetall(keys.clone_stats(day))
            pipe.hgetall(keys.tag_stats(day))
        values = iter(pipe.execute())
        return {day: {"boot": next(values), "clone": next(values), "tag": next(values)} for day in days}
