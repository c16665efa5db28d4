"""Photon maps (L1): `BandImage`, binning kernels, masks, transforms, FITS I/O and plots.

Examples
--------
>>> from astroclustermass.images import image_edges
>>> image_edges(4, 2.0).tolist()
[-2.0, -1.0, 0.0, 1.0, 2.0]
"""

from ..transforms import (
    KrippendorfPipeline,
    RedshiftNormalizer,
    core_excision,
    inverse_log_scale,
    log_scale,
)
from .band_codes import assign_bands
from .band_image import BandImage, source_masks
from .binning import bin_events, bin_many, binning_backend, image_edges
from .exposure import ExposureMap, comoving_wcs, exposure_on_grid, grid_sky_positions
from .point_sources import SOURCE_COLUMNS, mask_radii, point_source_mask

__all__ = [
    "BandImage",
    "bin_events",
    "bin_many",
    "binning_backend",
    "assign_bands",
    "image_edges",
    "source_masks",
    "RedshiftNormalizer",
    "KrippendorfPipeline",
    "log_scale",
    "inverse_log_scale",
    "core_excision",
    "ExposureMap",
    "comoving_wcs",
    "grid_sky_positions",
    "exposure_on_grid",
    "point_source_mask",
    "mask_radii",
    "SOURCE_COLUMNS",
]
