"""What happens to VMs and pools, as plain functions over a ``Context`` (no Flask, no Celery).

- ``vms``: the VM state machine (clone, pending, ready, checkout, running, give back,
  destroy) and the pool check that drives it;
- ``ondemand``: requests for VMs cloned for one requester;
- ``pool_config``: live size/template/clone-target changes, the API's side and the check's;
- ``context`` and ``wake``: what they share (the context, coalesced wake-ups of pool work).

Read models for the API and the CLI are in ``vmpooler.views``.
"""
