"""Scaling benchmark: CNN folds on 1 and 2 cores, sample building on Dask, sample size.

Three measurements, printed side by side in one run:

1. **CNN stages** of the quick benchmark (its networks, batch size, folds
   and one-thread training) on a smaller mock, cross-validated

   * in one process on one torch thread (``n_jobs=1``, the baseline),
   * in one process on two torch threads (``num_threads=2``),
   * in two spawned fold workers of one thread each (``n_jobs=2``, the
     package's default on 2 cores),
   * in two DistributedDataParallel processes (gloo) that share every fold's
     training (`astroclustermass.estimators.distributed`),

   as seconds and speed-up over the baseline;
2. **sample building** (`ClusterSample.build`) in this process and on a Dask
   ``LocalCluster`` of 1 and 2 single-threaded workers, in photons per
   second;
3. **sample size on disk** for the quick and the paper presets, before (64³
   float32 cubes, the old layout) and after (cubes at the size the joint CNN
   uses, quantised), from a small build extrapolated per cluster.

Run it with::

    python -m astroclustermass.benchmarks.bench_scale          # ~10 min on 2 cores
    python -m astroclustermass.benchmarks.bench_scale --quick  # ~3 min

Examples
--------
>>> _speedups({"a": 10.0, "b": 5.0}, "a")
{'a': 1.0, 'b': 2.0}
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_CNNS = ("single_band_cnn", "multiband_cnn")


def _speedups(seconds: dict[str, float], baseline: str) -> dict[str, float]:
    return {k: round(seconds[baseline] / v, 2) for k, v in seconds.items()}


def _quiet() -> Any:
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")
    return ctx


def _mock(out: Path, n: int, seed: int = 0) -> Path:
    from ..simulate import MockUniverse

    universe = MockUniverse(n, seed=seed, exposure="paper")
    if not universe.matches(out):
        universe.write(out, n_jobs=os.cpu_count() or 1, progress=False, overwrite=True)
    return out


def _cnn_params(name: str, epochs: int, threads: int) -> dict[str, Any]:
    from .pipeline import PRESETS

    cfg = PRESETS["quick"]
    params = {
        "max_epochs": epochs,
        "patience": cfg["patience"],
        "batch_size": cfg["batch_size"],
        "device": "cpu",
        "seed": 0,
        "num_threads": threads,
    }
    params.update(cfg["estimator_params"].get(name, {}))
    return params


def _cv_seconds(sample: Any, epochs: int, n_jobs: int, threads: int) -> float:
    """Seconds of every CNN stage, workers started once as in the benchmark (included)."""
    from ..evaluation import cross_validate
    from ..evaluation._fold_runner import fold_workers

    t0 = time.perf_counter()
    with fold_workers(n_jobs):
        for name in _CNNS:
            params = _cnn_params(name, epochs, threads)
            cross_validate(name, sample, folds="octant", n_jobs=n_jobs, **params)
    return time.perf_counter() - t0


def _ddp_rank(rank: int, init: str, path: str, epochs: int, out: Any) -> None:
    import torch
    import torch.distributed as dist

    from ..sample import ClusterSample

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        _quiet()
        sample = ClusterSample.read(path).load()
        dist.barrier()
        seconds = _cv_seconds(sample, epochs, 1, 1)
        if rank == 0:
            out.put(seconds)
    finally:
        dist.destroy_process_group()


def _ddp_seconds(path: Path, epochs: int, tmp: Path) -> float:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    init = f"file://{tmp / 'rendezvous'}"
    args = (init, str(path), epochs, queue)
    procs = [ctx.Process(target=_ddp_rank, args=(r, *args)) for r in (0, 1)]
    for p in procs:
        p.start()
    seconds = queue.get(timeout=3600)
    for p in procs:
        p.join()
    return float(seconds)


def cnn_stages(work: Path, n_clusters: int, epochs: int) -> dict[str, float]:
    """Seconds of the CNN stages per way of using two cores."""
    from ..sample import ClusterSample
    from ._stages import _required_bands

    sim = _mock(work / f"mock{n_clusters}", n_clusters)
    bands = _required_bands(_CNNS, {n: _cnn_params(n, epochs, 1) for n in _CNNS})
    path = work / f"cnn{n_clusters}.h5"
    if not path.exists():
        ClusterSample.build(sim, bands=tuple(bands), npix=32, dynamics=False, path=path,
                            n_jobs=os.cpu_count() or 1, progress=False, overwrite=True)  # fmt: skip
    sample = ClusterSample.read(path).load()
    seconds = {"1 process, 1 thread": _cv_seconds(sample, epochs, 1, 1)}
    seconds["1 process, 2 threads"] = _cv_seconds(sample, epochs, 1, 2)
    seconds["2 fold workers (n_jobs=2)"] = _cv_seconds(sample, epochs, 2, 1)
    seconds["2 DDP processes (gloo)"] = _ddp_seconds(path, epochs, work)
    return seconds


def _n_photons(directory: Path) -> int:
    from astropy.io import fits

    total = 0
    for p in sorted((directory / "events").iterdir()):
        with fits.open(p, memmap=True) as hdul:
            total += int(hdul[1].header["NAXIS2"])
    return total


def build_rates(work: Path, n_clusters: int) -> dict[str, float]:
    """Photons per second of `ClusterSample.build`, here and on 1 and 2 Dask workers.

    Each engine first builds a 4-cluster mock untimed, so that imports and the
    numba binning kernel are compiled in every worker before the clock starts.
    """
    from ..sample import ClusterSample

    sim = _mock(work / f"mock{n_clusters}", n_clusters)
    warm = _mock(work / "mock_warm", 4, seed=1)  # imports and numba kernels, untimed
    photons = _n_photons(sim)
    kw = {"bands": ("bolometric", "erosita_3"), "npix": 32, "cube_size": 16, "progress": False}
    rates = {}
    ClusterSample.build(warm, path=work / "warm.h5", overwrite=True, n_jobs=1, **kw)
    t0 = time.perf_counter()
    ClusterSample.build(sim, path=work / "b_local.h5", overwrite=True, n_jobs=1, **kw)
    rates["this process"] = photons / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    ClusterSample.build(sim, path=work / "b_pool.h5", overwrite=True, n_jobs=2, **kw)
    rates["local pool, 2 processes"] = photons / (time.perf_counter() - t0)
    try:
        import distributed
    except ImportError:  # pragma: no cover - the distributed extra is optional
        return rates
    for n in (1, 2):
        with (
            distributed.LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=None,
                                     silence_logs=40) as cluster,
            distributed.Client(cluster) as client,
        ):  # fmt: skip
            client.wait_for_workers(n)
            ClusterSample.build(warm, path=work / "warm.h5", overwrite=True, client=client, **kw)
            t0 = time.perf_counter()
            ClusterSample.build(sim, path=work / f"b_dask{n}.h5", overwrite=True, client=client,
                                **kw)  # fmt: skip
            rates[f"Dask, {n} worker{'s' * (n > 1)}"] = photons / (time.perf_counter() - t0)
    return rates


def sample_sizes(work: Path, n_build: int) -> list[tuple[str, str, int, float]]:
    """(preset, layout, clusters, MB) extrapolated per cluster from builds of ``n_build``."""
    from ..sample import ClusterSample
    from ._stages import _required_bands
    from .pipeline import PRESETS, _cube_size

    sim = _mock(work / f"mock{n_build}", n_build)
    rows = []
    for preset in ("quick", "paper"):
        cfg = PRESETS[preset]
        bands = tuple(_required_bands(cfg["estimators"], cfg["estimator_params"]))
        npix = cfg["npix"]
        layouts = {
            "before: 64^3 float32 cubes": {"cube_size": None, "cube_compression": None},
            "after: compact cubes": {"cube_size": _cube_size(npix)},
        }
        for label, opts in layouts.items():
            path = work / f"size_{preset}_{len(rows)}.h5"
            ClusterSample.build(sim, bands=bands, npix=npix, path=path, overwrite=True,
                                n_jobs=os.cpu_count() or 1, progress=False, **opts)  # fmt: skip
            per = path.stat().st_size / n_build
            rows.append((preset, label, cfg["n_clusters"], per * cfg["n_clusters"] / 1e6))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scaling benchmark and print its tables; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m astroclustermass.benchmarks.bench_scale")
    parser.add_argument("--quick", action="store_true", help="smaller mock, fewer epochs")
    parser.add_argument("--n-clusters", type=int, help="mock clusters of the CNN stages")
    parser.add_argument("--epochs", type=int, help="training epochs per fold")
    parser.add_argument("--skip", nargs="*", default=[], choices=["cnn", "build", "size"])
    parser.add_argument("--work", help="directory for the mock and samples (a temporary one)")
    args = parser.parse_args(argv)
    n = args.n_clusters or (120 if args.quick else 240)
    epochs = args.epochs or (4 if args.quick else 8)
    ctx = _quiet()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
        if "cnn" not in args.skip:
            seconds = cnn_stages(work, n, epochs)
            speed = _speedups(seconds, "1 process, 1 thread")
            print(f"\nCNN stages ({', '.join(_CNNS)}; {n} clusters, 8 octant folds, {epochs} "
                  "epochs; quick-preset networks and batch size)")  # fmt: skip
            for k, v in seconds.items():
                print(f"  {k:28s} {v:8.1f} s   speed-up {speed[k]:.2f}x")
        if "build" not in args.skip:
            rates = build_rates(work, 48 if args.quick else 96)
            base = rates["this process"]
            print("\nsample build (bolometric + erosita_3, 32^2 maps, 16^3 cubes)")
            for k, v in rates.items():
                print(f"  {k:28s} {v:10.3g} photons/s   ratio {v / base:.2f}x")
        if "size" not in args.skip:
            print("\nsample size on disk (extrapolated per cluster from a build of 16 clusters)")
            for preset, label, n_cl, mb in sample_sizes(work, 16):
                print(f"  {preset:6s} {n_cl:5d} clusters  {label:28s} {mb:9.1f} MB")
    ctx.__exit__(None, None, None)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
