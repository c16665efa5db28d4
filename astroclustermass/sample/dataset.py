"""Torch ``Dataset`` view of a ClusterSample (private, L2; torch imported lazily)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = ["make_dataset", "apply_transform"]


def apply_transform(transform: Any, images: np.ndarray, redshift: np.ndarray) -> np.ndarray:
    """Apply ``transform(images, redshift)`` (a callable or an object with ``.transform``).

    Examples
    --------
    >>> import numpy as np
    >>> apply_transform(None, np.ones((1, 1, 2, 2), np.int32), np.array([0.1])).dtype
    dtype('float32')
    """
    if transform is None:
        out = images
    elif callable(transform):
        out = transform(images, redshift)
    elif hasattr(transform, "transform"):
        out = transform.transform(images, redshift)
    else:
        raise InputError(
            f"transform must be a callable (images, redshift) -> array or have a .transform "
            f"method; got {type(transform).__name__}"
        )
    out = np.asarray(out, dtype=np.float32)
    if out.shape[0] != images.shape[0]:
        raise InputError(
            f"transform returned {out.shape[0]} images for {images.shape[0]} inputs; it must "
            "keep the first (cluster) axis"
        )
    return out


def make_dataset(
    band_set: str,
    raw_images: Any,
    raw_cubes: Any,
    z: np.ndarray | None,
    y: np.ndarray | None,
    transform: Any,
    redshift: bool,
    preload: bool,
):
    """Build the ``torch.utils.data.Dataset``; see `ClusterSample.to_torch`.

    ``raw_images`` (and ``raw_cubes`` when cubes are wanted, else None) may
    be lazy arrays, read per item unless ``preload``; ``z`` are the float32
    redshifts (None when neither ``redshift`` nor ``transform`` needs them)
    and ``y`` the float32 targets (None: no ``'target'`` items).
    """
    import torch
    from torch.utils.data import Dataset

    name = band_set
    n = len(raw_images)
    cubes = raw_cubes is not None
    target = y is not None
    if preload:
        images = apply_transform(transform, np.asarray(raw_images), z)
        cube_arr = None if raw_cubes is None else np.asarray(raw_cubes, dtype=np.float32)
    else:
        images, cube_arr = None, None

    class ClusterDataset(Dataset):
        """Items: dicts of float32 tensors ('image', 'cube', 'redshift', 'target', 'index')."""

        band_set = name

        def __len__(self) -> int:
            return n

        def __getitem__(self, i: int) -> dict:
            i = int(i)
            if not -n <= i < n:
                raise IndexError(f"index {i} out of range for {n} clusters")
            i %= n
            if images is not None:
                img = images[i]
            else:
                zi = None if z is None else z[i : i + 1]
                img = apply_transform(transform, np.asarray(raw_images[i])[None], zi)[0]
            item = {"image": torch.from_numpy(np.ascontiguousarray(img)), "index": i}
            if cubes:
                c = cube_arr[i] if cube_arr is not None else np.asarray(raw_cubes[i], np.float32)
                item["cube"] = torch.from_numpy(np.ascontiguousarray(c)[None])
            if redshift:
                item["redshift"] = torch.tensor(z[i], dtype=torch.float32)
            if target:
                item["target"] = torch.tensor(y[i], dtype=torch.float32)
            return item

    return ClusterDataset()
