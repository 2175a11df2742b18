"""PropertyCollector reads and task waits.

Properties that may be unset (``snapshot``, ``runtime.bootTime``, guest data)
and task state are read through the PropertyCollector rather than through
pyVmomi's attribute accessors: an unset property comes back as absent instead
of failing, and a whole set of objects costs one round trip.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Sequence

from pyVmomi import vim, vmodl

from vmpooler.providers.base import ProviderError

PropertySpec = vmodl.query.PropertyCollector.PropertySpec
ObjectSpec = vmodl.query.PropertyCollector.ObjectSpec
FilterSpec = vmodl.query.PropertyCollector.FilterSpec
TraversalSpec = vmodl.query.PropertyCollector.TraversalSpec


class TaskFailed(ProviderError):
    """A vSphere task ended in error; ``fault`` is the vSphere fault."""

    def __init__(self, message: str, fault: Any = None):
        super().__init__(message)
        self.fault = fault


def _collect(content: Any, spec: Any) -> list[Any]:
    collector = content.propertyCollector
    options = vmodl.query.PropertyCollector.RetrieveOptions()
    result = collector.RetrievePropertiesEx([spec], options)
    objects: list[Any] = []
    while result is not None:
        objects.extend(result.objects or ())
        if not result.token:
            break
        result = collector.ContinueRetrievePropertiesEx(result.token)
    return objects


def read(content: Any, obj: Any, paths: Sequence[str]) -> dict[str, Any]:
    """The set properties among ``paths`` of one object (unset ones are missing)."""
    return read_many(content, [obj], paths).get(obj._moId, {})


def read_many(content: Any, objs: Iterable[Any], paths: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{moId: {path: value}}`` for several objects of one type, in one round trip."""
    objs = list(objs)
    if not objs:
        return {}
    spec = FilterSpec(
        objectSet=[ObjectSpec(obj=obj, skip=False) for obj in objs],
        propSet=[PropertySpec(type=type(objs[0]), pathSet=list(paths))],
    )
    return {oc.obj._moId: {p.name: p.val for p in oc.propSet or ()} for oc in _collect(content, spec)}


def children(content: Any, container: Any, path: str, kind: type, paths: Sequence[str]) -> list[tuple[Any, dict]]:
    """Objects of ``kind`` reached through ``container.<path>``, with their properties."""
    spec = FilterSpec(
        objectSet=[ObjectSpec(obj=container, skip=True,
                              selectSet=[TraversalSpec(name="children", path=path, skip=False,
                                                       type=type(container))])],
        propSet=[PropertySpec(type=kind, pathSet=list(paths))],
    )
    return [(oc.obj, {p.name: p.val for p in oc.propSet or ()})
            for oc in _collect(content, spec) if isinstance(oc.obj, kind)]


def find_by_name(content: Any, root: Any, kind: type, name: str) -> Any | None:
    """An object of ``kind`` named ``name`` anywhere below ``root`` (server-side search)."""
    view = content.viewManager.CreateContainerView(root, [kind], True)
    try:
        for obj, props in children(content, view, "view", kind, ["name"]):
            if props.get("name") == name:
                return obj
        return None
    finally:
        view.DestroyView()


def wait_for_task(content: Any, task: Any, timeout: float, what: str,
                  sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> Any:
    """Block until ``task`` finishes; its result, or TaskFailed / ProviderError on timeout."""
    deadline = clock() + timeout
    delay = 0.05
    while True:
        info = read(content, task, ["info.state", "info.error", "info.result"])
        state = info.get("info.state")
        if state == vim.TaskInfo.State.success:
            return info.get("info.result")
        if state == vim.TaskInfo.State.error:
            fault = info.get("info.error")
            message = getattr(fault, "msg", None) or type(fault).__name__
            invalid = getattr(fault, "invalidProperty", None)
            if invalid:
                message += f" ({invalid})"
            raise TaskFailed(f"{what} failed: {message}", fault)
        if clock() >= deadline:
            raise ProviderError(f"{what} did not finish within {timeout:g} seconds")
        sleep(delay)
        delay = min(delay * 2, 2.0)
