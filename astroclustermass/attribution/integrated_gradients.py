"""Integrated gradients (Sundararajan et al. 2017) of image mass estimators.

Examples
--------
>>> from astroclustermass.attribution import Attribution
>>> Attribution.from_name("integrated_gradients", n_steps=16, baseline="blurred").baseline
'blurred'
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..estimators._params import Interval, Options
from ..exceptions import InputError
from .base import GradientAttribution

__all__ = ["IntegratedGradients", "BASELINES"]

#: The named baselines of `IntegratedGradients` and what each one is.
BASELINES = {
    "empty": "an empty sky: zero counts in every pixel (and an empty dynamical cube)",
    "mean": "the mean photon map (and cube) of the estimator's training clusters",
    "blurred": "the cluster's own map blurred by a Gaussian of blur_sigma pixels",
}


class IntegratedGradients(GradientAttribution):
    """Integrated gradients of the predicted log10 M500c along a straight path.

    ``IG_p = (x_p − x0_p) ∫_0^1 ∂f/∂x_p (x0 + a (x − x0)) da``, evaluated with
    the midpoint rule in ``n_steps`` steps from a baseline ``x0``. The
    attributions add up to the change of the prediction (completeness):
    ``sum(IG) ≈ f(x) − f(x0)``; the remainder of the quadrature is returned
    per cluster as ``AttributionMap.delta``. The map is in dex: the share of
    each pixel in ``f(x) − f(x0)``.

    The baseline says what the explanation is relative to:

    * ``'empty'`` (default) — no photons: the map shares out the whole
      predicted mass relative to an empty field, so bright sources anywhere
      in the image get attribution (a neighbouring group or AGN that biases
      the mass shows up).
    * ``'mean'`` — the mean map of the training clusters
      (``estimator.training_means_``): what makes *this* cluster heavier or
      lighter than a typical one; pixels where it looks average get ~0.
    * ``'blurred'`` — the cluster's own map smoothed by a Gaussian of
      ``blur_sigma`` pixels (Fong & Vedaldi 2017): the same photons spread
      out, so the map shows what the network draws from small-scale
      structure (cores, point sources) rather than from the total flux.
    * a number ``c`` ≥ 0 — ``c`` counts in every pixel.

    For the joint model the dynamical cube follows the same path from its
    own baseline (``'empty'`` and a number: a zero cube; ``'mean'``: the
    training mean cube; ``'blurred'``: the cube blurred by ``blur_sigma``
    scaled to its grid), and completeness holds for the map and cube
    together. From the empty baseline the integrand is steep near the
    baseline (the ``log10(n + 1)`` of Eq. 2 at few counts), so the quadrature
    converges slowly: check ``delta`` and use a few hundred steps for sums
    accurate to a few per cent. Supported estimators are those of `Saliency`.

    Parameters
    ----------
    n_steps : int
        Quadrature steps along the path.
    baseline : {'empty', 'mean', 'blurred'} or float
        The baseline (see above); with ``wrt='input'`` it is the network
        input of these counts.
    blur_sigma : float
        Gaussian σ in pixels of the ``'blurred'`` baseline.
    wrt : {'counts', 'input'}
        Attribute to the photon counts (default) or to the network input.

    Examples
    --------
    >>> IntegratedGradients().get_params()
    {'n_steps': 32, 'baseline': 'empty', 'blur_sigma': 5.0, 'wrt': 'counts'}
    """

    name: ClassVar[str] = "integrated_gradients"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **GradientAttribution._parameter_constraints,
        "n_steps": [Interval(int, 1, None)],
        "baseline": [Options(set(BASELINES)), Interval(float, 0, None)],
        "blur_sigma": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_steps: int = 32,
        baseline: str | float = "empty",
        blur_sigma: float = 5.0,
        wrt: str = "counts",
    ) -> None:
        self.n_steps = n_steps
        self.baseline = baseline
        self.blur_sigma = blur_sigma
        self.wrt = wrt

    def _quantity(self, wrt: str) -> str:
        b = self.baseline if isinstance(self.baseline, str) else f"{self.baseline:g} counts"
        return f"integrated gradients from the {b} baseline [dex]"

    def _raw_baseline(self, forward: Any, raw: dict[str, Any]) -> dict[str, Any]:
        """The baseline's raw inputs (``'map'`` counts, ``'cube'``) for raw inputs ``raw``."""
        import torch

        b = self.baseline
        if b == "mean":
            means = getattr(forward.estimator, "training_means_", None) or {}
            keys = {k: "counts" if k == "map" else k for k in raw}
            if any(key not in means for key in keys.values()):
                raise InputError(
                    f"baseline='mean' needs the training means of the estimator, which this "
                    f"{type(forward.estimator).__name__} lacks (fitted or saved before they "
                    "were recorded); refit it, or use baseline='empty' or 'blurred'"
                )
            return {
                k: torch.as_tensor(means[keys[k]], dtype=v.dtype).to(v.device).expand_as(v)
                for k, v in raw.items()
            }
        if b == "blurred":
            from scipy.ndimage import gaussian_filter

            out = {}
            for k, v in raw.items():
                arr = v.detach().cpu().numpy()
                sigma = float(self.blur_sigma)
                if k == "cube":  # the same physical scale on the cube's sky grid
                    sigma *= arr.shape[-1] / raw["map"].shape[-1]
                sig = (0, 0, sigma, sigma) if k == "map" else (0, sigma, sigma, sigma)
                out[k] = torch.as_tensor(gaussian_filter(arr, sig, mode="reflect")).to(v)
            return out
        c = 0.0 if b == "empty" else float(b)
        return {k: torch.full_like(v, c if k == "map" else 0.0) for k, v in raw.items()}

    def _explain(self, forward: Any, raw: dict, rows: np.ndarray) -> tuple[dict, Any]:
        import torch

        leaves = forward.to_leaves(raw)
        x0 = forward.to_leaves(self._raw_baseline(forward, raw))
        diff = {k: leaves[k] - x0[k] for k in leaves}
        total = {k: torch.zeros_like(v, dtype=torch.float64) for k, v in leaves.items()}
        n = int(self.n_steps)
        for step in range(n):
            a = (step + 0.5) / n
            grads, _ = forward.gradient({k: x0[k] + a * diff[k] for k in leaves})
            for k in total:
                total[k] += grads[k]
        attr = {k: diff[k].double() * total[k] / n for k in leaves}
        with torch.no_grad():
            change = forward(leaves) - forward(x0)
        delta = sum(v.flatten(1).sum(1) for v in attr.values()) - change
        return attr, delta
