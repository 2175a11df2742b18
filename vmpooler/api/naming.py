"""How each API version names a VM: the one place the v1/v3 rule lives.

v1 (and the unversioned paths) answers short hostnames and adds the configured
``domain`` as a key of its own; it shortens an incoming FQDN only when the
suffix is a configured domain. v3 answers FQDNs (``<vm>.<pool's domain>``),
never a ``domain`` key, and cuts an incoming hostname at its first dot.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmpooler.api.state import api_version, context
from vmpooler.settings import Settings


@dataclass(frozen=True)
class Naming:
    settings: Settings
    v3: bool

    def domain_of(self, pool: str | None) -> str | None:
        """The pool's domain (its own, its provider's or the global one)."""
        config = self.settings.pool(pool) if pool else None
        return self.settings.domain_for(config) if config else self.settings.config.domain

    def fqdn(self, vm: str, pool: str | None) -> str:
        """The name the VM answers to on the network, in every version."""
        domain = self.domain_of(pool)
        return f"{vm}.{domain}" if domain else vm

    def hostname(self, vm: str, pool: str | None) -> str:
        """The VM as a checkout or on-demand reply lists it."""
        return self.fqdn(vm, pool) if self.v3 else vm

    def with_domain(self, body: dict) -> dict:
        """A checkout or on-demand reply: v1 adds the global ``domain`` when one is set."""
        if not self.v3 and self.settings.config.domain:
            body["domain"] = self.settings.config.domain
        return body

    def details(self, vm: str, pool: str | None) -> dict[str, str]:
        """The naming keys of ``GET /vm/<hostname>``: v1 ``domain``, v3 ``fqdn``."""
        domain = self.domain_of(pool)
        if not domain:
            return {}
        return {"fqdn": f"{vm}.{domain}"} if self.v3 else {"domain": domain}

    def vm_name(self, hostname: str) -> str:
        """The VM a client's hostname means."""
        short, _, suffix = hostname.partition(".")
        if not suffix:  # the common case; the domains are gathered from every pool only for an FQDN
            return hostname
        return short if self.v3 or suffix in self._known_domains() else hostname

    def _known_domains(self) -> set[str]:
        settings = self.settings
        domains = {settings.config.domain} | {p.domain for p in settings.providers.values()}
        return {d for d in domains | {pool.domain for pool in settings.pools} if d}


def naming() -> Naming:
    """The naming of the API version serving the current request."""
    return Naming(context().settings, api_version() >= 3)
