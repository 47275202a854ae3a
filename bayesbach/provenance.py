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


def _imports(module: str) -> set[str]:
    """Modules of this package that ``module`` imports (absolute or relative)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:  # from .midi import x
                found.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import tables
                found.update(a.name for a in node.names)
            elif node.module and node.module.startswith("bayesbach."):
                found.add(node.module.split(".")[1])
            elif node.module == "bayesbach":
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("bayesbach."))
    return {m for m in found if (PACKAGE / f"{m}.py").exists()}


def modules_used(*modules: str) -> list[str]:
    """The given modules and everything of this package they import, transitively, sorted."""
    seen, todo = set(), list(modules)
    while todo:
        m = todo.pop()
        if m not in seen:
            if not (PACKAGE / f"{m}.py").exists():
                raise ValueError(f"bayesbach has no module {m!r}")
            seen.add(m)
            todo.extend(_imports(m))
    return sorted(seen)


def source_digest(*modules: str) -> str:
    """Short SHA-256 over the source of the given modules and their in-package imports."""
    h = hashlib.sha256()
    for m in modules_used(*modules):
        h.update(m.encode() + b"\0" + (PACKAGE / f"{m}.py").read_bytes() + b"\0")
    return h.hexdigest()[:16]
