"""Random number generators from explicit seeds (never the global state)."""

from __future__ import annotations

import numpy as np

__all__ = ["get_rng"]


def get_rng(seed: int | np.random.Generator | np.random.SeedSequence | None = None):
    """Return a `numpy.random.Generator` from a seed, a SeedSequence or a Generator.

    Examples
    --------
    >>> float(get_rng(1).random()) == float(get_rng(1).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
