"""Per-photon source labels: the one definition of codes, labels and SRC_ID keywords.

Every event carries an int8 source code. A simulator's ``SRC_ID`` values are
mapped onto the codes by the header keywords `SOURCE_KEYWORDS` (comma-separated
``SRC_ID`` lists, e.g. ``SRCAGN='2,3'``) or by a caller's ``source_map``.

Examples
--------
>>> from astroclustermass.events.sources import SOURCE_CODES, SOURCE_LABELS, source_codes_of
>>> SOURCE_LABELS[SOURCE_CODES["agn"]], source_codes_of(["icm", 3])
('agn', [1, 3])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = [
    "SOURCE_UNKNOWN",
    "SOURCE_ICM",
    "SOURCE_AGN",
    "SOURCE_BACKGROUND",
    "SOURCE_LABELS",
    "SOURCE_CODES",
    "LABELLED_SOURCES",
    "DEFAULT_SRC_ID",
    "SOURCE_KEYWORDS",
    "source_codes_of",
]

SOURCE_UNKNOWN = 0
SOURCE_ICM = 1
SOURCE_AGN = 2
SOURCE_BACKGROUND = 3
#: label of each source code (index = code)
SOURCE_LABELS = ("unknown", "icm", "agn", "background")
#: code of each label
SOURCE_CODES = {label: code for code, label in enumerate(SOURCE_LABELS)}
#: the labels of known sources (all but 'unknown'): those a sample keeps images of
LABELLED_SOURCES = SOURCE_LABELS[1:]
#: SRC_ID written for events that carry a label but no simulator SRC_ID
DEFAULT_SRC_ID = {SOURCE_UNKNOWN: 0, SOURCE_ICM: 1, SOURCE_AGN: 2, SOURCE_BACKGROUND: -1}
#: header keyword listing the SRC_ID values of each labelled source
SOURCE_KEYWORDS = {"icm": "SRCICM", "agn": "SRCAGN", "background": "SRCBKG"}


def source_codes_of(source: Any) -> list[int]:
    """Source codes from labels ('icm', ...), codes, or a list of either.

    Examples
    --------
    >>> source_codes_of(["agn", 3])
    [2, 3]
    """
    items = [source] if isinstance(source, str | int | np.integer) else list(source)
    out = []
    for item in items:
        if isinstance(item, str):
            if item.lower() not in SOURCE_CODES:
                raise InputError(f"unknown source label {item!r}; use {SOURCE_LABELS}")
            out.append(SOURCE_CODES[item.lower()])
        else:
            out.append(int(item))
    return out
