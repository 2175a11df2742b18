"""A real redis-server with TLS (client certificates required) and the README's ACL user.

The whole service (a Celery worker on the TLS broker, the API over HTTP) works with
only the permissions the README lists; wrong credentials or an untrusted certificate
stop ``vmpooler api`` at once with one line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

import pytest
import redis
import requests
import yaml

from tests.harness.service import running_pooler
from tests.helpers import wait_for
from tests.redis_ha.certs import Authority
from tests.redis_ha.servers import REDIS_SERVER, Process, free_port, wait_until
from vmpooler.settings import build_settings

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
PASSWORD = "s3cret-Pa55"


def documented_acl() -> str:
    """The ACL rule of the service's user, as the README gives it."""
    with open(README, encoding="utf-8") as handle:
        found = re.search(r"^(user vmpooler on >\S+ .+)$", handle.read(), re.MULTILINE)
    assert found, "the README lists the ACL user's rule"
    return re.sub(r">\S+", ">" + PASSWORD, found.group(1), count=1)


class TlsRedis:
    def __init__(self, workdir: str):
        self.workdir = workdir
        self.ca = Authority(workdir)
        self.server_cert, self.server_key = self.ca.issue("server", server=True)
        self.client_cert, self.client_key = self.ca.issue("client", server=False)
        self.port = free_port()
        path = os.path.join(workdir, "redis.conf")
        with open(path, "w", encoding="utf-8") as conf:
            conf.write(f"port 0\ntls-port {self.port}\nbind 127.0.0.1\ndir {workdir}\nsave \"\"\n"
                       f"tls-cert-file {self.server_cert}\ntls-key-file {self.server_key}\n"
                       f"tls-ca-cert-file {self.ca.ca_file}\ntls-auth-clients yes\n"
                       f"user default off\nuser admin on >admin-pw ~* &* +@all\n{documented_acl()}\n")
        self.process = Process("redis-tls", [REDIS_SERVER, path], workdir)
        wait_until(lambda: self.admin().ping(), 20, "the TLS Redis to start")

    def admin(self) -> redis.Redis:
        return redis.Redis(port=self.port, username="admin", password="admin-pw", ssl=True,
                           ssl_ca_certs=self.ca.ca_file, ssl_certfile=self.client_cert,
                           ssl_keyfile=self.client_key, decode_responses=True)

    def redis_section(self, **overrides) -> dict:
        section = {"server": "127.0.0.1", "port": self.port, "ssl": True, "ssl_ca_file": self.ca.ca_file,
                   "ssl_cert_file": self.client_cert, "ssl_key_file": self.client_key,
                   "username": "vmpooler", "password": PASSWORD}
        section.update(overrides)
        return section


@pytest.fixture(scope="module")
def tls_redis():
    workdir = tempfile.mkdtemp(prefix="vmpooler-tls-")
    server = TlsRedis(workdir)
    yield server
    server.process.stop()


@pytest.fixture
def http_session():
    with requests.Session() as session:
        yield session


def denied(server: TlsRedis) -> list[str]:
    return [f"{entry['object']} ({entry['reason']})" for entry in server.admin().acl_log()]


@pytest.mark.timeout(120)
def test_the_service_runs_over_tls_as_the_restricted_acl_user(tls_redis, http_session):
    tls_redis.admin().acl_log_reset()
    pools = [{"name": "secure", "size": 2, "provider": "dummy", "template": "t/secure"}]
    raw = {"config": {"task_limit": 4, "check_loop_delay_min": 1, "check_loop_delay_max": 2,
                      "healthcheck_details": True},
           "redis": tls_redis.redis_section(wait_replicas=1), "prometheus": {},
           "providers": {"dummy": {"seed": 3}}, "pools": pools}
    settings = build_settings(raw, env={"VMPOOLER_DEBUG": "1"})
    with running_pooler(settings) as pooler:
        wait_for(lambda: pooler.count("ready", "secure") == 2, timeout=60, message="pool filled over TLS")
        checkout = http_session.post(pooler.url("/api/v1/vm/secure"))
        assert checkout.status_code == 200, checkout.text
        host = checkout.json()["secure"]["hostname"]
        for path in (f"/api/v1/vm/{host}", "/api/v1/status", "/api/v1/summary", "/prometheus"):
            assert http_session.get(pooler.url(path)).status_code == 200, path
        assert http_session.delete(pooler.url(f"/api/v1/vm/{host}")).json() == {"ok": True}
        wait_for(lambda: pooler.count("ready", "secure") == 2 and pooler.count("completed", "secure") == 0,
                 timeout=60, message="the returned VM destroyed and replaced")
        health = http_session.get(pooler.url("/healthcheck")).json()
        assert health["redis"]["master"] == f"127.0.0.1:{tls_redis.port}"
    assert denied(tls_redis) == []


def start_api(tmp_path, server: TlsRedis, **overrides) -> subprocess.CompletedProcess:
    raw = {"redis": server.redis_section(**overrides), "providers": {"dummy": {}},
           "pools": [{"name": "a", "size": 1, "provider": "dummy"}]}
    path = tmp_path / "vmpooler.yaml"
    path.write_text(yaml.safe_dump(raw))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMPOOLER_CONFIG", "REDIS_"))}
    return subprocess.run([sys.executable, "-m", "vmpooler.cli", "api", "-c", str(path), "--port", str(free_port())],
                          env=env, capture_output=True, text=True, timeout=60)


def test_wrong_password_stops_the_api_with_one_line(tls_redis, tmp_path):
    result = start_api(tmp_path, tls_redis, password="wrong")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "refused the credentials of user 'vmpooler'" in result.stderr


def test_untrusted_certificate_stops_the_api_with_one_line(tls_redis, tmp_path):
    stranger = Authority(str(tmp_path), name="another CA")
    result = start_api(tmp_path, tls_redis, ssl_ca_file=stranger.ca_file)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("vmpooler api: TLS with Redis at rediss://127.0.0.1:")
    assert "certificate verify failed" in result.stderr
