"""Log lines in the original's format, to the configured logfile, from every process."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import subprocess
import sys

import pytest
import requests
import yaml
from flask import jsonify

from tests.helpers import RecordingDispatcher, make_settings, wait_for
from vmpooler.api import create_app
from vmpooler.bootstrap import Services
from vmpooler.logs import configure_logging

LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ")


@pytest.fixture
def restore_logging():
    root, ours = logging.getLogger(), logging.getLogger("vmpooler")
    saved = (list(root.handlers), root.level, ours.level)
    yield
    for handler in [h for h in root.handlers if h not in saved[0]]:
        root.removeHandler(handler)
        handler.close()
    root.level, ours.level = saved[1], saved[2]


def test_logfile_gets_the_original_format_and_levels(tmp_path, restore_logging, capsys):
    logfile = tmp_path / "vmpooler.log"
    configure_logging(str(logfile), debug=False)
    log = logging.getLogger("vmpooler.lifecycle")
    log.info("[+] [%s] '%s' cloned in %.2f seconds", "debian", "vm1", 3.2)
    log.debug("[ ] [%s] Starting to clone '%s'", "debian", "vm2")
    lines = logfile.read_text().splitlines()
    assert len(lines) == 1 and LINE.match(lines[0])
    assert lines[0].endswith("[+] [debian] 'vm1' cloned in 3.20 seconds")
    assert capsys.readouterr().out == ""

    configure_logging(str(logfile), debug=True)
    log.debug("[ ] [%s] Starting to clone '%s'", "debian", "vm2")
    assert logfile.read_text().splitlines()[-1].endswith("[ ] [debian] Starting to clone 'vm2'")
    assert "Starting to clone 'vm2'" in capsys.readouterr().out  # VMPOOLER_DEBUG also writes stdout


def test_without_a_logfile_lines_go_to_stdout(restore_logging, capsys):
    configure_logging(None, debug=False)
    logging.getLogger("vmpooler").info("[!] [pool] is empty")
    out = capsys.readouterr().out
    assert LINE.match(out) and out.endswith("[!] [pool] is empty\n")


def test_request_logger_logs_method_status_path_and_body(tmp_path, redis_url, redis_client, restore_logging):
    logfile = tmp_path / "api.log"
    configure_logging(str(logfile), debug=False)
    settings = make_settings(redis_url, config={"request_logger": True})
    app = create_app(Services(settings), dispatcher=RecordingDispatcher())
    app.add_url_rule("/test/token", "token", lambda: jsonify({"ok": True, "token": "s3cr3t"}))
    client = app.test_client()
    client.get("/api/v1/vm/nosuchvm")
    client.get("/test/token")
    client.get("/dashboard/")
    lines = logfile.read_text().splitlines()
    assert lines[0].endswith("[ ] API: Method: GET, Status: 404, Path: /api/v1/vm/nosuchvm, "
                             "Body: " + json.dumps(client.get("/api/v1/vm/nosuchvm").get_json()))
    assert '"token": "<masked>"' in lines[1] and "s3cr3t" not in logfile.read_text()
    assert re.search(r"Status: 200, Path: /dashboard/, Body: <text/html, \d+ bytes>$", lines[2])


def test_no_request_lines_unless_configured(tmp_path, services, restore_logging):
    logfile = tmp_path / "api.log"
    configure_logging(str(logfile), debug=False)
    create_app(services, dispatcher=RecordingDispatcher()).test_client().get("/api/v1/status")
    assert "API: Method" not in logfile.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.integration
def test_vmpooler_run_logs_to_the_logfile_and_turns_healthy(tmp_path, redis_url, redis_client):
    logfile = tmp_path / "vmpooler.log"
    config = tmp_path / "vmpooler.yaml"
    config.write_text(yaml.safe_dump({
        "config": {"logfile": str(logfile), "request_logger": True},
        "redis": {"url": redis_url},
        "providers": {"dummy": {"createvm_max_time": 0.1}},
        "pools": [{"name": "logged", "size": 1, "provider": "dummy", "template": "t"}],
    }))
    port = _free_port()
    command = [sys.executable, "-m", "vmpooler.cli", "run", "-c", str(config), "--port", str(port),
               "--workers", "1", "--concurrency", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def text():
            return logfile.read_text() if logfile.exists() else ""

        wait_for(lambda: "[+] [logged] '" in text(), timeout=60, message="a worker's clone line")
        wait_for(lambda: "[*] [beat] started" in text(), timeout=30, message="beat's line")
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=5).ok
                 if _listening(port) else False, timeout=30, message="the API")
        wait_for(lambda: "[ ] API: Method: GET, Status: 200, Path: /api/v1/status" in text(), timeout=10)
        # The real beat and worker processes report in: the deployment is healthy.
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthcheck", timeout=5).status_code == 200,
                 timeout=30, message="healthy")
        assert all(LINE.match(line) for line in text().splitlines() if line)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
