"""Speed benchmark: binning photons into band images, fast path vs a histogram2d loop.

Generates a few thousand clusters' photon lists in memory — log-normal photon
counts with median ~1,000 and maximum 2.4e5 per cluster (Ho et al. 2023,
Table 1), comoving positions from a beta-model cluster on a uniform background
that spills beyond the aperture, some photons exactly on pixel edges, energies
0.2–10 keV — and bins them into 3 bands × 128² pixels twice:

* **reference**: the research code's approach, a Python loop over clusters and
  bands calling `numpy.histogram2d` on the photons of each band;
* **fast**: `astroclustermass.images.bin_many` (band assignment included):
  the compiled numba kernel on 1 and 2 threads (when numba is installed) and
  the pure-numpy kernel on 1 thread. ``bin_many`` only spreads a call over
  threads when it holds enough work (~0.5 M photons); the 16-cluster blocks
  here are smaller, so the 2-thread row shows that it costs nothing.

Both produce images for blocks of 16 clusters at a time and drop them, so
memory stays small. The timings are interleaved (reference, fast, fast-2, …
repeated) and the median is reported, with photons per second and the ratio
to the reference. Every image is then checked bin for bin against the
reference.

Run it with::

    python -m astroclustermass.benchmarks.bench_binning --n-clusters 2000

Examples
--------
>>> status = main(["--n-clusters", "30", "--repeats", "1", "--quiet"])
>>> status
0
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

from .._utils import defaults
from ..bands import get_bands
from ..images import bin_many, binning_backend

__all__ = ["main", "make_photons", "reference_binning", "fast_binning"]

_CHUNK = 16


def make_photons(
    n_clusters: int,
    seed: int = 0,
    median: float = 1000.0,
    max_photons: int = 240_000,
    aperture: float = defaults.APERTURE,
    npix: int = defaults.NPIX,
):
    """Fake photon lists of ``n_clusters`` clusters: (xs, ys, energies) lists of arrays.

    Counts are log-normal (median ``median``, σ_ln = 1.6) capped at
    ``max_photons``; the largest cluster has exactly ``max_photons``.
    Positions are comoving h⁻¹ Mpc; ~1% of the photons sit exactly on pixel
    edges (including ±aperture) so that the edge rules are exercised.

    Examples
    --------
    >>> xs, ys, es = make_photons(3, seed=1)
    >>> len(xs), xs[0].dtype.name, float(es[0].min()) >= 0.2
    (3, 'float64', True)
    """
    rng = np.random.default_rng(seed)
    counts = np.minimum(
        np.rint(median * np.exp(1.6 * rng.standard_normal(n_clusters))), max_photons
    )
    counts = np.maximum(counts, 1).astype(np.int64)
    counts[int(np.argmax(counts))] = max_photons
    edges = np.linspace(-aperture, aperture, npix + 1)
    xs, ys, es = [], [], []
    for n in counts:
        n = int(n)
        # beta-model-like core (r_c ~ 0.2) plus a flat background to ±1.2 aperture
        r = 0.2 * np.sqrt(rng.random(n) ** (-1.0 / 1.2) - 1.0)
        phi = rng.uniform(0.0, 2.0 * np.pi, n)
        x, y = r * np.cos(phi), r * np.sin(phi)
        bkg = rng.random(n) < 0.3
        nb = int(bkg.sum())
        x[bkg] = rng.uniform(-1.2 * aperture, 1.2 * aperture, nb)
        y[bkg] = rng.uniform(-1.2 * aperture, 1.2 * aperture, nb)
        on_edge = rng.random(n) < 0.01
        x[on_edge] = rng.choice(edges, int(on_edge.sum()))
        on_edge = rng.random(n) < 0.01
        y[on_edge] = rng.choice(edges, int(on_edge.sum()))
        energy = np.exp(rng.uniform(np.log(0.2), np.log(10.0), n))
        xs.append(x)
        ys.append(y)
        es.append(energy)
    return xs, ys, es


def reference_binning(x, y, energy, band_edges, edges):
    """The reference approach for one cluster: one `numpy.histogram2d` per band.

    Examples
    --------
    >>> import numpy as np
    >>> h = reference_binning(np.zeros(2), np.zeros(2), np.array([1.0, 3.0]),
    ...                       [(0.5, 2.0), (2.0, 7.0)], np.linspace(-1, 1, 3))
    >>> [float(b.sum()) for b in h]
    [1.0, 1.0]
    """
    out = []
    for lo, hi in band_edges:
        m = (energy >= lo) & (energy < hi)
        out.append(np.histogram2d(x[m], y[m], bins=[edges, edges])[0])
    return out


def fast_binning(xs, ys, es, bands, npix, aperture, out, n_jobs=1, backend="auto"):
    """The fast path for a block of clusters: `bin_many` with energies.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty((1, 3, 8, 8), np.int32)
    >>> fast_binning([np.zeros(2)], [np.zeros(2)], [np.array([1.0, 3.0])],
    ...              "erosita_3", 8, 2.3, out).sum(axis=(2, 3)).tolist()
    [[1, 0, 1]]
    """
    return bin_many(
        xs,
        ys,
        n_jobs=n_jobs,
        npix=npix,
        aperture=aperture,
        out=out,
        energies=es,
        bands=bands,
        backend=backend,
    )


def _time_reference(xs, ys, es, band_edges, edges) -> float:
    t0 = time.perf_counter()
    for x, y, e in zip(xs, ys, es):
        reference_binning(x, y, e, band_edges, edges)
    return time.perf_counter() - t0


def _time_fast(xs, ys, es, bands, npix, aperture, buf, n_jobs, backend="auto") -> float:
    t0 = time.perf_counter()
    for c in range(0, len(xs), _CHUNK):
        sl = slice(c, c + _CHUNK)
        k = len(xs[sl])
        fast_binning(xs[sl], ys[sl], es[sl], bands, npix, aperture, buf[:k], n_jobs, backend)
    return time.perf_counter() - t0


def _verify(xs, ys, es, bands, npix, aperture, buf, backend) -> int:
    """Number of clusters whose fast image differs from the reference (0 expected)."""
    edges = np.linspace(-aperture, aperture, npix + 1)
    band_edges = bands.edges_keV.tolist()
    bad = 0
    for c in range(0, len(xs), _CHUNK):
        sl = slice(c, c + _CHUNK)
        k = len(xs[sl])
        fast = fast_binning(xs[sl], ys[sl], es[sl], bands, npix, aperture, buf[:k], 2, backend)
        for i in range(k):
            ref = reference_binning(xs[c + i], ys[c + i], es[c + i], band_edges, edges)
            if not all(np.array_equal(fast[i, b], ref[b]) for b in range(len(ref))):
                bad += 1
    return bad


def main(argv: Sequence[str] | None = None) -> int:
    """Run the binning benchmark; returns 0 when every image matches the reference.

    Examples
    --------
    >>> main(["--n-clusters", "20", "--repeats", "1", "--quiet"])
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m astroclustermass.benchmarks.bench_binning",
        description="Photons/s of bin_many vs a Python loop of np.histogram2d per cluster and band.",
    )
    parser.add_argument("--n-clusters", type=int, default=2000, help="clusters (2000)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved timing rounds (5)")
    parser.add_argument(
        "--npix", type=int, default=defaults.NPIX, help=f"pixels per side ({defaults.NPIX})"
    )
    parser.add_argument(
        "--aperture",
        type=float,
        default=defaults.APERTURE,
        help=f"half-width, h^-1 Mpc ({defaults.APERTURE})",
    )
    parser.add_argument("--bands", default="erosita_3", help="band preset (erosita_3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)

    def say(*a):
        if not args.quiet:
            print(*a, flush=True)

    bands = get_bands(args.bands)
    npix, aperture = args.npix, args.aperture
    t0 = time.perf_counter()
    xs, ys, es = make_photons(args.n_clusters, seed=args.seed, aperture=aperture, npix=npix)
    counts = np.array([x.size for x in xs])
    n_ph = int(counts.sum())
    say(
        f"{args.n_clusters} clusters, {n_ph:,} photons (median {int(np.median(counts)):,}, "
        f"max {int(counts.max()):,}); {bands.n_bands} bands x {npix}^2 "
        f"[generated in {time.perf_counter() - t0:.1f} s]"
    )
    edges = np.linspace(-aperture, aperture, npix + 1)
    band_edges = bands.edges_keV.tolist()
    buf = np.empty((min(_CHUNK, len(xs)), bands.n_bands, npix, npix), np.int32)
    runs = {"reference": None}
    if binning_backend() == "numba":
        runs["numba (1 thread)"] = ("numba", 1)
        runs["numba (2 threads)"] = ("numba", 2)
    runs["numpy (1 thread)"] = ("numpy", 1)
    # warm-up (compilation, thread pools, page faults, caches)
    for backend, n_jobs in filter(None, runs.values()):
        _time_fast(
            xs[:_CHUNK], ys[:_CHUNK], es[:_CHUNK], bands, npix, aperture, buf, n_jobs, backend
        )
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(max(1, args.repeats)):
        for name, run in runs.items():
            if run is None:
                times[name].append(_time_reference(xs, ys, es, band_edges, edges))
            else:
                backend, n_jobs = run
                t = _time_fast(xs, ys, es, bands, npix, aperture, buf, n_jobs, backend)
                times[name].append(t)
    ref = statistics.median(times["reference"])
    say(f"{'method':<18} {'median s':>9} {'best s':>8} {'Mphot/s':>9} {'ratio':>7}")
    for name, ts in times.items():
        med = statistics.median(ts)
        say(f"{name:<18} {med:9.3f} {min(ts):8.3f} {n_ph / med / 1e6:9.2f} {ref / med:7.2f}")
    bad = 0
    for run in runs.values():
        if run is not None and run[1] == 1:
            n_bad = _verify(xs, ys, es, bands, npix, aperture, buf, run[0])
            bad += n_bad
            say(
                f"bin-for-bin check of {run[0]} vs histogram2d: "
                + ("all images identical" if n_bad == 0 else f"{n_bad} cluster image(s) DIFFER")
            )
    return 0 if bad == 0 else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
