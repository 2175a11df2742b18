"""The layering rules of DESIGN.md, enforced."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "vmpooler"
FRAMEWORK_FREE = ("domain", "store", "lifecycle", "providers", "views")


def python_files(*parts):
    for part in parts:
        yield from (PACKAGE / part).rglob("*.py")


def imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_store_lifecycle_providers_and_views_never_import_flask_or_celery():
    offenders = [str(path.relative_to(PACKAGE)) for path in python_files(*FRAMEWORK_FREE)
                 if imported_modules(path) & {"flask", "celery", "werkzeug", "kombu"}]
    assert offenders == []


def test_only_the_store_calls_redis():
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if "redis" in imported_modules(path) and path.parent.name != "store"]
    assert offenders == []


def key_literals(path: pathlib.Path) -> list[str]:
    """String literals (docstrings aside) that spell a Redis key."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and "vmpooler__" in node.value and id(node) not in docstrings]


def test_redis_key_names_are_spelled_only_in_keys_py():
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if path.name != "keys.py" and key_literals(path)]
    assert offenders == []


def test_pyvmomi_is_imported_only_by_the_vsphere_provider():
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if imported_modules(path) & {"pyVmomi", "pyVim"} and "vsphere" not in path.parts]
    assert offenders == []


def imported_vmpooler_modules(path: pathlib.Path) -> set[str]:
    """Full names of the vmpooler modules ``path`` imports (relative imports resolved)."""
    package = ["vmpooler", *path.relative_to(PACKAGE).parent.parts]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("vmpooler.")}


def test_providers_import_nothing_from_the_store_lifecycle_or_composition_root():
    """Providers get their pool from the caller; they never reach back for state."""
    offenders = {str(path.relative_to(PACKAGE)): sorted(found) for path in python_files("providers")
                 if (found := {name for name in imported_vmpooler_modules(path)
                               if name.startswith(("vmpooler.store", "vmpooler.lifecycle", "vmpooler.bootstrap"))})}
    assert offenders == {}


def test_the_import_check_sees_what_a_provider_imports():
    """The check above reads real imports, so it can fail."""
    module = PACKAGE / "providers" / "vsphere" / "provider.py"
    found = imported_vmpooler_modules(module)
    assert "vmpooler.providers.base.Provider" in found
    assert "vmpooler.providers.vsphere.props" in found
