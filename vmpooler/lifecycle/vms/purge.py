"""Purging what no pool configures under a provider's base folders."""

from __future__ import annotations

import logging

from vmpooler.lifecycle.context import Context

log = logging.getLogger("vmpooler.lifecycle")


def purge_provider(ctx: Context, provider_name: str) -> int:
    """Destroy unconfigured VMs and folders of one provider; returns the VMs destroyed."""
    config = ctx.settings.providers[provider_name]
    provider = ctx.providers[provider_name]
    try:
        result = provider.purge_unconfigured_resources(config.resources_allowlist)
    except provider.errors as exc:  # reported; the next scheduled purge tries again
        log.warning("[!] failed while purging provider %s VMs and folders with an error: %s", provider_name, exc)
        return 0
    for folder, vm in result.vms:
        ctx.store.forget_purged_vm(folder, vm)
        log.info("[-] [%s] '%s' destroyed by the purge of unconfigured resources", folder, vm)
    for folder in result.folders:
        log.info("[-] [%s] unconfigured folder purged from provider %s", folder, provider_name)
    for error in result.errors:
        log.warning("[!] purge of provider %s: %s", provider_name, error)
    return len(result.vms)
