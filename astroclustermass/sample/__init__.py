"""Samples of clusters (L2): `ClusterSample`, its builder, HDF5 files, folds and torch view.

Examples
--------
>>> from astroclustermass.sample import ClusterSample, SOURCES
>>> SOURCES
('icm', 'agn', 'background')
"""

from .arrays import SOURCES
from .cluster_sample import ClusterSample
from .protocol import SampleLike
from .r500c import iterative_r500c

__all__ = ["ClusterSample", "SOURCES", "SampleLike", "iterative_r500c"]
