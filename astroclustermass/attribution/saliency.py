"""Vanilla-gradient saliency maps (Simonyan et al. 2014; Ho et al. 2023 Eq. 10).

Examples
--------
>>> from astroclustermass.attribution import Attribution
>>> Attribution.from_name("saliency")
Saliency()
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import GradientAttribution

__all__ = ["Saliency"]


class Saliency(GradientAttribution):
    """Saliency ``|∂ log10 M̂ / ∂ n_pixel|`` of an image CNN (Ho et al. 2023 Eq. 10).

    The gradient of the predicted log10 M500c with respect to the photon
    counts of every pixel and band, through the estimator's fitted Eq. 1
    redshift normalisation, Eq. 2 log scaling and standardisation (the chain
    rule to the counts), computed with torch autograd in batches on the
    estimator's device. Supported estimators: ``single_band_cnn``,
    ``multiband_cnn``, ``gap_cnn`` (with test-time augmentation when the
    estimator uses it), ``joint_cnn`` (both inputs: the photon map, and the
    dynamical cube per voxel in `AttributionMap.cube_values`) and
    ``nll_ensemble`` (the gradient of the ensemble mean μ*, Krippendorf et
    al. 2023 Eq. 2, through the Krippendorf pipeline when the ensemble uses
    it). Scaling relations raise `InputError`; use
    ``analytic_proxy`` for the ``power_law`` photon-count proxy.

    Parameters
    ----------
    absolute : bool
        Return ``|gradient|`` (Eq. 10) rather than the signed gradient.
    wrt : {'counts', 'input'}
        Differentiate with respect to the photon counts per pixel (default),
        or with respect to the network input (the standardised
        ``log10(n + 1)`` maps). The reference code of Ho et al. (2023) took
        the latter and compared it with Eq. 13, which is with respect to
        ``log10(n + 1)``: only ``'counts'`` compares estimators on one scale.

    Examples
    --------
    >>> Saliency(absolute=False).get_params()
    {'absolute': False, 'wrt': 'counts'}
    """

    name: ClassVar[str] = "saliency"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **GradientAttribution._parameter_constraints,
        "absolute": ["boolean"],
    }

    def __init__(self, absolute: bool = True, wrt: str = "counts") -> None:
        self.absolute = absolute
        self.wrt = wrt

    def _explain(self, forward: Any, raw: dict, rows: np.ndarray) -> tuple[dict, None]:
        leaves = forward.to_leaves(raw)
        grads, _ = forward.gradient(leaves)
        if self.absolute:
            grads = {k: g.abs() for k, g in grads.items()}
        return grads, None
