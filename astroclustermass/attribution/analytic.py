"""Analytic saliency of the photon-count scaling proxy (Ho et al. 2023 Eq. 12-13, corrected).

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
    """Exact saliency of the ``power_law`` photon-count proxy (Ho et al. 2023 Eq. 13, corrected).

    The proxy predicts ``log10 M = log10 M_p + [(ln N − π)/α − β σ²] / ln 10``
    (Eq. 11-12) with ``N`` the photons within R500c (``n_phot_500c``) or in the
    whole image (``n_phot``) and ``π, α, β, σ²`` the relation fitted per
    redshift bin (interpolated at the cluster's redshift). Its derivative
    with respect to the counts ``n_p`` of a pixel is

    .. math::

        \\frac{\\partial \\log_{10} M}{\\partial n_p} =
        \\frac{1}{\\alpha(z)\\, N \\ln 10}

    for pixels inside the proxy's aperture (pixel centre within R500c for
    ``n_phot_500c``, from the catalogue ``r500c``) and 0 outside, in every
    band of the map. With respect to ``x = log10(n + 1)`` (``wrt='input'``,
    the scale of the paper's Eq. 13) it is multiplied by ``(n + 1) ln 10``:
    ``(n_p + 1)/(α N)``. The paper's printed Eq. 13 omits the aperture, and
    its reference code also used the normalised counts and 2 R500c.

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
        from ..estimators._scaling_core import LN10, interpolate_in_z
        from ..estimators.base import get_observable
        from ..estimators.scaling import PowerLawEstimator

        if not isinstance(estimator, PowerLawEstimator):
            raise InputError(
                f"analytic_proxy explains the power_law photon-count proxy; got "
                f"{type(estimator).__name__} (use 'saliency' for CNNs)"
            )
        observable = estimator.observables_[0]
        if observable not in PHOTON_PROXIES:
            raise InputError(
                f"analytic_proxy needs a power_law on {sorted(PHOTON_PROXIES)}; this one uses "
                f"{observable!r}, which is not a sum of image pixels"
            )
        if self.bands is not None:
            bands = get_bands(self.bands)
        else:
            names = list(sample.band_sets)
            bands = sample.band_sets["bolometric" if "bolometric" in names else names[0]]
        counts = np.asarray(sample_images(sample, bands), dtype=np.float64)
        n, _, npix, _ = counts.shape
        z = np.asarray(sample.catalog["redshift"], dtype=float)
        alpha = interpolate_in_z(z, estimator.z_centres_, estimator.alpha_)[:, 0]
        if PHOTON_PROXIES[observable] == "r500c":
            if "r500c" not in sample.catalog.colnames:
                raise IncompatibleSampleError(
                    "n_phot_500c counts photons within R500c, but the sample's catalogue has no "
                    "'r500c' column to place the aperture"
                )
            edges = np.linspace(-sample.aperture, sample.aperture, npix + 1)
            c = 0.5 * (edges[1:] + edges[:-1])
            r = np.hypot(c[:, None], c[None, :])
            r500 = np.asarray(sample.catalog["r500c"], dtype=float)
            inside = r[None] <= r500[:, None, None]
        else:
            inside = np.ones((n, npix, npix), dtype=bool)
        mask = np.broadcast_to(inside[:, None], counts.shape)
        if self.n_phot == "pixels":
            total = np.where(mask, counts, 0.0).reshape(n, -1).sum(axis=1)
        else:
            total = get_observable(sample, observable)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_count = np.where(total > 0, 1.0 / (alpha * total * LN10), np.nan)
        values = np.where(mask, per_count[:, None, None, None], 0.0)
        if self.wrt == "input":
            values = values * (counts + 1.0) * LN10
        mu, _ = estimator._predict(sample)
        return values.astype(np.float32), {"log10_m500c_pred": mu}, bands, self.wrt
