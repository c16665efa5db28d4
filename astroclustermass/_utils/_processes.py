"""Worker pools of the package: local processes or a Dask cluster (L0, private).

`map_unordered` is the one engine behind building samples, writing the mock
universe and running cross-validation folds in parallel. Work items go to
``n_jobs`` local processes — or, given a ``dask.distributed.Client``, to its
workers — with at most ``max_in_flight`` items outstanding, and results come
back in completion order tagged with their item's index, so that a caller
that writes each result to its own place gets the same output whatever the
number of workers or the order in which they finish.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from ..exceptions import InputError

__all__ = [
    "process_context",
    "spawn_context",
    "map_unordered",
    "resolve_n_jobs",
    "n_workers",
    "dask_client",
]


def process_context() -> Any:
    """``fork`` on Linux, else the platform default.

    Fork lets worker pools run from scripts, notebooks and ``python -c``
    without an ``if __name__ == "__main__"`` guard. The workers use numpy and
    astropy only (no torch), so forking is safe.

    Examples
    --------
    >>> process_context().get_start_method() in {"fork", "spawn", "forkserver"}
    True
    """
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def spawn_context() -> Any:
    """The ``spawn`` context, for workers that run torch.

    Forking a process whose torch thread pools are running can hang the
    child; spawned workers start a fresh interpreter instead (in scripts,
    call the parallel function from under ``if __name__ == "__main__":``).

    Examples
    --------
    >>> spawn_context().get_start_method()
    'spawn'
    """
    return multiprocessing.get_context("spawn")


def resolve_n_jobs(n_jobs: Any, name: str = "n_jobs") -> int:
    """A positive worker count; ``None`` or ``-1`` mean every core.

    Examples
    --------
    >>> resolve_n_jobs(3), resolve_n_jobs(-1) == (os.cpu_count() or 1)
    (3, True)
    """
    if n_jobs is None or (not isinstance(n_jobs, bool) and n_jobs == -1):
        return os.cpu_count() or 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        try:
            import numpy as np

            if isinstance(n_jobs, np.integer) and n_jobs >= 1:
                return int(n_jobs)
        except ImportError:  # pragma: no cover - numpy is a dependency
            pass
        raise InputError(f"{name} must be a positive integer or -1 (every core); got {n_jobs!r}")
    return int(n_jobs)


def n_workers(client: Any) -> int:
    """Number of workers (at least 1) of a ``dask.distributed.Client``.

    Examples
    --------
    >>> class C:
    ...     submit = None
    ...     def scheduler_info(self, **kw):
    ...         return {"workers": {"a": {}, "b": {}}}
    >>> n_workers(C())
    2
    """
    _check_client(client)
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # older distributed: no n_workers argument
        info = client.scheduler_info()
    return max(1, len(info.get("workers", {})))


def _check_client(client: Any) -> None:
    if not (hasattr(client, "submit") and hasattr(client, "scheduler_info")):
        raise InputError(
            f"client must be a dask.distributed.Client; got {type(client).__name__} "
            "(pip install 'astroclustermass[distributed]')"
        )


def map_unordered(
    fn: Callable[..., Any],
    items: Sequence[Any],
    *,
    args: tuple = (),
    n_jobs: int = 1,
    client: Any = None,
    context: Any = None,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple = (),
    max_in_flight: int | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(*args, items[index]))`` in completion order.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled to the workers).
    items : sequence
        One call per item.
    args : tuple
        Leading arguments of every call (sent with each item; on Dask they
        are scattered once).
    n_jobs : int
        Local worker processes; 1 runs the items here, one after another.
    client : dask.distributed.Client, optional
        Run the calls as tasks on this Dask cluster instead (``n_jobs`` is
        then ignored).
    context : multiprocessing context, optional
        Start method of the local workers (default `process_context`).
    initializer, initargs
        Run once in each local worker process (e.g. to set torch threads).
    max_in_flight : int, optional
        Items submitted but not yet consumed (default 2 per worker): bounds
        the memory that finished-but-unread results take.

    Yields
    ------
    index, result

    Examples
    --------
    >>> sorted(map_unordered(pow, [1, 2, 3], args=(2,)))
    [(0, 2), (1, 4), (2, 8)]
    """
    items = list(items)
    if client is not None:
        _check_client(client)
        yield from _map_dask(fn, items, args, client, max_in_flight)
        return
    if n_jobs <= 1 or len(items) <= 1:
        if initializer is not None and n_jobs > 1:
            initializer(*initargs)
        for i, item in enumerate(items):
            yield i, fn(*args, item)
        return
    workers = min(int(n_jobs), len(items))
    limit = max_in_flight or 2 * workers
    ex = ProcessPoolExecutor(
        workers,
        mp_context=context or process_context(),
        initializer=initializer,
        initargs=initargs,
    )
    try:
        queue = list(range(len(items)))[::-1]
        pending: dict = {}
        while queue or pending:
            while queue and len(pending) < limit:
                i = queue.pop()
                pending[ex.submit(fn, *args, items[i])] = i
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                yield i, fut.result()
            del done
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


# Dask's nanny starts each worker with MALLOC_TRIM_THRESHOLD_=65536, which also pins
# glibc's mmap threshold at 128 KiB: every numpy temporary above that becomes a fresh
# mmap that page-faults on first touch (building dynamical cubes ran 2x slower on a
# worker than in this process). Each worker process raises both thresholds once.
WORKER_MMAP_THRESHOLD = 32 << 20
WORKER_TRIM_THRESHOLD = 64 << 20
_malloc_tuned = False


def tune_worker_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds in a Dask worker; True when it did.

    Does nothing outside Linux/glibc or when ``MALLOC_TRIM_THRESHOLD_`` is not
    set (a process that glibc tunes dynamically), and only once per process.

    Examples
    --------
    >>> isinstance(tune_worker_malloc(), bool)
    True
    """
    global _malloc_tuned
    if _malloc_tuned or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    _malloc_tuned = True
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # pragma: no cover - not glibc
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    ok = libc.mallopt(m_mmap_threshold, WORKER_MMAP_THRESHOLD) == 1
    return ok and libc.mallopt(m_trim_threshold, WORKER_TRIM_THRESHOLD) == 1


def _on_worker(fn: Callable[..., Any], *args: Any) -> Any:
    tune_worker_malloc()
    return fn(*args)


def _map_dask(fn, items, args, client, max_in_flight) -> Iterator[tuple[int, Any]]:
    from distributed import as_completed

    limit = max_in_flight or 2 * n_workers(client)
    shared = [client.scatter(a, broadcast=True) if _is_big(a) else a for a in args]
    queue = list(range(len(items)))[::-1]
    outstanding: dict = {}  # future key -> (future, item index)

    def submit() -> Any:
        i = queue.pop()
        fut = client.submit(_on_worker, fn, *shared, items[i], pure=False)
        outstanding[fut.key] = (fut, i)
        return fut

    done = as_completed([submit() for _ in range(min(limit, len(queue)))])
    try:
        for fut in done:
            _, i = outstanding.pop(fut.key)
            result = fut.result()  # a task's exception is raised here
            fut.release()
            if queue:
                done.add(submit())
            yield i, result
    finally:
        if outstanding:
            client.cancel([f for f, _ in outstanding.values()])


def _is_big(obj: Any) -> bool:
    """Whether an argument is worth scattering once instead of sending with every task."""
    return not isinstance(obj, (int, float, str, bool, type(None)))


def dask_client(address: str) -> Any:
    """A ``dask.distributed.Client`` connected to the scheduler at ``address``.

    Raises
    ------
    InputError
        Dask is not installed (``pip install 'astroclustermass[distributed]'``).

    Examples
    --------
    >>> dask_client("tcp://127.0.0.1:1")  # doctest: +SKIP
    """
    try:
        from distributed import Client
    except ImportError as err:
        raise InputError(
            "--scheduler needs Dask: pip install 'astroclustermass[distributed]'"
        ) from err
    return Client(address)
