"""The ``redis`` settings: validation, environment overrides, and what they make of
the state client and of Celery's broker."""

from __future__ import annotations

import ssl

import pytest

from tests.helpers import RecordingDispatcher
from vmpooler.api import create_app
from vmpooler.bootstrap import Services
from vmpooler.settings import ConfigError, build_settings, load_settings
from vmpooler.store.connection import broker_settings
from vmpooler.tasks.app import create_celery

POOLS = [{"name": "p", "size": 1, "provider": "dummy"}]


def settings_with(redis: dict, **sections):
    return build_settings({"redis": redis, "providers": {"dummy": {}}, "pools": POOLS, **sections},
                          env={"VMPOOLER_DEBUG": "1"})


def problems(redis: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings_with(redis)
    return caught.value.problems


def test_sentinel_settings_are_validated():
    assert problems({"sentinels": ["10.0.0.1:26379"]}) == [
        "redis.sentinel_master: sentinels need sentinel_master (the name the Sentinels monitor)"]
    assert problems({"sentinels": ["10.0.0.1"], "sentinel_master": "m"}) == [
        "redis.sentinels: '10.0.0.1' is not host:port"]
    assert problems({"sentinels": ["10.0.0.1:²"], "sentinel_master": "m"}) == [
        "redis.sentinels: '10.0.0.1:²' is not host:port"]
    assert problems({"sentinels": ["a:1"], "sentinel_master": "m", "url": "redis://x"}) == [
        "redis.url: give either url or sentinels, not both"]
    assert problems({"url": "http://x"}) == ["redis.url: must be a redis://, rediss:// or unix:// URL"]


def test_tls_files_must_be_readable_and_a_key_needs_its_certificate(tmp_path):
    missing = str(tmp_path / "ca.pem")
    assert problems({"ssl": True, "ssl_ca_file": missing}) == [
        f"redis.ssl_ca_file: cannot read '{missing}' (No such file or directory)"]
    key = tmp_path / "client.key"
    key.write_text("key")
    assert problems({"ssl_key_file": str(key)}) == [
        "redis.ssl_cert_file: a client key needs its certificate (ssl_cert_file)"]


def test_environment_overrides_the_new_keys(tmp_path):
    path = tmp_path / "vmpooler.yaml"
    path.write_text("providers:\n  dummy: {}\n")
    env = {"REDIS_SENTINELS": "10.0.0.1:26379, 10.0.0.2:26379", "REDIS_SENTINEL_MASTER": "vmpooler",
           "REDIS_SENTINEL_PASSWORD": "spw", "REDIS_USERNAME": "svc", "REDIS_PASSWORD": "pw",
           "REDIS_SSL": "true", "REDIS_DB": "3", "REDIS_CONNECT_TIMEOUT": "0.5", "REDIS_SOCKET_TIMEOUT": "2"}
    redis = load_settings(str(path), env).redis
    assert (redis.sentinels, redis.sentinel_master, redis.sentinel_password) == (
        ("10.0.0.1:26379", "10.0.0.2:26379"), "vmpooler", "spw")
    assert (redis.username, redis.password, redis.ssl, redis.db) == ("svc", "pw", True, 3)
    assert (redis.connect_timeout, redis.socket_timeout) == (0.5, 2.0)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), {"REDIS_CONNECT_TIMEOUT": "soon"})
    assert caught.value.problems == ["REDIS_CONNECT_TIMEOUT: must be a number of seconds, got 'soon'"]


def test_the_broker_follows_sentinel_tls_and_the_acl_user(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("ca")
    redis = settings_with({"sentinels": ["10.0.0.1:26379", "10.0.0.2:26380"], "sentinel_master": "vmp",
                           "sentinel_password": "spw", "username": "svc", "password": "p@ss/word",
                           "ssl": True, "ssl_ca_file": str(ca), "db": 2, "socket_timeout": 3}).redis
    broker = broker_settings(redis)
    assert broker.url == "sentinel://svc:p%40ss%2Fword@10.0.0.1:26379/2;sentinel://svc:p%40ss%2Fword@10.0.0.2:26380/2"
    assert broker.transport_options["master_name"] == "vmp"
    assert broker.transport_options["sentinel_kwargs"]["password"] == "spw"
    assert broker.transport_options["socket_connect_timeout"] == 5.0
    assert broker.use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": str(ca)}


def test_celery_uses_the_state_redis_unless_another_broker_is_named():
    services = Services(settings_with({"sentinels": ["10.0.0.1:26379"], "sentinel_master": "vmp"}))
    conf = create_celery(services).conf
    assert conf.broker_url == "sentinel://10.0.0.1:26379/0"
    assert conf.broker_transport_options["master_name"] == "vmp"
    assert "visibility_timeout" in conf.broker_transport_options
    other = Services(settings_with({"sentinels": ["10.0.0.1:26379"], "sentinel_master": "vmp"},
                                   celery={"broker_url": "amqp://guest@mq//"}))
    conf = create_celery(other).conf
    assert conf.broker_url == "amqp://guest@mq//"
    assert "master_name" not in conf.broker_transport_options
    assert broker_settings(settings_with({"url": "unix:///run/redis.sock"}).redis).url == \
        "redis+socket:///run/redis.sock"


def test_an_unreachable_redis_is_a_503_json_with_retry_after():
    # Port 1 on loopback refuses at once; no retries so the test stays fast.
    services = Services(settings_with({"url": "redis://127.0.0.1:1/0", "reconnect_attempts": 0}))
    client = create_app(services, dispatcher=RecordingDispatcher()).test_client()
    for method, path in (("get", "/api/v1/status"), ("post", "/api/v1/vm/p"), ("delete", "/api/v1/vm/p-vm")):
        response = getattr(client, method)(path)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "2"
        assert response.get_json()["ok"] is False
        assert "cannot reach its Redis server" in response.get_json()["error"]
