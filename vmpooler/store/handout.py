"""Handing ready VMs out (oldest first) and taking them back: one script call each.

The hand-out order is the ``ready_order`` ZSET: a checkout pops its head in
O(log N), whatever the pool's size. VMs put in ``ready`` by vmpooler 1.3.0 (or
another tool writing its layout) are not in the order; ``reconcile`` adds them,
scored by the ``ready`` time in their hash, and is run by every pool check and at
worker start-up. A checkout that finds only such VMs reconciles once itself, so a
Redis taken over from a running 1.3.0 hands out its VMs oldest-``ready`` first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Collection, Mapping

import redis

from vmpooler.domain.outcomes import Return
from vmpooler.domain.states import State
from vmpooler.domain.timefmt import format_time, parse_time
from vmpooler.store import keys, scripts
from vmpooler.store.locks import QUEUED

STALE_PER_CALL = 32
"""Order entries of VMs no longer ready that one checkout call drops before giving up."""

RECONCILE_BATCH = 1000

_EMPTY, _UNORDERED, _STALE = 0, 1, 2


@dataclass(frozen=True)
class GiveBack:
    """What became of a return, the VM's pool and its owner ('' for none)."""

    outcome: Return
    pool: str
    owner: str
    queued: bool = False
    """The VM's lock was raised for its destroy and a destroy request pushed for a worker."""


class Handout:
    def __init__(self, client: redis.Redis):
        self.r = client
        self._checkout = client.register_script(scripts.CHECKOUT)
        self._reconcile = client.register_script(scripts.RECONCILE_READY_ORDER)
        self._give_back = client.register_script(scripts.GIVE_BACK)

    def checkout(self, pool: str, fields: Mapping[str, str] | None = None) -> str | None:
        """Move the oldest ready VM to running and record the checkout; None if none is ready."""
        return self.checkout_and_wake(pool, fields)[0]

    def checkout_and_wake(self, pool: str, fields: Mapping[str, str] | None = None, wake: str | None = None,
                          wake_ttl: float = 0.0) -> tuple[str | None, bool]:
        """``checkout``, which also raises the pool's ``wake`` flag (``PacingStore.claim``) when
        it hands a VM out: (VM or None, True if the flag was down and is now up)."""
        flat = json.dumps([str(x) for kv in (fields or {}).items() for x in kv])
        script_keys = [keys.state_set(State.READY, pool), keys.state_set(State.RUNNING, pool), keys.ready_order(pool),
                       keys.state_set(State.MIGRATING, pool), keys.active(pool),
                       keys.queued_work(wake, pool) if wake else ""]
        args: list[str | int] = [format_time(), keys.VM_PREFIX, flat, STALE_PER_CALL, int(wake_ttl * 1000)]
        reconciled = False
        while True:
            found = self._checkout(keys=script_keys, args=args)
            if isinstance(found, list):
                return found[0], found[1] == 1
            if found == _EMPTY or (found == _UNORDERED and reconciled):
                return None, False
            if found == _UNORDERED:
                self.reconcile(pool)
                reconciled = True

    def reconcile(self, pool: str) -> int:
        """Bring the ready order in line with the ready set; returns how many VMs were added."""
        pipe = self.r.pipeline(transaction=True)
        pipe.smembers(keys.state_set(State.READY, pool))
        pipe.zrange(keys.ready_order(pool), 0, -1)
        ready, ordered = pipe.execute()
        ordered = set(ordered)
        missing, stale = sorted(ready - ordered), sorted(ordered - ready)
        if not missing and not stale:
            return 0
        scores = self._ready_epochs(missing)
        added = 0
        script_keys = [keys.state_set(State.READY, pool), keys.ready_order(pool)]
        for start in range(0, max(len(missing), len(stale)), RECONCILE_BATCH):
            adds = missing[start:start + RECONCILE_BATCH]
            pairs = [x for vm in adds for x in (repr(scores[vm]), vm)]
            added += self._reconcile(keys=script_keys,
                                     args=[len(adds), *pairs, *stale[start:start + RECONCILE_BATCH]])
        return added

    def _ready_epochs(self, vms: list[str]) -> dict[str, float]:
        """Epoch of each VM's ``ready`` time; 0 (handed out first) when it has none."""
        pipe = self.r.pipeline(transaction=False)
        for vm in vms:
            pipe.hget(keys.vm(vm), "ready")
        epochs = {}
        for vm, value in zip(vms, pipe.execute()):
            moment = parse_time(value)
            epochs[vm] = moment.timestamp() if moment else 0.0
        return epochs

    def give_back(self, vm: str, token: str | None = None, admins: Collection[str] | None = None,
                  queue_ttl: float | None = None) -> GiveBack:
        """Return a running VM (running -> completed) in one atomic step.

        A VM checked out with a token needs a valid ``token``. With ``admins`` given,
        that token must also be the VM owner's (any of their tokens), or one of an admin user.
        With ``queue_ttl`` (seconds), a returned VM's lock is also raised as ``queued`` unless
        held, as ``queue_vm_work`` does, and then a destroy request is pushed for the workers
        (``take_destroy_request``); ``queued`` says whether it was.
        """
        reply = self._give_back(
            keys=[keys.vm(vm), keys.vm_lock(vm), keys.DESTROY_REQUESTS] + ([keys.token(token)] if token else []),
            args=[vm, keys.state_set_prefix(State.RUNNING), keys.state_set_prefix(State.COMPLETED),
                  keys.state_set_prefix(State.MIGRATING), format_time() if token else "",
                  json.dumps(sorted(admins)) if admins is not None else "", token or "",
                  int((queue_ttl or 0) * 1000), QUEUED])
        outcome, pool, owner = reply[:3]
        return GiveBack(Return(outcome), pool, owner, len(reply) > 3 and reply[3] == 1)

    def take_destroy_request(self, wait: float) -> tuple[str, str] | None:
        """The oldest destroy request as (pool, vm), waiting up to ``wait`` seconds for one
        (0: not at all).

        Taken requests are gone: one whose task is never sent (its worker died in between)
        leaves the VM's ``queued`` lock to lapse, after which the pool check queues the destroy.
        """
        while True:
            entry: str | None
            if wait > 0:
                found = self.r.blpop([keys.DESTROY_REQUESTS], timeout=wait)
                entry = found[1] if found else None  # type: ignore[assignment]  # decoded replies
            else:  # BLPOP's timeout 0 would wait for ever
                entry = self.r.lpop(keys.DESTROY_REQUESTS)  # type: ignore[assignment]  # as above
            if entry is None:
                return None
            pool, _, vm = entry.partition(" ")
            if keys.is_safe_component(pool) and keys.is_safe_component(vm):
                return pool, vm
            wait = 0  # not a request this port wrote: dropped, and the next one taken

    def destroy_requests(self) -> int:
        """How many destroy requests wait for a worker."""
        return int(self.r.llen(keys.DESTROY_REQUESTS))
