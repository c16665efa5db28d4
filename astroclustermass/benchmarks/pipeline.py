"""The main job: reproduce Ho et al. (2023) Table 3 and Figure 4 on a mock or on your data.

`run_benchmark` (also ``astroclustermass benchmark``)

1. simulates a mock universe with `~astroclustermass.simulate.MockUniverse`
   — or reads a user's directory (``data=``) with the layout of
   ``docs/internals.rst``;
2. builds the `~astroclustermass.ClusterSample`;
3. measures the Eq. 7 scatter of every scalar observable present (ideal ones
   only when the catalogue has them), the best combinations per size
   (Table 3) and the residual correlations (Fig. 3), and cross-validates
   the ``power_law`` estimator on N_phot,500c (Fig. 4, first column);
4. cross-validates every CNN with the same folds;
5. writes the report (`~astroclustermass.evaluation.report.write_report`).

Steps 1 and 2 are cached in the output directory and reused only when their
configuration (and, for ``data=``, the input files) is unchanged.

Examples
--------
>>> PRESETS["paper"]["n_clusters"], PRESETS["paper"]["npix"], PRESETS["paper"]["folds"]
(3285, 128, 'octant')
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from .._utils import atomic_write
from ..exceptions import AstroClusterMassWarning, FileFormatError, InputError
from ..version import __version__

__all__ = ["run_benchmark", "BenchmarkResult", "PRESETS", "format_table"]

#: Scalar observables of Ho et al. (2023) Table 2, in the paper's order.
IDEAL_OBSERVABLES = ("T", "L_X", "M_gas", "M_star", "sigma_v_true")
REALISTIC_OBSERVABLES = ("n_gal", "sigma_v", "n_phot", "n_phot_500c")
PROXY_MODEL = "power_law(n_phot_500c)"
CNN_ESTIMATORS = ("single_band_cnn", "multiband_cnn", "joint_cnn", "nll_ensemble", "gap_cnn")

#: Run presets. ``quick`` is the README's first command: from nothing to a
#: report in under 15 minutes on a 2-core CPU. ``paper`` follows Ho et al.
#: (2023): 3,285 clusters, 128² maps, octant folds, batch 50, at most 200
#: epochs with early stopping after 20 without improvement.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        "n_clusters": 600,
        "exposure": "paper",
        "npix": 32,
        "folds": "octant",
        "epochs": 12,
        "patience": 4,
        "batch_size": 32,
        "estimators": CNN_ESTIMATORS,
        "estimator_params": {
            "nll_ensemble": {"n_members": 2},
            "joint_cnn": {"network_params": {"cube_kernels": (3, 3, 1)}},
        },
    },
    "paper": {
        "n_clusters": 3285,
        "exposure": "paper",
        "npix": 128,
        "folds": "octant",
        "epochs": 200,
        "patience": 20,
        "batch_size": 50,
        "estimators": CNN_ESTIMATORS,
        "estimator_params": {},
    },
}

# estimators that follow the Ho et al. schedule (batch size of the preset)
_HO_SCHEDULE = {"single_band_cnn", "multiband_cnn", "joint_cnn"}


@dataclass
class BenchmarkResult:
    """What `run_benchmark` produced.

    Attributes
    ----------
    out : pathlib.Path
        Output directory.
    report : pathlib.Path
        ``report.md``.
    table : astropy.table.Table
        The Table 3-style comparison (also ``table3.ecsv``).
    predictions : dict
        Out-of-fold `~astroclustermass.estimators.MassPrediction` per model.
    timings : dict
        Seconds per stage.
    config : dict
        The resolved run configuration.
    """

    out: Path
    report: Path
    table: Table
    predictions: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ helpers
def _hash(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, obj: Any) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def _data_fingerprint(directory: Path) -> dict[str, Any]:
    """Content hash of the catalogues and size/mtime of every event file."""
    cat = directory / "catalog.ecsv"
    if not cat.exists():
        raise FileFormatError(
            f"{directory} has no catalog.ecsv; a data directory needs catalog.ecsv, events/ "
            "and optionally galaxies.ecsv (see docs/internals.rst)"
        )
    out: dict[str, Any] = {"path": str(directory.resolve())}
    for name in ("catalog.ecsv", "galaxies.ecsv"):
        p = directory / name
        if p.exists():
            out[name] = hashlib.sha256(p.read_bytes()).hexdigest()
    events = []
    for p in sorted(directory.rglob("*")):
        if p.is_file() and p.suffix.lower() in {".fits", ".fit", ".fz", ".gz"}:
            st = p.stat()
            events.append((str(p.relative_to(directory)), st.st_size, st.st_mtime_ns))
    out["events"] = _hash(events)
    out["n_event_files"] = len(events)
    return out


class _Log:
    """Stage messages on stderr and timings."""

    def __init__(self, progress: bool | None, n_stages: int) -> None:
        self.enabled = progress is not False
        self.n = n_stages
        self.k = 0
        self.timings: dict[str, float] = {}

    def say(self, text: str) -> None:
        if self.enabled:
            print(text, file=sys.stderr, flush=True)

    @contextmanager
    def stage(self, key: str, text: str) -> Iterator[None]:
        self.k += 1
        self.say(f"[{self.k}/{self.n}] {text}")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - t0


def _accepted_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    from ..plugins import estimator_registry

    cls = estimator_registry().get(name)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    return {k: v for k, v in params.items() if k in accepted}


def _required_bands(estimators: Sequence[str], params: dict[str, dict]) -> list[str]:
    from ..estimators import MassEstimator

    names = ["bolometric", "erosita_3"]
    for name in estimators:
        spec = MassEstimator.from_name(name, **params.get(name, {})).input_spec()
        for bands in spec["bands"]:
            if bands.name not in names:
                names.append(bands.name)
    return names


def _needs_cubes(estimators: Sequence[str], params: dict[str, dict]) -> bool:
    from ..estimators import MassEstimator

    return any(
        MassEstimator.from_name(n, **params.get(n, {})).input_spec()["cubes"] for n in estimators
    )


# ------------------------------------------------------------------ stages
def _simulate(
    out: Path,
    n_clusters: int,
    seed: int,
    exposure: Any,
    n_jobs: int,
    progress: bool | None,
    log: _Log,
) -> tuple[Path, dict]:
    from ..simulate import MockUniverse

    universe = MockUniverse(n_clusters, seed=seed, exposure=exposure)
    digest = _hash(universe.simulation_metadata())
    sim_dir = out / "simulation"
    if universe.matches(sim_dir):  # simulation.json equal and every file present
        log.say(f"      reusing the simulation in {sim_dir} (configuration unchanged)")
        return sim_dir, {"hash": digest, "reused": True}
    universe.write(sim_dir, n_jobs=n_jobs, progress=progress, overwrite=True)
    return sim_dir, {"hash": digest, "reused": False}


def _pool_cubes(sample: Any, size: int) -> Any:
    """A copy of ``sample`` whose dynamical cubes are sum-pooled to ``size``³ voxels.

    Pooling keeps each cube normalised to 1 and its grid on the same
    ``[-aperture, aperture]`` and velocity range (bin centres of the coarse
    ``linspace`` grid), as ``docs/internals.rst`` requires.
    """
    from ..sample import ClusterSample

    cubes = sample.cubes
    n = int(cubes.shape[1])
    if size >= n:
        return sample
    if n % size:
        raise InputError(f"cannot pool {n}^3 dynamical cubes to {size}^3; use a divisor of {n}")
    f = n // size
    pooled = np.empty((len(sample), size, size, size), np.float32)
    for k in range(0, len(sample), 64):  # bounded temporaries
        block = np.asarray(cubes[k : k + 64], dtype=np.float64)
        pooled[k : k + 64] = block.reshape(-1, size, f, size, f, size, f).sum(axis=(2, 4, 6))
    images = {name: np.asarray(sample.images(name)) for name in sample.band_sets}
    source_images = {
        name: {src: np.asarray(sample.source_images(name, src)) for src in sample.sources}
        for name in sample.band_sets
    }
    meta = json.loads(json.dumps(sample.meta, default=str))
    build = meta.setdefault("build", {})
    if isinstance(build, dict):
        build["n_cube"] = size
        build["cube_pooled_from"] = n
    return ClusterSample(
        sample.catalog,
        images,
        dict(sample.band_sets),
        source_images=source_images,
        cubes=pooled,
        observables=sample.observables,
        npix=sample.npix,
        aperture=sample.aperture,
        cosmology=sample.cosmology,
        meta=meta,
    )


def _build(
    out: Path,
    source: Path,
    source_key: Any,
    bands: list[str],
    npix: int,
    dynamics: bool,
    n_jobs: int,
    progress: bool | None,
    log: _Log,
):
    from ..sample import ClusterSample

    key = {
        "source": source_key,
        "bands": bands,
        "npix": int(npix),
        "aperture": 2.3,
        "dynamics": bool(dynamics),
        "version": __version__,
    }
    digest = _hash(key)
    path = out / "sample.h5"
    marker = out / "sample.json"
    stored = _read_json(marker)
    if stored and stored.get("hash") == digest and path.exists():
        log.say(f"      reusing the sample {path} (configuration unchanged)")
        return ClusterSample.read(path), {"hash": digest, "reused": True}
    marker.unlink(missing_ok=True)
    sample = ClusterSample.build(
        source,
        bands=tuple(bands),
        npix=npix,
        aperture=2.3,
        dynamics=dynamics,
        n_jobs=n_jobs,
        progress=progress,
        path=path,
        overwrite=True,
    )
    _write_json(marker, {"hash": digest, "config": key})
    return sample, {"hash": digest, "reused": False}


def _proxies(sample: Any) -> tuple[Table | None, Any, list[str]]:
    """Eq. 7 scatter rows, best combinations and the correlation matrix (Fig. 3)."""
    from ..estimators.scaling import residual_correlation, scatter_table, search_combinations

    if "log10_m500c" not in sample.catalog.colnames:
        raise InputError(
            "the benchmark needs true masses: the catalogue has no 'log10_m500c' (or 'm500c') "
            "column"
        )
    obs = sample.observables
    ideal = [c for c in IDEAL_OBSERVABLES if c in sample.catalog.colnames]
    real = [c for c in REALISTIC_OBSERVABLES if obs is not None and c in obs.colnames]
    notes: list[str] = []
    rows: list[tuple[str, str, int, float]] = []
    usable: dict[str, list[str]] = {"ideal": [], "realistic": []}
    for section, names in (("ideal", ideal), ("realistic", real)):  # Table 3 order
        for name in names:
            try:
                t = scatter_table(sample, [name])
            except InputError as err:
                notes.append(f"{section} observable {name} skipped: {err}")
                continue
            usable[section].append(name)
            rows.append((section, name, int(t["n"][0]), float(t["scatter_dex"][0])))
    for section, names in usable.items():
        if len(names) < 2:
            continue
        try:
            best = search_combinations(sample, names, min_size=2)
        except InputError as err:
            notes.append(f"{section} combinations skipped: {err}")
            continue
        n_used = int(best.meta.get("n_clusters", len(sample)))
        for r in best:
            rows.append(
                (f"{section} combination", str(r["observables"]), n_used, float(r["scatter_dex"]))
            )
    ideal, real = usable["ideal"], usable["realistic"]
    table = None
    if rows:
        table = Table(
            rows=rows, names=("section", "model", "n", "scatter_dex"), dtype=(str, str, int, float)
        )
    correlation = None
    names = ideal + real
    if len(names) >= 2:
        try:
            matrix = residual_correlation(sample, names)
            correlation = (matrix, names, len(ideal) if ideal and real else None)
        except InputError as err:
            notes.append(f"residual correlation skipped: {err}")
    return table, correlation, notes


def _cross_validate(
    name: str, sample: Any, folds: Any, seed: int, progress: bool | None, params: dict[str, Any]
):
    from ..estimators import MassEstimator
    from ..evaluation.crossval import cross_validate

    estimator = MassEstimator.from_name(name, **params)  # params may hold the network seed
    return cross_validate(estimator, sample, folds=folds, seed=seed, progress=progress)


def _resolve_folds(folds: Any, sample: Any, explicit: bool, notes: list[str]) -> Any:
    if folds == "octant":
        cat = sample.catalog
        if not all(c in cat.colnames for c in ("x", "y", "z")):
            if explicit:
                raise InputError(
                    "octant folds need the box positions x, y, z in the catalogue; pass "
                    "folds=K (e.g. --folds 8) for random folds"
                )
            notes.append(
                "the catalogue has no box positions x, y, z: 8 random folds were used "
                "instead of octants"
            )
            return 8
        return "octant"
    k = int(folds)
    if k < 2:
        raise InputError(f"folds must be 'octant' or an integer >= 2; got {folds!r}")
    return k


def format_table(table: Table) -> str:
    """The comparison table as Markdown, for the console.

    Examples
    --------
    >>> from astroclustermass.evaluation.report import benchmark_table
    >>> t = benchmark_table(Table({"model": ["T"], "scatter_dex": [0.05]}))
    >>> print(format_table(t).splitlines()[0])
    | section | model | N | scatter (dex) | scatter (%) | bias (dex) | cov. 68% | paper (dex) | paper (%) |
    """
    from ..evaluation.metrics import to_markdown
    from ..evaluation.report import _display

    cols = [
        "section",
        "model",
        "n",
        "scatter_dex",
        "scatter_percent",
        "bias_dex",
        "coverage_68",
        "paper_dex",
        "paper_percent",
    ]
    return to_markdown(_display(table[cols]))


# ------------------------------------------------------------------ main entry
def run_benchmark(
    data: str | Path | None = None,
    simulate: int | None = None,
    estimators: Sequence[str] | None = None,
    folds: str | int | None = None,
    npix: int | None = None,
    epochs: int | None = None,
    device: str = "auto",
    out: str | Path = "acm-benchmark",
    preset: str = "quick",
    seed: int = 0,
    progress: bool | None = None,
    n_jobs: int = 2,
    *,
    exposure: float | str | None = None,
    patience: int | None = None,
    estimator_params: dict[str, dict[str, Any]] | None = None,
) -> BenchmarkResult:
    """Run the accuracy benchmark and write its report.

    Parameters
    ----------
    data : path-like, optional
        A data directory (``catalog.ecsv`` with true masses, ``events/``,
        optional ``galaxies.ecsv``). Without it a mock universe is simulated.
    simulate : int, optional
        Number of mock clusters (default: the preset's).
    estimators : sequence of str, optional
        Registered estimators to cross-validate (default: every CNN of the
        preset). The ``power_law`` proxy on N_phot,500c is always included.
    folds : 'octant' or int, optional
        Octants of the simulation box, or K random folds (default: preset).
    npix : int, optional
        Pixels per image side (default: preset; 32 quick, 128 paper).
    epochs : int, optional
        Maximum training epochs (default: preset).
    device : str
        ``'auto'``, ``'cpu'`` or ``'cuda[:n]'``.
    out : path-like
        Output directory; also holds the cached simulation and sample.
    preset : {'quick', 'paper'}
    seed : int
        Seed of the simulation, the folds and the networks.
    progress : bool or None
        Progress bars and stage messages (None: only on a terminal).
    n_jobs : int
        Worker processes for simulating and building.
    exposure : float or str, optional
        Mock exposure in s or a preset name (default: preset).
    patience : int, optional
        Early-stopping patience in epochs (default: preset).
    estimator_params : dict, optional
        Extra hyper-parameters per estimator name, e.g.
        ``{"nll_ensemble": {"n_members": 3}}``.

    Returns
    -------
    BenchmarkResult

    Examples
    --------
    >>> run_benchmark(preset="fast")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    InputError: unknown preset 'fast'; choose 'quick' or 'paper'
    """
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose 'quick' or 'paper'")
    if data is not None and simulate is not None:
        raise InputError("give either data (your directory) or simulate (a number), not both")
    cfg = dict(PRESETS[preset])
    n_clusters = int(simulate if simulate is not None else cfg["n_clusters"])
    if data is None and n_clusters < 8:
        raise InputError(f"simulate at least 8 clusters; got {n_clusters}")
    npix = int(npix if npix is not None else cfg["npix"])
    epochs = int(epochs if epochs is not None else cfg["epochs"])
    patience = int(patience if patience is not None else cfg["patience"])
    exposure = exposure if exposure is not None else cfg["exposure"]
    explicit_folds = folds is not None
    folds = folds if folds is not None else cfg["folds"]
    names = list(estimators) if estimators is not None else list(cfg["estimators"])
    from ..plugins import estimator_registry

    registry = estimator_registry()
    for name in names:
        registry.get(name)  # unknown names fail now, listing the known ones
    per_est = {k: dict(v) for k, v in cfg["estimator_params"].items()}
    for k, v in (estimator_params or {}).items():
        per_est.setdefault(k, {}).update(v)
    common = {"max_epochs": epochs, "patience": patience, "device": device, "seed": int(seed)}
    params = {}
    for name in names:
        p = dict(common)
        if name in _HO_SCHEDULE:
            p["batch_size"] = int(cfg["batch_size"])
        p.update(per_est.get(name, {}))
        params[name] = _accepted_params(name, p)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = _Log(progress, 3 + len(names) + (data is None))
    notes: list[str] = []
    config: dict[str, Any] = {
        "preset": preset,
        "data": str(data) if data is not None else None,
        "n_clusters": n_clusters if data is None else None,
        "exposure": exposure if data is None else None,
        "npix": npix,
        "folds": folds,
        "max_epochs": epochs,
        "patience": patience,
        "device": device,
        "seed": int(seed),
        "estimators": {PROXY_MODEL: {"observable": "n_phot_500c"}, **params},
    }

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AstroClusterMassWarning)
        if data is None:
            with log.stage("simulate", f"simulating {n_clusters} mock clusters"):
                source, sim_info = _simulate(out, n_clusters, seed, exposure, n_jobs, progress, log)
            source_key: Any = sim_info["hash"]
            config["simulation"] = {"hash": sim_info["hash"], "reused": sim_info["reused"]}
        else:
            source = Path(data)
            if not source.is_dir():
                raise FileFormatError(f"data directory {source} does not exist")
            source_key = _data_fingerprint(source)
        bands = _required_bands(names, params)
        cubes = _needs_cubes(names, params)
        with log.stage("build", f"building the sample ({npix}² maps, bands {', '.join(bands)})"):
            sample, build_info = _build(
                out, source, source_key, bands, npix, True, n_jobs, progress, log
            )
        config["sample"] = {"n_clusters": len(sample), **build_info, "bands": bands}
        if cubes and sample.cubes is None:
            raise InputError(
                f"{[n for n in names if 'joint' in n] or names} need dynamical cubes, but the "
                "data has no galaxies.ecsv; drop those estimators"
            )
        cube_bytes = 0 if sample.cubes is None else int(np.prod(sample.cubes.shape[1:])) * 4
        if len(sample) * (npix * npix * 4 * 24 + cube_bytes) < 1.5e9:
            sample = sample.load()  # small enough: keep it in memory for the folds
        cube_size = npix // 2  # the paper's npix = 2n: 2x2-pooled maps land on the cube grid
        if (
            cubes
            and sample.cubes is not None
            and cube_size < sample.cubes.shape[1]
            and sample.cubes.shape[1] % cube_size == 0
        ):
            notes.append(
                f"Dynamical cubes were sum-pooled from {sample.cubes.shape[1]}^3 to "
                f"{cube_size}^3 voxels for the joint CNN at {npix}x{npix} pixels."
            )
            sample = _pool_cubes(sample, int(cube_size))
        folds = _resolve_folds(folds, sample, explicit_folds, notes)
        config["folds"] = folds

        with log.stage("proxies", "scalar proxies: Eq. 7 scatter, combinations, power law CV"):
            proxy_table, correlation, proxy_notes = _proxies(sample)
            notes += proxy_notes
            predictions = {
                PROXY_MODEL: _cross_validate(
                    "power_law", sample, folds, seed, progress, {"observable": "n_phot_500c"}
                )
            }
        for name in names:
            with log.stage(name, f"cross-validating {name} ({folds} folds)"):
                predictions[name] = _cross_validate(
                    name, sample, folds, seed, progress, params[name]
                )
        with log.stage("report", f"writing the report to {out}"):
            for w in caught:
                if issubclass(w.category, AstroClusterMassWarning):
                    text = f"{w.category.__name__}: {str(w.message)[:300]}"
                    if text not in notes:
                        notes.append(text)
            figure_models = [
                m
                for m in (PROXY_MODEL, "single_band_cnn", "multiband_cnn", "joint_cnn")
                if m in predictions
            ]
            notes.insert(
                0,
                _preset_note(
                    preset,
                    n_clusters if data is None else len(sample),
                    npix,
                    epochs,
                    patience,
                    folds,
                ),
            )
            report = _write(
                out, predictions, proxy_table, correlation, config, log, notes, figure_models
            )
    for w in caught:  # pass on warnings that are not ours
        if not issubclass(w.category, AstroClusterMassWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    from ..evaluation.report import benchmark_table

    table = benchmark_table(proxy_table, predictions)
    return BenchmarkResult(
        out=out,
        report=report,
        table=table,
        predictions=predictions,
        timings=dict(log.timings),
        config=config,
    )


def _preset_note(preset: str, n: int, npix: int, epochs: int, patience: int, folds: Any) -> str:
    text = (
        f"Preset {preset!r}: {n} clusters, {npix}x{npix} maps, at most {epochs} epochs "
        f"(early-stopping patience {patience}), {folds} folds."
    )
    if preset == "quick":
        text += (
            " The quick preset trades accuracy for speed (fewer clusters, coarser maps, "
            "short training) so that it finishes in minutes on a CPU; run --preset paper "
            "on a GPU for the paper's setting (3,285 clusters, 128x128, 200 epochs)."
        )
    return text


def _write(
    out: Path,
    predictions: dict,
    proxy_table: Any,
    correlation: Any,
    config: dict,
    log: _Log,
    notes: list[str],
    figure_models: list[str],
) -> Path:
    from ..evaluation.report import write_report

    return write_report(
        out,
        predictions=predictions,
        proxy_table=proxy_table,
        correlation=correlation,
        config=config,
        timings=dict(log.timings),
        notes=notes,
        figure_models=figure_models,
    )
