"""A tqdm progress bar that switches itself off when not on a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["progress_bar"]


def _default_disable() -> bool:
    if os.environ.get("ASTROCLUSTERMASS_PROGRESS", "").lower() in {"0", "false", "off", "no"}:
        return True
    if os.environ.get("ASTROCLUSTERMASS_PROGRESS", "").lower() in {"1", "true", "on", "yes"}:
        return False
    return not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())


def progress_bar(
    iterable: Iterable | None = None,
    *,
    progress: bool | None = None,
    desc: str | None = None,
    total: int | None = None,
    **kwargs: Any,
):
    """Wrap ``iterable`` in a `tqdm.tqdm` bar.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over.
    progress : bool or None
        True forces the bar on, False off; None (default) shows it only when
        standard error is a terminal (override with the environment variable
        ``ASTROCLUSTERMASS_PROGRESS=0/1``).
    desc, total : optional
        Passed to tqdm.

    Examples
    --------
    >>> sum(progress_bar(range(3), progress=False))
    3
    """
    from tqdm.auto import tqdm

    disable = _default_disable() if progress is None else not progress
    return tqdm(iterable, desc=desc, total=total, disable=disable, dynamic_ncols=True, **kwargs)
