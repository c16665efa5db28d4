"""Calibration diagnostics of predicted intervals and σ: do uncertainties mean what they say.

* `interval_coverage` — the fraction of true masses inside each cluster's
  central interval of a level, from the interval columns of a prediction
  (``log10_m500c_lo68`` ...) or, without them, the Gaussian μ ± zσ;
* `coverage_table` — coverage and mean width of the 68/90/95 % intervals,
  overall and per bin of true mass, redshift and exposure, each row flagged
  when it misses its nominal level by more than the binomial 2σ for its N;
* `pit_ks` — the Kolmogorov–Smirnov distance of the PIT values from uniform;
* `crps_gaussian`, `gaussian_nll` — proper scores of the Gaussian N(μ, σ²);
* `calibration_summary` — all of these for one prediction, as a dict;
* `calibration_table` — the report's calibration table of several estimators.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.estimators import MassPrediction
>>> rng = np.random.default_rng(0)
>>> m = rng.uniform(13.5, 15.0, 4000)
>>> p = MassPrediction.from_arrays(np.arange(4000), np.full(4000, 0.2),
...                                m + rng.normal(0, 0.1, 4000), 0.1, truth=m)
>>> round(interval_coverage(p, 0.68), 2), bool(pit_ks(p)["statistic"] < 0.03)
(0.68, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy.table import Table
from scipy import special, stats

from ..estimators import MassPrediction
from ..exceptions import InputError, MissingColumnError

__all__ = [
    "LEVELS",
    "interval_coverage",
    "interval_width",
    "binomial_sigma",
    "coverage_table",
    "pit_ks",
    "crps_gaussian",
    "gaussian_nll",
    "calibration_summary",
    "has_intervals",
    "calibration_table",
]

#: Interval levels of the diagnostics.
LEVELS = (0.68, 0.90, 0.95)
#: Bin variables of `coverage_table`: label -> catalogue column of the prediction.
BY = {"mass": "log10_m500c_true", "redshift": "redshift", "exposure": "exposure"}


def _as_prediction(prediction: Any) -> MassPrediction:
    if isinstance(prediction, MassPrediction):
        return prediction
    return MassPrediction(prediction, copy=False)


def _truth(prediction: Any) -> np.ndarray:
    if "log10_m500c_true" not in prediction.colnames:
        raise MissingColumnError(
            "calibration diagnostics need the true masses (column 'log10_m500c_true'); "
            "predict a sample whose catalogue has log10_m500c"
        )
    return np.asarray(prediction["log10_m500c_true"], dtype=float)


def has_intervals(prediction: Any) -> bool:
    """Whether a prediction has intervals worth checking: interval columns or a per-cluster σ.

    Examples
    --------
    >>> from astroclustermass.estimators import MassPrediction
    >>> has_intervals(MassPrediction.from_arrays([1, 2], [0.1, 0.1], [14, 14], 0.1))
    False
    """
    from .metrics import has_per_cluster_sigma

    return bool(_as_prediction(prediction).interval_levels) or has_per_cluster_sigma(prediction)


def interval_coverage(prediction: Any, level: float = 0.68) -> float:
    """Fraction of clusters whose true mass lies in their central ``level`` interval.

    Uses the interval columns when the prediction has them for ``level``,
    else the Gaussian interval μ ± zσ (`MassPrediction.interval`).

    Examples
    --------
    >>> from astroclustermass.estimators import MassPrediction
    >>> p = MassPrediction.from_arrays([1, 2], [0.1, 0.1], [14.0, 14.0], 0.1, truth=[14.05, 14.3],
    ...                                intervals={0.68: ([13.9, 13.9], [14.1, 14.1])})
    >>> interval_coverage(p, 0.68)
    0.5
    """
    pred = _as_prediction(prediction)
    lo, hi = pred.interval(level)
    truth = _truth(pred)
    return float(np.mean((truth >= lo) & (truth <= hi)))


def interval_width(prediction: Any, level: float = 0.68) -> float:
    """Mean width (dex) of the central ``level`` intervals (inf when any is unbounded).

    Examples
    --------
    >>> from astroclustermass.estimators import MassPrediction
    >>> p = MassPrediction.from_arrays([1], [0.1], [14.0], 0.1)
    >>> round(interval_width(p, 0.68), 3)
    0.199
    """
    lo, hi = _as_prediction(prediction).interval(level)
    return float(np.mean(hi - lo))


def binomial_sigma(level: float, n: int) -> float:
    """Standard deviation of the observed coverage of ``n`` clusters at a true ``level``.

    Examples
    --------
    >>> round(binomial_sigma(0.68, 100), 4)
    0.0466
    """
    if int(n) < 1:
        return float("nan")
    return float(np.sqrt(level * (1.0 - level) / int(n)))


def _bin_edges(values: np.ndarray, n_bins: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.ptp(finite) == 0:
        return np.array([])
    return np.unique(np.quantile(finite, np.linspace(0, 1, int(n_bins) + 1)))


def coverage_table(
    prediction: Any,
    levels: Sequence[float] = LEVELS,
    by: Sequence[str] = ("mass", "redshift", "exposure"),
    n_bins: int = 5,
    min_count: int = 5,
) -> Table:
    """Coverage and width of the central intervals, overall and per bin, with misses flagged.

    Parameters
    ----------
    prediction : MassPrediction
        With true masses, and interval columns or a σ.
    levels : sequence of float
        Nominal interval probabilities.
    by : sequence of {'mass', 'redshift', 'exposure'}
        Bin variables: true mass, redshift, exposure (a column of the
        prediction; skipped when absent or constant).
    n_bins : int
        Equal-count bins per variable.
    min_count : int
        Bins with fewer clusters are left out.

    Returns
    -------
    astropy.table.Table
        One row per (variable, bin, level): ``by`` (``'all'`` for the whole
        sample), ``lo``, ``hi`` (bin range), ``n``, ``level``, ``coverage``,
        ``binomial_sigma``, ``miss_sigma`` (``(coverage − level)/σ_binom``),
        ``flagged`` (``|miss_sigma| > 2``) and ``mean_width_dex``.

    Examples
    --------
    >>> import numpy as np
    >>> from astroclustermass.estimators import MassPrediction
    >>> rng = np.random.default_rng(1)
    >>> m = rng.uniform(13.5, 15.0, 3000)
    >>> p = MassPrediction.from_arrays(np.arange(3000), np.full(3000, 0.2),
    ...                                m + rng.normal(0, 0.1, 3000), 0.05, truth=m)
    >>> t = coverage_table(p, levels=(0.68,), by=("mass",))
    >>> len(t), bool(t["flagged"].all())  # σ half the true scatter: every row misses
    (6, True)
    """
    pred = _as_prediction(prediction)
    truth = _truth(pred)
    unknown = [b for b in by if b not in BY]
    if unknown:
        raise InputError(f"coverage_table bins by {', '.join(BY)}; got {unknown}")
    groups: list[tuple[str, float, float, np.ndarray]] = [
        ("all", float(np.min(truth)), float(np.max(truth)), np.ones(truth.size, bool))
    ]
    for key in by:
        column = BY[key]
        if column not in pred.colnames:
            continue
        values = np.asarray(pred[column], dtype=float)
        edges = _bin_edges(values, n_bins)
        for i in range(edges.size - 1):
            last = i == edges.size - 2
            inside = (values >= edges[i]) & (
                (values <= edges[i + 1]) if last else (values < edges[i + 1])
            )
            if inside.sum() >= int(min_count):
                groups.append((key, float(edges[i]), float(edges[i + 1]), inside))
    rows = []
    for level in levels:
        lo, hi = pred.interval(level)
        hit = (truth >= lo) & (truth <= hi)
        width = hi - lo
        for key, b_lo, b_hi, mask in groups:
            n = int(mask.sum())
            cov = float(hit[mask].mean())
            sig = binomial_sigma(level, n)
            miss = (cov - level) / sig if sig > 0 else float("nan")
            rows.append(
                (
                    key,
                    b_lo,
                    b_hi,
                    n,
                    float(level),
                    cov,
                    sig,
                    miss,
                    abs(miss) > 2.0,
                    float(np.mean(width[mask])),
                )
            )
    names = (
        "by",
        "lo",
        "hi",
        "n",
        "level",
        "coverage",
        "binomial_sigma",
        "miss_sigma",
        "flagged",
        "mean_width_dex",
    )
    table = Table(rows=rows, names=names)
    for col, fmt in (
        ("lo", ".3f"),
        ("hi", ".3f"),
        ("coverage", ".3f"),
        ("binomial_sigma", ".3f"),
        ("miss_sigma", "+.1f"),
        ("mean_width_dex", ".4f"),
    ):
        table[col].format = fmt
    table.meta["estimator"] = pred.estimator
    return table


def _mu_sigma(prediction: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred = _as_prediction(prediction)
    mu = np.asarray(pred["log10_m500c"], dtype=float)
    sigma = np.asarray(pred["sigma_log10_m500c"], dtype=float)
    if np.any(~np.isfinite(sigma) | (sigma <= 0)):
        raise InputError(
            "PIT, CRPS and NLL need a positive finite 'sigma_log10_m500c' for every cluster; "
            f"{int(np.sum(~np.isfinite(sigma) | (sigma <= 0)))} value(s) are not"
        )
    return mu, sigma, _truth(pred)


def pit_ks(prediction: Any) -> dict[str, float]:
    """Kolmogorov–Smirnov test of the PIT values Φ((M_true − μ)/σ) against uniform.

    Returns
    -------
    dict
        ``statistic`` (the largest distance between the PIT's empirical CDF
        and the diagonal; 0 for perfect calibration) and ``pvalue``.

    Examples
    --------
    >>> from astroclustermass.estimators import MassPrediction
    >>> p = MassPrediction.from_arrays([1, 2], [0.1, 0.1], [14.0, 14.0], 0.1, truth=[14.0, 14.0])
    >>> pit_ks(p)["statistic"]  # every PIT is 0.5
    0.5
    """
    mu, sigma, truth = _mu_sigma(prediction)
    pit = 0.5 * (1.0 + special.erf((truth - mu) / (sigma * np.sqrt(2.0))))
    res = stats.kstest(pit, "uniform")
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue)}


def crps_gaussian(prediction: Any) -> float:
    """Mean continuous ranked probability score (dex) of N(μ, σ²) (Gneiting & Raftery 2007).

    ``σ [z (2Φ(z) − 1) + 2φ(z) − 1/√π]`` with ``z = (M_true − μ)/σ``; lower
    is better, and it rewards sharp *and* calibrated σ.

    Examples
    --------
    >>> from astroclustermass.estimators import MassPrediction
    >>> p = MassPrediction.from_arrays([1], [0.1], [14.0], 0.1, truth=[14.0])
    >>> round(crps_gaussian(p), 5)  # sigma (sqrt(2) - 1) / sqrt(pi)
    0.02337
    """
    mu, sigma, truth = _mu_sigma(prediction)
    z = (truth - mu) / sigma
    cdf = 0.5 * (1.0 + special.erf(z / np.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return float(np.mean(sigma * (z * (2.0 * cdf - 1.0) + 2.0 * pdf - 1.0 / np.sqrt(np.pi))))


def gaussian_nll(prediction: Any) -> float:
    """Mean Gaussian negative log-likelihood of the true masses, with its 0.5 log 2π.

    Examples
    --------
    >>> from astroclustermass.estimators import MassPrediction
    >>> p = MassPrediction.from_arrays([1], [0.1], [14.0], 1.0, truth=[14.0])
    >>> round(gaussian_nll(p), 4)  # 0.5 log(2 pi)
    0.9189
    """
    mu, sigma, truth = _mu_sigma(prediction)
    z = (truth - mu) / sigma
    return float(np.mean(0.5 * z * z + np.log(sigma) + 0.5 * np.log(2.0 * np.pi)))


def calibration_summary(prediction: Any, levels: Sequence[float] = LEVELS) -> dict[str, float]:
    """Coverage and mean width per level, PIT KS, CRPS and NLL of one prediction.

    Returns
    -------
    dict
        ``n``, ``coverage_<NN>`` and ``width_<NN>`` per level (``NN`` as in
        the interval columns: 68, 90, 95), ``pit_ks``, ``crps_dex``,
        ``nll`` (NaN unless every σ is positive and finite), and ``intervals`` (``'columns'`` when the interval columns
        were used for every level, else ``'gaussian'``).

    Examples
    --------
    >>> from astroclustermass.estimators import MassPrediction
    >>> p = MassPrediction.from_arrays([1, 2], [0.1, 0.1], [14.0, 14.2], 0.1, truth=[14.0, 14.0])
    >>> s = calibration_summary(p)
    >>> s["coverage_68"], s["coverage_95"], s["intervals"]
    (0.5, 0.5, 'gaussian')
    """
    from ..estimators.prediction import level_label

    pred = _as_prediction(prediction)
    out: dict[str, Any] = {"n": len(pred)}
    for level in levels:
        label = level_label(level)
        out[f"coverage_{label}"] = interval_coverage(pred, level)
        out[f"width_{label}"] = interval_width(pred, level)
    sigma = np.asarray(pred["sigma_log10_m500c"], dtype=float)
    if np.all(np.isfinite(sigma) & (sigma > 0)):
        out["pit_ks"] = pit_ks(pred)["statistic"]
        out["crps_dex"] = crps_gaussian(pred)
        out["nll"] = gaussian_nll(pred)
    else:  # e.g. unbounded intervals of a too small calibration set
        out["pit_ks"] = out["crps_dex"] = out["nll"] = float("nan")
    have = pred.interval_levels
    out["intervals"] = "columns" if all(lv in have for lv in levels) else "gaussian"
    return out


def calibration_table(
    predictions: Any,
    levels: Sequence[float] = LEVELS,
    n_bins: int = 5,
    n_boot: int = 300,
    seed: int | None = 0,
) -> tuple[Table, Table]:
    """One calibration row per estimator with intervals, and the per-bin coverage behind it.

    Parameters
    ----------
    predictions : mapping name → MassPrediction
        Out-of-fold predictions; those without intervals (no interval
        columns and no per-cluster σ, see `has_intervals`) are skipped.
    levels : sequence of float
    n_bins : int
        Equal-count bins of true mass, redshift and exposure.
    n_boot : int
        Bootstrap resamples of the coverage standard errors (0: none).
    seed : int or None

    Returns
    -------
    summary : astropy.table.Table
        ``model``, ``intervals`` (how they were made), ``n``, per level
        ``coverage_NN``, ``coverage_NN_se``, ``width_NN`` (mean width, dex),
        ``worst_mass_bin_NN`` (largest ``|coverage − level|`` over the mass
        bins), then ``pit_ks``, ``crps_dex``, ``nll`` and ``flags``: the
        levels whose overall coverage misses nominal by more than the
        binomial 2σ for that N (e.g. ``'68% (+3.1σ)'``), empty when none.
    bins : astropy.table.Table
        `coverage_table` of every model, stacked, with a ``model`` column.

    Examples
    --------
    >>> import numpy as np
    >>> from astroclustermass.estimators import MassPrediction
    >>> rng = np.random.default_rng(2)
    >>> m = rng.uniform(13.5, 15.0, 2000)
    >>> good = MassPrediction.from_arrays(np.arange(2000), np.full(2000, 0.2),
    ...                                   m + rng.normal(0, 0.1, 2000), 0.1, truth=m)
    >>> wide = MassPrediction.from_arrays(np.arange(2000), np.full(2000, 0.2),
    ...                                   m + rng.normal(0, 0.1, 2000), 0.2, truth=m)
    >>> good.meta["provides_sigma"] = wide.meta["provides_sigma"] = True  # σ per cluster
    >>> summary, bins = calibration_table({"good": good, "wide": wide}, n_boot=50)
    >>> [str(f) for f in summary["flags"]][1].startswith("68% (+")
    True
    >>> str(summary["flags"][0])
    ''
    """
    from astropy.table import vstack

    from ..estimators.prediction import level_label
    from .bootstrap import bootstrap_errors

    rows, parts = [], []
    for model, prediction in dict(predictions).items():
        if not has_intervals(prediction):
            continue
        pred = _as_prediction(prediction)
        summary = calibration_summary(pred, levels)
        se = bootstrap_errors(pred, levels=levels, n_boot=n_boot, seed=seed) if n_boot else {}
        bins = coverage_table(pred, levels=levels, n_bins=n_bins)
        bins["model"] = [model] * len(bins)
        parts.append(bins)
        row: dict[str, Any] = {
            "model": model,
            "intervals": str(
                pred.meta.get(
                    "interval_method", "interval columns" if pred.interval_levels else "gaussian σ"
                )
            ),
            "n": len(pred),
        }
        flags = []
        for level in levels:
            label = level_label(level)
            row[f"coverage_{label}"] = summary[f"coverage_{label}"]
            row[f"coverage_{label}_se"] = se.get(f"coverage_{label}_se", float("nan"))
            row[f"width_{label}"] = summary[f"width_{label}"]
            mass = bins[(bins["by"] == "mass") & np.isclose(bins["level"], level)]
            row[f"worst_mass_bin_{label}"] = (
                float(np.max(np.abs(np.asarray(mass["coverage"]) - level))) if len(mass) else np.nan
            )
            overall = bins[(bins["by"] == "all") & np.isclose(bins["level"], level)]
            if bool(overall["flagged"][0]):
                flags.append(f"{label}% ({float(overall['miss_sigma'][0]):+.1f}σ)")
        row.update(pit_ks=summary["pit_ks"], crps_dex=summary["crps_dex"], nll=summary["nll"])
        row["flags"] = ", ".join(flags)
        rows.append(row)
    if not rows:
        return Table(), Table()
    summary_table = Table(rows=rows, names=list(rows[0]))
    for col in summary_table.colnames:
        if col.startswith(("coverage", "worst", "pit")):
            summary_table[col].format = ".3f"
        elif col.startswith(("width", "crps", "nll")):
            summary_table[col].format = ".4f"
    return summary_table, vstack(parts, metadata_conflicts="silent")
