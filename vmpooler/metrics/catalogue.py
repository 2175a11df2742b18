"""Which Prometheus series a dotted label becomes (the original's metrics table).

``checkout.success.centos-7`` -> ``<pp>_checkout_success{poolname="centos-7"}``: the
first segment picks the entry, the second picks a suffix when the entry has
suffixes, and the rest fill the entry's labels. With one label, the rest is joined
with ``.`` (host names and dotted pool names stay whole); with several, they are
assigned from the right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COUNTER, GAUGE, HISTOGRAM = "counter", "gauge", "histogram"

CLONE_BUCKETS = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 180.0, 240.0, 300.0, 600.0)
READY_BUCKETS = (30.0, 60.0, 120.0, 180.0, 240.0, 300.0, 500.0, 800.0, 1200.0, 1600.0)
CONNECT_BUCKETS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 18.0, 23.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Spec:
    kind: str
    doc: str
    labels: tuple[str, ...] = ()
    suffixes: dict[str, str] = field(default_factory=dict)
    buckets: tuple[float, ...] = ()


TABLE: dict[str, Spec] = {
    "errors": Spec(COUNTER, "Count of errors for pool", ("template_name",), {
        "markedasfailed": "timeout waiting for instance to initialise",
        "duplicatehostname": "unable to create instance due to duplicate hostname",
        "staledns": "unable to create instance due to duplicate DNS record"}),
    "user": Spec(COUNTER, "Number of pool instances this user created created", ("user", "poolname")),
    "usage_litmus": Spec(COUNTER, "Pools by Litmus job usage", ("user", "poolname")),
    "usage_jenkins_instance": Spec(COUNTER, "Pools by Jenkins instance usage",
                                   ("jenkins_instance", "value_stream", "poolname")),
    "usage_branch_project": Spec(COUNTER, "Pools by branch/project usage", ("branch", "project", "poolname")),
    "usage_job_component": Spec(COUNTER, "Pools by job/component usage",
                                ("job_name", "component_to_test", "poolname")),
    "checkout": Spec(COUNTER, "Pool checkout counts", ("poolname",), {
        "nonresponsive": "checkout failed - non responsive machine", "empty": "checkout failed - no machine",
        "success": "successful checkout", "invalid": "checkout failed - invalid template"}),
    "delete": Spec(COUNTER, "Delete machine", (), {"success": "succeeded", "failed": "failed"}),
    "ondemandrequest_generate": Spec(COUNTER, "Ondemand request", (), {
        "duplicaterequests": "failed duplicate request", "success": "succeeded"}),
    "ondemandrequest_fail": Spec(COUNTER, "Ondemand request failure", ("poolname",), {
        "toomanyrequests": "too many requests", "invalid": "invalid poolname"}),
    "config": Spec(COUNTER, "vmpooler pool configuration request", ("poolname",), {"invalid": "Invalid"}),
    "poolreset": Spec(COUNTER, "Pool reset counter", ("poolname",), {"invalid": "Invalid Pool"}),
    "connect": Spec(COUNTER, "vmpooler connect (to vSphere)", (), {"open": "Connect Succeeded",
                                                                   "fail": "Connect Failed"}),
    "migrate_from": Spec(COUNTER, "vmpooler machine migrated from", ("host_name",)),
    "migrate_to": Spec(COUNTER, "vmpooler machine migrated to", ("host_name",)),
    "http_requests_vm_total": Spec(COUNTER, "Total number of HTTP request/sub-operations handled by the "
                                   "Rack application under the /vm endpoint", ("method", "subpath", "operation")),
    "ready": Spec(GAUGE, "vmpooler number of machines in ready State", ("poolname",)),
    "running": Spec(GAUGE, "vmpooler number of machines running", ("poolname",)),
    "connection_available": Spec(GAUGE, "vmpooler redis connections available", ("type", "provider")),
    "time_to_ready_state": Spec(HISTOGRAM, "Time taken for machine to read ready state for pool",
                                ("poolname",), buckets=READY_BUCKETS),
    "migrate": Spec(HISTOGRAM, "vmpooler time taken to migrate machine for pool", ("poolname",),
                    buckets=CLONE_BUCKETS),
    "clone": Spec(HISTOGRAM, "vmpooler time taken to clone machine", ("poolname",), buckets=CLONE_BUCKETS),
    "destroy": Spec(HISTOGRAM, "vmpooler time taken to destroy machine", ("poolname",), buckets=CLONE_BUCKETS),
    "connection_waited": Spec(HISTOGRAM, "vmpooler redis connection wait time", ("type", "provider"),
                              buckets=CONNECT_BUCKETS),
    # The API's request middleware (Prometheus only), labelled by route.
    "http_requests_total": Spec(COUNTER, "The total number of HTTP requests handled by the application.",
                                ("code", "method", "path")),
    "http_request_duration_seconds": Spec(HISTOGRAM, "The HTTP response duration of the application.",
                                          ("method", "path"), buckets=HTTP_BUCKETS),
    # Added by this port: Celery's work and queues.
    "tasks": Spec(COUNTER, "Celery tasks", ("task_name",), {"run": "run", "failed": "failed"}),
    # Read from the Redis health record, not counted through this interface.
    "redis": Spec(COUNTER, "Redis", (), {"reconnects": "connections re-established after a failure",
                                         "failovers": "master changes seen through Sentinel"}),
    "queue": Spec(GAUGE, "Celery messages waiting in a queue (destroy_requests: returns whose destroy no "
                         "worker has sent yet)", ("queue_name",)),
    "ondemand": Spec(GAUGE, "On-demand requests", (), {
        "requested": "waiting to be processed", "processing": "being provisioned",
        "creating": "instances waiting to be cloned"}),
}


class UnknownMetric(ValueError):
    """The label names no entry (or no suffix) of the table."""


@dataclass(frozen=True)
class Series:
    name: str
    spec: Spec
    labels: tuple[tuple[str, str], ...]


def series(label: str, prometheus_prefix: str) -> Series:
    parts = label.split(".")
    key = parts.pop(0)
    spec = TABLE.get(key)
    if spec is None:
        raise UnknownMetric(f"Invalid Metric {key} for {label}")
    name = f"{prometheus_prefix}_{key}"
    if spec.suffixes:
        suffix = parts.pop(0) if parts else ""
        if suffix not in spec.suffixes:
            raise UnknownMetric(f"Invalid Metric {key}_{suffix} for {label}")
        name = f"{name}_{suffix}"
    if len(spec.labels) == 1:
        values = [".".join(parts)]
    else:
        values = [parts.pop() if parts else "" for _ in spec.labels][::-1]
    return Series(name, spec, tuple(zip(spec.labels, values)))


def documentation(name: str, prometheus_prefix: str) -> tuple[str, Spec] | None:
    """HELP text and spec of a series name written by :func:`series`."""
    for key, spec in TABLE.items():
        base = f"{prometheus_prefix}_{key}"
        if name == base and not spec.suffixes:
            return spec.doc, spec
        for suffix, text in spec.suffixes.items():
            if name == f"{base}_{suffix}":
                return f"{spec.doc} {text}", spec
    return None
