"""Input × gradient attributions (Shrikumar et al. 2016) of image mass estimators.

Examples
--------
>>> from astroclustermass.attribution import Attribution
>>> Attribution.from_name("input_x_gradient")
InputXGradient()
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import GradientAttribution

__all__ = ["InputXGradient"]


class InputXGradient(GradientAttribution):
    """Input × gradient ``n_p ∂ log10 M̂ / ∂ n_p`` of an image CNN.

    The saliency (`Saliency`, signed) times the input it is taken at: with
    ``wrt='counts'`` the photon counts ``n_p`` of each pixel and band (for
    the joint model also the cube density per voxel), with ``wrt='input'``
    the network input ``x_p``. Empty pixels get exactly 0, so unlike
    saliency per count the map shows where the photons that move the
    prediction are; it is in dex (the first-order change of log10 M if the
    pixel's counts were removed, with the sign of that change reversed). For
    a model linear in its input it is the weights times the input, and it
    equals integrated gradients from an all-zero baseline. Supported
    estimators are those of `Saliency`.

    Parameters
    ----------
    absolute : bool
        Return the absolute value.
    wrt : {'counts', 'input'}
        Counts (default) or network input (see `Saliency`).

    Examples
    --------
    >>> InputXGradient().get_params()
    {'absolute': False, 'wrt': 'counts'}
    """

    name: ClassVar[str] = "input_x_gradient"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **GradientAttribution._parameter_constraints,
        "absolute": ["boolean"],
    }

    def __init__(self, absolute: bool = False, wrt: str = "counts") -> None:
        self.absolute = absolute
        self.wrt = wrt

    def _quantity(self, wrt: str) -> str:
        d = "n" if wrt == "counts" else "x"
        text = f"{d}·∂log10 M/∂{d} [dex]"
        return f"|{text}|" if self.absolute else text

    def _explain(self, forward: Any, raw: dict, rows: np.ndarray) -> tuple[dict, None]:
        leaves = forward.to_leaves(raw)
        grads, _ = forward.gradient(leaves)
        out = {k: leaves[k].double() * g for k, g in grads.items()}
        if self.absolute:
            out = {k: v.abs() for k, v in out.items()}
        return out, None
