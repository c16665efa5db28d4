"""Bootstrap (over clusters) standard errors of the benchmark's own numbers.

A 0.01 dex difference in scatter between two CNNs means nothing when each
scatter is uncertain by 0.005 dex; `bootstrap_errors` resamples the clusters
of one out-of-fold prediction with replacement and returns the standard
deviation over resamples of scatter, bias and interval coverage.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.estimators import MassPrediction
>>> rng = np.random.default_rng(0)
>>> m = rng.uniform(13.5, 15.0, 1000)
>>> p = MassPrediction.from_arrays(np.arange(1000), np.full(1000, 0.2),
...                                m + rng.normal(0, 0.1, 1000), 0.1, truth=m)
>>> se = bootstrap_errors(p, n_boot=200)
>>> # close to the Gaussian 0.1/sqrt(2N) = 0.0022 and 0.1/sqrt(N) = 0.0032
>>> bool(0.0017 < se["scatter_dex_se"] < 0.0028), bool(0.0027 < se["bias_dex_se"] < 0.0038)
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._utils import get_rng
from ..exceptions import InputError

__all__ = ["bootstrap_errors"]

# resampled cluster indices per chunk (int64: 32 MB)
_CHUNK = 4_000_000


def bootstrap_errors(
    prediction: Any,
    levels: Sequence[float] = (0.68, 0.95),
    n_boot: int = 300,
    seed: int | None = 0,
    with_coverage: bool = True,
) -> dict[str, float]:
    """Bootstrap standard errors of scatter, bias and coverage of one prediction.

    Parameters
    ----------
    prediction : MassPrediction
        Out-of-fold predictions with true masses.
    levels : sequence of float
        Interval levels whose coverage gets an error (`MassPrediction.interval`:
        the interval columns, else Gaussian from σ).
    n_boot : int
        Resamples of the clusters (with replacement, same size).
    seed : int or None
        Seeds the resampling.
    with_coverage : bool
        Compute the coverage errors (False when σ is not per cluster).

    Returns
    -------
    dict
        ``scatter_dex_se``, ``bias_dex_se`` and ``coverage_<NN>_se`` per
        level (NaN when ``with_coverage`` is False).
    """
    from ..estimators import MassPrediction
    from ..estimators.prediction import level_label
    from .metrics import residuals

    if int(n_boot) < 2:
        raise InputError(f"n_boot must be at least 2; got {n_boot!r}")
    pred = prediction if isinstance(prediction, MassPrediction) else MassPrediction(prediction)
    eps = residuals(pred)
    n = eps.size
    hits = {}
    if with_coverage:
        truth = np.asarray(pred["log10_m500c_true"], dtype=float)
        for level in levels:
            lo, hi = pred.interval(level)
            hits[level] = ((truth >= lo) & (truth <= hi)).astype(float)
    rng = get_rng(seed)
    stats: dict[str, list] = {"scatter": [], "bias": [], **{lv: [] for lv in hits}}
    per_chunk = max(1, _CHUNK // max(n, 1))
    done = 0
    while done < int(n_boot):
        k = min(per_chunk, int(n_boot) - done)
        idx = rng.integers(0, n, size=(k, n))
        sample = eps[idx]
        stats["scatter"].append(sample.std(axis=1))
        stats["bias"].append(sample.mean(axis=1))
        for level, hit in hits.items():
            stats[level].append(hit[idx].mean(axis=1))
        done += k
    out = {
        "scatter_dex_se": float(np.std(np.concatenate(stats["scatter"]), ddof=1)),
        "bias_dex_se": float(np.std(np.concatenate(stats["bias"]), ddof=1)),
    }
    for level in levels:
        key = f"coverage_{level_label(level)}_se"
        out[key] = float(np.std(np.concatenate(stats[level]), ddof=1)) if hits else float("nan")
    return out
