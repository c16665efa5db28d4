"""Benchmarks: the accuracy benchmark pipeline and speed benchmarks.

* `astroclustermass.benchmarks.pipeline.run_benchmark` — the package's main
  job, also ``astroclustermass benchmark``: reproduce Ho et al. (2023) Table 3
  and Figure 4 on the built-in mock universe or on a user's data.
* ``python -m astroclustermass.benchmarks [binning|training|all]`` — speed
  benchmarks that print ratios against in-run baselines.

Examples
--------
>>> from astroclustermass.benchmarks import PRESETS
>>> sorted(PRESETS)
['paper', 'quick']
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_benchmark", "BenchmarkResult", "PRESETS"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
