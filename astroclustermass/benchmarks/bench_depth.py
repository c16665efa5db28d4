"""The depth study: mass estimators trained at one depth, applied across depths.

A model trained on the uniform 2 ks mock of Ho et al. (2023) meets, in a real
survey, clusters observed for 100 s to a few ks. This benchmark measures what
that does, in the same run:

* a uniform 2 ks training mock (`MockUniverse`, seed 1) and an eRASS1-like
  varying-depth survey mock (`MockSurvey`, seed 2, depth ``"erass1_wide"``:
  100 s at the ecliptic to 2 ks at the poles, a strip of tiles along RA = 90°
  from the ecliptic to its south pole), built from the tiles with their
  exposure maps (`ClusterSample.build`, ``exposure`` = mean vignetted
  exposure of each image);
* the survey's clusters split in two by catalogue row: even rows are a
  varying-depth *training* set, odd rows the *test* set every model is
  applied to;
* ``multiband_cnn`` trained at 2 ks without a depth input, with
  ``depth_input='scale'`` (maps scaled to 2 ks; trainable at one depth), and
  with ``depth_input='map'`` (an exposure channel; trained on the
  varying-depth set, where it can learn what depth does) next to the same
  network trained on the varying-depth set without it, and the scalar
  proxies beside them: ``power_law(n_phot_500c)`` and
  ``power_law(rate_500c)`` (count rate within R500c) fitted at 2 ks, and
  ``power_law(rate_500c)`` fitted on the varying-depth set;
* bias (mean of predicted − true log10 M500c) and scatter (its standard
  deviation) in dex per bin of exposure, and the warnings each model gave.

Run it with (about 18 min on one core of a busy machine, 11 min with the
simulations cached in ``--work``)::

    python -m astroclustermass.benchmarks.bench_depth --work depth-work

``--quick`` runs the whole chain on a few clusters (seconds; the numbers
mean nothing).

Examples
--------
>>> import tempfile
>>> main(["--quick", "--work", tempfile.mkdtemp(), "--quiet"])
0
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "run_study", "depth_table", "EXPOSURE_EDGES"]

#: Exposure bin edges (s) of the table.
EXPOSURE_EDGES = (0.0, 200.0, 400.0, 800.0, 2100.0)
#: Catalogue names of the survey mock.
_NAMES = {"ra": "RA", "dec": "DEC", "redshift": "BEST_Z", "id": "ID_SRC"}
_BANDS = "erosita_3"


def _simulate(work: Path, n_uniform: int, n_survey: int, npix: int, quick: bool, log) -> dict:
    from ..sample import ClusterSample
    from ..simulate import MockSurvey, MockUniverse

    key = {"n_uniform": n_uniform, "n_survey": n_survey, "npix": npix, "quick": quick}
    marker = work / "depth_key.json"
    paths = {"uniform": work / "uniform.h5", "survey": work / "survey.h5"}
    if marker.is_file() and json.loads(marker.read_text()) == key:
        return {k: ClusterSample.read(p, lazy=False) for k, p in paths.items()}
    t0 = time.perf_counter()
    MockUniverse(n_uniform, seed=1, exposure="paper").write(
        work / "uniform", n_jobs=1, progress=False, overwrite=True
    )
    uniform = ClusterSample.build(work / "uniform", bands=(_BANDS,), npix=npix, n_jobs=1,
                                  progress=False, path=paths["uniform"], overwrite=True)  # fmt: skip
    log(f"uniform 2 ks mock: {n_uniform} clusters in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    # a strip along RA = 90 deg from the ecliptic (Dec +23.4) to its south pole (Dec -66.6)
    n_dec, size = (3, 1.0) if quick else (25, 4.0)
    centre = (90.0, -60.0) if quick else (90.0, -21.5)
    MockSurvey(n_survey, seed=2, n_ra=1, n_dec=n_dec, tile_size=size, center=centre,
               depth="erass1_wide", expmap_pixel_arcsec=60.0).write(
        work / "survey", per_cluster=False, progress=False, overwrite=True)  # fmt: skip
    survey = ClusterSample.build(work / "survey", catalog="clusters.ecsv", column_map=_NAMES,
                                 bands=(_BANDS,), npix=npix, n_jobs=1, progress=False,
                                 path=paths["survey"], overwrite=True)  # fmt: skip
    log(f"survey mock: {len(survey)} clusters in {time.perf_counter() - t0:.0f} s")
    marker.write_text(json.dumps(key))
    return {"uniform": uniform.load(), "survey": survey.load()}


def _models(epochs: int, threads: int, quick: bool) -> list[tuple[str, str, Any]]:
    """(label, training set, estimator) of the study."""
    from ..estimators import MassEstimator

    cnn = {"max_epochs": epochs, "patience": max(5, epochs // 4), "batch_size": 32,
           "num_threads": threads, "device": "cpu", "augment": True, "seed": 0}  # fmt: skip
    if quick:
        cnn.update(max_epochs=1, network_params={"conv": (2, 2, 2, 2), "dense": (4,)})
    power = MassEstimator.from_name
    return [
        ("multiband_cnn", "2 ks", power("multiband_cnn", **cnn)),
        ("multiband_cnn depth_input='scale'", "2 ks", power("multiband_cnn", depth_input="scale", **cnn)),
        ("multiband_cnn", "varying", power("multiband_cnn", **cnn)),
        ("multiband_cnn depth_input='map'", "varying", power("multiband_cnn", depth_input="map", **cnn)),
        ("power_law(n_phot_500c)", "2 ks", power("power_law", observable="n_phot_500c")),
        ("power_law(rate_500c)", "2 ks", power("power_law", observable="rate_500c")),
        ("power_law(rate_500c)", "varying", power("power_law", observable="rate_500c")),
    ]  # fmt: skip


def run_study(work: Path, n_uniform: int, n_survey: int, npix: int, epochs: int, threads: int,
              quick: bool = False, log=print) -> tuple[list[dict], np.ndarray]:  # fmt: skip
    """Simulate, build, train and predict; one result row per model and the test exposures."""
    import torch

    from ..sample.depth import cluster_exposure

    torch.set_num_threads(threads)
    data = _simulate(work, n_uniform, n_survey, npix, quick, log)
    survey = data["survey"]
    rows = np.arange(len(survey))
    train = {"2 ks": data["uniform"], "varying": survey[rows[rows % 2 == 0]]}
    test = survey[rows[rows % 2 == 1]]
    t_test = cluster_exposure(test)
    results = []
    for label, trained_on, est in _models(epochs, threads, quick):
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(train[trained_on], progress=False)
            fit_s = time.perf_counter() - t0
            caught.clear()
            pred = est.predict(test, progress=False)
        kinds = sorted({w.category.__name__ for w in caught if "Warning" in w.category.__name__})
        resid = np.asarray(pred["log10_m500c"], float) - np.asarray(
            test.catalog["log10_m500c"], float
        )
        results.append({"model": label, "trained_on": trained_on, "residuals": resid,
                        "fit_s": fit_s, "warnings": kinds})  # fmt: skip
        hist = getattr(est, "history_", None)
        run = "" if hist is None else f" ({hist.epochs_run} epochs, best {hist.best_epoch + 1})"
        log(
            f"{label} (trained at {trained_on}): fit {fit_s:.0f} s{run}, warnings {kinds or 'none'}"
        )
    return results, t_test


def _stats(resid: np.ndarray) -> tuple[float, float, int]:
    ok = np.isfinite(resid)
    r = resid[ok]
    if r.size < 2:
        return float("nan"), float("nan"), int(r.size)
    return float(r.mean()), float(r.std(ddof=1)), int(r.size)


def depth_table(results: list[dict], exposure: np.ndarray, edges=EXPOSURE_EDGES) -> str:
    """An RST grid table: bias / scatter (dex) per exposure bin for every model.

    Examples
    --------
    >>> res = [{"model": "m", "trained_on": "2 ks", "residuals": np.array([0.1, 0.3, -0.1, 0.1]),
    ...         "warnings": []}]
    >>> print(depth_table(res, np.array([150.0, 160.0, 1000.0, 1100.0]), (100, 200, 2000)))
    ... # doctest: +NORMALIZE_WHITESPACE
    ======  ===========  ================  =================  ===============
    model   trained on   100-200 s (n=2)   200-2000 s (n=2)   all (n=4)
    ======  ===========  ================  =================  ===============
    m       2 ks         +0.200 / 0.141    +0.000 / 0.141     +0.100 / 0.163
    ======  ===========  ================  =================  ===============
    """
    bins = np.digitize(exposure, edges[1:-1])
    heads = ["model", "trained on"]
    for k in range(len(edges) - 1):
        heads.append(f"{edges[k]:g}-{edges[k + 1]:g} s (n={int(np.sum(bins == k))})")
    heads.append(f"all (n={len(exposure)})")
    lines = []
    for r in results:
        cells = [r["model"], r["trained_on"]]
        for k in range(len(edges) - 1):
            b, s, _ = _stats(r["residuals"][bins == k])
            cells.append(f"{b:+.3f} / {s:.3f}")
        b, s, _ = _stats(r["residuals"])
        cells.append(f"{b:+.3f} / {s:.3f}")
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) + 1 for i, h in enumerate(heads)]
    rule = "  ".join("=" * w for w in widths)

    def fmt(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([rule, fmt(heads), rule, *(fmt(c) for c in lines), rule])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints the table. Returns 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="depth-work", help="simulations and samples (depth-work)")
    p.add_argument("--n-uniform", type=int, default=800, help="2 ks training clusters (800)")
    p.add_argument("--n-survey", type=int, default=1400, help="survey clusters, half test (1400)")
    p.add_argument("--npix", type=int, default=32, help="pixels per side (32)")
    p.add_argument("--epochs", type=int, default=60, help="CNN epochs at most (60)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    p.add_argument("--quick", action="store_true", help="a few clusters, 1 epoch: a smoke test")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    args = p.parse_args(argv)
    if args.quick:
        args.n_uniform, args.n_survey, args.npix = 24, 24, 16
    log = (lambda *a: None) if args.quiet else print
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results, exposure = run_study(work, args.n_uniform, args.n_survey, args.npix, args.epochs,
                                  args.threads, args.quick, log)  # fmt: skip
    log(f"\nbias / scatter (dex) of predicted - true log10 M500c on {len(exposure)} survey "
        f"clusters, exposure {exposure.min():.0f}-{exposure.max():.0f} s, by exposure bin:\n")  # fmt: skip
    log(depth_table(results, exposure))
    log(f"\ndone in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
