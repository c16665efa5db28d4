"""Cross-validation folds and the torch view of a ClusterSample (private, L2).

`LearningViewsMixin` gives `ClusterSample` its ``folds`` and ``to_torch``
methods; torch is imported only inside ``to_torch``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .folds import make_folds

__all__ = ["LearningViewsMixin"]


class LearningViewsMixin:
    """``folds`` and ``to_torch`` for `~astroclustermass.sample.ClusterSample`."""

    def folds(
        self, kind: str | int = "octant", k: int | None = None, seed: Any = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Cross-validation folds as a list of ``(train_idx, test_idx)`` int arrays.

        Parameters
        ----------
        kind : {'octant', 'kfold'} or int
            ``'octant'``: one fold per non-empty octant of the comoving box
            (``floor(xyz / (box_size / 2))``, Ho et al. 2023 Sec. 4.1; the box
            size is ``catalog.meta['box_size']``, default 352 h⁻¹ Mpc, and the
            catalogue needs ``x``, ``y``, ``z``). ``'kfold'`` or an int: random
            k-fold.
        k : int, optional
            Number of random folds (selects ``'kfold'``; default 10).
        seed : int or Generator, optional
            Seed of the random folds.

        Examples
        --------
        >>> import numpy as np
        >>> from astroclustermass.sample import ClusterSample
        >>> s = ClusterSample.from_arrays({"x": [10.0, 200.0], "y": [5.0, 5.0], "z": [1.0, 1.0]},
        ...                               images={"bolometric": np.ones((2, 1, 4, 4))})
        >>> [(tr.tolist(), te.tolist()) for tr, te in s.folds()]
        [([1], [0]), ([0], [1])]
        """
        return make_folds(self._catalog, kind=kind, k=k, seed=seed)

    def to_torch(
        self,
        bands: Any = None,
        transform: Any = None,
        cubes: bool = False,
        redshift: bool = False,
        target: bool = True,
        preload: bool = True,
    ):
        """A `torch.utils.data.Dataset` view of the sample.

        Items are dicts with ``'image'`` (float32 tensor (C, H, W) after
        ``transform``), ``'cube'`` (float32 (1, n, n, n), when ``cubes``),
        ``'redshift'`` (float32 scalar, when ``redshift``), ``'target'``
        (float32 log10_m500c, when ``target``) and ``'index'`` (row number).

        Parameters
        ----------
        bands : str or EnergyBands, optional
            Band set of the images (default: the first).
        transform : callable, optional
            ``transform(images, redshift) -> array`` on (N, C, H, W) counts and
            (N,) redshifts, e.g. a fitted transform pipeline; an object with a
            ``transform`` method is called the same way.
        cubes, redshift, target : bool
            Include those items.
        preload : bool
            Transform everything once up front (default); False reads and
            transforms one cluster per item (for lazy samples too large for memory).

        Returns
        -------
        torch.utils.data.Dataset

        Examples
        --------
        >>> import numpy as np
        >>> from astroclustermass.sample import ClusterSample
        >>> s = ClusterSample.from_arrays({"redshift": [0.1], "log10_m500c": [14.2]},
        ...                               images={"bolometric": np.ones((1, 1, 4, 4))})
        >>> item = s.to_torch()[0]
        >>> tuple(item["image"].shape), round(float(item["target"]), 2)
        ((1, 4, 4), 14.2)
        """
        from .dataset import make_dataset

        return make_dataset(self, bands, transform, cubes, redshift, target, preload)
