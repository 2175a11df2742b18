"""The layering rules of DESIGN.md, enforced."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "vmpooler"
FRAMEWORK_FREE = ("domain", "store", "lifecycle", "providers")


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


def test_domain_store_lifecycle_and_providers_never_import_flask_or_celery():
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
