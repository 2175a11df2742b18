"""Failed authentications per address and requests per token are limited, across API processes."""

from __future__ import annotations

import pytest

from tests.harness.api import basic


def _too_many(reply) -> int:
    assert reply.status_code == 429, (reply.status_code, reply.get_data(as_text=True))
    assert reply.is_json and reply.get_json()["ok"] is False
    wait = int(reply.headers["Retry-After"])
    assert 0 < wait <= 61
    return wait


def test_failed_authentications_are_limited_per_address_across_processes(make_api):
    config = {"failed_auth_rate_limit": "3 per minute"}
    first = make_api(auth={"provider": "dummy"}, config=config)
    second = make_api(auth={"provider": "dummy"}, config=config)  # another API process, same Redis
    good = first.token("alice")
    first.add_vm("pool1", "vm-1")
    for api in (first, second, first):
        assert api.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": "wrongtoken"}).status_code == 401
    _too_many(second.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": "wrongtoken"}))
    # Blocked means blocked: a right guess from that address is refused as well...
    _too_many(second.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": good}))
    _too_many(first.get("/api/v1/token", headers=basic("same", "same")))
    assert first.members("ready", "pool1") == {"vm-1"}
    # ...while requests without credentials and other addresses are not limited.
    assert first.get("/api/v1/status").status_code == 200
    other = {"REMOTE_ADDR": "10.0.0.9"}
    assert first.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": good}, environ_base=other).status_code == 200


def test_successes_do_not_count(make_api):
    api = make_api(auth={"provider": "dummy"}, config={"failed_auth_rate_limit": "2 per minute"})
    token = api.token("alice")
    for _ in range(5):
        assert api.get(f"/api/v1/token/{token}", headers={"X-AUTH-TOKEN": token}).status_code == 200
        assert api.get("/api/v1/token", headers=basic("alice", "pw")).status_code == 200


def test_requests_per_token_are_limited_when_configured(make_api):
    api = make_api(auth={"provider": "dummy"}, config={"token_rate_limit": "3 per minute"})
    alice, bob = api.token("alice"), api.token("bob")
    for _ in range(3):
        assert api.get("/api/v1/status", headers={"X-AUTH-TOKEN": alice}).status_code == 200
    _too_many(api.get("/api/v1/status", headers={"X-AUTH-TOKEN": alice}))
    assert api.get("/api/v1/status", headers={"X-AUTH-TOKEN": bob}).status_code == 200
    assert api.get("/api/v1/status").status_code == 200


def test_limits_can_be_switched_off(make_api):
    api = make_api(auth={"provider": "dummy"}, config={"failed_auth_rate_limit": None})
    for _ in range(30):
        assert api.post("/api/v1/vm/pool1", headers={"X-AUTH-TOKEN": "wrongtoken"}).status_code == 401


@pytest.mark.parametrize("value", ["lots", "10 per fortnight", ""])
def test_a_bad_rate_is_a_configuration_error(redis_url, value):
    from tests.helpers import make_settings
    from vmpooler.settings import ConfigError
    with pytest.raises(ConfigError, match="token_rate_limit"):
        make_settings(redis_url, config={"token_rate_limit": value})
