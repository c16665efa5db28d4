"""``astroclustermass train``: fit a registered estimator and save it."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..exceptions import InputError
from ._common import add_param_option, parse_params, progress
from ._select import add_selection_options, select_clusters


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``train`` command to the sub-parsers of the main parser."""
    p = sub.add_parser("train", help="fit a registered estimator and save it")
    p.add_argument("name", help="estimator name (see `astroclustermass plugins`)")
    p.add_argument("--sample", required=True, help="training sample (HDF5)")
    p.add_argument("--out", required=True, help="model directory to write")
    add_param_option(p, "hyper-parameter, repeatable (values parsed as JSON/Python literals)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a saved model in --out (a directory holding other files is refused)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_selection_options(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``astroclustermass train`` with the parsed ``args``; returns the exit status."""
    from ..estimators import MassEstimator
    from ..estimators._persistence import check_model_path
    from ..sample import ClusterSample

    params = parse_params(args.param)
    estimator = MassEstimator.from_name(args.name, **params)
    out = Path(args.out)
    empty = out.is_dir() and not any(out.iterdir())
    if out.exists() and not empty and not args.overwrite:
        raise InputError(f"{out} exists and is not empty; pass --overwrite to replace the model")
    check_model_path(out, overwrite=True)  # refuses a directory holding foreign files
    sample = select_clusters(args, ClusterSample.read(args.sample))
    estimator.fit(sample, progress=progress(args))
    path = estimator.save(out)
    print(f"trained {estimator!r} on {len(sample)} clusters; saved to {path}")
    return 0
