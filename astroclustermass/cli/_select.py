"""Choosing clusters on the command line: ``--ids`` and ``--split`` of train and predict.

``--split PART:SPEC`` takes the ``train`` or ``test`` part of a split that
depends only on the sample and ``--split-seed``, so ``train --split
train:SPEC`` and ``predict --split test:SPEC`` get complementary clusters:

* ``test:0.2`` — a seeded random 20 % (``train:0.2`` is the other 80 %);
* ``test:FOLDS:K`` — fold ``K`` of any fold specification
  (`~astroclustermass.sample.folds.parse_fold_spec`): ``test:sky:8:3`` is the
  4th of 8 contiguous sky patches, ``test:octant:0`` the first octant,
  ``test:5:1`` the 2nd of 5 random folds.

``--ids 3,17,42`` (or ``--ids @ids.txt``, one id a line) keeps those ids,
after the split.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.sample import ClusterSample
>>> s = ClusterSample.from_arrays({"redshift": np.full(10, 0.1)},
...                               images={"bolometric": np.zeros((10, 1, 2, 2), np.int32)})
>>> test = split_rows(s, "test:0.3", seed=0)
>>> train = split_rows(s, "train:0.3", seed=0)
>>> len(test), len(train), sorted(set(test) | set(train)) == list(range(10))
(3, 7, True)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = ["add_selection_options", "select_clusters", "split_rows", "id_rows"]

_SPLIT_HELP = (
    "train or test part of a split: 'test:0.2' (seeded random 20%%), 'test:sky:8:3' (fold 3 of "
    "8 sky patches), 'train:octant:0', 'test:5:1'; train and predict with the same split and "
    "--split-seed get complementary clusters"
)


def add_selection_options(p: argparse.ArgumentParser) -> None:
    """Add ``--ids``, ``--split`` and ``--split-seed`` to a command."""
    p.add_argument("--ids", help="only these cluster ids: '3,17,42' or @FILE (one id a line)")
    p.add_argument("--split", metavar="PART:SPEC", help=_SPLIT_HELP)
    p.add_argument("--split-seed", type=int, default=0, help="seed of --split (0)")


def split_rows(sample: Any, text: str, seed: int = 0) -> np.ndarray:
    """Row indices of the ``train`` or ``test`` part of ``--split`` (see the module docstring)."""
    from ..evaluation.crossval import resolve_folds

    part, sep, spec = str(text).partition(":")
    if part not in ("train", "test") or not sep or not spec:
        raise InputError(f"--split takes train:SPEC or test:SPEC (e.g. test:0.2); got {text!r}")
    n = len(sample)
    try:
        fraction = float(spec)
    except ValueError:
        fraction = None
    if fraction is not None and "." in spec:
        if not 0.0 < fraction < 1.0:
            raise InputError(f"--split fraction must lie between 0 and 1; got {spec}")
        k = int(round(fraction * n))
        if not 0 < k < n:
            raise InputError(f"--split {text}: {fraction} of {n} clusters leaves an empty part")
        test = np.sort(np.random.default_rng(seed).permutation(n)[:k])
    else:
        folds_spec, _, index = spec.rpartition(":")
        if not folds_spec or not index.isdigit():
            raise InputError(
                f"--split {text}: give a fraction (test:0.2) or FOLDS:K with K the fold number "
                "(test:sky:8:3, test:octant:0, test:5:1)"
            )
        folds = resolve_folds(sample, folds_spec, seed=seed)
        k = int(index)
        if k >= len(folds):
            raise InputError(f"--split {text}: there are {len(folds)} folds (0-{len(folds) - 1})")
        test = np.sort(folds[k][1])
    if part == "test":
        return test.astype(np.int64)
    keep = np.ones(n, bool)
    keep[test] = False
    return np.flatnonzero(keep)


def id_rows(sample: Any, text: str) -> np.ndarray:
    """Row indices of the ids of ``--ids`` ('3,17' or @FILE), in the sample's order."""
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise InputError(f"--ids file {path} does not exist")
        wanted = [w.strip() for w in path.read_text().split() if w.strip()]
    else:
        wanted = [w.strip() for w in text.split(",") if w.strip()]
    if not wanted:
        raise InputError(f"--ids names no cluster: {text!r}")
    have = np.array([str(i) for i in np.asarray(sample.ids)])
    missing = sorted(set(wanted) - set(have.tolist()))
    if missing:
        raise InputError(
            f"--ids: {len(missing)} id(s) are not in the sample (or the --split part): "
            f"{missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''}"
        )
    return np.flatnonzero(np.isin(have, wanted))


def select_clusters(args: argparse.Namespace, sample: Any) -> Any:
    """The sample restricted by ``--split`` then ``--ids`` (unchanged without them)."""
    rows = np.arange(len(sample))
    what = []
    if getattr(args, "split", None):
        rows = split_rows(sample, args.split, args.split_seed)
        what.append(f"--split {args.split}")
    if getattr(args, "ids", None):
        sub = sample[rows]
        rows = rows[id_rows(sub, args.ids)]
        if rows.size == 0:
            raise InputError("--ids: none of these ids is in the --split part")
        what.append("--ids")
    if not what:
        return sample
    print(f"selected {rows.size} of {len(sample)} clusters ({', '.join(what)})")
    return sample[rows]
