"""Cross-validation folds over a cluster catalogue (private, L2).

``octant`` folds split the comoving simulation box into its 8 octants as in Ho
et al. (2023), Sec. 4.1, so that no cluster and its large-scale environment are
both in a training and in a test fold; ``kfold`` is a seeded random split.
"""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from .._utils import get_rng
from ..exceptions import InputError, MissingColumnError

__all__ = ["DEFAULT_BOX_SIZE", "DEFAULT_K", "octant_index", "make_folds", "parse_fold_spec"]

#: Side of the Magneticum Box2/hr volume in comoving h⁻¹ Mpc (used when the
#: catalogue meta has no ``box_size``).
DEFAULT_BOX_SIZE = 352.0

#: Number of random folds of ``'kfold'``.
DEFAULT_K = 10


def parse_fold_spec(spec: Any) -> str | int | list:
    """The one parser of fold specifications (Python API, CLI and benchmark).

    Parameters
    ----------
    spec : 'octant', 'kfold', int, str of an int, or sequence of (train, test)
        ``'octant'``: the 8 octants of the simulation box; ``'kfold'``:
        `DEFAULT_K` random folds; an int ``k >= 2`` (or its text, as the
        command line gives it): k random folds; a sequence: explicit index
        pairs, returned as a list (checked by
        `~astroclustermass.evaluation.resolve_folds`).

    Returns
    -------
    'octant', int or list

    Raises
    ------
    InputError
        Any other value, or fewer than 2 folds.

    Examples
    --------
    >>> parse_fold_spec("octant"), parse_fold_spec("kfold"), parse_fold_spec("5")
    ('octant', 10, 5)
    >>> parse_fold_spec(1)
    Traceback (most recent call last):
    ...
    astroclustermass.exceptions.InputError: folds must be 'octant', 'kfold', an integer >= 2 or (train, test) index pairs; got 1
    """
    message = (
        "folds must be 'octant', 'kfold', an integer >= 2 or (train, test) index pairs; "
        f"got {spec!r}"
    )
    if isinstance(spec, str):
        if spec == "octant":
            return spec
        if spec == "kfold":
            return DEFAULT_K
        try:
            spec = int(spec)
        except ValueError:
            raise InputError(message) from None
    if isinstance(spec, bool | np.bool_):
        raise InputError(message)
    if isinstance(spec, int | np.integer):
        if spec < 2:
            raise InputError(message)
        return int(spec)
    try:
        return list(spec)
    except TypeError:
        raise InputError(message) from None


def _box_size(meta: dict) -> float:
    value = meta.get("box_size", DEFAULT_BOX_SIZE)
    if isinstance(value, u.Quantity):
        value = value.to_value(u.Mpc)
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"catalog.meta['box_size'] must be a positive number; got {value}")
    return value


def octant_index(catalog: Any, box_size: float | None = None) -> np.ndarray:
    """Octant number ``4 i_x + 2 i_y + i_z`` of each cluster, with ``i = floor(x / (L/2))``.

    Positions are wrapped periodically into ``[0, L)`` first.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        Needs columns ``x``, ``y``, ``z`` (comoving h⁻¹ Mpc box positions).
    box_size : float, optional
        Box side ``L``; default ``catalog.meta['box_size']`` or 352.

    Returns
    -------
    ndarray of int64 in 0..7

    Examples
    --------
    >>> from astropy.table import Table
    >>> octant_index(Table({"x": [10.0, 200.0], "y": [10.0, 10.0], "z": [10.0, 300.0]})).tolist()
    [0, 5]
    """
    missing = [c for c in ("x", "y", "z") if c not in catalog.colnames]
    if missing:
        raise MissingColumnError(
            f"octant folds need the comoving box position columns x, y, z in the catalogue; "
            f"missing {missing}. Use folds(kind='kfold', k=...) for random folds instead"
        )
    size = _box_size(catalog.meta) if box_size is None else float(box_size)
    idx = np.zeros(len(catalog), dtype=np.int64)
    for weight, name in zip((4, 2, 1), ("x", "y", "z")):
        col = catalog[name]
        pos = u.Quantity(col).to_value(u.Mpc) if getattr(col, "unit", None) else np.asarray(col)
        pos = np.asarray(pos, dtype=float)
        if not np.isfinite(pos).all():
            raise InputError(f"catalogue column {name!r} has NaN/inf box positions")
        half = np.floor(np.mod(pos, size) / (size / 2.0)).astype(np.int64)
        idx += weight * np.clip(half, 0, 1)
    return idx


def make_folds(
    catalog: Any, kind: str | int = "octant", k: int | None = None, seed: Any = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index pairs for cross-validation.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        The sample catalogue.
    kind : {'octant', 'kfold'} or int
        ``'octant'``: one fold per non-empty octant of the box (at most 8).
        ``'kfold'`` (or an int, taken as ``k``): random k-fold.
    k : int, optional
        Number of random folds; giving it selects ``'kfold'``.
    seed : int or Generator, optional
        Seed of the random k-fold permutation.

    Returns
    -------
    list of (train_idx, test_idx)
        Sorted int64 row indices; the test sets are disjoint and cover every row.

    Examples
    --------
    >>> from astropy.table import Table
    >>> folds = make_folds(Table({"id": list(range(10))}), k=5, seed=0)
    >>> len(folds), sorted(int(i) for _, t in folds for i in t) == list(range(10))
    (5, True)
    """
    n = len(catalog)
    if isinstance(kind, (int, np.integer)) and not isinstance(kind, bool):
        kind, k = "kfold", int(kind)
    elif k is not None:
        kind = "kfold"
    if n == 0:
        raise InputError("cannot make folds of an empty sample")
    everything = np.arange(n, dtype=np.int64)
    if kind == "octant":
        octant = octant_index(catalog)
        return [
            (everything[octant != o], everything[octant == o]) for o in np.unique(octant).tolist()
        ]
    if kind == "kfold":
        k = DEFAULT_K if k is None else int(k)
        if not 2 <= k <= n:
            raise InputError(f"k must be between 2 and the sample size {n}; got {k}")
        perm = get_rng(seed).permutation(n)
        out = []
        for part in np.array_split(perm, k):
            test = np.sort(part).astype(np.int64)
            mask = np.ones(n, dtype=bool)
            mask[test] = False
            out.append((everything[mask], test))
        return out
    raise InputError(f"kind must be 'octant', 'kfold' or an int number of folds; got {kind!r}")
