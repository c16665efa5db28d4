"""Atomic training checkpoints read with ``torch.load(weights_only=True)`` (no pickle).

A checkpoint is a plain dict of tensors, numbers, strings and lists: model
and best-model state dicts, the optimiser (and loss-scaler) state, the RNG
states of shuffling, augmentation and dropout, the loss history and the
epoch counter, so that a resumed fit continues exactly where it stopped.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from .._utils import atomic_write
from ..exceptions import ModelFileError

__all__ = ["save_checkpoint", "load_checkpoint", "clone_state", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "astroclustermass-checkpoint"
_RNG_KEYS = ("shuffle_rng", "aug_rng", "torch_rng", "cuda_rng")


def clone_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``model.state_dict()`` (same device and layout).

    Examples
    --------
    >>> from torch import nn
    >>> sorted(clone_state(nn.Linear(2, 1)))
    ['bias', 'weight']
    """
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _cpu_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def _cpu_optimizer_state(state: dict) -> dict:
    state = copy.copy(state)
    state["state"] = {
        k: {n: (t.cpu() if torch.is_tensor(t) else t) for n, t in s.items()}
        for k, s in state["state"].items()
    }
    return state


def save_checkpoint(path: str | Path, **entries: Any) -> None:
    """Write a checkpoint atomically; tensors are moved to the CPU first.

    ``model`` and ``best_state`` are state dicts, ``optimizer`` an optimiser
    state dict; other entries are stored as given (plain values only).

    Examples
    --------
    >>> import tempfile, pathlib, torch
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ckpt.pt"
    >>> save_checkpoint(p, epoch=3, model={"w": torch.ones(2)})
    >>> load_checkpoint(p, "cpu")["epoch"]
    3
    """
    ckpt: dict[str, Any] = {"format": CHECKPOINT_FORMAT}
    for key, value in entries.items():
        if key in ("model", "best_state"):
            value = _cpu_state(value)
        elif key == "optimizer":
            value = _cpu_optimizer_state(value)
        ckpt[key] = value
    with atomic_write(path) as tmp:
        torch.save(ckpt, tmp)


def load_checkpoint(path: str | Path, device: Any, fingerprint: dict | None = None) -> dict:
    """Read a checkpoint with ``weights_only=True``, mapping tensors to ``device``.

    Raises
    ------
    ModelFileError
        Unreadable file, not a checkpoint, or written for other data/settings
        (``fingerprint`` differs).
    """
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:
        raise ModelFileError(
            f"cannot read the training checkpoint {path}: {err}. Delete it or fit with resume=False"
        ) from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ModelFileError(f"{path} is not an astroclustermass training checkpoint")
    if fingerprint is not None and ckpt.get("fingerprint") != fingerprint:
        raise ModelFileError(
            f"the checkpoint {path} was written for other data or settings "
            f"({ckpt.get('fingerprint')}, now {fingerprint}); fit with resume=False"
        )
    for key in _RNG_KEYS:  # generator states must be CPU byte tensors
        if key in ckpt:
            ckpt[key] = ckpt[key].cpu()
    return ckpt
