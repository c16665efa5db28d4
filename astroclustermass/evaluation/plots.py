"""Figures of the benchmark: Ho et al. (2023) Fig. 3 and Fig. 4, calibration, mass-bin bias.

Every function builds a `matplotlib.figure.Figure` without pyplot (so no
global backend is set and nothing is shown), saves it as PNG when ``path`` is
given, and returns the figure.

Examples
--------
>>> from astroclustermass.estimators import MassPrediction
>>> p = MassPrediction.from_arrays(range(4), [0.1] * 4, [14.0, 14.2, 14.5, 14.9], 0.1,
...                                truth=[14.1, 14.2, 14.4, 14.9], estimator="demo")
>>> fig = plot_predictions(p, bins=[14.0, 14.5, 15.0], min_count=1)
>>> len(fig.axes)
3
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._utils import atomic_write
from ..exceptions import EmptyInputError, InputError
from .metrics import (
    binned_statistics,
    coverage,
    mass_bin_bias,
    pit_values,
    residuals,
    summarize,
)

__all__ = [
    "plot_predictions",
    "plot_residual_correlation",
    "plot_coverage",
    "plot_mass_bin_bias",
    "plot_reliability",
]

_MASS_LABEL = r"$\log_{10} M_{500c}$"
_UNIT = r"$[h^{-1}\,M_\odot]$"


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(fig, path: str | Path | None, dpi: int = 120):
    if path is not None:
        path = Path(path)
        if path.suffix.lower() != ".png":
            raise InputError(f"figures are written as PNG; {path} should end in '.png'")
        with atomic_write(path) as tmp, open(tmp, "wb") as fh:
            fig.savefig(fh, format="png", dpi=dpi)
    return fig


def _labels(predictions: Sequence[Any], names: Sequence[str] | None) -> list[str]:
    if not predictions:
        raise EmptyInputError("no predictions to plot")
    if names is not None:
        if len(names) != len(predictions):
            raise InputError(f"got {len(names)} names for {len(predictions)} predictions")
        return [str(n) for n in names]
    return [
        str((p.meta or {}).get("name") or (p.meta or {}).get("estimator") or f"model {i}")
        for i, p in enumerate(predictions)
    ]


def _common_edges(predictions: Sequence[Any], bins: Any) -> np.ndarray:
    if np.ndim(bins) == 1:
        return np.asarray(bins, dtype=float)
    true = np.concatenate([np.asarray(p["log10_m500c_true"], float) for p in predictions])
    lo, hi = np.nanmin(true), np.nanmax(true)
    if hi <= lo:
        hi = lo + 0.1
    if bins is None or bins == "auto":  # about 15+ clusters per bin for the smallest model
        n = min(len(p) for p in predictions)
        bins = int(np.clip(np.sqrt(n) / 2, 4, 15))
    return np.linspace(lo, hi, int(bins) + 1)


def plot_predictions(
    *predictions: Any,
    names: Sequence[str] | None = None,
    path: str | Path | None = None,
    bins: Any = "auto",
    min_count: int = 3,
):
    r"""Predicted against true mass, one column per model (Ho et al. 2023 Fig. 4).

    Upper panels: median and 16–84 % band of the predicted mass in bins of
    true mass, with the 1:1 line. Middle: the same for the residual
    ε = log10(M_pred/M_true). Bottom: histogram of true masses.

    Parameters
    ----------
    *predictions : MassPrediction
        Predictions with true masses.
    names : sequence of str, optional
        Column titles (default from ``meta``).
    path : path-like, optional
        Write a PNG there.
    bins : "auto", int or array-like
        Number of true-mass bins over the common range, or the edges;
        ``"auto"`` gives √N/2 bins (4 to 15) for N clusters.
    min_count : int
        Bins with fewer clusters are not drawn.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"log10_m500c": [14.0, 14.6], "log10_m500c_true": [14.0, 14.5]})
    >>> fig = plot_predictions(t, t, names=["a", "b"], bins=[13.9, 14.7], min_count=1)
    >>> [fig.axes[k].get_title() for k in (0, 3)]
    ['a\n0.050 dex (11.5%)', 'b\n0.050 dex (11.5%)']
    """
    labels = _labels(predictions, names)
    edges = _common_edges(predictions, bins)
    lim = (edges[0], edges[-1])
    n = len(predictions)
    stats_all = [binned_statistics(p, bins=edges, min_count=min_count) for p in predictions]
    lows = [np.nanmin(np.asarray(s["pred_p16"], float), initial=lim[0]) for s in stats_all]
    highs = [np.nanmax(np.asarray(s["pred_p84"], float), initial=lim[1]) for s in stats_all]
    ylim = (min(lows) - 0.05, max(highs) + 0.05)
    fig = _figure(2.9 * n + 0.6, 6.6)
    grid = fig.add_gridspec(3, n, height_ratios=[3.0, 1.3, 1.0])
    ax_top0 = ax_mid0 = ax_bot0 = None
    for k, (pred, label, stats) in enumerate(zip(predictions, labels, stats_all)):
        summary = summarize(pred, with_coverage=False)
        x = np.asarray(stats["true_center"])
        ax_top = fig.add_subplot(grid[0, k], sharex=ax_top0, sharey=ax_top0)
        ax_mid = fig.add_subplot(grid[1, k], sharex=ax_top, sharey=ax_mid0)
        ax_bot = fig.add_subplot(grid[2, k], sharex=ax_top, sharey=ax_bot0)
        ax_top0, ax_mid0, ax_bot0 = ax_top0 or ax_top, ax_mid0 or ax_mid, ax_bot0 or ax_bot
        color = f"C{k}"
        ax_top.plot(lim, lim, color="0.3", ls="--", lw=1)
        ax_top.fill_between(x, stats["pred_p16"], stats["pred_p84"], color=color, alpha=0.3, lw=0)
        ax_top.plot(x, stats["pred_median"], color=color, lw=2, marker=".")
        ax_top.set_title(
            f"{label}\n{summary['scatter_dex']:.3f} dex ({summary['scatter_percent']:.1f}%)",
            fontsize=10,
        )
        ax_top.set_xlim(*lim)
        ax_top.set_ylim(*ylim)
        ax_mid.axhline(0.0, color="0.3", ls="--", lw=1)
        ax_mid.fill_between(x, stats["resid_p16"], stats["resid_p84"], color=color, alpha=0.3, lw=0)
        ax_mid.plot(x, stats["resid_median"], color=color, lw=2, marker=".")
        true = np.asarray(pred["log10_m500c_true"], dtype=float)
        ax_bot.hist(true, bins=edges, color="0.55", edgecolor="white")
        ax_bot.set_xlabel(rf"true {_MASS_LABEL} {_UNIT}")
        if k == 0:
            ax_top.set_ylabel(rf"predicted {_MASS_LABEL}")
            ax_mid.set_ylabel(r"$\varepsilon$ [dex]")
            ax_bot.set_ylabel("N")
        else:
            for ax in (ax_top, ax_mid, ax_bot):
                ax.tick_params(labelleft=False)
        for ax in (ax_top, ax_mid):
            ax.tick_params(labelbottom=False)
            ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_residual_correlation(
    matrix: Any,
    names: Sequence[str],
    path: str | Path | None = None,
    *,
    n_ideal: int | None = None,
    title: str | None = None,
):
    """Heatmap of the residual correlation matrix of scalar observables (Fig. 3).

    Parameters
    ----------
    matrix : (N, N) array-like
        Correlation coefficients C_ij / (σ_i σ_j), in [-1, 1].
    names : sequence of str
        Observable labels in matrix order.
    path : path-like, optional
        Write a PNG there.
    n_ideal : int, optional
        Number of leading "ideal" observables; a line separates them from the
        realistic ones, as in the paper.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_residual_correlation([[1, 0.5], [0.5, 1]], ["T", "M_gas"])
    >>> fig.axes[0].get_xticklabels()[1].get_text()
    'M_gas'
    """
    corr = np.asarray(matrix, dtype=float)
    names = [str(n) for n in names]
    if corr.ndim != 2 or corr.shape[0] != corr.shape[1] or corr.shape[0] != len(names):
        raise InputError(
            f"the correlation matrix must be square with one row per name; got shape "
            f"{corr.shape} for {len(names)} names"
        )
    if corr.size == 0:
        raise EmptyInputError("the correlation matrix is empty")
    n = len(names)
    size = 1.6 + 0.62 * n
    fig = _figure(size + 1.0, size)
    ax = fig.add_subplot()
    image = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    for i in range(n):
        for j in range(n):
            if np.isfinite(corr[i, j]):
                color = "white" if abs(corr[i, j]) > 0.6 else "black"
                ax.text(
                    j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=8, color=color
                )
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    if n_ideal is not None and 0 < n_ideal < n:
        ax.axvline(n_ideal - 0.5, color="black", lw=2)
        ax.axhline(n_ideal - 0.5, color="black", lw=2)
    fig.colorbar(image, ax=ax, label="residual correlation", shrink=0.85)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_coverage(
    *predictions: Any,
    names: Sequence[str] | None = None,
    path: str | Path | None = None,
    bins: int = 10,
):
    """Calibration of predicted σ: coverage curve and PIT histogram per model.

    Left: fraction of true masses inside the central interval of probability
    p against p (the diagonal is perfect calibration; below it σ is too
    small). Right: histograms of the PIT values Φ((M_true − μ)/σ), flat at 1
    when calibrated.

    Parameters
    ----------
    *predictions : MassPrediction
        Predictions with a per-cluster ``sigma_log10_m500c`` and true masses.
    names : sequence of str, optional
    path : path-like, optional
        Write a PNG there.
    bins : int
        Number of PIT histogram bins.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"log10_m500c": [14.0, 14.2], "log10_m500c_true": [14.1, 14.1],
    ...            "sigma_log10_m500c": [0.1, 0.2]})
    >>> len(plot_coverage(t, names=["nll"]).axes)
    2
    """
    labels = _labels(predictions, names)
    fig = _figure(9.0, 3.8)
    ax_cov, ax_pit = fig.subplots(1, 2)
    levels = np.linspace(0.02, 0.98, 49)
    ax_cov.plot([0, 1], [0, 1], color="0.3", ls="--", lw=1)
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    for k, (pred, label) in enumerate(zip(predictions, labels)):
        observed = [coverage(pred, level) for level in levels]
        ax_cov.plot(levels, observed, color=f"C{k}", lw=2, label=label)
        density, _ = np.histogram(pit_values(pred), bins=edges, density=True)
        ax_pit.stairs(density, edges, baseline=None, lw=2, color=f"C{k}", label=label)
    ax_pit.axhline(1.0, color="0.3", ls="--", lw=1)
    ax_pit.set_ylim(bottom=0.0)
    ax_cov.set(
        xlabel="nominal probability of the interval",
        ylabel="observed coverage",
        xlim=(0, 1),
        ylim=(0, 1),
        title="interval coverage",
    )
    ax_pit.set(
        xlabel=r"PIT $=\Phi((m_{\rm true}-\mu)/\sigma)$",
        ylabel="density",
        xlim=(0, 1),
        title="PIT histogram",
    )
    for ax in (ax_cov, ax_pit):
        ax.grid(alpha=0.3)
    ax_cov.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def plot_mass_bin_bias(
    *predictions: Any,
    names: Sequence[str] | None = None,
    path: str | Path | None = None,
    bins: Any = None,
):
    """Mean residual per bin of true mass with standard errors (Krippendorf et al. Fig. 5).

    Parameters
    ----------
    *predictions : MassPrediction
    names : sequence of str, optional
    path : path-like, optional
        Write a PNG there.
    bins : None, int or array-like
        Mass bins, as in `~astroclustermass.evaluation.mass_bin_bias`; None
        uses 0.25 dex bins over the common range.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"log10_m500c": [13.6, 13.8, 14.6, 14.6],
    ...            "log10_m500c_true": [13.5, 13.7, 14.7, 14.7]})
    >>> len(plot_mass_bin_bias(t, bins=[13.5, 14.0, 14.5, 15.0]).axes)
    1
    """
    labels = _labels(predictions, names)
    if bins is None:
        for p in predictions:
            residuals(p)  # validates the columns
        true = np.concatenate([np.asarray(p["log10_m500c_true"], float) for p in predictions])
        lo, hi = np.floor(true.min() / 0.25) * 0.25, np.ceil(true.max() / 0.25) * 0.25
        bins = np.arange(lo, max(hi, lo + 0.25) + 0.125, 0.25)
    fig = _figure(6.4, 3.8)
    ax = fig.add_subplot()
    ax.axhline(0.0, color="0.3", ls="--", lw=1)
    n = len(predictions)
    for k, (pred, label) in enumerate(zip(predictions, labels)):
        table = mass_bin_bias(pred, bins=bins)
        centre = 0.5 * (np.asarray(table["true_lo"]) + np.asarray(table["true_hi"]))
        width = np.asarray(table["true_hi"]) - np.asarray(table["true_lo"])
        offset = (k - (n - 1) / 2) * 0.6 * width / max(n, 1)
        ax.errorbar(
            centre + offset,
            table["bias_dex"],
            yerr=table["bias_err_dex"],
            fmt="o",
            color=f"C{k}",
            capsize=3,
            label=label,
        )
    ax.set(
        xlabel=rf"true {_MASS_LABEL} {_UNIT}",
        ylabel=r"bias $\langle\varepsilon\rangle$ [dex]",
        title="bias per mass bin",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_reliability(
    prediction: Any,
    name: str | None = None,
    path: str | Path | None = None,
    levels: Sequence[float] = (0.68, 0.90, 0.95),
    n_bins: int = 5,
):
    """Reliability of one estimator's intervals: coverage against nominal, overall and per mass bin.

    Left: observed coverage of the central intervals against their nominal
    probability — the Gaussian μ ± zσ curve over a grid of levels (line) and
    the estimator's own interval columns (points with binomial 2σ bars), the
    diagonal with its binomial 2σ band for this N. Right: coverage of each
    level per equal-count bin of true mass, with the nominal level and its
    2σ band for the bin's N.

    Parameters
    ----------
    prediction : MassPrediction
        With true masses, and interval columns or a per-cluster σ.
    name : str, optional
        Title (default ``meta['estimator']``).
    path : path-like, optional
        Write a PNG there.
    levels : sequence of float
        Levels shown per mass bin.
    n_bins : int
        True-mass bins.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from astroclustermass.estimators import MassPrediction
    >>> m = np.linspace(13.5, 15.0, 50)
    >>> p = MassPrediction.from_arrays(range(50), [0.1] * 50, m + 0.05, 0.1, truth=m)
    >>> len(plot_reliability(p).axes)
    2
    """
    from ..estimators import MassPrediction
    from ..estimators.prediction import interval_columns
    from .calibration import binomial_sigma, coverage_table, interval_coverage

    pred = prediction if isinstance(prediction, MassPrediction) else MassPrediction(prediction)
    title = name or pred.estimator or "model"
    n = len(pred)
    fig = _figure(9.5, 4.0)
    ax_rel, ax_bin = fig.subplots(1, 2)
    grid = np.linspace(0.02, 0.98, 49)
    band = np.array([2 * binomial_sigma(p, n) for p in grid])
    ax_rel.fill_between(grid, grid - band, grid + band, color="0.85", label=f"binomial 2σ (N={n})")
    ax_rel.plot([0, 1], [0, 1], color="0.3", ls="--", lw=1)
    sigma = np.asarray(pred["sigma_log10_m500c"], float)
    if np.all(np.isfinite(sigma) & (sigma > 0)):
        gauss = MassPrediction(pred, copy=True)
        for lv in gauss.interval_levels:  # drop the columns: Gaussian curve from sigma
            gauss.remove_columns(list(interval_columns(lv)))
        ax_rel.plot(
            grid,
            [interval_coverage(gauss, p) for p in grid],
            color="C0",
            lw=2,
            label="Gaussian μ ± zσ̂",
        )
    own = pred.interval_levels
    if own:
        cov = [interval_coverage(pred, lv) for lv in own]
        err = [2 * binomial_sigma(lv, n) for lv in own]
        ax_rel.errorbar(
            own,
            cov,
            yerr=err,
            fmt="o",
            color="C3",
            ms=6,
            capsize=3,
            label=pred.meta.get("interval_method", "interval columns"),
        )
    ax_rel.set(
        xlabel="nominal probability of the interval",
        ylabel="observed coverage",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"{title}: reliability",
    )
    ax_rel.legend(fontsize=7, loc="upper left")
    table = coverage_table(pred, levels=levels, by=("mass",), n_bins=n_bins)
    rows = table[table["by"] == "mass"]
    for k, level in enumerate(levels):
        sel = rows[np.isclose(np.asarray(rows["level"], float), level)]
        if len(sel) == 0:
            continue
        centre = 0.5 * (np.asarray(sel["lo"], float) + np.asarray(sel["hi"], float))
        two = 2 * np.asarray(sel["binomial_sigma"], float)
        ax_bin.fill_between(centre, level - two, level + two, color=f"C{k}", alpha=0.15, lw=0)
        ax_bin.axhline(level, color=f"C{k}", ls="--", lw=1)
        flagged = np.asarray(sel["flagged"], bool)
        cov = np.asarray(sel["coverage"], float)
        ax_bin.plot(centre, cov, "o-", color=f"C{k}", label=f"{level:.0%}")
        ax_bin.plot(centre[flagged], cov[flagged], "x", color="k", ms=9)
    ax_bin.set(
        xlabel=f"true {_MASS_LABEL} {_UNIT}",
        ylabel="observed coverage",
        title="per true-mass bin (x: outside 2σ)",
    )
    if ax_bin.get_legend_handles_labels()[0]:  # no mass bin with enough clusters: no legend
        ax_bin.legend(fontsize=7, loc="lower left")
    for ax in (ax_rel, ax_bin):
        ax.grid(alpha=0.3)
    return _save(fig, path)
