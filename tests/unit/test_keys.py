"""The key builders refuse any component that could name another key."""

from __future__ import annotations

import inspect

import pytest

from vmpooler.domain.states import State
from vmpooler.store import keys

HOSTILE = ["", "a__b", "__", "a*", "*", "a?", "[ab]", "a]", "a b", "a\nb", "a\x00", "_a", "a_", "a___b",
           "a:b", "a,b", "a/b", "é", "\u00b2", "a\\b", "x" * 256]
SAFE = ["pool1", "debian-7-x86_64", "a_b", "a_b_c", "vm.example.com", "2026-11-30", "A1", "x" * 255]

BUILDERS = [(name, function) for name, function in inspect.getmembers(keys, inspect.isfunction)
            if function.__module__ == keys.__name__ and name not in ("safe", "is_safe_component",
                                                                        "request_id_component")]


# Builders whose first argument is a State (never a client string).
STATE_BUILDERS = (keys.state_set, keys.state_set_prefix)


def _call(function, value, position: int) -> str:
    count = len(inspect.signature(function).parameters)
    args: list = ["ok"] * count
    if function in STATE_BUILDERS:
        args[0] = State.READY
    args[position] = value
    return function(*args)


@pytest.mark.parametrize("name,function", BUILDERS, ids=[name for name, _ in BUILDERS])
def test_every_builder_refuses_hostile_components_in_every_position(name, function):
    for position in range(len(inspect.signature(function).parameters)):
        if function in STATE_BUILDERS and position == 0:
            # The state is a State, never a string (one that names no state is a KeyError).
            for value in HOSTILE:
                with pytest.raises(KeyError):
                    _call(function, value, position)
            continue
        for value in HOSTILE:
            with pytest.raises(keys.UnsafeKeyComponent):
                _call(function, value, position)
        for value in SAFE:
            assert value in _call(function, value, position)


def test_builders_are_all_covered():
    # A new builder is found by the introspection above; this guards the introspection itself.
    assert {"vm", "state_set", "token", "odrequest", "request_vms", "tag_stats", "dummy_inventory"} <= {
        name for name, _ in BUILDERS}


@pytest.mark.parametrize("name,function", BUILDERS, ids=[name for name, _ in BUILDERS])
def test_every_kind_of_key_is_a_reserved_namespace(name, function):
    """An on-demand request id may never equal the first component of another kind of key."""
    if name == "request_vms":
        return
    key = _call(function, State.READY if function is keys.state_set_prefix else "ok", 1 if function is keys.state_set else 0)
    assert key.startswith(keys.PREFIX)
    assert key[len(keys.PREFIX):].split("__")[0] in keys.NAMESPACES


@pytest.mark.parametrize("request_id", ["token", "ready", "vm", "odrequest", "ready_order", "Token", "LOCK"])
def test_request_ids_that_name_a_kind_of_key_are_refused(request_id):
    with pytest.raises(keys.UnsafeKeyComponent):
        keys.request_vms(request_id, "alias", "pool")
    with pytest.raises(keys.UnsafeKeyComponent):
        keys.odrequest(request_id)


def test_constant_keys_stay_within_their_namespaces():
    for name, value in vars(keys).items():
        if name.isupper() and isinstance(value, str) and value.startswith(keys.PREFIX) and value != keys.PREFIX:
            assert value[len(keys.PREFIX):].split("__")[0] in keys.NAMESPACES, name
