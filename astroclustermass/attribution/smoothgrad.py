"""SmoothGrad (Smilkov et al. 2017) with Poisson resampling of the photon counts.

Examples
--------
>>> from astroclustermass.attribution import Attribution
>>> Attribution.from_name("smoothgrad", n_samples=8).method
'saliency'
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..estimators._params import Interval
from ..exceptions import InputError
from .base import GradientAttribution

__all__ = ["SmoothGrad"]


class SmoothGrad(GradientAttribution):
    r"""Any gradient attribution averaged over Poisson resamplings of the photon counts.

    Gradients of a ReLU network change abruptly from pixel to pixel and from
    one photon realisation to the next; SmoothGrad averages an attribution
    over ``n_samples`` noisy copies of the input. The natural noise of a
    photon map is its shot noise, so the copies here are

    .. math::

        \tilde n_p = \max\bigl(0,\; n_p + \lambda\,(P_p - n_p)\bigr),
        \qquad P_p \sim \mathrm{Poisson}(n_p),

    with ``λ = noise_level``: every pixel keeps its mean ``n_p`` and gets the
    variance ``λ² n_p`` (``λ = 1``: a fresh Poisson realisation of the same
    cluster; ``λ = 0``: the input itself, so SmoothGrad equals the inner
    method exactly; larger ``λ`` smooths more; the clip at 0 only acts for
    ``λ > 1``). Empty pixels stay empty. The noise is on the photon counts
    whatever ``wrt`` the inner method uses (the noisy counts then go through
    the fitted transforms); the dynamical cube of the joint model, a kernel
    density rather than counts, is not resampled. The noise of cluster ``k``
    of the sample comes from ``numpy.random.default_rng([seed, k])``, so the
    maps do not depend on the batching. ``log10_m500c_pred`` is the
    prediction at the input, and ``delta`` (inner integrated gradients) the
    mean over the copies.

    Parameters
    ----------
    method : str
        Registered name of the gradient method to smooth (``'saliency'``,
        ``'input_x_gradient'``, ``'integrated_gradients'`` or a plugin's).
    method_params : dict or None
        Parameters of that method (e.g. ``{"absolute": False}``).
    n_samples : int
        Noisy copies averaged.
    noise_level : float
        ``λ`` above (≥ 0).
    seed : int
        Seed of the per-cluster noise streams.

    Examples
    --------
    >>> SmoothGrad(method="input_x_gradient", n_samples=4).get_params()["noise_level"]
    1.0
    """

    name: ClassVar[str] = "smoothgrad"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "method": [str],
        "method_params": [None, dict],
        "n_samples": [Interval(int, 1, None)],
        "noise_level": [Interval(float, 0, None)],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        method: str = "saliency",
        method_params: dict | None = None,
        n_samples: int = 16,
        noise_level: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.method = method
        self.method_params = method_params
        self.n_samples = n_samples
        self.noise_level = noise_level
        self.seed = seed

    def _inner(self) -> GradientAttribution:
        from .base import Attribution

        inner = Attribution.from_name(self.method, **(self.method_params or {}))
        if not isinstance(inner, GradientAttribution) or isinstance(inner, SmoothGrad):
            raise InputError(
                f"smoothgrad smooths a gradient method (saliency, input_x_gradient, "
                f"integrated_gradients, ...); {self.method!r} is not one"
            )
        inner._validate_params()
        return inner

    def _wrt(self) -> str:
        return self._inner()._wrt()

    def _is_absolute(self) -> bool:
        return self._inner()._is_absolute()

    def _quantity(self, wrt: str) -> str:
        inner = self._inner()
        return f"SmoothGrad ({self.n_samples}× Poisson, λ={self.noise_level:g}) of {inner._quantity(wrt)}"

    def _noisy(self, counts: np.ndarray, rows: np.ndarray, draw: int) -> np.ndarray:
        lam = float(self.noise_level)
        out = np.empty_like(counts)
        for i, row in enumerate(rows):
            rng = np.random.default_rng([int(self.seed), int(row), int(draw)])
            n = counts[i]
            out[i] = np.maximum(0.0, n + lam * (rng.poisson(n) - n))
        return out

    def _explain(self, forward: Any, raw: dict, rows: np.ndarray) -> tuple[dict, Any]:
        import torch

        inner = self._inner()
        counts = raw["map"].detach().cpu().numpy()
        total: dict[str, Any] = {}
        delta_sum = None
        for draw in range(int(self.n_samples)):
            noisy = dict(raw)
            if self.noise_level > 0:
                noisy["map"] = torch.as_tensor(self._noisy(counts, rows, draw)).to(raw["map"])
            attrs, delta = inner._explain(forward, noisy, rows)
            for k, v in attrs.items():
                total[k] = v if k not in total else total[k] + v
            if delta is not None:
                delta_sum = delta if delta_sum is None else delta_sum + delta
        n = int(self.n_samples)
        mean = {k: v / n for k, v in total.items()}
        return mean, None if delta_sum is None else delta_sum / n
