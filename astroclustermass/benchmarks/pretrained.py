"""Regenerate the shipped pretrained models from scratch: simulate, build, train, card.

Each model in `SPECS` is trained on the built-in mock (`MockUniverse`, the
paper-sized 3,285 clusters by default) at its depth, on every octant of the
simulation box but one; the held-out octant gives the card's scatter, bias
and coverage, so the card's numbers are out of sample and the shipped model
is the one they describe. ``scripts/make_pretrained.py`` is the command-line
entry point; ``--tiny`` runs the whole chain on a few clusters in seconds (the
tests do).

Examples
--------
>>> sorted(SPECS)
['multiband_cnn_2ks', 'multiband_cnn_erass1', 'nll_ensemble_2ks']
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from .._utils import atomic_write
from ..exceptions import InputError
from ..version import __version__
from ._stages import _needs_cubes, _required_bands

__all__ = ["SPECS", "FULL", "TINY", "make_pretrained"]

#: What real data is not, for every card: the mock is a model of the sky.
NOT_VALID_FOR = (
    "Real survey data without a check: the model learnt the built-in mock (its "
    "scaling relations, AGN, background and PSF), and real clusters differ from any "
    "mock; validate on clusters with independent masses first. Other depths, bands, "
    "npix, aperture or cosmology than the card's; clusters outside its mass and "
    "redshift ranges (predict warns); point-source-contaminated maps unless the "
    "sources are masked as in training."
)

#: The shipped models: estimator, its parameters, the mock's depth, one line of description.
SPECS: dict[str, dict[str, Any]] = {
    "multiband_cnn_2ks": {
        "estimator": "multiband_cnn",
        "params": {"max_epochs": 150, "patience": 15, "augment": True, "batch_size": 50},
        "exposure": "paper",
        "depth": "paper (uniform 2 ks)",
        "description": "Ho et al. (2023) multi-band CNN (0.5-1, 1-2, 2-7 keV), 2 ks mock",
    },
    "nll_ensemble_2ks": {
        "estimator": "nll_ensemble",
        "params": {"n_members": 2, "max_epochs": 150, "patience": 15, "lr": 3e-4},
        "exposure": "paper",
        "depth": "paper (uniform 2 ks)",
        "description": "Krippendorf et al. (2024)-style Gaussian-NLL deep ensemble "
        "(10 bands, per-cluster sigma), 2 ks mock",
    },
    "multiband_cnn_erass1": {
        "estimator": "multiband_cnn",
        "params": {"max_epochs": 150, "patience": 15, "augment": True, "batch_size": 50},
        "exposure": "erass1",
        "depth": "eRASS1-like (uniform 200 s)",
        "description": "Ho et al. (2023) multi-band CNN (0.5-1, 1-2, 2-7 keV), "
        "eRASS1-like 200 s mock",
    },
}

#: The shipped configuration: the paper-sized mock at 64^2 pixels.
FULL: dict[str, Any] = {"n_clusters": 3285, "npix": 64, "seed": 0}
#: A configuration that runs the whole chain in seconds (tests, a first try).
TINY: dict[str, Any] = {"n_clusters": 40, "npix": 16, "seed": 0, "max_epochs": 1}

#: The most a shipped model may weigh on disk (bytes).
MAX_BYTES = 2_000_000


def _simulate(work: Path, n_clusters: int, seed: int, exposure: Any, n_jobs: int, progress):
    from ..simulate import MockUniverse

    key = {"n_clusters": n_clusters, "seed": seed, "exposure": exposure, "version": __version__}
    sim = work / f"mock_{exposure}_{n_clusters}_{seed}"
    marker = sim / "pretrained_key.json"
    if not (marker.is_file() and json.loads(marker.read_text()) == key):
        MockUniverse(n_clusters, seed=seed, exposure=exposure).write(
            sim, n_jobs=n_jobs, progress=progress, overwrite=True
        )
        marker.write_text(json.dumps(key))
    return sim


def _build(work: Path, sim: Path, npix: int, bands: list[str], cubes: bool, n_jobs, progress):
    from ..sample import ClusterSample

    key = {"sim": sim.name, "npix": npix, "bands": bands, "cubes": cubes, "version": __version__}
    path = work / f"sample_{sim.name}_{npix}.h5"
    marker = path.with_suffix(".json")
    if path.is_file() and marker.is_file() and json.loads(marker.read_text()) == key:
        return ClusterSample.read(path, lazy=False)
    sample = ClusterSample.build(
        sim,
        bands=tuple(bands),
        npix=npix,
        dynamics=cubes,
        n_jobs=n_jobs,
        progress=progress,
        path=path,
        overwrite=True,
    )
    marker.write_text(json.dumps(key))
    return sample.load()


def _card(name: str, spec: dict, est: Any, config: dict, prediction: Any) -> dict[str, Any]:
    from ..evaluation.calibration import interval_coverage
    from ..evaluation.metrics import has_per_cluster_sigma, summarize

    s = summarize(prediction)
    info = est.training_info_
    sig = info.get("signature", {})
    perf = {
        "n_test": int(s["n"]),
        "scatter_dex": float(s["scatter_dex"]),
        "scatter_percent": float(s["scatter_percent"]),
        "bias_dex": float(s["bias_dex"]),
        "coverage_68": float(interval_coverage(prediction, 0.68)),
        "coverage_95": float(interval_coverage(prediction, 0.95)),
        "per_cluster_sigma": bool(has_per_cluster_sigma(prediction)),
        "evaluated_on": "the held-out octant of the simulation box (never seen in training)",
    }
    histories = [getattr(m, "history_", None) for m in getattr(est, "members_", [est])]
    epochs = [
        {
            "epochs_run": h.epochs_run,
            "best_epoch": h.best_epoch + 1,
            "stopped_early": h.stopped_early,
        }
        for h in histories
        if h is not None
    ]
    ranges = {
        key: [float(v) for v in info[key]]
        for key in ("log10_m500c_range", "redshift_range", "exposure_range")
        if info.get(key) is not None
    }
    return {
        "name": name,
        "estimator": spec["estimator"],
        "description": spec["description"],
        "training": {
            **config,
            "depth": spec["depth"],
            "exposure": spec["exposure"],
            "params": est.get_params(),
            "bands": str(est.get_params().get("bands")),
            "aperture": sig.get("aperture"),
            "cosmology": sig.get("cosmology"),
            "epochs": epochs,
        },
        "ranges": ranges,
        "performance": perf,
        "package_version": __version__,
        "machine": f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
        "not_valid_for": NOT_VALID_FOR,
    }


def _card_markdown(card: dict[str, Any]) -> str:
    t, p, r = card["training"], card["performance"], card["ranges"]
    cosmo = t["cosmology"].get("name") if isinstance(t["cosmology"], dict) else t["cosmology"]
    lines = [
        f"# Model card: {card['name']}",
        "",
        card["description"] + ".",
        "",
        "## Training data",
        f"- built-in mock, {t['n_clusters']} clusters, seed {t['seed']}, depth {t['depth']}",
        f"- trained on {t['n_train']} clusters (every octant but one), {t['npix']}² maps, "
        f"bands {t['bands']}, aperture {t['aperture']} h⁻¹ Mpc, cosmology {cosmo}",
        *[
            f"- network {k + 1}: {e['epochs_run']} epochs, best at {e['best_epoch']}, "
            + ("stopped early" if e["stopped_early"] else "ran all its epochs")
            for k, e in enumerate(t.get("epochs", []))
        ],
        f"- estimator {card['estimator']} with {json.dumps(t['params'], default=str)}",
        "",
        "## Ranges (predict warns outside them)",
        *[f"- {k}: {v[0]:.4g} – {v[1]:.4g}" for k, v in r.items()],
        "",
        f"## Held-out performance ({p['n_test']} clusters, {p['evaluated_on']})",
        f"- scatter {p['scatter_dex']:.4f} dex ({p['scatter_percent']:.1f} %), "
        f"bias {p['bias_dex']:+.4f} dex",
        f"- coverage of the 68 % / 95 % intervals: {p['coverage_68']:.3f} / "
        f"{p['coverage_95']:.3f} (sigma per cluster: {p['per_cluster_sigma']})",
        "",
        "## Not valid for",
        card["not_valid_for"],
        "",
        f"astroclustermass {card['package_version']}; regenerate with "
        "`python scripts/make_pretrained.py`.",
        "",
    ]
    return "\n".join(lines)


def make_pretrained(
    out_dir: str | Path,
    names: list[str] | None = None,
    *,
    n_clusters: int = FULL["n_clusters"],
    npix: int = FULL["npix"],
    seed: int = FULL["seed"],
    max_epochs: int | None = None,
    work_dir: str | Path | None = None,
    n_jobs: int = 2,
    progress: bool | None = None,
) -> list[Path]:
    """Simulate, build, train and write the models of `SPECS` with their cards.

    Parameters
    ----------
    out_dir : path-like
        Where the model directories go (the shipped ones are in
        `~astroclustermass.estimators.pretrained.PRETRAINED_DIR`).
    names : list of str, optional
        Which of `SPECS` (default all).
    n_clusters, npix, seed : int
        The mock and the maps (default `FULL`; `TINY` for a quick try).
    max_epochs : int, optional
        Overrides every spec's epochs (`TINY` uses 1).
    work_dir : path-like, optional
        Where the simulation and the sample are kept and reused
        (default ``out_dir/_work``).
    n_jobs : int
        Processes for the simulation and the build.
    progress : bool, optional
        Progress bars.

    Returns
    -------
    list of pathlib.Path
        The model directories written.

    Raises
    ------
    InputError
        An unknown name, or a model heavier than `MAX_BYTES`.

    Examples
    --------
    >>> import tempfile
    >>> out = make_pretrained(tempfile.mkdtemp(), ["multiband_cnn_2ks"], **TINY,
    ...                       n_jobs=1, progress=False)  # doctest: +SKIP
    """
    from ..estimators import MassEstimator

    unknown = [n for n in names or [] if n not in SPECS]
    if unknown:
        raise InputError(f"unknown pretrained model(s) {unknown}; choose from {sorted(SPECS)}")
    out = Path(out_dir)
    work = Path(work_dir) if work_dir is not None else out / "_work"
    work.mkdir(parents=True, exist_ok=True)
    names = list(names or SPECS)
    params = {}
    for name in names:
        params[name] = dict(SPECS[name]["params"], seed=seed)
        if max_epochs is not None:
            params[name]["max_epochs"] = int(max_epochs)
    written = []
    for name in names:
        spec = SPECS[name]
        est = MassEstimator.from_name(spec["estimator"], **params[name])
        # one sample per depth, with the bands (and cubes) of every model at that depth
        same = [n for n in names if SPECS[n]["exposure"] == spec["exposure"]]
        by_estimator = {SPECS[n]["estimator"]: params[n] for n in same}
        bands = _required_bands(list(by_estimator), by_estimator)
        cubes = _needs_cubes(list(by_estimator), by_estimator)
        sim = _simulate(work, n_clusters, seed, spec["exposure"], n_jobs, progress)
        sample = _build(work, sim, npix, bands, cubes, n_jobs, progress)
        train, test = sample.folds("octant")[0]
        est.fit(sample[train], progress=progress)
        prediction = est.predict(sample[test])
        config = {
            "n_clusters": int(n_clusters),
            "npix": int(npix),
            "seed": int(seed),
            "n_train": int(len(train)),
            "held_out": "octant 0 of the box",
        }
        card = _card(name, spec, est, config, prediction)
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        est.save(target / "model")
        size = sum(p.stat().st_size for p in (target / "model").iterdir())
        if size > MAX_BYTES:
            raise InputError(f"{name} weighs {size} bytes, more than {MAX_BYTES}; make it smaller")
        with atomic_write(target / "card.json") as tmp:
            Path(tmp).write_text(json.dumps(card, indent=2, default=str) + "\n")
        with atomic_write(target / "README.md") as tmp:
            Path(tmp).write_text(_card_markdown(card))
        written.append(target)
    return written
