"""Reading and writing a ClusterSample as one HDF5 file (private, L2).

`SampleFilesMixin` gives `~astroclustermass.sample.ClusterSample` its ``read``
and ``write`` methods; the HDF5 layout lives in `astroclustermass.sample.hdf5`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..bands import EnergyBands
from ..cosmology import cosmology_from_dict
from .hdf5 import read_hdf5, sample_header, write_hdf5

if TYPE_CHECKING:
    from . import ClusterSample

__all__ = ["SampleFilesMixin"]


class SampleFilesMixin:
    """``read`` and ``write`` for `~astroclustermass.sample.ClusterSample`."""

    @classmethod
    def read(cls, path: str | os.PathLike, lazy: bool = True) -> ClusterSample:
        """Read a sample written by `write`.

        Parameters
        ----------
        path : path-like
            The HDF5 file.
        lazy : bool
            If True (default) images and cubes stay on disk and are read on
            access; a subset of a lazy sample reads only its own rows.

        Returns
        -------
        ClusterSample

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np
        >>> from astroclustermass.sample import ClusterSample
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.h5"
        >>> s = ClusterSample.from_arrays({"redshift": [0.1, 0.2]},
        ...                               images={"bolometric": np.ones((2, 1, 4, 4))})
        >>> _ = s.write(p)
        >>> int(ClusterSample.read(p)[1].images().sum())
        16
        """
        data = read_hdf5(path, lazy=lazy)
        band_sets = {d["name"]: EnergyBands.from_dict(d) for d in data["band_sets"]}
        images = {name: data["images"][name] for name in band_sets}
        return cls(
            data["catalog"],
            images,
            band_sets,
            source_images=data["source_images"],
            cubes=data["cubes"],
            observables=data["observables"],
            npix=data["npix"],
            aperture=data["aperture"],
            cosmology=cosmology_from_dict(data["cosmology"]),
            meta=data["meta"],
        )

    def write(
        self,
        path: str | os.PathLike,
        overwrite: bool = False,
        compression: str | None = "gzip",
        compression_level: int | None = None,
        cube_compression: str | None = "lzf",
    ) -> Path:
        """Write the sample to one HDF5 file (atomically).

        Parameters
        ----------
        path : path-like
            Destination.
        overwrite : bool
            Replace an existing file (otherwise `FileExistsError`).
        compression : {'gzip', 'lzf', None}
            Compression of the count images (gzip level 4 with shuffle by default).
        compression_level : int, optional
            gzip level 0–9.
        cube_compression : {'quantized', 'lzf', 'gzip', None}
            Compression of the dynamical cubes. ``'lzf'`` (default, fast;
            other HDF5 readers than h5py need its plugin) and ``'gzip'`` keep
            them exact; ``'quantized'`` (the default of `ClusterSample.build`)
            rounds every voxel so that ``n³ · cube`` changes by at most 5e-4
            (the uniform density is 1) and deflates the result, ~4× smaller.

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np
        >>> from astroclustermass.sample import ClusterSample
        >>> s = ClusterSample.from_arrays({"redshift": [0.1]},
        ...                               images={"bolometric": np.ones((1, 1, 4, 4))})
        >>> s.write(pathlib.Path(tempfile.mkdtemp()) / "s.h5").suffix
        '.h5'
        """
        return write_hdf5(self, path, overwrite, compression, compression_level, cube_compression)

    def _header(self) -> dict:
        return sample_header(self)
