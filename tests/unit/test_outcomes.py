"""Outcome enums and the State enum keep the wire values of 1.3.0."""

import json

import pytest

from vmpooler.domain.outcomes import PoolCheckSkipped, RequestEnd
from vmpooler.domain.states import State
from vmpooler.store import keys


def test_state_sets_are_named_by_the_state_value():
    assert keys.state_set(State.READY, "centos-7") == "vmpooler__ready__centos-7"
    assert keys.state_set(State.MIGRATING, "p") == "vmpooler__migrating__p"


def test_a_string_that_names_no_state_is_refused():
    with pytest.raises(KeyError):
        keys.state_set("readyish", "p")  # type: ignore[arg-type]  # the runtime guard under test


def test_outcomes_travel_as_their_text():
    # Celery task results and Lua replies carry the text; the enum parses it back.
    assert json.dumps(PoolCheckSkipped.NOT_DUE) == '"not due"'
    assert RequestEnd("missing") is RequestEnd.MISSING
    with pytest.raises(ValueError):
        RequestEnd("maybe")
