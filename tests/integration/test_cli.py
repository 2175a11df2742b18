"""The command line as a user types it: configuration search, check-config, options, help."""

from __future__ import annotations

import re
import signal

import pytest
import yaml

from tests.helpers import wait_for
from tests.integration.cli_harness import FAST_CONFIG, REPO, User
from vmpooler import __version__
from vmpooler.bootstrap import Services
from vmpooler.cli import parser
from vmpooler.settings import load_settings
from vmpooler.tasks.app import create_celery


@pytest.fixture
def user():
    user = User()
    yield user
    user.cleanup()


def source_of(user: User, *args: str, **env: str) -> str:
    result = user.command("check-config", *args, env=env)
    assert result.returncode == 0, result.stderr
    return re.fullmatch(r"configuration OK: \d+ pools, \d+ providers \((.*)\)\n", result.stdout).group(1)


def test_the_configuration_is_searched_in_the_documented_order(user):
    packaged = str(REPO / "vmpooler" / "data" / "vmpooler.yaml")
    assert source_of(user) == packaged
    user.write("config/vmpooler.yaml", FAST_CONFIG)
    assert source_of(user) == "config/vmpooler.yaml"
    assert source_of(user, VMPOOLER_CONFIG=FAST_CONFIG) == "VMPOOLER_CONFIG"
    file_env = str(user.write("env.yaml", FAST_CONFIG))
    assert source_of(user, VMPOOLER_CONFIG=FAST_CONFIG, VMPOOLER_CONFIG_FILE=file_env) == file_env
    assert source_of(user, "-c", "config/vmpooler.yaml", VMPOOLER_CONFIG=FAST_CONFIG,
                     VMPOOLER_CONFIG_FILE=file_env) == "config/vmpooler.yaml"


def test_the_shipped_configs_pass_and_never_fail_clones_on_purpose():
    user = User()
    try:
        for path in ("config/vmpooler.yaml", "config/vmpooler.vsphere.yaml"):
            result = user.command("check-config", "-c", str(REPO / path))
            assert result.returncode == 0, result.stderr
            assert result.stdout.startswith("configuration OK") and result.stderr == ""
    finally:
        user.cleanup()
    dummy = load_settings(str(REPO / "config" / "vmpooler.yaml"), env={}).providers["dummy"].options
    assert {key: value for key, value in dummy.items() if key.endswith("fail_percent")} == {
        "createvm_fail_percent": 0, "destroyvm_fail_percent": 0, "vmready_fail_percent": 0}
    assert "#   createvm_fail_percent: 5" in (REPO / "config" / "vmpooler.yaml").read_text()


def test_check_config_reports_every_problem_of_a_file_in_one_run(user):
    user.write("bad.yaml", """\
:config:
  colour: red
:providers:
  :dummy:
    createvm_fail_percent: 500
:pools:
  - name: p
    provider: dummy
  - name: q
    size: 1
    provider: nowhere
  - name: r
    size: 1
    provider: dummy
    alias: 'p'
  - name: r
    size: 2
    provider: dummy
""")
    result = user.command("check-config", "-c", "bad.yaml", env={"TASK_LIMIT": "lots"})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "TASK_LIMIT: must be a whole number, got 'lots'",
        "config.colour: unknown key",
        "pools.0.size: Missing data for required field.",
        "pools.3.name: duplicate pool name 'r'",
        "pools.1.provider: unknown provider 'nowhere' (not a key of providers)",
        "pools.2.alias: 'p' is already the name of a pool",
        "providers.dummy.createvm_fail_percent: Must be greater than or equal to 0 and less than or equal to 100.",
    ]
    assert result.stdout == ""


@pytest.mark.parametrize("text", ["", ":config:\n  task_limit: 2\n", ":pools: []\n"])
def test_check_config_warns_when_there_are_no_pools(user, text):
    user.write("nopools.yaml", text)
    result = user.command("check-config", "-c", "nopools.yaml")
    assert result.returncode == 0
    assert result.stderr.startswith("warning: pools: no pools are configured")
    assert result.stdout == "configuration OK: 0 pools, 0 providers (nopools.yaml)\n"


def test_check_config_install_hint_works_for_a_source_checkout(user):
    # A pyVmomi that cannot be imported, as on a machine without the vsphere extra.
    user.write("hide/pyVmomi/__init__.py", "raise ImportError('No module named pyVmomi')\n")
    result = user.command("check-config", "-c", str(REPO / "config" / "vmpooler.vsphere.yaml"),
                          env={"PYTHONPATH": f"{user.cwd / 'hide'}:{REPO}"})
    assert result.returncode == 1
    assert "run pip install -e '.[vsphere]' in the vmpooler source directory" in result.stderr


def test_version(user):
    result = user.command("--version")
    assert (result.returncode, result.stdout) == (0, f"vmpooler {__version__}\n")


def subcommands() -> dict:
    return next(action for action in parser()._actions if action.dest == "command").choices


@pytest.mark.parametrize("command", ["run", "api", "worker", "beat", "check-config", "status"])
def test_every_option_has_help_with_its_default_and_is_in_the_readme(user, command):
    result = user.command(command, "--help")
    assert result.returncode == 0
    readme_row = next(line for line in (REPO / "README.md").read_text().splitlines()
                      if line.startswith(f"| `vmpooler {command} "))
    options = [action for action in subcommands()[command]._actions if action.option_strings and action.dest != "help"]
    assert options
    for action in options:
        assert action.help and "default" in action.help, action.option_strings
        assert any(re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", readme_row)
                   for flag in action.option_strings), (action.option_strings, readme_row)
    help_text = " ".join(result.stdout.split())
    assert help_text.count("(default: ") >= len(options)


@pytest.mark.integration
def test_worker_and_beat_pass_celery_options_through(user, redis_url, redis_client):
    config = user.write("vmpooler.yaml", FAST_CONFIG + f":redis:\n  url: '{redis_url}'\n")
    worker = user.start("worker", "-c", str(config), "--concurrency", "1", "-n", "w1@%h", "-Q", "provision")
    beat = user.start("beat", "-c", str(config), "--max-interval", "1")
    app = create_celery(Services(load_settings(str(config), env={})))
    try:
        def queues():
            replies = app.control.inspect(timeout=1).active_queues() or {}
            return {name: [queue["name"] for queue in found] for name, found in replies.items()}
        names = wait_for(queues, timeout=60, interval=0.5, message="the worker answering")
        assert [(name.split("@")[0], found) for name, found in names.items()] == [("w1", ["provision"])]
        stats = app.control.inspect(timeout=1).stats()
        assert [reply["pool"]["max-concurrency"] for reply in stats.values()] == [1]
        beat.wait_output("[*] [beat] started")
        assert beat.process.poll() is None
        assert "celery@" not in worker.output and "beat: Starting" not in beat.output  # no banners
    finally:
        for running in (worker, beat):
            running.signal(signal.SIGTERM)
            running.process.wait(timeout=30)
            running.close()
        app.close()


def test_readme_set_up_commands_are_the_documented_ones():
    readme = (REPO / "README.md").read_text()
    setup = readme[readme.index("## Set-up"):readme.index("## Commands")]
    assert "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/vmpooler run" in setup
    assert "bash .ci/run" in setup
    ci = (REPO / ".ci" / "run").read_text()
    assert "python3 -m pytest -q" in ci and "python3 -m pytest -q" in setup


def test_procfile_processes_need_redis_url_as_documented():
    procfile = yaml.safe_load((REPO / "Procfile").read_text())
    assert set(procfile) == {"web", "worker", "beat"}
    scale = (REPO / "README.md").read_text().split("## Running at scale")[1].split("\n## ")[0]
    assert "REDIS_URL" in scale and "honcho start" in scale
    for line in (REPO / "Procfile").read_text().splitlines():
        if not line.startswith("#"):
            assert line.split(": ", 1)[1] in scale
