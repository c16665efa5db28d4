"""Analytic saliency of the photon-count scaling relations (Ho et al. 2023 Eq. 12-13, corrected).

Examples
--------
>>> from astroclustermass.attribution import Attribution
>>> Attribution.from_name("analytic_proxy").get_params()
{'bands': None, 'wrt': 'counts', 'n_phot': 'observable'}
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..bands import EnergyBands
from ..estimators._params import Options
from ..exceptions import IncompatibleSampleError, InputError
from .base import Attribution

__all__ = ["AnalyticProxySaliency", "PHOTON_PROXIES"]

#: Observables whose analytic saliency is known: name → aperture ('r500c' or 'image').
PHOTON_PROXIES = {"n_phot_500c": "r500c", "n_phot": "image"}


class AnalyticProxySaliency(Attribution):
    r"""Exact saliency of the scaling relations on photon counts (Ho et al. 2023 Eq. 13, corrected).

    ``power_law`` predicts ``log10 M = log10 M_p + [(ln N − π)/α − β σ²] / ln 10``
    (Eq. 11-12) with ``N`` the photons within R500c (``n_phot_500c``) or in the
    whole image (``n_phot``) and ``π, α, β, σ²`` the relation fitted per
    redshift bin (interpolated at the cluster's redshift). Its derivative
    with respect to the counts ``n_p`` of a pixel is

    .. math::

        \frac{\partial \log_{10} M}{\partial n_p} =
        \frac{1}{\alpha(z)\, N \ln 10}

    for pixels inside the proxy's aperture (pixel centre within R500c for
    ``n_phot_500c``, from the catalogue ``r500c``) and 0 outside, in every
    band of the map. ``multi_property`` (Eq. 6-7) is linear in the
    ``s_j = ln S_j`` with weights ``w = σ² C⁻¹ α`` (``σ² = (αᵀ C⁻¹ α)⁻¹``;
    ``w = 1/α`` for one observable); each photon-count observable ``j``
    adds ``w_j / (N_j ln 10)`` inside its aperture, and the others (``n_gal``,
    ``sigma_v``, ...) do not depend on the map. With respect to
    ``x = log10(n + 1)`` (``wrt='input'``, the scale of the paper's Eq. 13)
    the map is multiplied by ``(n + 1) ln 10``: ``(n_p + 1)/(α N)`` for the
    power law. The paper's printed Eq. 13 omits the aperture, and its
    reference code also used the normalised counts and 2 R500c.

    Parameters
    ----------
    bands : str, EnergyBands or None
        Band set of the maps; None: ``'bolometric'`` when the sample has it,
        else its first band set (the photons of ``n_phot``/``n_phot_500c``).
    wrt : {'counts', 'input'}
        Derivative per count (default) or with respect to ``log10(n + 1)``.
    n_phot : {'observable', 'pixels'}
        ``N`` from the sample's observable (what the estimator predicts from,
        counted from the events) or from the pixel sum within the aperture
        (the exact gradient of the pixelised proxy).

    Notes
    -----
    A cluster whose photon count is zero gets NaN in the maps (``ln N`` has
    no derivative there; the estimator ignores such an observable).

    Examples
    --------
    >>> AnalyticProxySaliency(wrt="input").wrt
    'input'
    """

    name: ClassVar[str] = "analytic_proxy"
    _test_estimator: ClassVar[tuple[str, dict]] = ("power_law", {"observable": "n_phot_500c"})
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "bands": [None, str, EnergyBands],
        "wrt": [Options({"counts", "input"})],
        "n_phot": [Options({"observable", "pixels"})],
    }

    def __init__(self, bands: Any = None, wrt: str = "counts", n_phot: str = "observable") -> None:
        self.bands = bands
        self.wrt = wrt
        self.n_phot = n_phot

    def _attribute(
        self, estimator: Any, sample: Any, batch_size: int, progress: bool | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray], Any, str]:
        from ..bands import get_bands
        from ..estimators._cnn_base import sample_images
        from ..estimators._scaling_core import LN10
        from ..estimators.base import get_observable
        from ..estimators.scaling import MultiPropertyEstimator, PowerLawEstimator

        if not isinstance(estimator, (PowerLawEstimator, MultiPropertyEstimator)):
            raise InputError(
                f"analytic_proxy explains the power_law and multi_property relations on photon "
                f"counts; got {type(estimator).__name__} (use 'saliency' for CNNs)"
            )
        photon = [j for j, c in enumerate(estimator.observables_) if c in PHOTON_PROXIES]
        if not photon:
            raise InputError(
                f"analytic_proxy needs a photon-count observable ({sorted(PHOTON_PROXIES)}); "
                f"this {estimator.name} uses {estimator.observables_}, none of which is a sum "
                "of image pixels"
            )
        if self.bands is not None:
            bands = get_bands(self.bands)
        else:
            names = list(sample.band_sets)
            bands = sample.band_sets["bolometric" if "bolometric" in names else names[0]]
        counts = np.asarray(sample_images(sample, bands), dtype=np.float64)
        mean, _, weights = estimator._posterior(sample, weights=True)
        values = np.zeros(counts.shape)
        for j in photon:
            observable = estimator.observables_[j]
            mask = np.broadcast_to(self._aperture(observable, sample, counts.shape), counts.shape)
            if self.n_phot == "pixels":
                total = np.where(mask, counts, 0.0).reshape(len(counts), -1).sum(axis=1)
            else:
                total = get_observable(sample, observable)
            with np.errstate(divide="ignore", invalid="ignore"):
                per_count = np.where(total > 0, weights[:, j] / (total * LN10), np.nan)
            values += np.where(mask, per_count[:, None, None, None], 0.0)
        if self.wrt == "input":
            values = values * (counts + 1.0) * LN10
        mu = float(estimator.pivot_log10_mass) + mean / LN10
        return values.astype(np.float32), {"log10_m500c_pred": mu}, bands, self.wrt

    @staticmethod
    def _aperture(observable: str, sample: Any, shape: tuple[int, ...]) -> np.ndarray:
        """Pixels whose photons the observable counts, shape (n, 1, npix, npix)."""
        n, _, npix, _ = shape
        if PHOTON_PROXIES[observable] != "r500c":
            return np.ones((n, 1, npix, npix), dtype=bool)
        if "r500c" not in sample.catalog.colnames:
            raise IncompatibleSampleError(
                "n_phot_500c counts photons within R500c, but the sample's catalogue has no "
                "'r500c' column to place the aperture"
            )
        edges = np.linspace(-sample.aperture, sample.aperture, npix + 1)
        c = 0.5 * (edges[1:] + edges[:-1])
        r = np.hypot(c[:, None], c[None, :])
        r500 = np.asarray(sample.catalog["r500c"], dtype=float)
        return (r[None] <= r500[:, None, None])[:, None]
