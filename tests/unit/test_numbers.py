"""Numbers in text from clients and other writers of Redis: ASCII digits or nothing."""

from __future__ import annotations

import pytest

from vmpooler.domain.numbers import ascii_int
from vmpooler.store.ondemand import parse_requested, parse_task


@pytest.mark.parametrize(("text", "kwargs", "expected"), [
    ("12", {}, 12), (" 12 ", {}, 12), ("0", {}, 0),
    ("²", {}, None), ("١٢", {}, None), ("１２", {}, None), ("", {}, None), (None, {}, None),
    ("1.5", {}, None), ("-3", {}, None), ("+3", {}, None),
    ("+3", {"signed": True}, 3), ("-3", {"negative": True}, -3), ("--3", {"negative": True}, None),
    ("-²", {"negative": True}, None),
])
def test_ascii_int(text, kwargs, expected):
    assert ascii_int(text, **kwargs) == expected


def test_stored_on_demand_counts_in_other_digits_are_skipped_not_a_crash():
    assert parse_task("alias:pool:²:req1") is None
    assert parse_task("alias:pool:2:req1") is not None
    assert [entry.count for entry in parse_requested("a:p:١,b:q:3")] == [3]
