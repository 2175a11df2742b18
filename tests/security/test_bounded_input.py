"""Tags, numbers and bodies are bounded; the body limits are tested over real HTTP."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.harness.service import serve
from tests.harness.snapshots import redis_state

UNICODE_DIGITS = ["\u00b2", "\u0663", "\uff11", "1\u00b2", "\u0663\u0663"]


def _running(api, vm: str = "vm-t") -> str:
    return api.add_vm("pool1", vm, state="running", checkout="2026-01-10 08:00:00 +0000")


def test_tags_per_vm_are_bounded_in_count_and_size(make_api):
    api = make_api(config={"max_tags_per_vm": 3, "max_tags_bytes": 40})
    _running(api)
    assert api.put("/api/v1/vm/vm-t", data=json.dumps({"tags": {"a": "1", "b": "2"}})).status_code == 200
    before = redis_state(api.redis)
    reply = api.put("/api/v1/vm/vm-t", data=json.dumps({"tags": {"c": "3", "d": "4"}}))
    assert reply.status_code == 400 and "at most 3 tags" in reply.get_json()["error"]
    reply = api.put("/api/v1/vm/vm-t", data=json.dumps({"tags": {"c": "x" * 40}}))
    assert reply.status_code == 400 and "at most 40 bytes" in reply.get_json()["error"]
    assert redis_state(api.redis) == before
    # Replacing a tag's value does not count twice.
    assert api.put("/api/v1/vm/vm-t", data=json.dumps({"tags": {"a": "new", "c": "3"}})).status_code == 200


def test_default_tag_bounds_stop_a_flood(api):
    _running(api)
    tags = {f"t{i}": "x" * 1000 for i in range(57)}
    reply = api.put("/api/v1/vm/vm-t", data=json.dumps({"tags": tags}))
    assert reply.status_code == 400
    assert not [field for field in api.vm("vm-t") if field.startswith("tag:")]


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_counts_and_sizes_take_ascii_digits_only(make_api, digit):
    api = make_api(config={"experimental_features": True})
    _running(api)
    api.add_vm("pool1", "ready-1")
    before = redis_state(api.redis)
    for method, path, body in [
        ("post", "/api/v1/vm", {"pool1": digit}),
        ("post", "/api/v1/ondemandvm", {"pool1": digit}),
        ("post", "/api/v1/config/poolsize", {"pool1": digit}),
        ("put", "/api/v1/vm/vm-t", {"lifetime": digit}),
        ("post", f"/api/v1/vm/vm-t/disk/{digit}", None),
    ]:
        reply = getattr(api, method)(path, data=None if body is None else json.dumps(body))
        assert reply.status_code == 400, (path, digit, reply.status_code)
        assert reply.get_json()["ok"] is False
    assert redis_state(api.redis) == before
    assert not api.dispatcher.of("create_disk")


def _raw_http(base_url: str, request: bytes, chunks: list[bytes] = ()) -> bytes:
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading at the limit
        received = b""
        while not _complete(received):
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
        return received


def _complete(response: bytes) -> bool:
    """A whole response has arrived: its head and ``Content-Length`` bytes of body."""
    head, found, body = response.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def test_a_declared_oversized_body_is_refused_before_it_is_read(make_api):
    api = make_api(config={"max_request_bytes": 1024})
    with serve(api.app) as base_url:
        # 200 MB announced, none sent: the answer comes at once, without waiting for the body.
        reply = _raw_http(base_url, b"POST /api/v1/vm HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n"
                                    b"Content-Type: application/json\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["ok"] is False and "1024 bytes" in json.loads(body)["error"]


def test_a_chunked_body_is_cut_off_at_the_limit(make_api):
    api = make_api(config={"max_request_bytes": 1024})
    api.add_vm("pool1", "ready-1")
    chunk = b"x" * 512
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 64 + [b"0\r\n\r\n"]
    with serve(api.app) as base_url:
        reply = _raw_http(base_url, b"POST /api/v1/vm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                    b"Content-Type: application/json\r\nConnection: close\r\n\r\n", chunks)
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), reply[:300]
        assert json.loads(body)["ok"] is False
        # A small chunked body is read whole and served.
        small = json.dumps({"pool1": 1}).encode()
        reply = _raw_http(base_url, b"POST /api/v1/vm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                    b"Connection: close\r\n\r\n", [b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small)])
    assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
    assert api.members("running", "pool1") == {"ready-1"}


def test_a_bad_content_length_is_a_400(make_api):
    api = make_api()
    with serve(api.app) as base_url:
        reply = _raw_http(base_url, b"POST /api/v1/vm HTTP/1.1\r\nHost: x\r\nContent-Length: \xd9\xa3\r\n"
                                    b"Connection: close\r\n\r\n")
    assert reply.split(b"\r\n")[0].split(b" ")[1] in (b"400",)
