"""`MassPrediction`: the table every estimator's ``predict`` returns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.table import Table
from scipy import special

__all__ = ["MassPrediction", "interval_columns", "level_label"]

_INTERVAL_RE = re.compile(r"^log10_m500c_(lo|hi)(\d+(?:p\d+)?)$")


def level_label(level: float) -> str:
    """The column suffix of a central interval of probability ``level`` (0.68 → ``'68'``).

    Examples
    --------
    >>> level_label(0.68), level_label(0.95), level_label(0.997)
    ('68', '95', '99p7')
    """
    level = float(level)
    if not 0.0 < level < 1.0:
        from ..exceptions import InputError

        raise InputError(f"an interval level must lie strictly between 0 and 1; got {level!r}")
    return f"{100.0 * level:.6g}".replace(".", "p")


def interval_columns(level: float) -> tuple[str, str]:
    """Names of the lower and upper bound columns of the ``level`` interval.

    Examples
    --------
    >>> interval_columns(0.68)
    ('log10_m500c_lo68', 'log10_m500c_hi68')
    """
    label = level_label(level)
    return f"log10_m500c_lo{label}", f"log10_m500c_hi{label}"


class MassPrediction(Table):
    """Predicted masses, one row per cluster.

    Notes
    -----
    Columns:

    id : int
        Cluster identifier from the sample's catalogue.
    redshift : float
        Cluster redshift.
    log10_m500c : float
        Predicted log10(M500c / h⁻¹ M☉).
    sigma_log10_m500c : float
        Predicted 1σ uncertainty in dex (per cluster for likelihood models,
        else the scatter measured on the estimator's validation data).
    log10_m500c_true : float, optional
        The truth, when the sample has it.
    log10_m500c_lo68, log10_m500c_hi68, log10_m500c_lo95, ... : float, optional
        Bounds of central prediction intervals of log10 M500c, one pair per
        level (68 %, 90 %, 95 %, ...), written by estimators that make
        intervals (e.g. the ``conformal`` wrapper); ``meta['interval_method']``
        says how they were made. `interval` returns them, or the Gaussian
        μ ± zσ interval when the columns are absent.

    ``meta['estimator']`` names the estimator that made the prediction.

    Examples
    --------
    >>> p = MassPrediction.from_arrays([1, 2], [0.1, 0.2], [14.0, 14.5], [0.1, 0.1],
    ...                                truth=[14.1, 14.4], estimator="demo")
    >>> p.residuals().round(3).tolist()
    [-0.1, 0.1]
    >>> p.meta["estimator"]
    'demo'
    """

    @classmethod
    def from_arrays(
        cls,
        ids,
        redshift,
        log10_m500c,
        sigma_log10_m500c,
        truth=None,
        estimator: str = "",
        intervals: Mapping[float, tuple[Any, Any]] | None = None,
        **extra_columns,
    ) -> MassPrediction:
        """Build a prediction table from arrays (one entry per cluster).

        ``intervals`` maps a level (0.68) to the (lower, upper) bound arrays of
        that central interval; they become the columns of `interval_columns`.
        """
        n = len(np.atleast_1d(log10_m500c))
        sigma = np.broadcast_to(np.asarray(sigma_log10_m500c, dtype=float), (n,)).copy()
        table = cls()
        table["id"] = np.asarray(ids)
        table["redshift"] = np.asarray(redshift, dtype=float)
        table["log10_m500c"] = np.asarray(log10_m500c, dtype=float)
        table["sigma_log10_m500c"] = sigma
        if truth is not None:
            table["log10_m500c_true"] = np.asarray(truth, dtype=float)
        for level in sorted(intervals or {}):
            lo, hi = (intervals or {})[level]
            names = interval_columns(level)
            for name, values in zip(names, (lo, hi)):
                table[name] = np.broadcast_to(np.asarray(values, dtype=float), (n,)).copy()
                table[name].unit = "dex(Msun/h)"
        for name, values in extra_columns.items():
            table[name] = values
        table["log10_m500c"].unit = "dex(Msun/h)"
        table["sigma_log10_m500c"].unit = "dex"
        if "log10_m500c_true" in table.colnames:
            table["log10_m500c_true"].unit = "dex(Msun/h)"
        table.meta["estimator"] = estimator
        return table

    @property
    def estimator(self) -> str:
        """Name of the estimator that made this prediction."""
        return str(self.meta.get("estimator", ""))

    @property
    def interval_levels(self) -> list[float]:
        """Levels of the interval columns this table holds (both bounds present), ascending.

        Examples
        --------
        >>> p = MassPrediction.from_arrays([1], [0.1], [14.0], [0.1],
        ...                                intervals={0.68: ([13.9], [14.1])})
        >>> p.interval_levels
        [0.68]
        """
        found = {}
        for name in self.colnames:
            match = _INTERVAL_RE.match(name)
            if match:
                level = float(match.group(2).replace("p", ".")) / 100.0
                found.setdefault(level, set()).add(match.group(1))
        return sorted(lv for lv, sides in found.items() if sides == {"lo", "hi"})

    def interval(self, level: float = 0.68) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bound of the central ``level`` interval of every cluster.

        From the interval columns when present, else the Gaussian interval
        μ ± zσ with z = Φ⁻¹((1 + level)/2) of ``sigma_log10_m500c``.

        Examples
        --------
        >>> p = MassPrediction.from_arrays([1], [0.1], [14.0], [0.1])
        >>> [round(float(b[0]), 3) for b in p.interval(0.68)]
        [13.901, 14.099]
        """
        lo_name, hi_name = interval_columns(level)
        if lo_name in self.colnames and hi_name in self.colnames:
            return np.asarray(self[lo_name], float), np.asarray(self[hi_name], float)
        z = float(np.sqrt(2.0) * special.erfinv(float(level)))
        mu = np.asarray(self["log10_m500c"], float)
        sigma = np.asarray(self["sigma_log10_m500c"], float)
        return mu - z * sigma, mu + z * sigma

    @property
    def has_truth(self) -> bool:
        """Whether the true masses are known."""
        return "log10_m500c_true" in self.colnames

    def residuals(self) -> np.ndarray:
        """Residuals ε = log10(M_pred / M_true) in dex (Ho et al. 2023 Eq. 9)."""
        if not self.has_truth:
            from ..exceptions import InputError

            raise InputError("this prediction has no 'log10_m500c_true' column (no truth known)")
        return np.asarray(self["log10_m500c"], float) - np.asarray(self["log10_m500c_true"], float)
