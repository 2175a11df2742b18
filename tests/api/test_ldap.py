"""LDAP authentication against a real slapd started for these tests."""

from __future__ import annotations

import os

import pytest

from tests.api.slapd import SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd, find_program
from tests.harness.api import basic
from tests.helpers import make_settings
from vmpooler.auth import authenticate


@pytest.fixture(scope="module")
def slapd():
    if not (find_program("slapd") and find_program("ldapadd")):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("slapd and ldapadd are needed for the LDAP tests (.ci/run installs them)")
        pytest.skip("slapd/ldap-utils are not installed (apt-get install slapd ldap-utils)")
    server = Slapd().start()
    yield server
    server.stop()


def auth_section(server, **ldap) -> dict:
    return {"provider": "ldap", "ldap": {"host": "127.0.0.1", "port": server.port, **ldap}}


def auth_of(redis_url, section):
    return make_settings(redis_url, auth=section).auth


def test_direct_bind_tries_every_base_and_user_object(slapd, redis_url):
    auth = auth_of(redis_url, auth_section(slapd, base=f"ou=people,{SUFFIX} ou=staff,{SUFFIX}",
                                           user_object=["uid", "cn"]))
    assert auth.ldap.base == (f"ou=people,{SUFFIX}", f"ou=staff,{SUFFIX}")
    assert authenticate(auth, "alice", "alice-pw")
    assert authenticate(auth, "bob", "bob-pw")          # cn=bob,ou=staff
    assert not authenticate(auth, "alice", "wrong")
    assert not authenticate(auth, "alice", "")          # no unauthenticated bind
    assert not authenticate(auth, "carol", "carol-pw")  # below a base: only found by a search
    assert not authenticate(auth, "alice,ou=x", "alice-pw")


@pytest.mark.parametrize("account", [
    {"service_account_hash": {"user_dn": SERVICE_DN, "password": SERVICE_PASSWORD}},
    {"bind_as": SERVICE_DN, "bind_password": SERVICE_PASSWORD},
])
def test_service_account_searches_then_binds_as_the_user(slapd, redis_url, account):
    auth = auth_of(redis_url, auth_section(slapd, base=SUFFIX, user_object="uid", **account))
    assert authenticate(auth, "carol", "carol-pw")
    assert authenticate(auth, "alice", "alice-pw")
    assert not authenticate(auth, "carol", "alice-pw")
    assert not authenticate(auth, "nobody", "x")
    assert not authenticate(auth, "*", "carol-pw")


def test_wrong_service_password_or_unreachable_server_refuses(slapd, redis_url):
    auth = auth_of(redis_url, auth_section(slapd, base=SUFFIX, user_object="uid",
                                           bind_as=SERVICE_DN, bind_password="wrong"))
    assert not authenticate(auth, "carol", "carol-pw")
    closed = auth_of(redis_url, {"provider": "ldap", "ldap": {"host": "127.0.0.1", "port": 1,
                                                              "base": SUFFIX, "user_object": "uid"}})
    assert not authenticate(closed, "alice", "alice-pw")


def test_token_endpoint_with_ldap_users(slapd, make_api):
    api = make_api(auth=auth_section(slapd, base=[f"ou=people,{SUFFIX}"], user_object="uid"))
    reply = api.post("/api/v1/token", headers=basic("alice", "alice-pw"))
    assert reply.status_code == 200 and len(reply.get_json()["token"]) == 32
    assert api.post("/api/v1/token", headers=basic("alice", "nope")).status_code == 401
