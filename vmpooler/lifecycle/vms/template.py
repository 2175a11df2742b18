"""Templates: prepared once (delta disks), and a pool drained when its template changes."""

from __future__ import annotations

import logging

from vmpooler.lifecycle.context import Context
from vmpooler.lifecycle.pool_config.apply import drain
from vmpooler.settings import PoolConfig

log = logging.getLogger("vmpooler.lifecycle")


def evaluate_template(ctx: Context, pool: PoolConfig) -> None:
    """Prepare the pool's (effective) template if it has not been; drain the pool
    first when a different template was prepared before."""
    if not pool.template:
        return
    prepared = ctx.store.prepared_template(pool.name)
    if prepared == pool.template:
        return
    if prepared is not None:
        log.info("[*] [%s] template updated from %s to %s", pool.name, prepared, pool.template)
        drain(ctx, pool)
        log.info("[*] [%s] preparing pool template for deployment", pool.name)
    prepare_template(ctx, pool, pool.template)
    if prepared is not None:
        log.info("[*] [%s] is ready for use", pool.name)


def prepare_template(ctx: Context, pool: PoolConfig, template: str) -> None:
    if ctx.settings.config.create_template_delta_disks and not ctx.store.template_has_deltas(template):
        provider = ctx.provider_for(pool)
        try:
            provider.create_template_delta_disks(pool)
        except provider.errors as exc:  # clones still work, only without shared base disks
            log.warning("[!] [%s] failed while preparing a template with an error. As a result vmpooler could "
                        "not create the template delta disks. Either a template delta disk already exists, or "
                        "the template delta disk creation failed. The error is: %s", pool.name, exc)
        else:
            ctx.store.add_template_deltas(template)
    ctx.store.set_prepared_template(pool.name, template)
