"""Typed access to vmpooler's Redis state; every transition is atomic."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Collection, Iterable, Mapping

import redis

from vmpooler.domain.outcomes import CloneSlot
from vmpooler.domain.states import State
from vmpooler.domain.timefmt import format_time
from vmpooler.store import keys, scripts
from vmpooler.store.handout import GiveBack, Handout
from vmpooler.store.locks import QUEUED, Lease
from vmpooler.store.ondemand import OndemandStore
from vmpooler.store.pacing import PacingStore
from vmpooler.store.pool_config import PoolConfigStore
from vmpooler.store.replies import hash_mapping, optional_text, optional_texts, scored, text_hash, text_set

ALL_STATES = tuple(State)


@dataclass
class PoolSnapshot:
    """Members of every state set of one pool, read in one round trip."""

    members: dict[State, set[str]] = field(default_factory=dict)

    def __getitem__(self, state: State) -> set[str]:
        return self.members.get(state, set())

    def state_of(self, vm: str) -> State | None:
        for state in (State.RUNNING, State.READY, State.PENDING, State.COMPLETED, State.DISCOVERED):
            if vm in self[state]:
                return state
        return None


class RedisStore:
    def __init__(self, client: redis.Redis, data_ttl_hours: int | None = 168):
        self.r = client
        self.data_ttl = int((data_ttl_hours or 0) * 3600)
        self._move = client.register_script(scripts.MOVE)
        self._register = client.register_script(scripts.REGISTER_CLONE)
        self._release = client.register_script(scripts.RELEASE_SLOT)
        self._begin_migration = client.register_script(scripts.BEGIN_MIGRATION)
        self.handout = Handout(client)
        self.ondemand = OndemandStore(client, self.data_ttl)
        self.pool_config = PoolConfigStore(client)
        self.pacing = PacingStore(client)
        self._set_field = client.register_script(scripts.SET_FIELD_IF_EXISTS)
        self._count_members = client.register_script(scripts.COUNT_MEMBERS)

    # ---- reads

    def snapshot(self, pool: str) -> PoolSnapshot:
        # MULTI: a VM moving between two sets must not be seen in neither (or both).
        pipe = self.r.pipeline(transaction=True)
        for state in ALL_STATES:
            pipe.smembers(keys.state_set(state, pool))
        return PoolSnapshot(dict(zip(ALL_STATES, (set(m) for m in pipe.execute()))))

    def counts(self, pools: Iterable[str], states: Iterable[State] = ALL_STATES) -> dict[str, dict[State, int]]:
        pools, states = list(pools), list(states)
        if not pools or not states:
            return {pool: {} for pool in pools}
        # One script rather than a pipeline of SCARDs: /status with 500 pools builds and
        # parses one command of 500 pool names instead of 2,000 commands.
        values = iter(self._count_members(args=[len(states), *(keys.state_set_prefix(state) for state in states),
                                                *(keys.safe(pool) for pool in pools)]))
        return {pool: {state: next(values) for state in states} for pool in pools}

    def vm_fields(self, vms: Iterable[str], names: Iterable[str]) -> dict[str, dict[str, str | None]]:
        vms, names = list(vms), list(names)
        if not vms:
            return {}
        pipe = self.r.pipeline(transaction=False)
        for vm in vms:
            pipe.hmget(keys.vm(vm), names)
        return {vm: dict(zip(names, values)) for vm, values in zip(vms, pipe.execute())}

    def vm(self, name: str) -> dict[str, str]:
        return text_hash(self.r.hgetall(keys.vm(name)))

    def set_vm_fields(self, name: str, values: Mapping[str, str]) -> None:
        if values:
            self.r.hset(keys.vm(name), mapping=hash_mapping(values))

    def append_disk(self, vm: str, disk: str) -> bool:
        """Record an attached disk (``disk`` = ``+8gb:+16gb``) unless the VM is gone."""
        return bool(self._set_field(keys=[keys.vm(vm)], args=["disk", disk, "append"]))

    def record_snapshot(self, vm: str, snapshot: str, when: str) -> bool:
        """``snapshot:<name>`` = time, unless the VM's hash is gone (destroyed meanwhile)."""
        return bool(self._set_field(keys=[keys.vm(vm)], args=[f"snapshot:{snapshot}", when, "set"]))

    def active_times(self, pool: str) -> dict[str, str]:
        return text_hash(self.r.hgetall(keys.active(pool)))

    def ready_oldest_first(self, pool: str) -> list[str]:
        """Ready VMs in hand-out order (VMs the order does not know yet come last, as for a checkout)."""
        pipe = self.r.pipeline(transaction=True)
        pipe.smembers(keys.state_set(State.READY, pool))
        pipe.zrange(keys.ready_order(pool), 0, -1)
        members, ordered = pipe.execute()
        known = [vm for vm in ordered if vm in members]
        return known + sorted(members - set(known))

    def contains(self, pool: str, state: State, vm: str) -> bool:
        return bool(self.r.sismember(keys.state_set(state, pool), vm))

    # ---- transitions

    def move(self, pool: str, vm: str, src: State, dst: State | None, *,
             fields: Mapping[str, str] | None = None, extra: list[list] | None = None) -> bool:
        """SMOVE ``vm`` from ``src`` to ``dst`` (or SREM when ``dst`` is None) and, only if
        it was there, apply the follow-up writes in the same atomic step."""
        ops: list[list] = []
        if src is State.READY:
            ops.append(["ZREM", keys.ready_order(pool), vm])
        if dst is State.READY:
            ops.append(["ZADD", keys.ready_order(pool), repr(time.time()), vm])
        if fields:
            ops.append(["HSET", keys.vm(vm), *[str(x) for kv in fields.items() for x in kv]])
        ops.extend(extra or [])
        # Only removing: no second key (an empty key name would fall outside an ACL user's key pattern).
        script_keys = [keys.state_set(src, pool)] + ([keys.state_set(dst, pool)] if dst else [])
        return bool(self._move(keys=script_keys, args=[vm, json.dumps(ops)]))

    def mark_ready(self, pool: str, vm: str, boot_seconds: float | None, day: str) -> bool:
        now = format_time()
        extra = [["HSET", keys.LASTBOOT, pool, now]]
        if boot_seconds is not None:
            extra.append(["HSET", keys.boot_stats(day), f"{pool}:{vm}", f"{boot_seconds:.2f}"])
        return self.move(pool, vm, State.PENDING, State.READY, fields={"ready": now}, extra=extra)

    def add_discovered(self, pool: str, vms: Iterable[str]) -> None:
        vms = list(vms)
        if vms:
            self.r.sadd(keys.state_set(State.DISCOVERED, pool), *vms)

    def checkout(self, pool: str, fields: Mapping[str, str] | None = None) -> str | None:
        """Move the oldest ready VM to running and record the checkout; None if empty."""
        return self.handout.checkout(pool, fields)

    def checkout_and_wake(self, pool: str, fields: Mapping[str, str] | None, wake: str,
                          wake_ttl: float) -> tuple[str | None, bool]:
        """``checkout`` that also raises the pool's ``wake`` flag in the same call (see Handout)."""
        return self.handout.checkout_and_wake(pool, fields, wake, wake_ttl)

    def reconcile_ready_order(self, pool: str) -> int:
        """Order ready VMs another vmpooler wrote by their ``ready`` time (pool check, start-up)."""
        return self.handout.reconcile(pool)

    def give_back(self, vm: str, token: str | None = None, admins: Collection[str] | None = None,
                  queue_ttl: float | None = None) -> GiveBack:
        """A user returns a running VM: running -> completed, one script call (see Handout)."""
        return self.handout.give_back(vm, token, admins, queue_ttl)

    def return_to_ready(self, pool: str, vm: str) -> bool:
        """Undo a checkout (a multi-VM request that could not be filled)."""
        extra = [["SREM", keys.state_set(State.MIGRATING, pool), vm], ["HDEL", keys.active(pool), vm],
                 ["HDEL", keys.vm(vm), "checkout", "token:token", "token:user", "lifetime"]]
        return self.move(pool, vm, State.RUNNING, State.READY, extra=extra)

    def replicated(self, replicas: int, timeout_ms: int) -> bool:
        """Whether ``replicas`` of the connected replicas hold every write made so far.

        WAIT covers only its own connection's writes, so a probe write on that
        connection first puts it after every earlier write of this deployment. A master
        with no replica connected has no one a failover could promote: nothing to wait for."""
        if replicas <= 0:
            return True
        pipe = self.r.pipeline(transaction=False)
        pipe.set(keys.REPLICATION_PROBE, format_time())
        pipe.execute_command("ROLE")
        pipe.execute_command("WAIT", replicas, timeout_ms)
        _, role, acknowledged = pipe.execute()
        return acknowledged >= min(replicas, len(role[2]))

    def complete_running(self, pool: str, vm: str) -> bool:
        """running -> completed (returned by its user, or its lifetime is over)."""
        return self.move(pool, vm, State.RUNNING, State.COMPLETED,
                         extra=[["SREM", keys.state_set(State.MIGRATING, pool), vm]])

    def start_destroy(self, pool: str, vm: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(keys.active(pool), vm)
        pipe.hset(keys.vm(vm), "destroy", format_time())
        pipe.expire(keys.vm(vm), self.data_ttl)
        pipe.execute()

    def finish_destroy(self, pool: str, vm: str) -> bool:
        return bool(self.r.srem(keys.state_set(State.COMPLETED, pool), vm))

    def forget_purged_vm(self, folder: str, vm: str) -> None:
        """A purge destroyed ``vm`` of an unconfigured folder: expire what Redis knew
        (a pool removed from the configuration may have left it in any state set)."""
        pipe = self.r.pipeline(transaction=True)
        for state in ALL_STATES:
            pipe.srem(keys.state_set(state, folder), vm)
        pipe.zrem(keys.ready_order(folder), vm)
        pipe.hdel(keys.active(folder), vm)
        pipe.hset(keys.vm(vm), "destroy", format_time())
        pipe.expire(keys.vm(vm), self.data_ttl)
        pipe.execute()

    def drop_completed(self, pool: str, vm: str) -> bool:
        """A completed VM the provider no longer has: forget it entirely."""
        return self.move(pool, vm, State.COMPLETED, None,
                         extra=[["HDEL", keys.active(pool), vm], ["DEL", keys.vm(vm)]])

    def forget_pending(self, pool: str, vm: str, expire: bool) -> bool:
        extra = [["EXPIRE", keys.vm(vm), str(self.data_ttl)]] if expire else []
        return self.move(pool, vm, State.PENDING, None, extra=extra)

    # ---- clones and their slots

    def register_clone(self, pool: str, vm: str, fields: Mapping[str, str], limit: int,
                       lock_ttl: float, ondemand: bool = False) -> CloneSlot:
        """Atomically claim a clone slot and the name, and put the VM in pending."""
        slots, counter = self._slot_keys(ondemand)
        flat = [str(x) for kv in fields.items() for x in kv]
        # Pool-fill slots are shared fairly: see REGISTER_CLONE.
        return CloneSlot(self._register(
            keys=[keys.vm(vm), slots, counter, keys.state_set(State.PENDING, pool), keys.vm_lock(vm),
                  keys.CLONE_WAITING],
            args=[vm, limit, repr(time.time()), int(lock_ttl * 1000), json.dumps(flat), pool,
                  "" if ondemand else "fair"],
        ))

    def release_slot(self, vm: str, ondemand: bool = False) -> bool:
        slots, counter = self._slot_keys(ondemand)
        return bool(self._release(keys=[slots, counter], args=[vm]))

    def slot_holders(self, ondemand: bool = False) -> dict[str, float]:
        """VM -> epoch its clone was registered (or last re-sent)."""
        return dict(scored(self.r.zrange(self._slot_keys(ondemand)[0], 0, -1, withscores=True)))

    def touch_slot(self, vm: str, ondemand: bool = False) -> None:
        self.r.zadd(self._slot_keys(ondemand)[0], {vm: time.time()}, xx=True)

    def lock_values(self, vms: Iterable[str]) -> dict[str, str | None]:
        vms = list(vms)
        return dict(zip(vms, optional_texts(self.r.mget([keys.vm_lock(vm) for vm in vms])))) if vms else {}

    def reset_counters(self) -> None:
        """Make the 1.3.0 counters agree with the slot sets (start-up)."""
        for ondemand in (False, True):
            slots, counter = self._slot_keys(ondemand)
            self.r.set(counter, self.r.zcard(slots))

    @staticmethod
    def _slot_keys(ondemand: bool) -> tuple[str, str]:
        if ondemand:
            return keys.ONDEMAND_CLONE_SLOTS, keys.ONDEMAND_CLONE_COUNTER
        return keys.CLONE_SLOTS, keys.CLONE_COUNTER

    def stop_waiting(self, pool: str) -> None:
        """The pool needs no more clone slots: it leaves the queue of pools waiting for one."""
        self.r.zrem(keys.CLONE_WAITING, pool)

    def pools_owed_slots(self, limit: int) -> list[str]:
        """The waiting pools that the free clone slots are reserved for, first in line first."""
        pipe = self.r.pipeline(transaction=True)
        pipe.zcard(keys.CLONE_SLOTS)
        pipe.zrange(keys.CLONE_WAITING, 0, -1)
        used, waiting = pipe.execute()
        return waiting[:max(0, limit - used)]

    def record_clone_time(self, pool: str, vm: str, seconds: float, day: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(keys.clone_stats(day), f"{pool}:{vm}", f"{seconds:.2f}")
        pipe.hset(keys.vm(vm), "clone_time", f"{seconds:.2f}")
        pipe.execute()

    # ---- migration at checkout

    def take_migrating(self, pool: str, vm: str) -> bool:
        """Claim a just-checked-out VM for its migration evaluation."""
        return bool(self.r.srem(keys.state_set(State.MIGRATING, pool), vm))

    def forget_migrating(self, pool: str, vms: Iterable[str]) -> None:
        vms = list(vms)
        if vms:
            self.r.srem(keys.state_set(State.MIGRATING, pool), *vms)

    def begin_migration(self, vm: str, limit: int) -> bool:
        """Take one of the fleet's ``migration_limit`` places; False when all are taken."""
        return bool(self._begin_migration(keys=[keys.MIGRATIONS], args=[vm, limit]))

    def end_migration(self, vm: str) -> None:
        self.r.srem(keys.MIGRATIONS, vm)

    def reset_migrations(self) -> None:
        self.r.delete(keys.MIGRATIONS)

    # ---- leases

    def vm_lease(self, vm: str, ttl: float, heartbeat: bool = False) -> Lease:
        return Lease(self.r, keys.vm_lock(vm), ttl, heartbeat)

    def pool_lease(self, pool: str, ttl: float, heartbeat: bool = True) -> Lease:
        return Lease(self.r, keys.pool_lock(pool), ttl, heartbeat)

    def locked_vms(self, vms: Iterable[str]) -> set[str]:
        vms = list(vms)
        if not vms:
            return set()
        pipe = self.r.pipeline(transaction=False)
        for vm in vms:
            pipe.exists(keys.vm_lock(vm))
        return {vm for vm, held in zip(vms, pipe.execute()) if held}

    def queue_vm_work(self, vm: str, ttl: float, lease_held: bool = False) -> bool:
        """Claim a VM for a task about to be enqueued; False if someone works on it.
        ``lease_held``: the caller holds the VM's lease and hands it to the queued task."""
        return bool(self.r.set(keys.vm_lock(vm), QUEUED, nx=not lease_held, px=int(ttl * 1000)))

    # ---- pool-level keys

    def set_empty(self, pool: str, empty: bool) -> bool:
        """Record whether the pool is empty; True when that changed."""
        if empty:
            return bool(self.r.set(keys.empty(pool), "true", nx=True))
        return bool(self.r.delete(keys.empty(pool)))

    def publish_pools(self, pools: Mapping[str, Mapping[str, str]]) -> None:
        """Write the configured pools as 1.3.0 does at start-up (``vmpooler__pools``)."""
        current = text_set(self.r.smembers(keys.POOLS))
        pipe = self.r.pipeline(transaction=True)
        for stale in current - set(pools):
            pipe.srem(keys.POOLS, stale)
            pipe.delete(keys.pool(stale))
        for name, values in pools.items():
            pipe.sadd(keys.POOLS, name)
            pipe.delete(keys.pool(name))
            if values:
                pipe.hset(keys.pool(name), mapping=hash_mapping(values))
        pipe.execute()

    def pool_overrides(self, pool: str) -> tuple[str | None, str | None, str | None]:
        """(size, template, clone_target) overrides of one pool, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for key in (keys.CONFIG_POOLSIZE, keys.CONFIG_TEMPLATE, keys.CONFIG_CLONE_TARGET):
            pipe.hget(key, pool)
        size, template, target = pipe.execute()
        return size, template, target

    def published_pools(self) -> dict[str, dict[str, str]]:
        names = sorted(text_set(self.r.smembers(keys.POOLS)))
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(keys.pool(name))
        return dict(zip(names, pipe.execute()))

    def size_overrides(self) -> dict[str, str]:
        return text_hash(self.r.hgetall(keys.CONFIG_POOLSIZE))

    def prepared_template(self, pool: str) -> str | None:
        return optional_text(self.r.hget(keys.TEMPLATE_PREPARED, pool))

    def set_prepared_template(self, pool: str, template: str) -> None:
        self.r.hset(keys.TEMPLATE_PREPARED, pool, template)

    def template_has_deltas(self, template: str) -> bool:
        return bool(self.r.sismember(keys.TEMPLATE_DELTAS, template))

    def add_template_deltas(self, template: str) -> None:
        self.r.sadd(keys.TEMPLATE_DELTAS, template)

    def check_state(self, pool: str) -> dict[str, str]:
        return text_hash(self.r.hgetall(keys.pool_check_state(pool)))

    def set_check_state(self, pool: str, values: Mapping[str, str | int | float]) -> None:
        self.r.hset(keys.pool_check_state(pool), mapping=hash_mapping(values))

    def clone_and_ondemand_counters(self) -> tuple[int, int]:
        clone, ondemand = self.r.mget(keys.CLONE_COUNTER, keys.ONDEMAND_CLONE_COUNTER)
        return int(clone or 0), int(ondemand or 0)

    def ondemand_requests_waiting(self) -> int:
        """On-demand requests received or being provisioned (v3 ``/status`` ``requested``)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zcard(keys.PROVISIONING_REQUEST)
        pipe.zcard(keys.PROVISIONING_PROCESSING)
        return sum(pipe.execute())

    def lastboot(self) -> dict[str, str]:
        return text_hash(self.r.hgetall(keys.LASTBOOT))

    def day_stats(self, kind: str, day: str) -> dict[str, str]:
        key = keys.boot_stats(day) if kind == "boot" else keys.clone_stats(day)
        return text_hash(self.r.hgetall(key))
