"""Fingerprints of the library code a computation runs, for rebuilding exactly what changed.

A workflow rule passes ``source_digest("midi")`` as a parameter: the digest
covers that module and every module of this package it imports, directly or
not, so editing one of them changes the parameter and reruns the rule, while
editing an unrelated module reruns nothing.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _files(module: str) -> list[Path]:
    """A module's source: ``module.py``, or every file of the subpackage ``module/`` (one unit, like a module)."""
    if (PACKAGE / f"{module}.py").exists():
        return [PACKAGE / f"{module}.py"]
    if (PACKAGE / module / "__init__.py").exists():
        return sorted((PACKAGE / module).glob("*.py"))
    return []


def _imports(module: str) -> set[str]:
    """Modules of this package that ``module`` imports (absolute or relative)."""
    # A relative import reaches this package at level 1 from a module, at level 2 from a subpackage's file
    # (level 1 there stays inside the subpackage, which is hashed whole anyway).
    top = 1 if (PACKAGE / f"{module}.py").exists() else 2
    found = set()
    for file in _files(module):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == top and node.module:  # from .midi import x
                    found.add(node.module.split(".")[0])
                elif node.level == top:  # from . import tables
                    found.update(a.name for a in node.names)
                elif node.level == 0 and node.module and node.module.startswith("bayesbach."):
                    found.add(node.module.split(".")[1])
                elif node.level == 0 and node.module == "bayesbach":
                    found.update(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("bayesbach."))
    return {m for m in found if _files(m)}


def modules_used(*modules: str) -> list[str]:
    """The given modules and everything of this package they import, transitively, sorted."""
    seen, todo = set(), list(modules)
    while todo:
        m = todo.pop()
        if m not in seen:
            if not _files(m):
                raise ValueError(f"bayesbach has no module {m!r}")
            seen.add(m)
            todo.extend(_imports(m))
    return sorted(seen)


def source_digest(*modules: str) -> str:
    """Short SHA-256 over the source of the given modules and their in-package imports."""
    h = hashlib.sha256()
    for m in modules_used(*modules):
        for file in _files(m):
            name = m if file.name == f"{m}.py" else f"{m}/{file.name}"
            h.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()[:16]
