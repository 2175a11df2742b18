"""The vSphere provider, on pyVmomi (the only package that imports it)."""

try:
    import pyVmomi  # noqa: F401
except ImportError as exc:
    raise ImportError("the vSphere provider needs pyvmomi: run pip install -e '.[vsphere]' "
                      "in the vmpooler source directory") from exc

from vmpooler.providers.vsphere.provider import VSphereProvider

__all__ = ["VSphereProvider"]
