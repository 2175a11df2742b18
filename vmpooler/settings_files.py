"""Where the configuration comes from and how its text becomes one plain mapping.

The search order, YAML with the original's symbol-style keys (``:config:``),
``extra_config`` files merged in, and deprecated locations migrated with a warning.
Validation is ``vmpooler.settings``'s job.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from typing import Any

import yaml

log = logging.getLogger("vmpooler.settings")

LOCAL_CONFIG_FILE = os.path.join("config", "vmpooler.yaml")
PACKAGED_CONFIG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "vmpooler.yaml")
CONFIG_SEARCH_ORDER = ("-c", "$VMPOOLER_CONFIG_FILE", "$VMPOOLER_CONFIG (YAML text)", f"./{LOCAL_CONFIG_FILE}",
                       "the one shipped in the package")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds ``key.path: message`` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


def read_raw(path: str | None, env: Mapping[str, str]) -> tuple[dict, str]:
    """The configuration as one mapping (extra files merged, old keys migrated) and its source."""
    raw, source = _read_source(path, env)
    raw = _normalise_keys(raw)
    if not isinstance(raw, dict):
        raise ConfigError([f"{source}: the configuration must be a mapping"])
    if source != "VMPOOLER_CONFIG":
        raw = _merge_extra_config(raw, env, source)
    return _migrate_deprecated(raw), source


def config_source(path: str | None, env: Mapping[str, str]) -> str:
    """Which configuration is read: a file path, or ``VMPOOLER_CONFIG`` (the YAML text itself)."""
    if path:
        return path
    if env.get("VMPOOLER_CONFIG_FILE"):
        return env["VMPOOLER_CONFIG_FILE"]
    if env.get("VMPOOLER_CONFIG"):
        return "VMPOOLER_CONFIG"
    if os.path.exists(LOCAL_CONFIG_FILE):
        return LOCAL_CONFIG_FILE
    return PACKAGED_CONFIG_FILE


def _read_source(path: str | None, env: Mapping[str, str]) -> tuple[Any, str]:
    source = config_source(path, env)
    if source == "VMPOOLER_CONFIG":
        return _parse_yaml(env["VMPOOLER_CONFIG"], source), source
    return _load_file(source), source


def _load_file(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return _parse_yaml(handle.read(), path)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the configuration file ({exc.strerror})"]) from None


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: not valid YAML ({exc})"]) from None


def _normalise_keys(value: Any) -> Any:
    """``:config:`` (a Ruby symbol in the original) and ``config`` mean the same."""
    if isinstance(value, dict):
        return {(_strip(key) if isinstance(key, str) else key): _normalise_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise_keys(item) for item in value]
    return value


def _strip(key: str) -> str:
    return key[1:] if key.startswith(":") else key


def _merge_extra_config(raw: dict, env: Mapping[str, str], source: str) -> dict:
    extra = env.get("EXTRA_CONFIG") or (raw.get("config") or {}).get("extra_config")
    if not extra:
        return raw
    base_dir = os.path.dirname(os.path.abspath(source)) if source != "VMPOOLER_CONFIG" else os.getcwd()
    for name in [part.strip() for part in str(extra).split(",") if part.strip()]:
        path = name if os.path.isabs(name) else os.path.join(base_dir, name)
        if not os.path.exists(path) and os.path.exists(name):
            path = name
        raw = merge_config(raw, _normalise_keys(_load_file(path)))
    return raw


def merge_config(base: Mapping, extra: Mapping) -> dict:
    """Deep merge: mappings recursively, pools by name, other values replaced."""
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if key == "pools" and isinstance(current, list) and isinstance(value, list):
            by_name = {p.get("name"): p for p in current if isinstance(p, dict)}
            order = [p.get("name") for p in current if isinstance(p, dict)]
            for pool in value:
                if isinstance(pool, dict):
                    if pool.get("name") not in by_name:
                        order.append(pool.get("name"))
                    by_name[pool.get("name")] = pool
            merged[key] = [by_name[name] for name in order]
        elif isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_config(current, value)
        else:
            merged[key] = value
    return merged


_RENAMED_CONFIG = {"purge_unconfigured_folders": "purge_unconfigured_resources"}
_RENAMED_PROVIDER = {"purge_unconfigured_folders": "purge_unconfigured_resources",
                     "folder_whitelist": "resources_allowlist"}
_RENAMED_REDIS = {"redis_connection_pool_size": "connection_pool_size",
                  "redis_connection_pool_timeout": "connection_pool_timeout"}


def _migrate_deprecated(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    if isinstance(raw.get("vsphere"), dict):
        providers = raw.setdefault("providers", {}) or {}
        raw["providers"] = providers
        if "vsphere" not in providers:
            log.warning("[!] Detected an older configuration file. Copying the settings from "
                        "':vsphere:' to ':providers:/:vsphere:'")
            providers["vsphere"] = raw["vsphere"]
        del raw["vsphere"]
    _rename(raw.get("config"), _RENAMED_CONFIG, "config")
    _rename(raw.get("redis"), _RENAMED_REDIS, "redis")
    for name, provider in (raw.get("providers") or {}).items():
        if provider is None:
            raw["providers"][name] = {}
        _rename(raw["providers"][name], _RENAMED_PROVIDER, f"providers.{name}")
    return raw


def _rename(section: Any, renames: Mapping[str, str], where: str) -> None:
    if not isinstance(section, dict):
        return
    for old, new in renames.items():
        if old in section:
            log.warning("%s.%s is deprecated; use %s.%s", where, old, where, new)
            value = section.pop(old)
            section.setdefault(new, value)
