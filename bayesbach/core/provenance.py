"""Fingerprints of the library code a computation runs, for rebuilding exactly what changed.

A workflow rule passes ``source_digest("dataset.midi")`` as a parameter: the digest
covers that module (a dotted name below ``bayesbach``) and every module of this
package it runs, directly or not, so editing one of them changes the parameter and
reruns the rule, while editing an unrelated module reruns nothing. A module runs
what it imports (absolute or relative, at any depth of the package), the
``__init__.py`` of every package above it (Python runs those first), and the
modules it names in strings (``"bayesbach.corpus.crawl.pipelines.StorePipeline"``:
Scrapy loads its pipelines and middlewares by name). A package's name stands for its
``__init__.py``.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # the bayesbach folder
TOP = "bayesbach"


def _file(module: str) -> Path | None:
    """The source of a dotted module name below the package ("" is the package itself), or None."""
    folder = PACKAGE.joinpath(*module.split(".")) if module else PACKAGE
    if module and folder.with_suffix(".py").is_file():
        return folder.with_suffix(".py")
    if (folder / "__init__.py").is_file():
        return folder / "__init__.py"
    return None


def _module(parts: list[str]) -> str | None:
    """The longest prefix of ``parts`` that is a module (``core.registry.REFERENCES`` -> ``core.registry``)."""
    for n in range(len(parts), -1, -1):
        if _file(".".join(parts[:n])) is not None:
            return ".".join(parts[:n])
    return None


def _below_top(name: str) -> list[str] | None:
    """``bayesbach.x.y`` as ["x", "y"]; None for a name outside the package."""
    if name == TOP:
        return []
    if name.startswith(TOP + "."):
        return name[len(TOP) + 1:].split(".")
    return None


def _imports(module: str) -> set[str]:
    """The modules of this package that ``module`` runs, one level deep (see the module text)."""
    file = _file(module)
    parts = module.split(".") if module else []
    package = parts if file.name == "__init__.py" else parts[:-1]
    found = {".".join(parts[:n]) for n in range(len(parts))}  # the packages above it
    for node in ast.walk(ast.parse(file.read_text())):
        targets: list[list[str]] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            else:
                base = _below_top(node.module or "")
            if base is not None:
                targets += [base] + [base + [a.name] for a in node.names]  # from pkg import module, or a name
        elif isinstance(node, ast.Import):
            targets += [p for a in node.names if (p := _below_top(a.name)) is not None]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(TOP + "."):
            targets.append(_below_top(node.value))
        found |= {m for t in targets if (m := _module(t)) is not None}
    found.discard(module)
    return found


def modules_used(*modules: str) -> list[str]:
    """The given modules and every module of this package they run, transitively, sorted."""
    seen, todo = set(), list(modules)
    while todo:
        m = todo.pop()
        if m not in seen:
            if _file(m) is None:
                raise ValueError(f"bayesbach has no module {m!r}")
            seen.add(m)
            todo.extend(_imports(m))
    return sorted(seen)


def source_digest(*modules: str) -> str:
    """Short SHA-256 over the source of the given modules and every module of this package they run."""
    h = hashlib.sha256()
    for m in modules_used(*modules):
        file = _file(m)
        h.update(file.relative_to(PACKAGE).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()[:16]
