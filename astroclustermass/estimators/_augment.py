"""The dihedral group D4 acting on the two sky axes of images and cubes.

Krippendorf et al. (2023) and Lovig (2024) augment training images with the
eight rotations/flips of the square. Element ``k`` (0-7) of the group is
"transpose the last two axes if ``k >= 4``, then rotate by ``k % 4`` quarter
turns in the plane of the last two axes". Images ``(B, C, x, y)`` and cubes
``(B, C, v, x, y)`` share their last two axes (the sky axes, see
``docs/internals.rst``), so applying the same element to both keeps them
aligned.
"""

from __future__ import annotations

import torch

__all__ = ["N_D4", "d4_apply", "d4_inverse", "d4_random", "d4_batch"]

#: Number of elements of the dihedral group of the square.
N_D4 = 8


def d4_apply(x: torch.Tensor, k: int) -> torch.Tensor:
    """Apply group element ``k`` (0-7) to the last two axes of ``x``.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(4.0).reshape(1, 2, 2)
    >>> d4_apply(x, 0).tolist(), d4_apply(x, 1).tolist()
    ([[[0.0, 1.0], [2.0, 3.0]]], [[[1.0, 3.0], [0.0, 2.0]]])
    >>> len({tuple(d4_apply(x, k).flatten().tolist()) for k in range(8)})
    8
    """
    k = int(k)
    if not 0 <= k < N_D4:
        raise ValueError(f"D4 element must be in 0..7, got {k}")
    if k >= 4:
        x = x.transpose(-2, -1)
    r = k % 4
    return torch.rot90(x, r, dims=(x.ndim - 2, x.ndim - 1)) if r else x


def d4_inverse(k: int) -> int:
    """The index of the inverse of element ``k``.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(3, 5, 5)
    >>> all(torch.equal(d4_apply(d4_apply(x, k), d4_inverse(k)), x) for k in range(8))
    True
    """
    k = int(k)
    return (4 - k) % 4 if k < 4 else k  # reflections are involutions


def d4_random(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``n`` group elements uniformly (an int64 tensor on the CPU).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> d4_random(5, g).shape
    torch.Size([5])
    """
    return torch.randint(0, N_D4, (n,), generator=generator)


def d4_batch(batch: dict[str, torch.Tensor], elements: torch.Tensor) -> dict[str, torch.Tensor]:
    """Transform each sample of a batch by its own group element.

    Tensors with at least 4 dimensions (images ``(B, C, x, y)``, cubes
    ``(B, C, v, x, y)``) are transformed on their last two axes, sample ``i``
    by ``elements[i]``; the same element is used for every key, so images and
    cubes stay aligned. Lower-dimensional entries (redshift) pass unchanged.

    Examples
    --------
    >>> import torch
    >>> b = {"image": torch.randn(8, 1, 4, 4), "redshift": torch.rand(8, 1)}
    >>> out = d4_batch(b, torch.arange(8))
    >>> torch.equal(out["image"][3], d4_apply(b["image"][3], 3))
    True
    """
    out: dict[str, torch.Tensor] = {}
    elements = elements.to("cpu")
    present = [int(k) for k in torch.unique(elements).tolist()]
    for key, x in batch.items():
        if x.ndim < 4:
            out[key] = x
            continue
        if present == [0]:
            out[key] = x
            continue
        y = torch.empty_like(x)
        for k in present:
            idx = torch.nonzero(elements == k).flatten().to(x.device)
            y[idx] = d4_apply(x.index_select(0, idx), k)
        out[key] = y
    return out
