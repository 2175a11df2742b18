"""What the API reads and writes about VMs besides their state: tags, lifetime,
token ownership, and the daily statistics hashes behind ``/summary``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import redis

from vmpooler.domain.states import State
from vmpooler.store import keys
from vmpooler.store.replies import hash_mapping, text_hash

TAG_PREFIX = "tag:"


@dataclass(frozen=True)
class TagLimits:
    """At most ``count`` tags per VM, and ``size`` bytes of names and values (UTF-8) in all."""

    count: int
    size: int


class TooManyTags(ValueError):
    """The tags a VM would hold after a change exceed its ``TagLimits``; nothing was written."""


def _check_tags(current: Mapping[str, str], tags: Mapping[str, str], limits: TagLimits) -> None:
    merged = {name[len(TAG_PREFIX):]: value for name, value in current.items() if name.startswith(TAG_PREFIX)}
    merged.update(tags)
    if len(merged) > limits.count:
        raise TooManyTags(f"a VM may hold at most {limits.count} tags; this change would give it {len(merged)}")
    size = sum(len(name.encode()) + len(value.encode()) for name, value in merged.items())
    if size > limits.size:
        raise TooManyTags(f"a VM's tags may hold at most {limits.size} bytes of names and values; "
                          f"this change would give it {size}")


class VmMeta:
    def __init__(self, client: redis.Redis):
        self.r = client

    def exists(self, vm: str) -> bool:
        return bool(self.r.exists(keys.vm(vm)))

    def update(self, vm: str, lifetime: int | None, tags: Mapping[str, str], day: str,
               limits: TagLimits | None = None) -> bool:
        """Set the lifetime and tags of an existing VM (tags also counted for ``day``).

        Returns False, writing nothing, when the VM's hash is gone; raises
        :class:`TooManyTags`, writing nothing, when the tags would exceed ``limits``.
        """
        values: dict[str, str] = {f"{TAG_PREFIX}{name}": value for name, value in tags.items()}
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
                    if tags and limits is not None:
                        # Read under WATCH: two concurrent changes cannot both squeeze under the bound.
                        _check_tags(text_hash(pipe.hgetall(keys.vm(vm))), tags, limits)
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
