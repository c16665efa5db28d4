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

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from .._utils._processes import resolve_n_jobs
from ..evaluation._fold_runner import fold_workers
from ..exceptions import (
    AstroClusterMassWarning,
    ConvergenceWarning,
    FileFormatError,
    InputError,
)
from ._stages import (
    _build,
    _cross_validate,
    _data_fingerprint,
    _estimator_params,
    _fold_jobs,
    _Log,
    _needs_cubes,
    _proxies,
    _required_bands,
    _resolve_folds,
    _simulate,
)

__all__ = ["run_benchmark", "BenchmarkResult", "PRESETS", "format_table"]

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
        "epochs": 20,
        "patience": 5,
        "batch_size": 32,
        # small networks train fastest on one CPU thread (no oversubscription)
        "num_threads": 1,
        "estimators": (*CNN_ESTIMATORS, "conformal"),
        "estimator_params": {
            "joint_cnn": {"max_epochs": 10, "network_params": {"cube_kernels": (3, 3, 1)}},
            "nll_ensemble": {"n_members": 2, "lr": 1e-3},
            # one calibrated CNN: split conformal costs one more multiband fit per fold
            "conformal": {"base": "multiband_cnn", "method": "split"},
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
        "num_threads": None,
        "estimators": (*CNN_ESTIMATORS, "conformal"),
        "estimator_params": {"conformal": {"base": "multiband_cnn", "method": "cv+"}},
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
    alerts : list of str
        What the reader must know before reading the table (folds that fell
        back from octants, training that ran out of epochs); at the top of
        the report and printed by the command line.
    """

    out: Path
    report: Path
    table: Table
    predictions: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)


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
    return to_markdown(_display(table[[c for c in cols if c in table.colnames]]))


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
    n_jobs: int | None = -1,
    *,
    exposure: float | str | None = None,
    patience: int | None = None,
    estimator_params: dict[str, dict[str, Any]] | None = None,
    build_options: dict[str, Any] | None = None,
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
    n_jobs : int or None
        Worker processes for simulating, building and the CNN folds (-1 or
        None: every core; each CNN fold trains on one core in a spawned
        worker, see `~astroclustermass.evaluation.cross_validate`; on a GPU
        the folds run one after another).
    exposure : float or str, optional
        Mock exposure in s or a preset name (default: preset).
    build_options : dict, optional
        For ``data``: ``catalog``, ``column_map``, ``survey`` and
        ``source_catalog`` of `ClusterSample.build` — e.g. a survey directory
        of tiles (auto-detected when the catalogue has no ``file`` column).
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
    n_jobs = resolve_n_jobs(n_jobs)
    n_clusters = int(simulate if simulate is not None else cfg["n_clusters"])
    if data is None and n_clusters < 8:
        raise InputError(f"simulate at least 8 clusters; got {n_clusters}")
    npix = int(npix if npix is not None else cfg["npix"])
    explicit_epochs = epochs is not None
    epochs = int(epochs if epochs is not None else cfg["epochs"])
    patience = int(patience if patience is not None else cfg["patience"])
    exposure = exposure if exposure is not None else cfg["exposure"]
    explicit_folds = folds is not None
    folds = folds if folds is not None else cfg["folds"]
    names = list(estimators) if estimators is not None else list(cfg["estimators"])
    from ..plugins import estimator_registry

    registry = estimator_registry()
    for name in [*names, *(estimator_params or {})]:
        registry.get(name)  # unknown names fail now, listing the known ones
    per_est = {k: dict(v) for k, v in cfg["estimator_params"].items()}
    for k, v in (estimator_params or {}).items():
        per_est.setdefault(k, {}).update(v)
    common = {
        "max_epochs": epochs,
        "patience": patience,
        "device": device,
        "seed": int(seed),
        "num_threads": cfg["num_threads"],
    }

    def params_for(name: str) -> dict[str, Any]:
        run_wide = dict(common)
        if name in _HO_SCHEDULE:
            run_wide["batch_size"] = int(cfg["batch_size"])
        own = dict(per_est.get(name, {}))
        if explicit_epochs and name not in (estimator_params or {}):
            own.pop("max_epochs", None)  # an explicit epochs= applies to every network
        accepted = _estimator_params(name, run_wide, own)
        if isinstance(accepted.get("base"), str):  # a wrapper: the base gets the run's settings
            accepted["base_params"] = {
                **params_for(accepted["base"]),
                **(own.get("base_params") or {}),
            }
        return accepted

    params = {name: params_for(name) for name in names}

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = _Log(progress, 3 + len(names) + (data is None))
    notes: list[str] = []
    alerts: list[str] = []
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
            opts = dict(build_options or {})
            source_key = _data_fingerprint(source, opts.get("catalog", "catalog.ecsv"))
            source_key["build_options"] = {k: repr(v) for k, v in sorted(opts.items())}
            _check_truth(source / opts.get("catalog", "catalog.ecsv"), opts.get("column_map"))
        bands = _required_bands(names, params)
        cubes = _needs_cubes(names, params)
        # the paper's npix = 2n (2x2-pooled maps land on the cube grid); at least 16 voxels;
        # the build pools its 64^3 KDE to that size, so the file holds what the CNN uses
        cube_size = _cube_size(npix)
        with log.stage("build", f"building the sample ({npix}² maps, bands {', '.join(bands)})"):
            sample, build_info = _build(
                out, source, source_key, bands, npix, True, n_jobs, progress, log,
                cube_size, build_options=build_options if data is not None else None,
            )  # fmt: skip
        config["sample"] = {"n_clusters": len(sample), **build_info, "bands": bands}
        if cubes and sample.cubes is None:
            raise InputError(
                f"{[n for n in names if 'joint' in n] or names} need dynamical cubes, but the "
                "data has no galaxies.ecsv; drop those estimators"
            )
        pooled_from = sample.meta.get("build", {}).get("cube_pooled_from")
        if cubes and pooled_from:
            notes.append(
                f"Dynamical cubes were sum-pooled from {pooled_from}^3 to "
                f"{sample.cubes.shape[1]}^3 voxels for the joint CNN at {npix}x{npix} pixels."
            )
        cube_bytes = 0 if sample.cubes is None else int(np.prod(sample.cubes.shape[1:])) * 4
        if len(sample) * (npix * npix * 4 * 24 + cube_bytes) < 1.5e9:
            sample = sample.load()  # small enough: keep it in memory for the folds
        folds = _resolve_folds(folds, sample, explicit_folds, alerts)
        config["folds"] = folds

        with log.stage("proxies", "scalar proxies: Eq. 7 scatter, combinations, power law CV"):
            proxy_table, correlation, proxy_notes = _proxies(sample)
            notes += proxy_notes
            predictions = {
                PROXY_MODEL: _cross_validate(
                    "power_law", sample, folds, seed, progress, {"observable": "n_phot_500c"}
                )
            }
        first = seen = len(caught)
        by_model: list[tuple[str | None, warnings.WarningMessage]] = []
        fold_jobs = _fold_jobs(n_jobs, device)
        with fold_workers(fold_jobs if names else 1):  # spawned once for every CNN stage
            for name in names:
                label = _label(name, params[name])
                with log.stage(name, f"cross-validating {label} ({folds} folds)"):
                    predictions[label] = _cross_validate(
                        name, sample, folds, seed, progress, params[name], fold_jobs
                    )
                by_model += [(label, w) for w in caught[seen:]]
                seen = len(caught)
        with log.stage("report", f"writing the report to {out}"):
            alerts += _merge_warnings(by_model, only=ConvergenceWarning)
            notes += _merge_warnings(
                [(None, w) for w in caught[:first]] + by_model, exclude=ConvergenceWarning
            )
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
                out,
                predictions,
                proxy_table,
                correlation,
                config,
                log,
                notes,
                alerts=alerts,
                paper=data is None,
                proxy_r500c=_r500c_source(sample, data is None),
            )
    for w in caught:  # pass on warnings that are not ours
        if not issubclass(w.category, AstroClusterMassWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    from ..evaluation.report import benchmark_table

    table = benchmark_table(proxy_table, predictions, paper=data is None)
    return BenchmarkResult(
        out=out,
        report=report,
        table=table,
        predictions=predictions,
        timings=dict(log.timings),
        config=config,
        alerts=alerts,
    )


def _label(name: str, params: dict[str, Any]) -> str:
    """The report's name of an estimator: ``conformal(multiband_cnn)`` for a wrapper.

    Examples
    --------
    >>> _label("conformal", {"base": "multiband_cnn"}), _label("gap_cnn", {})
    ('conformal(multiband_cnn)', 'gap_cnn')
    """
    base = params.get("base")
    return f"{name}({base})" if isinstance(base, str) else name


def _cube_size(npix: int, n_kde: int = 64) -> int | None:
    """Cube voxels per side for ``npix`` maps: ``npix / 2`` (at least 16) if it divides 64.

    Examples
    --------
    >>> _cube_size(128), _cube_size(32), _cube_size(24)
    (64, 16, None)
    """
    size = npix // 2 if npix // 2 >= 16 else npix
    return size if size <= n_kde and n_kde % size == 0 else None


def _check_truth(path: Path, column_map: dict | None = None) -> None:
    """Fail before the (long) build when the catalogue has no true masses."""
    try:
        names = Table.read(path).colnames
        names += [k for k, v in (column_map or {}).items() if v in names]
    except Exception as err:  # astropy raises many types for unreadable tables
        raise FileFormatError(f"cannot read the catalogue {path}: {err}") from err
    if "log10_m500c" not in names and "m500c" not in names:
        raise InputError(
            f"the benchmark needs true masses, but {path} has neither 'log10_m500c' nor 'm500c' "
            f"(columns: {', '.join(names)}); use `astroclustermass predict` for clusters of "
            "unknown mass"
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
    **report: Any,
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
        **report,
    )


def _r500c_source(sample: Any, mock: bool) -> str:
    """Which R500c the Eq. 7 rows' R500c-scaled observables used, in words."""
    source = sample.meta.get("build", {}).get("r500c_source")
    if source:
        return str(source)
    if mock:
        return "the true R500c of the mock's catalogue"
    return "the catalogue's r500c column"


def _merge_warnings(
    caught: Sequence[tuple[str | None, warnings.WarningMessage]],
    *,
    only: type[Warning] | None = None,
    exclude: type[Warning] | None = None,
) -> list[str]:
    """The package's warnings, one line per distinct message, naming who said it how often.

    ``caught`` pairs each warning with the model whose stage issued it (or
    None).

    Examples
    --------
    >>> from astroclustermass.exceptions import ConvergenceWarning
    >>> w = warnings.WarningMessage(ConvergenceWarning("ran out"), ConvergenceWarning, "f", 1)
    >>> _merge_warnings([("cnn", w), ("cnn", w), ("gap", w)])
    ['ConvergenceWarning: ran out (cnn: 2 times, gap: once)']
    """
    merged: dict[str, dict[str | None, int]] = {}
    for label, w in caught:
        if not issubclass(w.category, AstroClusterMassWarning):
            continue
        if (only and not issubclass(w.category, only)) or (
            exclude and issubclass(w.category, exclude)
        ):
            continue
        text = f"{w.category.__name__}: {' '.join(str(w.message).split())[:300]}"
        who = merged.setdefault(text, {})
        who[label] = who.get(label, 0) + 1
    lines = []
    for text, who in merged.items():
        said = [
            (f"{label}: " if label else "") + ("once" if n == 1 else f"{n} times")
            for label, n in who.items()
        ]
        lines.append(text if said == ["once"] else f"{text} ({', '.join(said)})")
    return lines
