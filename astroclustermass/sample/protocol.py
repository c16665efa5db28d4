"""`SampleLike`: what the estimators and attribution methods read from a sample.

`~astroclustermass.sample.ClusterSample` satisfies it; so do light views such
as an ensemble's pre-processed images, and a plugin's own sample classes.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.sample import ClusterSample, SampleLike
>>> s = ClusterSample.from_arrays({"redshift": [0.1]}, images={"bolometric": np.ones((1, 1, 4, 4))})
>>> isinstance(s, SampleLike)
True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["SampleLike"]


@runtime_checkable
class SampleLike(Protocol):
    """The duck type of a sample: a catalogue, band sets, images, a grid and rows.

    Examples
    --------
    >>> class Rows:
    ...     catalog, band_sets, npix, aperture, cosmology = None, {}, 8, 2.3, None
    ...     def images(self, bands=None): ...
    ...     def __len__(self): return 0
    ...     def __getitem__(self, key): return self
    >>> isinstance(Rows(), SampleLike)
    True
    """

    catalog: Any
    band_sets: dict
    npix: int
    aperture: float
    cosmology: Any

    def images(self, bands: Any = None) -> np.ndarray:
        """Count images of one band set, (N, n_band, npix, npix)."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: Any) -> SampleLike: ...
