"""Cross-validation folds over a cluster catalogue (private, L2).

``octant`` folds split the comoving simulation box into its 8 octants as in Ho
et al. (2023), Sec. 4.1, so that no cluster and its large-scale environment are
both in a training and in a test fold; ``sky`` folds do the same for a survey
catalogue, which has no box positions, with contiguous patches of the sky
(`sky_patch_index`); ``kfold`` is a seeded random split.
"""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from .._utils import get_rng
from ..exceptions import InputError, MissingColumnError

__all__ = [
    "DEFAULT_BOX_SIZE",
    "DEFAULT_K",
    "DEFAULT_SKY_PATCHES",
    "octant_index",
    "sky_patch_index",
    "make_folds",
    "parse_fold_spec",
]

#: Side of the Magneticum Box2/hr volume in comoving h⁻¹ Mpc (used when the
#: catalogue meta has no ``box_size``).
DEFAULT_BOX_SIZE = 352.0

#: Number of random folds of ``'kfold'``.
DEFAULT_K = 10

#: Number of sky patches of ``'sky'`` (as many as the box has octants).
DEFAULT_SKY_PATCHES = 8


def parse_fold_spec(spec: Any) -> str | int | list:
    """The one parser of fold specifications (Python API, CLI and benchmark).

    Parameters
    ----------
    spec : 'octant', 'sky', 'sky:N', 'kfold', int, str of an int, or sequence of (train, test)
        ``'octant'``: the 8 octants of the simulation box; ``'sky'``
        (``'sky:N'``): `DEFAULT_SKY_PATCHES` (N) contiguous sky patches
        (`sky_patch_index`), returned as ``'sky:N'``; ``'kfold'``:
        `DEFAULT_K` random folds; an int ``k >= 2`` (or its text, as the
        command line gives it): k random folds; a sequence: explicit index
        pairs, returned as a list (checked by
        `~astroclustermass.evaluation.resolve_folds`).

    Returns
    -------
    'octant', 'sky:N', int or list

    Raises
    ------
    InputError
        Any other value, or fewer than 2 folds.

    Examples
    --------
    >>> parse_fold_spec("octant"), parse_fold_spec("kfold"), parse_fold_spec("5")
    ('octant', 10, 5)
    >>> parse_fold_spec("sky"), parse_fold_spec("sky:12")
    ('sky:8', 'sky:12')
    >>> parse_fold_spec(1)
    Traceback (most recent call last):
    ...
    astroclustermass.exceptions.InputError: folds must be 'octant', 'sky', 'sky:N', 'kfold', an integer >= 2 or (train, test) index pairs; got 1
    """
    message = (
        "folds must be 'octant', 'sky', 'sky:N', 'kfold', an integer >= 2 or (train, test) "
        f"index pairs; got {spec!r}"
    )
    if isinstance(spec, str):
        if spec == "octant":
            return spec
        if spec == "sky" or spec.startswith("sky:"):
            n = spec[4:] or str(DEFAULT_SKY_PATCHES)
            if not n.isdigit() or int(n) < 2:
                raise InputError(message)
            return f"sky:{int(n)}"
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
            f"missing {missing}. Use folds(kind='sky') for contiguous sky patches (a survey "
            "catalogue) or folds(kind='kfold', k=...) for random folds instead"
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


def _split_counts(n: int, parts: int) -> np.ndarray:
    """``parts`` sizes as equal as possible that sum to ``n``."""
    return np.diff(np.round(np.linspace(0, n, parts + 1)).astype(np.int64))


def _ra_unwrapped(ra: np.ndarray) -> tuple[np.ndarray, float]:
    """RA (deg) measured from the middle of the widest empty gap of the circle: (ra', origin)."""
    if ra.size < 2:
        return np.zeros(ra.size), float(ra[0]) if ra.size else 0.0
    srt = np.sort(ra % 360.0)
    gaps = np.diff(np.concatenate([srt, [srt[0] + 360.0]]))
    k = int(np.argmax(gaps))
    origin = float((srt[k] + 0.5 * gaps[k]) % 360.0)  # the middle of the gap: no cluster there
    return (ra - origin) % 360.0, origin


def sky_patch_index(catalog: Any, n_patches: int = DEFAULT_SKY_PATCHES) -> tuple[np.ndarray, list]:
    """Contiguous sky patches of about equal counts: ``(patch of each cluster, boxes)``.

    The catalogue is cut into Dec stripes of equal counts, and each stripe
    into RA intervals of equal counts (RA measured from the widest empty gap
    of the stripe, so a sample across RA = 0 is not cut there); the number of
    stripes makes patches roughly square on the sky (``√(N Δδ / (Δα cos δ))``).
    Every patch is an RA/Dec box, boundaries half-way between neighbouring
    clusters, so the patches are disjoint, contiguous and cover the sample,
    and clusters that are neighbours on the sky share a patch except across a
    boundary.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        Needs ``ra``, ``dec`` (deg).
    n_patches : int
        Number of patches (≥ 2, at most the number of clusters).

    Returns
    -------
    index : ndarray of int64
        Patch of each cluster, 0..n_patches-1.
    boxes : list of dict
        Per patch ``dec_lo``, ``dec_hi``, ``ra_lo``, ``ra_width`` (deg; the
        RA interval runs east from ``ra_lo`` by ``ra_width`` and may cross
        0): the boxes partition the sphere.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"ra": [1.0, 2.0, 359.0, 358.0], "dec": [0.0, 0.0, 0.0, 0.0]})
    >>> idx, boxes = sky_patch_index(t, 2)
    >>> idx.tolist()  # RA 358-359 and 1-2: the cut is in the widest gap, not at 0
    [1, 1, 0, 0]
    """
    missing = [c for c in ("ra", "dec") if c not in catalog.colnames]
    if missing:
        raise MissingColumnError(
            f"sky folds need the columns ra, dec (deg) in the catalogue; missing {missing}. "
            "Map other names with column_map={'ra': ..., 'dec': ...}"
        )
    ra, dec = (
        np.asarray(
            u.Quantity(catalog[c]).to_value(u.deg) if getattr(catalog[c], "unit", None)
            else catalog[c], dtype=float,
        )  # fmt: skip
        for c in ("ra", "dec")
    )
    if not (np.isfinite(ra).all() and np.isfinite(dec).all()):
        raise InputError("sky folds: the catalogue's ra/dec have NaN/inf values")
    n = ra.size
    k = int(n_patches)
    if not 2 <= k <= n:
        raise InputError(
            f"the number of sky patches must be between 2 and the sample size {n}; got {k}"
        )
    ra_u, _ = _ra_unwrapped(ra)
    width = max(float(np.ptp(ra_u)) * np.cos(np.radians(np.median(dec))), 1e-9)
    height = max(float(np.ptp(dec)), 1e-9)
    n_dec = int(np.clip(np.round(np.sqrt(k * height / width)), 1, k))
    per_stripe = _split_counts(k, n_dec)  # patches per stripe
    sizes = _split_counts(n, k)
    index = np.empty(n, np.int64)
    boxes: list[dict] = []
    order = np.lexsort((ra, dec))
    start, patch = 0, 0
    d_edges = [-90.0]
    for m in per_stripe:
        count = int(sizes[patch : patch + m].sum())
        rows = order[start : start + count]
        start += count
        nxt = order[start] if start < n else None
        d_hi = 90.0 if nxt is None else 0.5 * (dec[rows[-1]] + dec[nxt])
        d_lo = d_edges[-1]
        d_edges.append(d_hi)
        r_u, origin = _ra_unwrapped(ra[rows])
        ro = np.argsort(r_u, kind="stable")
        a = 0
        for q in range(m):
            c = int(sizes[patch])
            part = rows[ro[a : a + c]]
            index[part] = patch
            lo_u = 0.0 if q == 0 else 0.5 * (r_u[ro[a - 1]] + r_u[ro[a]])
            hi_u = 360.0 if q == m - 1 else 0.5 * (r_u[ro[a + c - 1]] + r_u[ro[a + c]])
            boxes.append({"dec_lo": float(d_lo), "dec_hi": float(d_hi),
                          "ra_lo": float((origin + lo_u) % 360.0),
                          "ra_width": float(hi_u - lo_u)})  # fmt: skip
            a += c
            patch += 1
    return index, boxes


def make_folds(
    catalog: Any, kind: str | int = "octant", k: int | None = None, seed: Any = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index pairs for cross-validation.

    Parameters
    ----------
    catalog : `~astropy.table.Table`
        The sample catalogue.
    kind : {'octant', 'sky', 'sky:N', 'kfold'} or int
        ``'octant'``: one fold per non-empty octant of the box (at most 8).
        ``'sky'``/``'sky:N'``: one fold per contiguous sky patch
        (`sky_patch_index`; ``k`` or N patches, default 8).
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
    if isinstance(kind, str) and (kind == "sky" or kind.startswith("sky:")):
        n_sky = int(parse_fold_spec(kind)[4:]) if k is None or kind != "sky" else int(k)
        if n == 0:
            raise InputError("cannot make folds of an empty sample")
        patch, _ = sky_patch_index(catalog, n_sky)
        everything = np.arange(n, dtype=np.int64)
        return [(everything[patch != p], everything[patch == p]) for p in range(n_sky)]
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
    raise InputError(
        f"kind must be 'octant', 'sky', 'sky:N', 'kfold' or an int number of folds; got {kind!r}"
    )
