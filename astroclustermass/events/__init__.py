"""Photon event lists (L1): `EventList`, event-file I/O and source labels.

Examples
--------
>>> from astroclustermass.events import EventList, SOURCE_LABELS
>>> SOURCE_LABELS[1]
'icm'
"""

from .event_list import EventList, read_events
from .fits import FORMATS
from .sources import (
    SOURCE_AGN,
    SOURCE_BACKGROUND,
    SOURCE_ICM,
    SOURCE_LABELS,
    SOURCE_UNKNOWN,
)
from .survey import SurveyTiles
from .tile_index import TILE_COLUMNS, OutsideSurveyError, TileIndex

__all__ = [
    "EventList",
    "read_events",
    "SOURCE_UNKNOWN",
    "SOURCE_ICM",
    "SOURCE_AGN",
    "SOURCE_BACKGROUND",
    "SOURCE_LABELS",
    "FORMATS",
    "SurveyTiles",
    "TileIndex",
    "OutsideSurveyError",
    "TILE_COLUMNS",
]
