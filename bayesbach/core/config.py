"""Study configuration: JSON-Schema validation with defaults, plus the checks a schema cannot say."""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import yaml

from bayesbach.core import registry
from bayesbach.core.exceptions import StudyError

# A schema value "registry:NAME" (an enum or a default) stands for the names of bayesbach.core.registry.NAME,
# so that adding an architecture or a reference model touches the registry alone.
REGISTRY_PREFIX = "registry:"


class ConfigError(StudyError):
    """An invalid configuration value; the message names the key."""


def _key(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _fill_defaults(schema: dict, instance: dict) -> None:
    """Insert schema defaults for missing keys, recursing into objects."""
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = yaml.safe_load(yaml.safe_dump(sub["default"]))  # a copy
        if isinstance(instance.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(sub, instance[key])


def _registry_names(node):
    """The schema with every "registry:NAME" replaced by the list of names it stands for."""
    if isinstance(node, dict):
        return {k: _registry_names(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_registry_names(v) for v in node]
    if isinstance(node, str) and node.startswith(REGISTRY_PREFIX):
        return list(getattr(registry, node[len(REGISTRY_PREFIX):]))
    return node


def load_schema(schema_path: str | Path) -> dict:
    """The config schema (JSON Schema in YAML) with the registry's names filled in."""
    return _registry_names(yaml.safe_load(Path(schema_path).read_text()))


def check_config(config: dict, schema_path: str | Path) -> dict:
    """Validate ``config`` in place (filling defaults); raise :class:`ConfigError` naming the key."""
    schema = load_schema(schema_path)
    _fill_defaults(schema, config)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        key = _key(e.absolute_path)
        if e.validator == "additionalProperties":
            unknown = sorted(set(e.instance) - set(e.schema.get("properties", {})))
            raise ConfigError(f"invalid config: unknown key {_key([*e.absolute_path, unknown[0]])!r} "
                              f"(allowed here: {', '.join(sorted(e.schema.get('properties', {})))})")
        raise ConfigError(f"invalid config: {key}: {e.message}")
    for key, split in (("dataset.split", config["dataset"]["split"]),
                       ("generalisation.split", config["generalisation"]["split"])):
        if not math.isclose(sum(split.values()), 1.0, abs_tol=1e-9):
            raise ConfigError(f"invalid config: {key}: the ratios {split} sum to {sum(split.values()):g}, not 1")
    names = [c if isinstance(c, str) else c["name"] for c in config["generalisation"]["composers"]]
    if len(set(map(str.lower, names))) < len(names):
        raise ConfigError(f"invalid config: generalisation.composers: two composers share a name ({', '.join(names)})")
    if "bach" in names and "bundled" in config["corpus"]["sources"]:
        raise ConfigError("invalid config: generalisation.composers: music21's Bach is the bundled corpus the networks "
                          "train on; the other composers are corpora never trained on")
    return config


def merged(base: dict, update: dict) -> dict:
    """``base`` updated by ``update`` the way Snakemake layers config files: dicts merge, the rest replaces."""
    out = dict(base)
    for key, value in update.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(paths: list[str | Path], schema_path: str | Path) -> dict:
    """The validated config of ``snakemake --configfile A B ...``: the files layered in order."""
    config: dict = {}
    for path in paths:
        config = merged(config, yaml.safe_load(Path(path).read_text()) or {})
    return check_config(config, schema_path)
