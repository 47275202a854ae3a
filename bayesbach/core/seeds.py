"""Seeds derived from the study seed and a job's identity, so every job's randomness is fixed
by the config alone and independent of which other jobs exist or in which order they run."""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *identity: object) -> int:
    """A 63-bit seed from the study seed and identity parts, e.g. ``derive_seed(2024, "decode", "gru", 64, 0.5, 0)``.

    Floats are keyed by ``repr`` so that 0.5 and 0.50 are the same job.
    """
    key = ":".join([str(int(seed))] + [repr(float(p)) if isinstance(p, float) else str(p) for p in identity])
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 1
