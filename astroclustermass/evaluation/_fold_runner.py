"""Where the folds of `~astroclustermass.evaluation.cross_validate` run (private).

Three engines, one result per fold in the fold's order whatever the engine:

* here, one fold after another (``n_jobs=1``);
* ``n_jobs`` local worker processes: forked for estimators that do not use
  torch, *spawned* (a fresh interpreter, never a fork after torch is
  imported) with one torch thread each for the ones that do
  (``parallel_folds = False``), so that ``n_jobs`` folds train at once on
  ``n_jobs`` cores instead of one fold on all of them;
* the workers of a ``dask.distributed.Client`` (one fold per task; the
  sample is scattered to the workers once).

Warnings a fold issues in a worker are recorded there and issued again here,
so callers that collect them (the benchmark's report) see the same warnings
whatever the engine.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

import numpy as np

from .._utils._processes import map_unordered, process_context, spawn_context

__all__: list[str] = []

FoldResult = tuple  # (prediction, estimator or None, fit s, predict s, n_validation)


def run_fold(estimator: Any, train: Any, test: Any) -> FoldResult:
    """Fit ``estimator`` on ``train``, predict ``test``; with the times and validation size."""
    t0 = time.perf_counter()
    estimator.fit(train, progress=False)
    t1 = time.perf_counter()
    prediction = estimator.predict(test, progress=False)
    n_val = int(estimator.training_info_.get("n_validation", 0))
    return prediction, estimator, t1 - t0, time.perf_counter() - t1, n_val


def _recorded(estimator: Any, train: Any, test: Any, keep: bool) -> tuple[FoldResult, list]:
    """`run_fold` in a worker: the result (estimator dropped unless ``keep``) and its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_fold(estimator, train, test)
    if not keep:
        result = (result[0], None, *result[2:])
    return result, [(w.category, str(w.message)) for w in caught]


def _dask_fold(template: Any, sample: Any, pairs: Sequence, keep: bool, k: int) -> tuple:
    """One fold as a Dask task: the worker cuts its sub-samples from the scattered sample."""
    from ..estimators import clone

    train, test = pairs[k]
    with _one_torch_thread(not getattr(template, "parallel_folds", True)):
        return _recorded(clone(template), sample[train], sample[test], keep)


def _torch_worker_init() -> None:
    """Each spawned fold worker trains on one core: one torch thread, no inter-op pool."""
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set (torch was used before in this process)
        pass


@contextmanager
def _one_torch_thread(active: bool) -> Iterator[None]:
    """One torch thread while folds run here (an estimator's ``num_threads`` still wins).

    Reductions split over threads add in another order, so a fold trained on
    two threads differs from one trained on one by ~1e-8 dex; fixing one
    thread per fold makes the results independent of ``n_jobs``.
    """
    if not active:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _reissue(caught: list) -> None:
    for category, message in caught:
        warnings.warn(message, category, stacklevel=4)


def _in_memory(obj: Any) -> Any:
    """Read lazily loaded (HDF5-backed) samples into memory before sending them to a worker."""
    if getattr(obj, "is_lazy", False):
        return obj.load()
    return obj


def run_folds(
    template: Any,
    sample: Any,
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    task: Callable[[int], tuple],
    *,
    n_jobs: int,
    client: Any,
    keep: bool,
    bar: Callable[[Iterator], Iterator],
) -> list[FoldResult]:
    """Every fold's result, in fold order; ``task(k)`` makes fold ``k``'s (clone, train, test)."""
    results: list[Any] = [None] * len(pairs)
    if client is not None:
        it = map_unordered(
            _dask_fold,
            range(len(pairs)),
            args=(template, _in_memory(sample), list(pairs), keep),
            client=client,
        )
        for _, (k, (result, caught)) in zip(bar(range(len(pairs))), it):
            _reissue(caught)
            results[k] = result
        return results
    torch_folds = not getattr(template, "parallel_folds", True)
    if n_jobs == 1 or len(pairs) == 1:
        with _one_torch_thread(torch_folds):  # as in the workers: same numbers whatever n_jobs
            for k in bar(range(len(pairs))):
                result = run_fold(*task(k))
                results[k] = result if keep else (result[0], None, *result[2:])
        return results
    workers = min(int(n_jobs), len(pairs))
    if torch_folds and _SHARED:  # spawned workers kept alive by `fold_workers`
        pool, size = _SHARED[-1]
        return _run_local(pool, min(workers, size), pairs, task, keep, bar)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=spawn_context() if torch_folds else process_context(),
        initializer=_torch_worker_init if torch_folds else None,
    )
    with pool:
        return _run_local(pool, workers, pairs, task, keep, bar)


def _run_local(pool, workers: int, pairs, task, keep: bool, bar) -> list[FoldResult]:
    results: list[Any] = [None] * len(pairs)
    queue = list(range(len(pairs)))
    running: dict[Any, int] = {}
    for _ in bar(range(len(pairs))):
        while queue and len(running) < workers:  # at most `workers` folds in flight
            k = queue.pop(0)
            args = tuple(_in_memory(x) for x in task(k))
            running[pool.submit(_recorded, *args, keep)] = k
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        fut = next(iter(done))
        result, caught = fut.result()
        _reissue(caught)
        results[running.pop(fut)] = result
    return results


#: the pool `fold_workers` keeps alive: [(executor, workers)]
_SHARED: list[tuple[ProcessPoolExecutor, int]] = []


@contextmanager
def fold_workers(n_jobs: int) -> Iterator[None]:
    """Keep ``n_jobs`` spawned torch fold workers alive across `cross_validate` calls.

    Starting a spawned worker imports torch and the package afresh (seconds
    each); a run that cross-validates several CNNs (the benchmark) starts
    them once inside this context instead of once per call.

    Examples
    --------
    >>> with fold_workers(1):  # one job: nothing to start
    ...     pass
    """
    from .._utils._processes import resolve_n_jobs

    n = resolve_n_jobs(n_jobs)
    if n <= 1:
        yield
        return
    pool = ProcessPoolExecutor(n, mp_context=spawn_context(), initializer=_torch_worker_init)
    _SHARED.append((pool, n))
    try:
        yield
    finally:
        _SHARED.pop()
        pool.shutdown(wait=True, cancel_futures=True)
