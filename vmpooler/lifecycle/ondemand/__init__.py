"""On-demand requests: VMs cloned for one request instead of taken from a pool."""
