"""`MassPrediction`: the table every estimator's ``predict`` returns."""

from __future__ import annotations

import numpy as np
from astropy.table import Table

__all__ = ["MassPrediction"]


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
        **extra_columns,
    ) -> MassPrediction:
        """Build a prediction table from arrays (one entry per cluster)."""
        n = len(np.atleast_1d(log10_m500c))
        sigma = np.broadcast_to(np.asarray(sigma_log10_m500c, dtype=float), (n,)).copy()
        table = cls()
        table["id"] = np.asarray(ids)
        table["redshift"] = np.asarray(redshift, dtype=float)
        table["log10_m500c"] = np.asarray(log10_m500c, dtype=float)
        table["sigma_log10_m500c"] = sigma
        if truth is not None:
            table["log10_m500c_true"] = np.asarray(truth, dtype=float)
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
    def has_truth(self) -> bool:
        """Whether the true masses are known."""
        return "log10_m500c_true" in self.colnames

    def residuals(self) -> np.ndarray:
        """Residuals ε = log10(M_pred / M_true) in dex (Ho et al. 2023 Eq. 9)."""
        if not self.has_truth:
            from ..exceptions import InputError

            raise InputError("this prediction has no 'log10_m500c_true' column (no truth known)")
        return np.asarray(self["log10_m500c"], float) - np.asarray(self["log10_m500c_true"], float)
