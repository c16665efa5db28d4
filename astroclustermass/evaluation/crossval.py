"""Cross-validation: out-of-fold predictions for every cluster (Ho et al. 2023, Sec. 4.1).

Each fold trains a fresh clone of the estimator on the other folds and
predicts its own clusters, so every cluster is predicted exactly once by a
model that never saw it. Estimators that stop early split their own
validation set off the fold's *training* clusters, with their own
``validation_fraction`` and seed — never from the test fold (the reference
code validated its joint model on the test fold; see REFERENCE.md §7).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from astropy.table import vstack

from .._utils import progress_bar
from .._utils._processes import resolve_n_jobs
from ..estimators import MassEstimator, MassPrediction, clone
from ..exceptions import InputError
from ..sample.folds import parse_fold_spec
from ._fold_runner import run_folds

__all__ = ["cross_validate", "resolve_folds"]


def resolve_folds(
    sample: Any, folds: Any = "octant", seed: Any = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Turn a fold specification into checked ``(train_idx, test_idx)`` pairs.

    Parameters
    ----------
    sample : `~astroclustermass.ClusterSample`
    folds : 'octant', 'sky', 'sky:N', 'kfold', int, or list of (train, test)
        As `~astroclustermass.sample.folds.parse_fold_spec` reads it:
        ``'octant'``: one fold per octant of the simulation box
        (``sample.folds('octant')``); ``'sky'`` (``'sky:N'``): 8 (N)
        contiguous sky patches, for survey catalogues without box positions
        (``sample.folds('sky')``); an int ``k`` (or ``'kfold'``, k = 10):
        seeded random k-fold; a list: explicit index pairs.
    seed : int, optional
        Seed of random k-fold assignment.

    Returns
    -------
    folds : list of (ndarray, ndarray)
        Test sets are disjoint and cover every cluster; no fold trains on its
        own test clusters.

    Raises
    ------
    InputError
        Overlapping or incomplete test sets, train/test overlap, empty folds
        or out-of-range indices.

    Examples
    --------
    >>> class S:
    ...     def __len__(self):
    ...         return 4
    >>> [t.tolist() for _, t in resolve_folds(S(), [([2, 3], [0, 1]), ([0, 1], [2, 3])])]
    [[0, 1], [2, 3]]
    """
    n = len(sample)
    spec = parse_fold_spec(folds)
    if spec == "octant":
        pairs = sample.folds(kind="octant")
    elif isinstance(spec, str):  # 'sky:N'
        pairs = sample.folds(kind=spec)
    elif isinstance(spec, int):
        if spec > n:
            raise InputError(f"cannot make {spec} folds from {n} clusters")
        pairs = sample.folds(kind="kfold", k=spec, seed=seed)
    else:
        pairs = spec
    out = []
    seen = np.zeros(n, dtype=np.int64)
    for i, pair in enumerate(pairs):
        try:
            train, test = pair
        except (TypeError, ValueError) as err:
            raise InputError(f"fold {i} must be a (train_idx, test_idx) pair") from err
        train = np.asarray(train, dtype=np.int64).ravel()
        test = np.asarray(test, dtype=np.int64).ravel()
        for what, idx in (("train", train), ("test", test)):
            if idx.size == 0:
                raise InputError(f"fold {i} has an empty {what} set")
            if idx.min() < 0 or idx.max() >= n:
                raise InputError(f"fold {i} {what} indices must lie in 0..{n - 1}")
        if np.intersect1d(train, test).size:
            raise InputError(f"fold {i} trains on some of its own test clusters")
        seen[test] += 1
        out.append((train, test))
    if np.any(seen != 1):
        missing, twice = int(np.sum(seen == 0)), int(np.sum(seen > 1))
        raise InputError(
            f"the test sets must cover every cluster exactly once; {missing} cluster(s) are in no "
            f"test set and {twice} in more than one"
        )
    return out


def _describe_folds(folds: Any) -> str:
    spec = parse_fold_spec(folds)
    if isinstance(spec, int):
        return f"kfold({spec})"
    return spec if isinstance(spec, str) else "custom"


def cross_validate(
    estimator_or_name: MassEstimator | str,
    sample: Any,
    folds: Any = "octant",
    n_jobs: int = 1,
    seed: int | None = 0,
    progress: bool | None = None,
    return_estimators: bool = False,
    *,
    client: Any = None,
    **params: Any,
) -> MassPrediction:
    """Out-of-fold mass predictions for every cluster of ``sample``.

    Parameters
    ----------
    estimator_or_name : `~astroclustermass.estimators.MassEstimator` or str
        An estimator (cloned per fold, so it is left unfitted) or a
        registered name.
    sample : `~astroclustermass.ClusterSample`
        Clusters with true masses.
    folds : 'octant', 'kfold', int, or list of (train_idx, test_idx)
        See `resolve_folds`. Default: the 8 octants of the simulation box, as
        in the paper.
    n_jobs : int
        Folds run in this many local processes at once (-1: one per core);
        each worker receives its fold's sub-samples. Estimators with
        ``parallel_folds = False`` (the CNNs and ensembles, which train with
        torch) run in *spawned* workers (never forked: torch's thread pools
        do not survive a fork), and every fold of theirs trains on one torch
        thread (unless the estimator sets ``num_threads``) whatever the
        engine, so that the predictions do not depend on ``n_jobs`` and
        ``n_jobs`` folds train at once on ``n_jobs`` cores — on 2 CPU cores
        faster than one fold at a time on both (docs/scale.rst). Scripts
        that pass ``n_jobs > 1`` with a CNN must call this under
        ``if __name__ == "__main__":`` (spawned workers import the main
        module). On a single GPU keep ``n_jobs=1``.
    seed : int or None
        Seeds the k-fold assignment. Estimators that stop early split their
        validation set off each fold's training clusters themselves, with
        their own ``validation_fraction`` and ``seed``.
    progress : bool or None
        Progress bar over folds (None: only on a terminal).
    return_estimators : bool
        Keep the fitted estimator of each fold as the attribute
        ``fold_estimators`` of the returned table (not written to files or
        kept by copies).
    client : dask.distributed.Client, optional
        Run each fold as a task on this Dask cluster (one fold per worker
        thread; ``pip install 'astroclustermass[distributed]'``); ``n_jobs``
        is then ignored. The sample is read into memory and scattered to
        the workers once.
    **params
        Hyper-parameters when ``estimator_or_name`` is a name.

    Returns
    -------
    prediction : `~astroclustermass.estimators.MassPrediction`
        One row per cluster in the sample's order, with a ``fold`` column;
        ``meta['folds']`` lists per fold the number of training clusters
        (``n_train``, the validation set included), of those the estimator held
        out for validation (``n_validation``), of test clusters, and the
        fit/predict times in seconds.

    Examples
    --------
    >>> import numpy as np
    >>> from astroclustermass.sample import ClusterSample
    >>> rng = np.random.default_rng(0)
    >>> logm = rng.uniform(13.5, 15.0, 200)
    >>> s = ClusterSample.from_arrays(
    ...     {"redshift": np.full(200, 0.1), "log10_m500c": logm},
    ...     images={"bolometric": np.zeros((200, 1, 2, 2), np.int32)},
    ...     observables={"n_phot_500c": 10 ** (logm - 11 + rng.normal(0, 0.03, 200))})
    >>> pred = cross_validate("power_law", s, folds=4, beta=0.0)
    >>> len(pred), sorted(set(pred["fold"].tolist()))
    (200, [0, 1, 2, 3])
    >>> round(float(np.std(pred.residuals())), 2)
    0.03
    """
    if isinstance(estimator_or_name, str):
        template = MassEstimator.from_name(estimator_or_name, **params)
    elif isinstance(estimator_or_name, MassEstimator):
        if params:
            raise InputError("pass hyper-parameters only with an estimator name, not an instance")
        template = estimator_or_name
    else:
        raise InputError(
            f"expected a MassEstimator or a registered name; got {type(estimator_or_name).__name__}"
        )
    n_jobs = resolve_n_jobs(n_jobs)
    pairs = [(np.sort(train), np.sort(test)) for train, test in resolve_folds(sample, folds, seed)]

    # the sub-samples of a fold are made just before it runs, so that memory
    # holds one fold's copies at a time, not every fold's
    def task(k: int) -> tuple:
        train, test = pairs[k]
        return clone(template), sample[train], sample[test]

    def bar(it: Any) -> Any:
        return progress_bar(it, progress=progress, desc="cross-validation")

    results = run_folds(
        template,
        sample,
        pairs,
        task,
        n_jobs=n_jobs,
        client=client,
        keep=return_estimators,
        bar=bar,
    )

    parts = []
    fold_info = []
    for i, ((prediction, _, t_fit, t_pred, n_val), (train, test)) in enumerate(zip(results, pairs)):
        prediction = prediction.copy()
        prediction["fold"] = np.full(len(prediction), i, dtype=np.int64)
        prediction["_row"] = test
        fold_info.append(
            {
                "fold": i,
                "n_train": int(train.size),
                "n_validation": n_val,
                "n_test": int(test.size),
                "fit_seconds": round(t_fit, 4),
                "predict_seconds": round(t_pred, 4),
            }
        )
        parts.append(prediction)
    table = vstack(parts, metadata_conflicts="silent")
    order = np.argsort(np.asarray(table["_row"]), kind="stable")
    table = table[order]
    table.remove_column("_row")
    out = MassPrediction(table, copy=False)
    kept = {
        k: parts[0].meta[k] for k in ("provides_sigma", "interval_method") if k in parts[0].meta
    }
    out.meta.clear()
    out.meta.update(kept)  # whether σ is per cluster, how interval columns were made
    out.meta.update(
        estimator=template.name or type(template).__name__,
        params={k: repr(v) for k, v in template.get_params().items()},
        cv=_describe_folds(folds),
        seed=seed,
        folds=fold_info,
    )
    if return_estimators:
        out.fold_estimators = [r[1] for r in results]
    return out
