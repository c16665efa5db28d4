"""The built-in mock eROSITA universe (layer 2; imports only layer 0).

`MockUniverse` draws a population of galaxy clusters calibrated to the
catalogue of Ho et al. (2023) and writes what a real simulation pipeline
(Magneticum + PHOX + SIXTE) would hand over: one SIXTE-layout event file per
cluster with per-event source labels, a cluster catalogue with the truth and
the ideal observables, and a galaxy catalogue for dynamics. The readers
(`astroclustermass.events`, `astroclustermass.sample`) read these files
exactly as they would read real simulator output; this package never imports
them.

Modules: `~astroclustermass.simulate.config` (all knobs, exposure presets),
`~astroclustermass.simulate.halos`, `~astroclustermass.simulate.scaling`,
`~astroclustermass.simulate.icm`, `~astroclustermass.simulate.spectra`,
`~astroclustermass.simulate.instrument`, `~astroclustermass.simulate.agn`,
`~astroclustermass.simulate.background`, `~astroclustermass.simulate.galaxies`,
`~astroclustermass.simulate.photons`, `~astroclustermass.simulate.writer`,
`~astroclustermass.simulate.universe` and the calibration report
`~astroclustermass.simulate.report`.

Examples
--------
>>> from astroclustermass.simulate import MockUniverse, EXPOSURE_PRESETS
>>> MockUniverse(n_clusters=4, seed=0, exposure="efeds").exposure
2200.0
>>> EXPOSURE_PRESETS["paper"]
2000.0
"""

from .config import EXPOSURE_PRESETS, SNAPSHOT_REDSHIFTS, MockConfig, resolve_exposure
from .photons import ClusterEvents, simulate_cluster_events
from .report import (
    PAPER_TABLE1,
    PAPER_TABLE3,
    calibration_report,
    calibration_tables,
    measure_observables,
)
from .survey import MockSurvey
from .survey_layout import DEPTH_PRESETS, SurveyLayout, exposure_at
from .universe import MockUniverse

__all__ = [
    "MockUniverse",
    "MockSurvey",
    "SurveyLayout",
    "DEPTH_PRESETS",
    "exposure_at",
    "MockConfig",
    "EXPOSURE_PRESETS",
    "SNAPSHOT_REDSHIFTS",
    "resolve_exposure",
    "ClusterEvents",
    "simulate_cluster_events",
    "calibration_report",
    "calibration_tables",
    "measure_observables",
    "PAPER_TABLE1",
    "PAPER_TABLE3",
]
