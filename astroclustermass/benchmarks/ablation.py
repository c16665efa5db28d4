"""Training-recipe ablation: which options make a CNN's out-of-fold scatter smaller.

Each recipe of `RECIPES` is a set of parameters of one estimator
(``multiband_cnn`` by default) changed against the package defaults. Every
recipe is trained with each seed on the same folds of one built sample, and
the table gives the out-of-fold scatter (mean over seeds ± half the spread
between them), the bias, the scatter of the seeds' mean prediction (a free
seed ensemble of that recipe) and the wall time. Folds are octants of the
simulation box (the paper's); ``--max-folds`` keeps only the first few, which
makes the run affordable on a CPU at the price of fewer test clusters (say so
when you quote the numbers).

Run it on a built sample (``astroclustermass build`` or the benchmark's
``sample.h5``)::

    python -m astroclustermass.benchmarks.ablation SAMPLE.h5 --n-clusters 1500 --max-folds 2

Examples
--------
>>> sorted(RECIPES)[:3]
['augment', 'augment+tta', 'baseline']
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy.table import Table

__all__ = ["RECIPES", "run_ablation", "main"]

#: The recipes: parameter changes against the estimator's defaults (the baseline).
RECIPES: dict[str, dict[str, Any]] = {
    "baseline": {},
    "augment": {"augment": True},
    "augment+tta": {"augment": True, "tta": True},
    "no weight decay": {"weight_decay": 0.0},
    "weight decay 1e-3": {"weight_decay": 1e-3},
    "batch 25": {"batch_size": 25},
    "batch 100": {"batch_size": 100},
    "lr 3e-4": {"lr": 3e-4},
    "linear counts": {"log_scale": False},
}


def _subset(sample: Any, n_clusters: int | None, seed: int) -> Any:
    if n_clusters is None or n_clusters >= len(sample):
        return sample
    rng = np.random.default_rng(seed)
    return sample[np.sort(rng.choice(len(sample), n_clusters, replace=False))].load()


def _out_of_fold(estimator: str, sample: Any, folds: list, params: dict, progress: bool):
    """Predictions for the test clusters of `folds` (not necessarily all of them)."""
    from astropy.table import vstack

    from ..estimators import MassEstimator

    parts = []
    for train, test in folds:
        est = MassEstimator.from_name(estimator, **params)
        est.fit(sample[train], progress=progress)
        parts.append(est.predict(sample[test]))
    return vstack(parts, metadata_conflicts="silent")


def run_ablation(
    sample: Any,
    recipes: Sequence[str] | None = None,
    *,
    estimator: str = "multiband_cnn",
    seeds: Sequence[int] = (0, 1),
    max_epochs: int = 40,
    max_folds: int | None = None,
    base_params: dict[str, Any] | None = None,
    progress: bool = False,
) -> Table:
    """Train every recipe with every seed on the same octant folds; one row per recipe.

    Parameters
    ----------
    sample : ClusterSample
        A built sample with true masses and box positions (octant folds).
    recipes : sequence of str, optional
        Keys of `RECIPES` (default all).
    estimator : str
        A registered CNN estimator.
    seeds : sequence of int
        Training seeds (network initialisation, shuffling, validation split).
    max_epochs : int
        Epoch limit of every recipe (early stopping as the estimator's default).
    max_folds : int, optional
        Use only the first octants (cheaper; fewer test clusters).
    base_params : dict, optional
        Parameters every recipe shares (e.g. ``{"patience": 10}``).
    progress : bool
        Progress bars while training.

    Returns
    -------
    astropy.table.Table
        ``recipe``, ``params``, ``n_test``, ``scatter_dex`` (mean over seeds),
        ``seed_spread_dex`` (half the max-min range), ``bias_dex``,
        ``ensemble_scatter_dex`` (the seeds' mean prediction), ``wall_s`` (all
        seeds and folds).

    Examples
    --------
    >>> from astroclustermass.testing import make_tiny_sample
    >>> sample = make_tiny_sample(80, bands=["erosita_3"], npix=16)
    >>> t = run_ablation(sample, ["baseline"], seeds=[0], max_epochs=1, max_folds=1,
    ...                  base_params={"device": "cpu"})  # doctest: +ELLIPSIS
    baseline ... dex, ... s
    >>> str(t["recipe"][0]), bool(t["n_test"][0] > 0)
    ('baseline', True)
    """
    from ..evaluation.metrics import residuals, scatter, summarize

    names = list(recipes or RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        from ..exceptions import UnknownNameError

        raise UnknownNameError(f"unknown recipe(s) {unknown}; choose from {sorted(RECIPES)}")
    folds = sample.folds("octant")
    if max_folds is not None:
        folds = folds[: int(max_folds)]
    rows = []
    for name in names:
        params = {**(base_params or {}), "max_epochs": int(max_epochs), **RECIPES[name]}
        start = time.perf_counter()
        preds = []
        for seed in seeds:
            preds.append(
                _out_of_fold(estimator, sample, folds, dict(params, seed=int(seed)), progress)
            )
        wall = time.perf_counter() - start
        stats = [summarize(p) for p in preds]
        sc = np.array([s["scatter_dex"] for s in stats])
        mean_pred = preds[0].copy()
        mean_pred["log10_m500c"] = np.mean([np.asarray(p["log10_m500c"]) for p in preds], axis=0)
        rows.append(
            (
                name,
                ", ".join(f"{k}={v}" for k, v in RECIPES[name].items()) or "defaults",
                int(stats[0]["n"]),
                float(sc.mean()),
                float((sc.max() - sc.min()) / 2),
                float(np.mean([s["bias_dex"] for s in stats])),
                float(scatter(residuals(mean_pred))),
                float(wall),
            )
        )
        print(
            f"{name:<20} scatter {sc.mean():.4f} ± {(sc.max() - sc.min()) / 2:.4f} dex, "
            f"seed-mean {rows[-1][6]:.4f} dex, {wall:.0f} s",
            flush=True,
        )
    return Table(
        rows=rows,
        names=(
            "recipe",
            "params",
            "n_test",
            "scatter_dex",
            "seed_spread_dex",
            "bias_dex",
            "ensemble_scatter_dex",
            "wall_s",
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m astroclustermass.benchmarks.ablation SAMPLE.h5 ...``.

    Examples
    --------
    >>> main(["--help"])  # doctest: +ELLIPSIS
    usage: python -m astroclustermass.benchmarks.ablation ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m astroclustermass.benchmarks.ablation", description=__doc__.splitlines()[0]
    )
    parser.add_argument("sample", help="a built sample (HDF5) with box positions")
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), help="which (all)")
    parser.add_argument("--estimator", default="multiband_cnn")
    parser.add_argument("--n-clusters", type=int, help="a random subset of this many clusters")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--max-folds", type=int, help="only the first octants")
    parser.add_argument("--patience", type=int, help="early-stopping patience of every recipe")
    parser.add_argument("--out", help="write the table here (ECSV)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    from ..sample import ClusterSample

    sample = _subset(ClusterSample.read(args.sample), args.n_clusters, 0).load()
    base = {"patience": args.patience} if args.patience else {}
    table = run_ablation(
        sample,
        args.recipes,
        estimator=args.estimator,
        seeds=args.seeds,
        max_epochs=args.max_epochs,
        max_folds=args.max_folds,
        base_params=base,
    )
    for col in ("scatter_dex", "seed_spread_dex", "bias_dex", "ensemble_scatter_dex"):
        table[col].format = ".4f"
    table["wall_s"].format = ".0f"
    table.pprint_all()
    if args.out:
        from .._utils import atomic_write

        with atomic_write(args.out) as tmp:
            table.write(tmp, format="ascii.ecsv", overwrite=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
