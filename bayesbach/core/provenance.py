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

The registry of names (:mod:`bayesbach.core.registry`) and the layout of paths
(:mod:`bayesbach.core.layout`) are read like the config: a module that imports names from
them (``from bayesbach.core.registry import SPLITS``) depends on the values of those names,
not on the whole file, so that adding a reference model, changing a figure colour or
moving a path does not retrain every network.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # the bayesbach folder
TOP = "bayesbach"
VALUE_MODULES = ("core.registry", "core.layout")  # depended on by the values of the names imported from them


def _file(module: str) -> Path | None:
    """The source of a dotted module name below the package ("" is the package itself), or None."""
    if not re.fullmatch(r"(\w+(\.\w+)*)?", module):
        return None
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


@functools.cache
def _statements(text: str) -> tuple[tuple, ...]:
    """What a module's source names, in order: ("from", level, module, names), ("import", name) and
    ("string", text) of a string constant naming a module of this package. Parsed once per source text (a
    Snakefile digests some 40 rules over the same modules)."""
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            out.append(("from", node.level, node.module, tuple(a.name for a in node.names)))
        elif isinstance(node, ast.Import):
            out += [("import", a.name) for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(TOP + "."):
            out.append(("string", node.value))
    return tuple(out)


def _imports(module: str) -> set[str]:
    """The modules of this package that ``module`` runs, one level deep (see the module text); a name
    imported from a module of ``VALUE_MODULES`` is listed as ``module:name``."""
    file = _file(module)
    parts = module.split(".") if module else []
    package = parts if file.name == "__init__.py" else parts[:-1]
    found = {".".join(parts[:n]) for n in range(len(parts))}  # the packages above it
    for kind, *what in _statements(file.read_text()):
        targets: list[list[str]] = []
        if kind == "from":
            level, name, names = what
            if level:
                base = package[: len(package) - (level - 1)] + (name.split(".") if name else [])
            else:
                base = _below_top(name or "")
            if base is not None and ".".join(base) in VALUE_MODULES:
                found |= {f"{'.'.join(base)}:{a}" for a in names}
                found |= {".".join(base[:n]) for n in range(len(base))}  # the packages above it run
            elif base is not None:
                targets += [base] + [base + [a] for a in names]  # from pkg import module, or a name
        elif kind == "import":
            targets += [p for p in [_below_top(what[0])] if p is not None]
        else:
            targets.append(_below_top(what[0]))
        found |= {m for t in targets if (m := _module(t)) is not None}
    found.discard(module)
    return found


def modules_used(*modules: str) -> list[str]:
    """The given modules and every module of this package they run, transitively, sorted; names read
    from a module of ``VALUE_MODULES`` as ``module:name``."""
    seen, todo = set(), list(modules)
    while todo:
        m = todo.pop()
        if m not in seen:
            if ":" not in m and _file(m) is None:
                raise ValueError(f"bayesbach has no module {m!r}")
            seen.add(m)
            if ":" not in m:
                todo.extend(_imports(m))
    return sorted(seen)


@functools.cache
def _load(module: str):
    """A module of ``VALUE_MODULES`` loaded from this package's folder (whatever ``bayesbach`` Python
    would import), so that values and files are read from the same source."""
    name = f"_provenance_{module.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, _file(module))
    loaded = sys.modules[name] = importlib.util.module_from_spec(spec)  # dataclasses look their module up
    spec.loader.exec_module(loaded)
    return loaded


def _value(dependency: str) -> bytes:
    """What a ``module:name`` dependency is: the name's value (its source, for a function or class)."""
    module, name = dependency.split(":")
    value = getattr(_load(module), name)
    return (inspect.getsource(value) if callable(value) else repr(value)).encode()


def source_digest(*modules: str) -> str:
    """Short SHA-256 over the source of the given modules and every module of this package they run."""
    h = hashlib.sha256()
    for m in modules_used(*modules):
        data = _value(m) if ":" in m else _file(m).read_bytes()
        name = m if ":" in m else _file(m).relative_to(PACKAGE).as_posix()
        h.update(name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()[:16]
