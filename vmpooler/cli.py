"""``vmpooler run|api|worker|beat|check-config|status``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from importlib import metadata
from importlib.util import find_spec
from typing import Mapping

from vmpooler import __version__, bootstrap, runstate
from vmpooler.cli_run import (
    Children,
    StartError,
    Stopper,
    check_port_free,
    die_with_parent,
    local_url,
    supervise,
    wait_until_answering,
)
from vmpooler.cli_status import RedisUnreachable, status_table
from vmpooler.logs import ACCESS_LOG_FORMAT, configure_logging
from vmpooler.settings import ConfigError, Settings
from vmpooler.settings_files import CONFIG_SEARCH_ORDER
from vmpooler.store import probe
from vmpooler.tasks.schedule import QUEUES

GUNICORN_CONF_MODULE = "vmpooler.gunicorn_conf"

log = logging.getLogger("vmpooler")


class CliError(Exception):
    """The command cannot go on; the message is the one line it prints."""


def _load(args, env: Mapping[str, str] | None = None) -> Settings:
    try:
        return bootstrap.load(args.config, env)
    except ConfigError as exc:
        more = f" (and {len(exc.problems) - 1} more: run vmpooler check-config)" if len(exc.problems) > 1 else ""
        raise CliError(f"invalid configuration: {exc.problems[0]}{more}") from None


def _redis_configured(settings: Settings) -> bool:
    return bool(settings.redis.url or settings.redis.server or settings.redis.sentinels)


def _found_redis(settings: Settings) -> dict[str, str]:
    """Without a configured Redis: the REDIS_URL of the running ``vmpooler run``, or a clear error."""
    if _redis_configured(settings):
        return {}
    directory = runstate.state_dir()
    state = runstate.read_state(directory)
    if state is None:
        raise CliError("no Redis is configured (no redis section with server or url, no REDIS_URL or "
                       f"REDIS_SERVER) and no vmpooler run is running (no live {directory / runstate.STATE_FILE})")
    return {"REDIS_URL": state.redis_url}


def _with_found_redis(args) -> tuple[Settings, dict[str, str]]:
    settings = _load(args)
    extra = _found_redis(settings)
    if extra:
        settings = _load(args, {**os.environ, **extra})
    return settings, extra


def _child_env(settings: Settings, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child: the configuration found here, so every process reads the same one."""
    env = dict(os.environ)
    if settings.source != "VMPOOLER_CONFIG":
        env["VMPOOLER_CONFIG_FILE"] = os.path.abspath(settings.source)
    env.update(extra)
    return env


def _given(extra: list[str], *flags: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") or (len(flag) == 2 and arg.startswith(flag))
               for arg in extra for flag in flags)


def _celery(kind: str, extra: list[str], banner: bool) -> list[str]:
    command = [sys.executable, "-m", "celery", "-A", "vmpooler.worker"]
    command += ([] if banner else ["--quiet"]) + [kind]
    if not _given(extra, "-l", "--loglevel"):
        command += ["-l", "WARNING"]
    if kind == "worker" and not _given(extra, "-Q", "--queues"):
        command += ["-Q", ",".join(QUEUES)]
    if kind == "beat" and not _given(extra, "-s", "--schedule"):
        directory = runstate.state_dir()
        directory.mkdir(parents=True, exist_ok=True)
        command += ["-s", str(directory / "beat-schedule")]
    return command + extra


def _gunicorn(args, logfile: str | None, access_log: bool, level: str) -> list[str]:
    bind = f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
    command = [sys.executable, "-m", "gunicorn"]
    if find_spec(GUNICORN_CONF_MODULE) is not None:
        command += ["--config", f"python:{GUNICORN_CONF_MODULE}"]
    command += ["--bind", bind, "--workers", str(args.workers), "--logger-class", "vmpooler.logs.GunicornLogger",
                "--error-logfile", logfile or "-", "--log-level", level, "--access-logformat", ACCESS_LOG_FORMAT]
    if access_log:
        command += ["--access-logfile", logfile or "-"]
    return command + ["vmpooler.api.wsgi:app"]


def _start_logging(settings: Settings) -> None:
    configure_logging(settings.config.logfile)
    log.info("[ ] configuration: %s", os.path.abspath(settings.source)
             if settings.source != "VMPOOLER_CONFIG" else "VMPOOLER_CONFIG")


def _exec(settings: Settings, extra: Mapping[str, str], command: list[str]) -> int:
    _start_logging(settings)
    _check_redis(settings)
    os.execvpe(command[0], command, _child_env(settings, extra))
    return 1


def cmd_status(args) -> int:
    settings, _ = _with_found_redis(args)
    try:
        print(status_table(settings))
    except RedisUnreachable as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def cmd_check_config(args) -> int:
    try:
        settings = bootstrap.load(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    if not settings.pools:
        print("warning: pools: no pools are configured, so workers have nothing to fill (an API "
              "without a pools key serves the pools its workers published to Redis)", file=sys.stderr)
    print(f"configuration OK: {len(settings.pools)} pools, {len(settings.providers)} providers "
          f"({settings.source})")
    return 0


def cmd_api(args) -> int:
    settings, extra = _with_found_redis(args)
    return _exec(settings, extra, _gunicorn(args, settings.config.logfile, not args.no_access_log, "info"))


def _passed_on(celery_args: list[str]) -> list[str]:
    """Celery options follow ``--`` (``vmpooler worker -c F -- -n w1@%h``); argparse keeps the ``--``."""
    return celery_args[1:] if celery_args[:1] == ["--"] else celery_args


def cmd_worker(args) -> int:
    settings, extra = _with_found_redis(args)
    return _exec(settings, extra, _celery("worker", _passed_on(args.celery_args), args.banner))


def cmd_beat(args) -> int:
    settings, extra = _with_found_redis(args)
    return _exec(settings, extra, _celery("beat", _passed_on(args.celery_args), args.banner))


def cmd_run(args) -> int:
    settings = _load(args)
    _start_logging(settings)
    stopper = Stopper()
    directory = runstate.state_dir()
    embedded = None
    children: Children | None = None
    try:
        check_port_free(args.host, args.port)
        if _redis_configured(settings):
            _check_redis(settings)
        else:
            running = runstate.read_state(directory)
            if running is not None:
                raise StartError(f"another vmpooler run (pid {running.pid}) uses the embedded Redis in "
                                 f"{directory}; stop it first or configure a Redis")
            embedded = runstate.EmbeddedRedis(directory)
            url = embedded.start(preexec_fn=die_with_parent(signal.SIGTERM))
            runstate.write_state(directory, runstate.RunState(os.getpid(), url, local_url(args.host, args.port)))
            log.info("[ ] no Redis configured: started an embedded Redis at %s (data in %s)", url, embedded.data_dir)
        children = Children(_child_env(settings, {"REDIS_URL": embedded.url} if embedded else {}))
        _start_children(children, args, settings)
        if not wait_until_answering(children, local_url(args.host, args.port), stopper):
            return 0
        log.info("[ ] vmpooler is running: API on %s/ (Ctrl-C stops everything)", local_url(args.host, args.port))
        return supervise(children, stopper)
    except (StartError, runstate.EmbeddedRedisError, OSError) as exc:
        raise CliError(str(exc)) from None
    finally:
        if children is not None:
            children.stop()
        if embedded is not None:
            embedded.stop()
            runstate.clear_state(directory, os.getpid())


def _check_redis(settings: Settings) -> None:
    """Unreachable, wrong credentials or an untrusted certificate: one line and exit, not a retry loop."""
    problem = probe.problem(settings.redis)
    if problem:
        raise CliError(problem)


def _start_children(children: Children, args, settings: Settings) -> None:
    worker_options = [] if args.concurrency is None else ["--concurrency", str(args.concurrency)]
    # When run is killed: gunicorn stops at once; the worker is killed (its task processes follow it,
    # unfinished tasks go back to the queue), as its shutdown could wait on the Redis that goes too.
    children.start("api", _gunicorn(args, settings.config.logfile, args.access_log, "warning"), signal.SIGQUIT)
    children.start("worker", _celery("worker", worker_options, args.banner), signal.SIGKILL)
    children.start("beat", _celery("beat", [], args.banner), signal.SIGTERM)


def _version() -> str:
    try:
        return metadata.version("vmpooler")
    except metadata.PackageNotFoundError:
        return __version__


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="vmpooler", description="Pools of ready virtual machines.")
    top.add_argument("--version", action="version", version=f"vmpooler {_version()}",
                     help="print the version and exit")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    search = ", else ".join(CONFIG_SEARCH_ORDER[1:])

    def add(name: str, handler, help_text: str, **kwargs) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False, **kwargs)
        command.add_argument("-c", "--config", metavar="CONFIG",
                             help=f"configuration file (default: {search})")
        command.set_defaults(handler=handler, celery_args=[])
        return command

    def web(command: argparse.ArgumentParser) -> None:
        command.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
        command.add_argument("--port", type=int, default=4567, help="port to listen on (default: %(default)s)")
        command.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)),
                             help="gunicorn worker processes (default: $WEB_CONCURRENCY or 2, here %(default)s)")

    def banner(command: argparse.ArgumentParser) -> None:
        command.add_argument("--banner", action="store_true",
                             help="print Celery's start-up banner (default: not printed)")

    run = add("run", cmd_run, "API, one worker and beat together (and an embedded Redis when none is configured)")
    web(run)
    run.add_argument("--concurrency", type=int, default=None,
                     help="worker processes or threads (default: the Celery app's, sized from task_limit)")
    run.add_argument("--access-log", action="store_true", help="log every HTTP request (default: off)")
    banner(run)
    api = add("api", cmd_api, "the REST API (gunicorn)")
    web(api)
    api.add_argument("--no-access-log", action="store_true", help="do not log every HTTP request (default: logged)")
    for name, handler in (("worker", cmd_worker), ("beat", cmd_beat)):
        command = add(name, handler, f"a Celery {name}",
                      usage=f"vmpooler {name} [-h] [-c CONFIG] [--banner] [celery {name} options]",
                      epilog=f"Every other option goes to celery {name} (see celery {name} --help), e.g. "
                             "--concurrency 4 -n w1@%h -Q provision. Celery's -c is written --concurrency "
                             "here, as -c names the configuration.")
        banner(command)
    add("check-config", cmd_check_config, "validate the configuration and print every problem")
    add("status", cmd_status, "the pools' sizes and VM counts, read from Redis")
    return top


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args, extra = top.parse_known_args(argv)
    if extra and args.command not in ("worker", "beat"):
        top.error(f"unrecognized arguments: {' '.join(extra)}")
    args.celery_args = extra
    try:
        return args.handler(args)
    except CliError as exc:
        print(f"vmpooler {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
