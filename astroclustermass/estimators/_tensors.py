"""Tensor helpers of the `Trainer`: input conversion, memory layout, micro-batch sizing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..exceptions import InputError

__all__ = ["to_channels_last", "to_tensors", "spatial_numel", "n_samples"]


def to_tensors(
    arrays: dict[str, np.ndarray], device: torch.device, channels_last: bool
) -> dict[str, torch.Tensor]:
    """float32 tensors sharing the first axis, checked finite, on ``device`` when they fit.

    Examples
    --------
    >>> import numpy as np, torch
    >>> t = to_tensors({"image": np.zeros((2, 1, 4, 4))}, torch.device("cpu"), True)
    >>> t["image"].dtype, t["image"].stride()
    (torch.float32, (16, 1, 4, 1))
    """
    out = {}
    n = None
    for key, arr in arrays.items():
        a = np.asarray(arr, dtype=np.float32)
        if n is None:
            n = len(a)
        elif len(a) != n:
            raise InputError(
                f"input {key!r} has {len(a)} samples but the others have {n}; all inputs "
                "must share their first axis"
            )
        if not np.isfinite(a).all():
            raise InputError(f"input {key!r} contains NaN or inf values; clean the sample first")
        t = torch.from_numpy(np.ascontiguousarray(a))
        if channels_last and t.ndim == 4:
            t = to_channels_last(t)
        if device.type != "cpu":
            t = _maybe_to_device(t, device)
        out[key] = t
    return out


def _maybe_to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move to the device when it fits in half the free memory, else pin it."""
    try:
        free, _ = torch.cuda.mem_get_info(device)
    except Exception:  # pragma: no cover - non-CUDA accelerators
        free = math.inf
    if t.numel() * t.element_size() < 0.5 * free:
        return t.to(device)
    return t.pin_memory()  # pragma: no cover - huge data sets only


def to_channels_last(t: torch.Tensor) -> torch.Tensor:
    """``t`` in NHWC memory layout with channels-last *strides*, also for one channel.

    ``Tensor.contiguous(memory_format=torch.channels_last)`` leaves a
    one-channel tensor with NCHW strides (the layouts coincide in memory), and
    oneDNN then mixes layouts and copies: 1.6× slower training of the
    single-band network. Here the strides are set explicitly.

    Examples
    --------
    >>> import torch
    >>> to_channels_last(torch.zeros(2, 1, 4, 4)).stride()
    (16, 1, 4, 1)
    """
    t = t.contiguous(memory_format=torch.channels_last)
    n, c, h, w = t.shape
    if c == 1 and t.stride(1) != 1:
        t = t.as_strided(t.shape, (h * w, 1, w, 1))
    return t


def spatial_numel(inputs: dict[str, torch.Tensor]) -> int:
    """Largest number of pixels/voxels per channel of one sample (sets micro-batches).

    Examples
    --------
    >>> import torch
    >>> spatial_numel({"image": torch.zeros(2, 3, 8, 8), "redshift": torch.zeros(2, 1)})
    64
    """
    return max((math.prod(t.shape[2:]) for t in inputs.values() if t.ndim >= 4), default=1)


def n_samples(inputs: dict[str, Any]) -> int:
    """Length of the first input.

    Examples
    --------
    >>> import numpy as np
    >>> n_samples({"image": np.zeros((5, 1, 2, 2))})
    5
    """
    return len(next(iter(inputs.values())))
