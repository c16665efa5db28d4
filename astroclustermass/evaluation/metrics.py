"""Accuracy metrics of mass predictions: scatter, bias, calibration, Table 3.

Every function takes a `~astroclustermass.estimators.MassPrediction` (or any
table with the columns ``log10_m500c`` and ``log10_m500c_true``, and
``sigma_log10_m500c`` where σ is needed). Residuals are
ε = log10(M_pred / M_true) in dex (Ho et al. 2023 Eq. 9); scatter is the
standard deviation of ε with ``ddof=0`` as in the reference code, in dex and
in per cent as σ_lnM = ln(10)·σ_dex.

Examples
--------
>>> from astroclustermass.estimators import MassPrediction
>>> p = MassPrediction.from_arrays([0, 1, 2, 3], [0.1] * 4, [14.1, 13.9, 14.6, 14.4],
...                                0.1, truth=[14.0, 14.0, 14.5, 14.5], estimator="demo")
>>> round(scatter(residuals(p)), 3), round(bias(residuals(p)), 3)
(0.1, 0.0)
>>> round(float(dex_to_percent(0.1)), 2)
23.03
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy.table import Table
from scipy import special

from ..exceptions import EmptyInputError, InputError, MissingColumnError
from ._paper import paper_reference
from .tables import to_markdown

__all__ = [
    "residuals",
    "dex_to_percent",
    "scatter",
    "bias",
    "robust_scatter",
    "robust_bias",
    "coverage",
    "pit_values",
    "pit_histogram",
    "has_per_cluster_sigma",
    "summarize",
    "binned_statistics",
    "mass_bin_bias",
    "compare",
    "to_markdown",
]

LN10 = float(np.log(10.0))


# ----------------------------------------------------------------- helpers
def _column(prediction: Any, name: str) -> np.ndarray:
    colnames = getattr(prediction, "colnames", None)
    if colnames is None:
        raise InputError(
            f"expected a MassPrediction (astropy Table); got {type(prediction).__name__}"
        )
    if name not in colnames:
        what = prediction.meta.get("estimator", "") if hasattr(prediction, "meta") else ""
        raise MissingColumnError(
            f"the prediction{f' of {what!r}' if what else ''} has no column {name!r} "
            f"(columns: {', '.join(colnames)})"
            + ("; true masses are needed to measure accuracy" if name == "log10_m500c_true" else "")
        )
    arr = np.asarray(prediction[name], dtype=float)
    if arr.size == 0:
        raise EmptyInputError("the prediction table is empty; nothing to evaluate")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(
            f"column {name!r} holds {int(bad.sum())} non-finite value(s) (first at row "
            f"{int(np.flatnonzero(bad)[0])}); drop those clusters before evaluating"
        )
    return arr


def _as_residuals(values: Any) -> np.ndarray:
    if hasattr(values, "colnames"):
        return residuals(values)
    arr = np.asarray(values, dtype=float).ravel()
    if arr.size == 0:
        raise EmptyInputError("no residuals given; nothing to evaluate")
    if not np.all(np.isfinite(arr)):
        raise InputError(
            f"residuals hold {int((~np.isfinite(arr)).sum())} non-finite value(s); "
            "drop those clusters first"
        )
    return arr


def _name_of(prediction: Any, fallback: str) -> str:
    meta = getattr(prediction, "meta", {}) or {}
    return str(meta.get("name") or meta.get("estimator") or fallback)


# -------------------------------------------------------------- residuals
def residuals(prediction: Any) -> np.ndarray:
    """Residuals ε = log10(M_pred / M_true) in dex, one per cluster.

    Parameters
    ----------
    prediction : `~astroclustermass.estimators.MassPrediction`
        Needs the columns ``log10_m500c`` and ``log10_m500c_true``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    MissingColumnError
        If the truth column is missing.
    InputError
        If a value is NaN or infinite.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"log10_m500c": [14.2], "log10_m500c_true": [14.0]})
    >>> residuals(t).round(3).tolist()
    [0.2]
    """
    return _column(prediction, "log10_m500c") - _column(prediction, "log10_m500c_true")


def dex_to_percent(dex: Any) -> Any:
    """Convert a scatter in dex to per cent of ln M: 100·ln(10)·σ_dex.

    Examples
    --------
    >>> round(float(dex_to_percent(0.0773)), 2)
    17.8
    """
    return 100.0 * LN10 * np.asarray(dex, dtype=float)


def scatter(values: Any) -> float:
    """Standard deviation of the residuals in dex (``ddof=0``).

    Parameters
    ----------
    values : array-like or MassPrediction
        Residuals in dex, or a prediction table.

    Examples
    --------
    >>> scatter([0.1, -0.1, 0.1, -0.1])
    0.1
    """
    return float(np.std(_as_residuals(values)))


def bias(values: Any) -> float:
    """Mean residual in dex.

    Examples
    --------
    >>> round(bias([0.1, 0.3]), 6)
    0.2
    """
    return float(np.mean(_as_residuals(values)))


def robust_scatter(values: Any) -> float:
    """Half the width of the 16th–84th percentile range of the residuals, in dex.

    Equal to σ for a Gaussian, and insensitive to catastrophic outliers.

    Examples
    --------
    >>> import numpy as np
    >>> eps = np.random.default_rng(1).normal(0, 0.1, 100_000)
    >>> round(robust_scatter(eps), 2)
    0.1
    """
    p16, p84 = np.percentile(_as_residuals(values), [15.865525393145708, 84.13447460685429])
    return float(0.5 * (p84 - p16))


def robust_bias(values: Any) -> float:
    """Median residual in dex.

    Examples
    --------
    >>> robust_bias([0.0, 0.1, 5.0])
    0.1
    """
    return float(np.median(_as_residuals(values)))


# -------------------------------------------------------------- calibration
def _sigma(prediction: Any) -> np.ndarray:
    sigma = _column(prediction, "sigma_log10_m500c")
    if np.any(sigma <= 0):
        raise InputError(
            f"column 'sigma_log10_m500c' holds {int((sigma <= 0).sum())} non-positive value(s); "
            "coverage and PIT need a positive sigma for every cluster"
        )
    return sigma


def coverage(prediction: Any, level: float = 0.68) -> float:
    """Fraction of true masses inside the central interval of probability ``level``.

    The interval is the prediction's own (the columns ``log10_m500c_lo68`` /
    ``log10_m500c_hi68`` ..., e.g. of the ``conformal`` wrapper) when it has
    them for ``level``, else the Gaussian μ ± z·σ with z = Φ⁻¹((1 + level)/2)
    of the column ``sigma_log10_m500c``. A calibrated estimator gives
    ``coverage ≈ level``.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.table import Table
    >>> rng = np.random.default_rng(0)
    >>> true = rng.uniform(13.5, 15, 20_000)
    >>> t = Table({"log10_m500c": true + rng.normal(0, 0.1, true.size),
    ...            "log10_m500c_true": true, "sigma_log10_m500c": np.full(true.size, 0.1)})
    >>> round(coverage(t, 0.68), 2), round(coverage(t, 0.95), 2)
    (0.68, 0.95)
    """
    if not 0.0 < float(level) < 1.0:
        raise InputError(f"coverage level must lie strictly between 0 and 1; got {level!r}")
    from ..estimators.prediction import interval_columns
    from .calibration import interval_coverage

    if not set(interval_columns(level)) <= set(prediction.colnames):
        _sigma(prediction)  # the Gaussian interval needs a positive sigma
    return interval_coverage(prediction, level)


def pit_values(prediction: Any) -> np.ndarray:
    """Probability integral transform Φ((M_true − μ)/σ) of every cluster.

    Uniform on [0, 1] for a calibrated Gaussian predictive distribution;
    U-shaped when σ is too small, peaked when too large.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"log10_m500c": [14.0], "log10_m500c_true": [14.0],
    ...            "sigma_log10_m500c": [0.1]})
    >>> pit_values(t).tolist()
    [0.5]
    """
    z = -residuals(prediction) / _sigma(prediction)
    return 0.5 * (1.0 + special.erf(z / np.sqrt(2.0)))


def pit_histogram(prediction: Any, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of `pit_values` as a density on [0, 1] (1 everywhere when calibrated).

    Returns
    -------
    density, edges : numpy.ndarray

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"log10_m500c": [14.0, 14.0], "log10_m500c_true": [13.9, 14.1],
    ...            "sigma_log10_m500c": [0.1, 0.1]})
    >>> density, edges = pit_histogram(t, bins=2)
    >>> density.tolist(), edges.tolist()
    ([1.0, 1.0], [0.0, 0.5, 1.0])
    """
    if int(bins) < 1:
        raise InputError(f"bins must be a positive integer; got {bins!r}")
    return np.histogram(pit_values(prediction), bins=int(bins), range=(0.0, 1.0), density=True)


def has_per_cluster_sigma(prediction: Any) -> bool:
    """Whether the prediction carries a genuine per-cluster σ (not one number for all).

    Uses ``meta['provides_sigma']`` when present, else the registered
    estimator's ``provides_sigma`` attribute, else whether σ varies between
    clusters.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"sigma_log10_m500c": [0.1, 0.2]})
    >>> has_per_cluster_sigma(t)
    True
    """
    meta = getattr(prediction, "meta", {}) or {}
    if "provides_sigma" in meta:
        return bool(meta["provides_sigma"])
    if "sigma_log10_m500c" not in getattr(prediction, "colnames", []):
        return False
    name = meta.get("estimator")
    if name:
        try:
            from ..plugins import estimator_registry

            registry = estimator_registry()
            if name in registry:
                return bool(getattr(registry.get(name), "provides_sigma", False))
        except Exception:  # an unresolvable plugin only loses this hint
            pass
    sigma = np.asarray(prediction["sigma_log10_m500c"], dtype=float)
    finite = sigma[np.isfinite(sigma)]
    return finite.size > 1 and bool(np.ptp(finite) > 1e-12 * max(1.0, abs(finite).max()))


def summarize(prediction: Any, *, with_coverage: bool | str = "auto") -> dict[str, float]:
    """All scalar accuracy numbers of one prediction.

    Parameters
    ----------
    prediction : MassPrediction
    with_coverage : bool or "auto"
        Compute σ-based numbers (mean σ, coverage); ``"auto"`` does so only
        when `has_per_cluster_sigma` is true, else they are NaN.

    Returns
    -------
    dict
        ``n``, ``scatter_dex``, ``scatter_percent``, ``bias_dex``,
        ``bias_percent``, ``robust_scatter_dex``, ``median_bias_dex``,
        ``mean_sigma_dex``, ``coverage_68``, ``coverage_95``.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"log10_m500c": [14.1, 13.9], "log10_m500c_true": [14.0, 14.0]})
    >>> s = summarize(t)
    >>> s["n"], round(s["scatter_dex"], 3), round(s["scatter_percent"], 2)
    (2, 0.1, 23.03)
    """
    eps = residuals(prediction)
    out: dict[str, float] = {
        "n": int(eps.size),
        "scatter_dex": scatter(eps),
        "scatter_percent": float(dex_to_percent(scatter(eps))),
        "bias_dex": bias(eps),
        "bias_percent": float(dex_to_percent(bias(eps))),
        "robust_scatter_dex": robust_scatter(eps),
        "median_bias_dex": robust_bias(eps),
        "mean_sigma_dex": np.nan,
        "coverage_68": np.nan,
        "coverage_95": np.nan,
    }
    use = has_per_cluster_sigma(prediction) if with_coverage == "auto" else bool(with_coverage)
    if use:
        out["mean_sigma_dex"] = float(np.mean(_sigma(prediction)))
        out["coverage_68"] = coverage(prediction, 0.68)
        out["coverage_95"] = coverage(prediction, 0.95)
    return out


# ------------------------------------------------------------- binned views
def _edges(values: np.ndarray, bins: Any, width: float) -> np.ndarray:
    if np.ndim(bins) == 0 and bins is not None:
        nb = int(bins)
        if nb < 1:
            raise InputError(f"bins must be a positive integer or an array of edges; got {bins!r}")
        lo, hi = float(values.min()), float(values.max())
        if hi <= lo:
            hi = lo + width
        return np.linspace(lo, hi, nb + 1)
    if bins is None:
        lo = np.floor(values.min() / width) * width
        hi = np.ceil(values.max() / width) * width
        if hi <= lo:
            hi = lo + width
        return np.round(np.arange(lo, hi + 0.5 * width, width), 10)
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InputError("bin edges must be a 1-D increasing array with at least two values")
    return edges


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[values == edges[-1]] = edges.size - 2  # last bin closed
    idx[(values < edges[0]) | (values > edges[-1])] = -1
    return idx


def binned_statistics(prediction: Any, bins: Any = 10, *, min_count: int = 3) -> Table:
    """Median and 16–84 % range of predicted mass and residual in bins of true mass.

    The upper and middle panels of Ho et al. (2023) Fig. 4.

    Parameters
    ----------
    prediction : MassPrediction
    bins : int or array-like
        Number of equal bins over the range of true masses, or bin edges in
        log10(M500c / h⁻¹ M☉).
    min_count : int
        Bins with fewer clusters get NaN statistics.

    Returns
    -------
    astropy.table.Table
        ``true_lo``, ``true_hi``, ``true_center``, ``n``, ``pred_median``,
        ``pred_p16``, ``pred_p84``, ``resid_median``, ``resid_p16``,
        ``resid_p84``, ``resid_mean``.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"log10_m500c": [14.0, 14.1, 14.2, 14.9, 15.0],
    ...            "log10_m500c_true": [14.0, 14.1, 14.2, 14.9, 15.0]})
    >>> b = binned_statistics(t, bins=[14.0, 14.5, 15.0])
    >>> b["n"].tolist(), b["pred_median"].round(2).tolist()
    ([3, 2], [14.1, nan])
    """
    true = _column(prediction, "log10_m500c_true")
    pred = _column(prediction, "log10_m500c")
    eps = pred - true
    edges = _edges(true, bins, 0.1)
    idx = _bin_index(true, edges)
    nb = edges.size - 1
    names = ["pred_median", "pred_p16", "pred_p84", "resid_median", "resid_p16", "resid_p84"]
    stats = {k: np.full(nb, np.nan) for k in [*names, "resid_mean"]}
    counts = np.bincount(idx[idx >= 0], minlength=nb)[:nb]
    for b in np.flatnonzero(counts >= max(int(min_count), 1)):
        sel = idx == b
        stats["pred_p16"][b], stats["pred_median"][b], stats["pred_p84"][b] = np.percentile(
            pred[sel], [16, 50, 84]
        )
        stats["resid_p16"][b], stats["resid_median"][b], stats["resid_p84"][b] = np.percentile(
            eps[sel], [16, 50, 84]
        )
        stats["resid_mean"][b] = eps[sel].mean()
    table = Table()
    table["true_lo"] = edges[:-1]
    table["true_hi"] = edges[1:]
    table["true_center"] = 0.5 * (edges[:-1] + edges[1:])
    table["n"] = counts.astype(int)
    for key, values in stats.items():
        table[key] = values
    return table


def mass_bin_bias(prediction: Any, bins: Any = None, *, min_count: int = 2) -> Table:
    """Mean residual (bias) per bin of true mass, with its standard error.

    As Krippendorf et al. (2023) Fig. 5: estimators trained on a steep mass
    function over-predict low masses and under-predict high ones.

    Parameters
    ----------
    prediction : MassPrediction
    bins : None, int or array-like
        Bin edges in log10 M500c; None uses 0.25 dex bins spanning the data.
    min_count : int
        Bins with fewer clusters get NaN.

    Returns
    -------
    astropy.table.Table
        ``true_lo``, ``true_hi``, ``n``, ``bias_dex``, ``bias_err_dex``,
        ``scatter_dex``.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"log10_m500c": [13.6, 13.8, 14.6, 14.6],
    ...            "log10_m500c_true": [13.5, 13.7, 14.7, 14.7]})
    >>> mass_bin_bias(t, bins=[13.5, 14.0, 14.5, 15.0])["bias_dex"].round(2).tolist()
    [0.1, nan, -0.1]
    """
    true = _column(prediction, "log10_m500c_true")
    eps = _column(prediction, "log10_m500c") - true
    edges = _edges(true, bins, 0.25)
    idx = _bin_index(true, edges)
    nb = edges.size - 1
    counts = np.bincount(idx[idx >= 0], minlength=nb)[:nb]
    mean = np.full(nb, np.nan)
    err = np.full(nb, np.nan)
    std = np.full(nb, np.nan)
    for b in np.flatnonzero(counts >= max(int(min_count), 1)):
        e = eps[idx == b]
        mean[b], std[b] = e.mean(), e.std()
        err[b] = e.std(ddof=1) / np.sqrt(e.size) if e.size > 1 else np.nan
    return Table(
        {
            "true_lo": edges[:-1],
            "true_hi": edges[1:],
            "n": counts.astype(int),
            "bias_dex": mean,
            "bias_err_dex": err,
            "scatter_dex": std,
        }
    )


# ----------------------------------------------------------------- compare
def compare(
    *predictions: Any,
    names: Sequence[str] | None = None,
    paper: bool = True,
    with_coverage: bool | str = "auto",
) -> Table:
    """Table 3-style comparison of several predictions, one row per model.

    Parameters
    ----------
    *predictions : MassPrediction
        Out-of-fold predictions with true masses.
    names : sequence of str, optional
        Row labels; default ``meta['name']`` or ``meta['estimator']``. A name
        such as ``"power_law(n_phot_500c)"`` or ``"multiband_cnn"`` is matched
        to the published numbers.
    paper : bool
        Add ``paper_dex``, ``paper_percent`` and ``paper_source`` (NaN/empty
        when the papers have no such row).
    with_coverage : bool or "auto"
        See `summarize`; coverage columns are NaN when σ is not per cluster.

    Returns
    -------
    astropy.table.Table
        Columns ``model``, ``n``, ``scatter_dex``, ``scatter_percent``,
        ``bias_dex``, ``bias_percent``, ``robust_scatter_dex``,
        ``median_bias_dex``, ``mean_sigma_dex``, ``coverage_68``,
        ``coverage_95`` (+ the paper columns). Write it with
        ``table.write(path, format="ascii.ecsv")`` or ``"ascii.latex"``, or
        render Markdown with `to_markdown`.

    Examples
    --------
    >>> from astroclustermass.estimators import MassPrediction
    >>> p = MassPrediction.from_arrays([0, 1], [0.1, 0.2], [14.1, 13.9], 0.1,
    ...                                truth=[14.0, 14.0], estimator="multiband_cnn")
    >>> t = compare(p)
    >>> str(t["model"][0]), round(float(t["scatter_dex"][0]), 3), float(t["paper_dex"][0])
    ('multiband_cnn', 0.1, 0.0703)
    """
    if not predictions:
        raise EmptyInputError("compare() needs at least one prediction")
    if names is not None and len(names) != len(predictions):
        raise InputError(f"got {len(names)} names for {len(predictions)} predictions")
    labels = (
        [str(n) for n in names]
        if names is not None
        else [_name_of(p, f"model_{i}") for i, p in enumerate(predictions)]
    )
    rows = [summarize(p, with_coverage=with_coverage) for p in predictions]
    table = Table()
    table["model"] = labels
    for key in rows[0]:
        table[key] = [r[key] for r in rows]
    if paper:
        refs = [paper_reference(label) for label in labels]
        table["paper_dex"] = [r["dex"] if r else np.nan for r in refs]
        table["paper_percent"] = [r["percent"] if r else np.nan for r in refs]
        table["paper_source"] = [r["source"] if r else "" for r in refs]
    for col in table.colnames:
        if col.endswith("_dex"):
            table[col].unit = "dex"
            table[col].format = ".4f"
        elif col.endswith("_percent"):
            table[col].format = ".2f"
        elif col.startswith("coverage"):
            table[col].format = ".3f"
    return table
