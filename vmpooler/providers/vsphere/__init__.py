"""The vSphere provider, on pyVmomi (the only package that imports it)."""

try:
    import pyVmomi  # noqa: F401
except ImportError as exc:
    raise ImportError("the vSphere provider needs pyvmomi: pip install 'vmpooler[vsphere]'") from exc

from vmpooler.providers.vsphere.provider import VSphereProvider

__all__ = ["VSphereProvider"]
