"""Integrated gradients (Sundararajan et al. 2017) of image mass estimators.

Examples
--------
>>> from astroclustermass.attribution import Attribution
>>> Attribution.from_name("integrated_gradients", n_steps=16).n_steps
16
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..estimators._params import Interval
from .base import GradientAttribution

__all__ = ["IntegratedGradients"]


class IntegratedGradients(GradientAttribution):
    """Integrated gradients of the predicted log10 M500c along a straight path.

    ``IG_p = (x_p − x0_p) ∫_0^1 ∂f/∂x_p (x0 + a (x − x0)) da``, evaluated with
    the midpoint rule in ``n_steps`` steps, from a baseline ``x0`` of
    ``baseline`` counts in every pixel (zero by default: an empty sky). The
    attributions add up to the change of the prediction (completeness):
    ``sum(IG) ≈ f(x) − f(x0)``; the remainder of the quadrature is returned
    per cluster as ``AttributionMap.delta``. From the zero-count baseline the
    integrand is steep near the baseline (the ``log10(n + 1)`` of Eq. 2 at
    few counts), so the quadrature converges slowly: check ``delta`` and use
    a few hundred steps for sums accurate to a few per cent. Supported
    estimators are those of `Saliency`.

    Parameters
    ----------
    n_steps : int
        Quadrature steps along the path.
    baseline : float
        Counts per pixel of the baseline image (with ``wrt='input'`` the
        baseline is the network input of these counts).
    wrt : {'counts', 'input'}
        Attribute to the photon counts (default) or to the network input.

    Examples
    --------
    >>> IntegratedGradients().get_params()
    {'n_steps': 32, 'baseline': 0.0, 'wrt': 'counts'}
    """

    name: ClassVar[str] = "integrated_gradients"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **GradientAttribution._parameter_constraints,
        "n_steps": [Interval(int, 1, None)],
        "baseline": [Interval(float, 0, None)],
    }

    def __init__(self, n_steps: int = 32, baseline: float = 0.0, wrt: str = "counts") -> None:
        self.n_steps = n_steps
        self.baseline = baseline
        self.wrt = wrt

    def _baseline(self, model: Any, leaf: Any, ctx: dict) -> Any:
        import torch

        counts = torch.full(leaf.shape, float(self.baseline), dtype=torch.float64)
        if self.wrt == "counts":
            return counts.to(leaf.device)
        # the network input of the baseline counts (shared by all members, checked)
        with torch.no_grad():
            x0 = model.to_input(counts.to(leaf.device), ctx)[0]
        return x0.to(leaf.dtype)

    def _batch(self, model: Any, leaf: Any, ctx: dict) -> tuple[np.ndarray, np.ndarray, Any]:
        import torch

        x0 = self._baseline(model, leaf, ctx)
        diff = leaf - x0
        total = torch.zeros_like(leaf, dtype=torch.float64)
        n = int(self.n_steps)
        for k in range(n):
            a = (k + 0.5) / n
            grad, _ = self._gradient(model, x0 + a * diff, ctx, self.wrt)
            total += grad.double()
        attr = diff.double() * total / n
        with torch.no_grad():
            f_x = self._forward(model, leaf, ctx, self.wrt)
            f_0 = self._forward(model, x0, ctx, self.wrt)
        delta = attr.flatten(1).sum(1) - (f_x - f_0)
        return attr.cpu().numpy(), f_x.cpu().numpy(), delta.cpu().numpy()
