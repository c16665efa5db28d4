"""Evaluation: cross-validation, accuracy metrics, reports and plots.

Names are imported lazily on first access, so importing this package does not
import matplotlib or torch.

Examples
--------
>>> from astroclustermass.evaluation import dex_to_percent
>>> round(float(dex_to_percent(0.0703)), 2)
16.19
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_LAZY = {
    "cross_validate": "crossval",
    "residuals": "metrics",
    "dex_to_percent": "metrics",
    "scatter": "metrics",
    "bias": "metrics",
    "robust_scatter": "metrics",
    "robust_bias": "metrics",
    "coverage": "metrics",
    "pit_values": "metrics",
    "pit_histogram": "metrics",
    "has_per_cluster_sigma": "metrics",
    "summarize": "metrics",
    "binned_statistics": "metrics",
    "mass_bin_bias": "metrics",
    "compare": "metrics",
    "to_markdown": "tables",
    "plot_predictions": "plots",
    "plot_residual_correlation": "plots",
    "plot_coverage": "plots",
    "plot_mass_bin_bias": "plots",
    "write_report": "report",
    "interval_coverage": "calibration",
    "coverage_table": "calibration",
    "calibration_summary": "calibration",
    "calibration_table": "calibration",
    "pit_ks": "calibration",
    "crps_gaussian": "calibration",
    "gaussian_nll": "calibration",
    "bootstrap_errors": "bootstrap",
    "plot_reliability": "plots",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
