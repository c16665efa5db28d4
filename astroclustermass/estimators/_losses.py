"""Losses and optimiser parameter groups of the `Trainer`."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..exceptions import InputError

__all__ = ["gaussian_nll", "loss_function", "decay_parameter_groups", "LOSSES", "LOG_SIGMA_MIN"]

LOSSES = ("mse", "mae", "nll")
#: Lower clamp of log σ in the NLL loss (σ in units of the scaled target).
LOG_SIGMA_MIN = -7.0


def gaussian_nll(
    output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Gaussian negative log-likelihood, Krippendorf et al. (2023) Eq. 1.

    ``mean_i w_i [0.5 ((y_i - mu_i) / sigma_i)^2 + log sigma_i]`` (without the
    constant ``0.5 log 2π``), with ``output[:, 0] = mu`` and
    ``output[:, 1] = log sigma`` (clamped below at ``LOG_SIGMA_MIN``).

    Examples
    --------
    >>> import torch
    >>> out = torch.tensor([[0.0, 0.0], [1.0, 0.6931471805599453]])
    >>> y = torch.tensor([1.0, 1.0])
    >>> round(float(gaussian_nll(out, y)), 6) == round((0.5 + 0.6931471805599453) / 2, 6)
    True
    """
    mu = output[:, 0].float()
    log_sigma = output[:, 1].float().clamp(min=LOG_SIGMA_MIN)
    z = (target.float() - mu) * torch.exp(-log_sigma)
    per = 0.5 * z * z + log_sigma
    return per.mean() if weight is None else (per * weight).mean()


def loss_function(name: str) -> Callable:
    """The loss ``f(output, target, weight=None)`` for ``"mse"``, ``"mae"`` or ``"nll"``.

    Examples
    --------
    >>> import torch
    >>> float(loss_function("mse")(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0])))
    2.5
    """
    if name == "nll":
        return gaussian_nll

    def _pointwise(output: torch.Tensor, target: torch.Tensor, weight=None) -> torch.Tensor:
        diff = output[:, 0].float() - target.float()
        per = diff * diff if name == "mse" else diff.abs()
        return per.mean() if weight is None else (per * weight).mean()

    if name not in ("mse", "mae"):
        raise InputError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return _pointwise


def decay_parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Adam parameter groups: decay on weights (ndim >= 2), none on biases/norms.

    Examples
    --------
    >>> from torch import nn
    >>> groups = decay_parameter_groups(nn.Linear(3, 2), 2e-4)
    >>> [len(g["params"]) for g in groups], [g["weight_decay"] for g in groups]
    ([1, 1], [0.0002, 0.0])
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": float(weight_decay)},
        {"params": no_decay, "weight_decay": 0.0},
    ]
