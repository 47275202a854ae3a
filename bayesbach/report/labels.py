"""Models' spelled-out names, shared by the figures, the results page and the terminal table."""

from __future__ import annotations

import pandas as pd

from bayesbach.core.registry import ARCHITECTURES, OWN_PREFIX, REFERENCES


def arch_label(arch: str) -> str:
    """An architecture's label (``registry.ARCHITECTURES``); the name itself for one the registry lacks."""
    return ARCHITECTURES[arch].label if arch in ARCHITECTURES else arch


def network_label(arch: str, hidden: int) -> str:
    return f"{arch_label(arch)}, {int(hidden)} units"


def model_label(model: str, errors: pd.DataFrame | None = None) -> str:
    """A model's spelled-out name; a reference with a ``sized_label`` with its architecture and size when the
    errors say them."""
    sized = REFERENCES[model].sized_label if model in REFERENCES else None
    if sized and errors is not None:
        row = errors[errors["model"] == model].head(1)
        if len(row) and pd.notna(row["hidden"].iloc[0]):
            return sized.format(arch=arch_label(row["arch"].iloc[0]), hidden=int(row["hidden"].iloc[0]))
    own = model[len(OWN_PREFIX):] if model.startswith(OWN_PREFIX) else None
    if own in REFERENCES:  # fitted on another composer's works
        return f"{REFERENCES[own].label}, fitted on the composer"
    return REFERENCES[model].label if model in REFERENCES else arch_label(model)
