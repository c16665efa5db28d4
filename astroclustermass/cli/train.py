"""``astroclustermass train``: fit a registered estimator and save it.

Under ``torchrun --nproc-per-node N -m astroclustermass train ...`` every
process joins the process group and the networks train data parallel
(`astroclustermass.estimators.distributed`); process 0 alone writes the model
and prints.
"""

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
    from ..estimators.distributed import init_distributed

    rank, size = init_distributed()  # (0, 1) unless run under torchrun
    try:
        return _train(args, main=rank == 0)
    finally:
        if size > 1:
            import torch.distributed as dist

            dist.barrier()  # nobody leaves before process 0 has saved
            dist.destroy_process_group()


def _train(args: argparse.Namespace, main: bool) -> int:
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
    estimator.fit(sample, progress=progress(args) if main else False)
    if main:
        path = estimator.save(out)
        print(f"trained {estimator!r} on {len(sample)} clusters; saved to {path}")
    return 0
