"""Stages and helpers of the benchmark pipeline (private).

Caching of the simulation and the sample, stage timing, the
scalar-proxy baseline and fold resolution for `~.pipeline.run_benchmark`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from astropy.table import Table

from .._utils import atomic_write, defaults
from ..exceptions import FileFormatError, InputError
from ..version import __version__

__all__: list[str] = []

#: Scalar observables of Ho et al. (2023) Table 2, in the paper's order.
IDEAL_OBSERVABLES = ("T", "L_X", "M_gas", "M_star", "sigma_v_true")
REALISTIC_OBSERVABLES = ("n_gal", "sigma_v", "n_phot", "n_phot_500c")


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


def _data_fingerprint(directory: Path, catalog: str = "catalog.ecsv") -> dict[str, Any]:
    """Content hash of the catalogues and size/mtime of every event file (and tile)."""
    cat = directory / catalog
    if not cat.exists():
        raise FileFormatError(
            f"{directory} has no {catalog}; a data directory needs catalog.ecsv, events/ "
            "and optionally galaxies.ecsv, or survey tiles (see docs/internals.rst, "
            "docs/survey.rst)"
        )
    out: dict[str, Any] = {"path": str(directory.resolve())}
    for name in (catalog, "galaxies.ecsv"):
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


def _estimator_params(name: str, common: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """``common`` settings the estimator takes, plus every one of its ``own`` parameters.

    The run-wide settings (epochs, device, seed, ...) go only to estimators
    that have them; a parameter given for this estimator that it does not
    have raises `InputError` with the closest names, never vanishes.
    """
    import difflib

    from ..plugins import estimator_registry

    cls = estimator_registry().get(name)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(own) - accepted)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(accepted), n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise InputError(
            f"estimator_params for {name!r} name unknown parameter(s) {', '.join(hints)}; "
            f"{cls.__name__} takes: {', '.join(sorted(accepted))}"
        )
    out = {k: v for k, v in common.items() if k in accepted}
    out.update(own)
    return out


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
    cube_size: int | None = None,
    client: Any = None,
    build_options: dict | None = None,
):
    from ..sample import ClusterSample

    key = {
        "source": source_key,
        "bands": list(bands),
        "npix": int(npix),
        "aperture": defaults.APERTURE,
        "dynamics": bool(dynamics),
        "cube_size": cube_size,
        "version": __version__,
    }
    path = out / "sample.h5"
    marker = out / "sample.json"
    stored = _read_json(marker)
    old = stored.get("config") if stored and path.exists() else None
    if old is not None and _same_except_contents(old, key):
        if set(bands) <= set(old.get("bands", ())) and (old.get("dynamics") or not dynamics):
            # a sample with more band sets (or cubes) than this run needs serves it too
            log.say(f"      reusing the sample {path} (same data, grid and bands)")
            return ClusterSample.read(path), {"hash": stored["hash"], "reused": True}
        # build the union, so that runs with different estimator lists share one sample
        key["bands"] = list(old["bands"]) + [b for b in bands if b not in old["bands"]]
        key["dynamics"] = bool(dynamics or old.get("dynamics"))
    digest = _hash(key)
    marker.unlink(missing_ok=True)
    sample = ClusterSample.build(
        source,
        bands=tuple(key["bands"]),
        npix=npix,
        aperture=defaults.APERTURE,
        dynamics=key["dynamics"],
        n_jobs=n_jobs,
        progress=progress,
        path=path,
        overwrite=True,
        cube_size=cube_size,
        client=client,
        **(build_options or {}),
    )
    _write_json(marker, {"hash": digest, "config": key})
    return sample, {"hash": digest, "reused": False}


def _same_except_contents(old: dict, new: dict) -> bool:
    """Whether two sample configurations differ at most in band sets and cubes."""
    keys = set(old) | set(new)
    return all(old.get(k) == new.get(k) for k in keys - {"bands", "dynamics"})


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
    name: str,
    sample: Any,
    folds: Any,
    seed: int,
    progress: bool | None,
    params: dict[str, Any],
    n_jobs: int = 1,
):
    from ..estimators import MassEstimator
    from ..evaluation.crossval import cross_validate

    estimator = MassEstimator.from_name(name, **params)  # params may hold the network seed
    return cross_validate(
        estimator, sample, folds=folds, seed=seed, progress=progress, n_jobs=n_jobs
    )


def _fold_jobs(n_jobs: int, device: str) -> int:
    """Fold workers of the CNN stages: every requested core on CPU, one process on a GPU.

    Examples
    --------
    >>> _fold_jobs(4, "cpu"), _fold_jobs(4, "cuda:0")
    (4, 1)
    """
    if str(device) != "auto":
        return int(n_jobs) if str(device).startswith("cpu") else 1
    from .._utils import resolve_device

    return 1 if resolve_device(device).type != "cpu" else int(n_jobs)


def _resolve_folds(folds: Any, sample: Any, explicit: bool, notes: list[str]) -> Any:
    from ..sample.folds import parse_fold_spec

    folds = parse_fold_spec(folds)
    if folds == "octant":
        cat = sample.catalog
        if not all(c in cat.colnames for c in ("x", "y", "z")):
            if explicit:
                raise InputError(
                    "octant folds need the box positions x, y, z in the catalogue; pass "
                    "--folds sky for contiguous sky patches or folds=K (e.g. --folds 8) for "
                    "random folds"
                )
            if all(c in cat.colnames for c in ("ra", "dec")):
                notes.append(
                    "8 sky-region folds (contiguous RA/Dec patches), not the paper's octants: "
                    "the catalogue has no box positions x, y, z; pass --folds to choose"
                )
                return "sky:8"
            notes.append(
                "8 random folds, not the paper's octants: the catalogue has no box positions "
                "x, y, z, so clusters close on the sky can fall in training and test folds; "
                "pass --folds to choose"
            )
            return 8
        return "octant"
    return folds
