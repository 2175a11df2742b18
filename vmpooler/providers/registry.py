"""Provider classes by name: built-ins plus the ``vmpooler.providers`` entry points.

Modules are imported only when a provider of that class is created, so the
vSphere extra is needed only by users of the vSphere provider.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from vmpooler.providers.base import Provider, ProviderDeps
from vmpooler.settings import ConfigError, ProviderConfig

BUILTIN = {
    "dummy": "vmpooler.providers.dummy:DummyProvider",
    "vsphere": "vmpooler.providers.vsphere:VSphereProvider",
}
ENTRY_POINT_GROUP = "vmpooler.providers"


def available() -> dict[str, str]:
    """Class name (lower case) -> ``module:Class`` for every known provider class."""
    found = {ep.name.lower(): ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    found.update(BUILTIN)
    return found


def load_class(class_name: str) -> type[Provider]:
    target = available().get(class_name.lower())
    if target is None:
        known = ", ".join(sorted(available()))
        raise ConfigError([f"provider_class: unknown provider class '{class_name}' (known: {known})"])
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError([f"provider_class: cannot load provider '{class_name}' ({exc}); "
                           f"is its extra installed? {install_hint(class_name)}"]) from None
    cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise ConfigError([f"provider_class: {target} is not a vmpooler provider"])
    return cls


def install_hint(extra: str) -> str:
    """How to add an extra to this (unpublished) package: from its source directory."""
    return f"run pip install -e '.[{extra}]' in the vmpooler source directory"


def create(config: ProviderConfig, deps: ProviderDeps) -> Provider:
    try:
        cls = load_class(config.provider_class)
    except ConfigError as exc:
        raise ConfigError([f"providers.{config.name}.{line}" for line in exc.problems]) from None
    return cls(config, deps)


def validate(config: ProviderConfig) -> list[str]:
    """Problems with a provider section, without connecting to anything."""
    try:
        load_class(config.provider_class).validate_options(config)
    except ConfigError as exc:
        return [line if line.startswith("providers.") else f"providers.{config.name}.{line}"
                for line in exc.problems]
    return []
