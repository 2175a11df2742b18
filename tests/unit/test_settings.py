"""Reading vmpooler's own vmpooler.yaml, environment overrides, validation errors."""

from __future__ import annotations

import textwrap

import pytest

from vmpooler import bootstrap
from vmpooler.settings import ConfigError, load_settings

ORIGINAL_STYLE = """
---
:providers:
  :vsphere:
    server: 'vsphere.example.com'
    username: 'vmpooler'
    password: 'swordfish'
    datacenter: 'DC1'
:redis:
  server: 'redis.example.com'
:config:
  site_name: 'vmpooler'
  logfile: '/var/log/vmpooler.log'
  task_limit: 10
  timeout: 15
  vm_checktime: 1
  vm_lifetime: 12
  vm_lifetime_auth: 24
  allowed_tags:
    - 'created_by'
    - 'project'
  domain: 'example.com'
  prefix: 'poolvm-'
  create_linked_clones: false
  experimental_features: true
:tagfilter:
  url: '(.*)\\/'
:pools:
  - name: 'debian-7-i386'
    alias: [ 'debian-7-32' ]
    template: 'Templates/debian-7-i386'
    folder: 'Pooled VMs/debian-7-i386'
    datastore: 'vmstorage'
    size: 5
    timeout: 15
    ready_ttl: 1440
    provider: vsphere
  - name: 'debian-7-x86_64'
    alias: [ 'debian-7-64', 'debian-7-amd64' ]
    template: 'Templates/debian-7-x86_64'
    folder: 'Pooled VMs/debian-7-x86_64'
    datastore: 'vmstorage'
    size: 5
"""


def write(tmp_path, text, name="vmpooler.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_reads_the_original_symbol_style_file_unchanged(tmp_path):
    settings = load_settings(write(tmp_path, ORIGINAL_STYLE), env={})
    assert settings.config.task_limit == 10
    assert settings.config.domain == "example.com"
    assert settings.config.create_linked_clones is False  # 1.3.0 ignored a file `false`
    assert settings.config.allowed_tags == ["created_by", "project"]
    assert settings.redis.server == "redis.example.com"
    assert settings.redis.data_ttl == 168
    assert settings.providers["vsphere"].options["server"] == "vsphere.example.com"
    first, second = settings.pools
    assert first.ready_ttl == 1440
    assert second.ready_ttl == 60  # the global default is copied into pools without one
    assert second.provider == "vsphere"  # the only configured provider
    assert settings.aliases["debian-7-64"] == ("debian-7-x86_64",)
    assert "debian-7-amd64" in settings.pool_names and "debian-7-i386" in settings.pool_names
    assert settings.tagfilter["url"] == "(.*)\\/"


def test_plain_keys_mean_the_same(tmp_path):
    text = "config:\n  task_limit: 3\npools:\n  - name: p\n    size: 1\n    provider: dummy\n"
    settings = load_settings(write(tmp_path, text), env={})
    assert settings.config.task_limit == 3
    assert settings.pools[0].provider == "dummy"


def test_vmpooler_config_env_holds_the_whole_yaml(tmp_path):
    settings = load_settings(None, env={"VMPOOLER_CONFIG": ":config:\n  task_limit: 7\n"})
    assert settings.config.task_limit == 7
    assert settings.source == "VMPOOLER_CONFIG"


def test_vmpooler_config_file_env_names_the_file(tmp_path):
    path = write(tmp_path, ":config:\n  prefix: 'x-'\n", "other.yaml")
    assert load_settings(None, env={"VMPOOLER_CONFIG_FILE": path}).config.prefix == "x-"


def test_environment_overrides_with_real_booleans(tmp_path):
    path = write(tmp_path, ":config:\n  experimental_features: true\n  task_limit: 2\n")
    env = {"TASK_LIMIT": "12", "EXPERIMENTAL_FEATURES": "false", "USAGE_STATS": "TRUE",
           "REDIS_SERVER": "r.example.com", "REDIS_PORT": "6380", "PREFIX": "ci-", "DOMAIN": "d.example",
           "CREATE_LINKED_CLONES": "false", "STATSD_SERVER": "stats.example", "STATSD_PORT": "9125"}
    settings = load_settings(path, env=env)
    assert settings.config.task_limit == 12
    assert settings.config.experimental_features is False  # "false" is false, unlike 1.3.0
    assert settings.config.usage_stats is True
    assert settings.config.create_linked_clones is False
    assert (settings.redis.server, settings.redis.port) == ("r.example.com", 6380)
    assert (settings.config.prefix, settings.config.domain) == ("ci-", "d.example")
    assert (settings.statsd.server, settings.statsd.port, settings.statsd.prefix) == ("stats.example", 9125, "vmpooler")


def test_bad_environment_values_are_named(tmp_path):
    path = write(tmp_path, ":config: {}\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={"TASK_LIMIT": "10m", "EXPERIMENTAL_FEATURES": "maybe"})
    assert "TASK_LIMIT: must be a whole number, got '10m'" in error.value.problems
    assert "EXPERIMENTAL_FEATURES: must be true or false, got 'maybe'" in error.value.problems


def test_extra_config_files_are_merged(tmp_path):
    write(tmp_path, ":pools:\n  - name: extra\n    size: 1\n    provider: dummy\n", "extra.yaml")
    write(tmp_path, ":config:\n  task_limit: 4\n", "more.yaml")
    path = write(tmp_path, ":config:\n  task_limit: 2\n  extra_config: 'extra.yaml,more.yaml'\n"
                           ":pools:\n  - name: base\n    size: 2\n    provider: dummy\n")
    settings = load_settings(path, env={})
    assert [p.name for p in settings.pools] == ["base", "extra"]
    assert settings.config.task_limit == 4


def test_deprecated_locations_are_migrated_with_a_warning(tmp_path, caplog):
    text = """
    :vsphere:
      server: 'old.example.com'
    :config:
      purge_unconfigured_folders: true
    :providers:
      :dummy:
        folder_whitelist: ['keep']
    :pools:
      - name: p
        size: 1
        provider: dummy
    """
    with caplog.at_level("WARNING", logger="vmpooler"):
        settings = load_settings(write(tmp_path, text), env={})
    assert settings.providers["vsphere"].options["server"] == "old.example.com"
    assert settings.config.purge_unconfigured_resources is True
    assert settings.providers["dummy"].resources_allowlist == ("keep",)
    assert settings.providers["dummy"].purge_unconfigured_resources is True
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "Detected an older configuration file" in messages
    assert "folder_whitelist is deprecated" in messages


def test_unknown_keys_and_bad_values_name_the_key(tmp_path):
    text = """
    :config:
      task_limit: 'ten'
      tsak_limit: 4
    :pools:
      - name: p
        size: -1
        provider: nosuch
      - name: q
        size: 1
        colour: red
    """
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), env={})
    problems = error.value.problems
    assert "config.task_limit: Not a valid integer." in problems
    assert "config.tsak_limit: unknown key" in problems
    assert "pools.0.size: Must be greater than or equal to 0." in problems
    assert "pools.1.colour: unknown key" in problems


def test_provider_options_are_checked_by_the_provider_class(tmp_path):
    text = ":providers:\n  :dummy:\n    createvm_fail_percent: 140\n    createvm_max_tme: 3\n"
    settings = load_settings(write(tmp_path, text), env={})
    problems = bootstrap.validate(settings)
    assert "providers.dummy.createvm_fail_percent: Must be greater than or equal to 0 and less than or equal to 100." in problems
    assert "providers.dummy.createvm_max_tme: unknown key" in problems


def test_unknown_provider_class_is_an_error(tmp_path):
    text = ":providers:\n  :mine:\n    provider_class: 'openstack'\n:pools:\n  - name: p\n    size: 1\n    provider: mine\n"
    settings = load_settings(write(tmp_path, text), env={})
    (problem,) = bootstrap.validate(settings)
    assert problem.startswith("providers.mine.provider_class: unknown provider class 'openstack'")


def test_dummy_auth_needs_debug_mode(tmp_path):
    path = write(tmp_path, ":auth:\n  provider: 'dummy'\n")
    with pytest.raises(ConfigError):
        load_settings(path, env={})
    with pytest.raises(ConfigError):
        load_settings(write(tmp_path, ":config: {}\n", "b.yaml"), env={"AUTH_PROVIDER": "dummy"})
    assert load_settings(path, env={"VMPOOLER_DEBUG": "1"}).auth.provider == "dummy"


def test_missing_file_and_broken_yaml_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError) as missing:
        load_settings(str(tmp_path / "nope.yaml"), env={})
    assert "cannot read the configuration file" in missing.value.problems[0]
    with pytest.raises(ConfigError) as broken:
        load_settings(write(tmp_path, ":config: [\n"), env={})
    assert "not valid YAML" in broken.value.problems[0]


def test_string_alias_and_ldap_base_split(tmp_path):
    text = """
    :auth:
      provider: ldap
      :ldap:
        host: ldap.example.com
        base: 'ou=users,dc=example,dc=com ou=service,dc=example,dc=com'
        user_object: uid
    :pools:
      - name: p
        size: 1
        provider: dummy
        alias: 'pee'
    """
    settings = load_settings(write(tmp_path, text), env={})
    assert settings.aliases == {"pee": ("p",)}
    assert settings.auth.ldap.base == ("ou=users,dc=example,dc=com", "ou=service,dc=example,dc=com")
    assert settings.auth.ldap.port == 389


def test_an_api_without_pools_serves_the_published_ones(redis_url, redis_client, tmp_path):
    from tests.helpers import make_settings
    from vmpooler.bootstrap import Services, publish_pools, with_pools_from_redis
    worker_settings = make_settings(redis_url, pools=[
        {"name": "a", "size": 2, "provider": "dummy", "alias": ["aa", "ab"]},
        {"name": "b", "size": 1, "provider": "dummy"},
    ])
    publish_pools(worker_settings, Services(worker_settings).store)
    assert redis_client.smembers("vmpooler__pools") == {"a", "b"}
    assert redis_client.hget("vmpooler__pool__a", "alias") == "aa,ab"
    path = write(tmp_path, f":redis:\n  url: '{redis_url}'\n:providers:\n  :dummy: {{}}\n")
    api_settings = load_settings(path, env={})
    assert api_settings.pools_from_redis
    served = with_pools_from_redis(api_settings, Services(api_settings).store)
    assert [(p.name, p.size) for p in served.pools] == [("a", 2), ("b", 1)]
    assert served.aliases["ab"] == ("a",)


def test_ldap_auth_without_ldap3_installed_is_a_config_error(monkeypatch):
    import importlib.util

    from tests.helpers import make_settings
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ldap3" else real(name, *a))
    settings = make_settings("redis://unused", auth={"provider": "ldap", "ldap": {
        "host": "ldap.example.com", "base": "dc=example,dc=com", "user_object": "uid"}})
    assert bootstrap.validate(settings) == ["auth.provider: LDAP authentication needs ldap3: "
                                            "run pip install -e '.[ldap]' in the vmpooler source directory"]


@pytest.mark.parametrize("prefix", ["ci_", "-ci", "ci.", "c" * 41, "ci/"])
def test_a_prefix_that_would_make_vm_names_no_host_names_is_refused(tmp_path, prefix):
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, f":config:\n  prefix: '{prefix}'\n"), env={})
    assert any(problem.startswith("config.prefix: ") and "valid host names" in problem
               for problem in error.value.problems)


def test_a_host_name_prefix_is_taken(tmp_path):
    assert load_settings(write(tmp_path, ":config:\n  prefix: 'ci-7'\n"), env={}).config.prefix == "ci-7"
