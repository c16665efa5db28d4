"""The multiprocessing context used by the package's worker pools."""

from __future__ import annotations

import multiprocessing
import sys
from typing import Any

__all__ = ["process_context"]


def process_context() -> Any:
    """``fork`` on Linux, else the platform default.

    Fork lets worker pools run from scripts, notebooks and ``python -c``
    without an ``if __name__ == "__main__"`` guard. The workers use numpy and
    astropy only (no torch), so forking is safe.

    Examples
    --------
    >>> process_context().get_start_method() in {"fork", "spawn", "forkserver"}
    True
    """
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
