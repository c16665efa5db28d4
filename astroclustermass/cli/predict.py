"""``astroclustermass predict``: predict masses with a saved model."""

from __future__ import annotations

import argparse

from ..exceptions import InputError
from ._common import output_file, progress
from ._select import add_selection_options, select_clusters


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``predict`` command to the sub-parsers of the main parser."""
    p = sub.add_parser(
        "predict",
        help="predict masses with a saved or shipped model",
        description="astroclustermass predict MODEL --sample SAMPLE, or "
        "astroclustermass predict --model MODEL SAMPLE; MODEL is a directory written by "
        "`train` or pretrained:NAME (`astroclustermass plugins` lists the shipped models).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="MODEL and/or SAMPLE (see above)")
    p.add_argument("--model", help="model directory, or pretrained:NAME for a shipped model")
    p.add_argument("--sample", help="sample (HDF5)")
    p.add_argument("--out", required=True, help="output ECSV table")
    p.add_argument(
        "--h",
        type=float,
        default=0.7,
        help="h of the published M500c (1e14 Msun) and R500c (kpc) columns (0.7, as eRASS1)",
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="write only the package's columns (log10 h^-1 Msun), no positions or Msun",
    )
    add_selection_options(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


#: How a shipped model is named where a model directory is expected.
PRETRAINED_PREFIX = "pretrained:"


def _model_and_sample(args: argparse.Namespace) -> tuple[str, str]:
    """MODEL and SAMPLE from ``MODEL --sample SAMPLE`` or ``--model MODEL SAMPLE``."""
    given = [args.model, args.sample]
    free = list(args.paths)
    filled = [g if g is not None else (free.pop(0) if free else None) for g in given]
    if None in filled or free:
        raise InputError(
            "predict takes one model and one sample: `predict MODEL --sample SAMPLE` or "
            f"`predict --model MODEL SAMPLE`; got {' '.join(args.paths)}"
        )
    return filled[0], filled[1]


def run(args: argparse.Namespace) -> int:
    """Run ``astroclustermass predict`` with the parsed ``args``; returns the exit status."""
    from .._utils import atomic_write
    from ..estimators import MassEstimator
    from ..estimators.publish import publication_table
    from ..sample import ClusterSample

    model, sample_path = _model_and_sample(args)
    out = output_file(args)
    if model.startswith(PRETRAINED_PREFIX):
        from ..estimators.pretrained import PRETRAINED_DIR

        name = model[len(PRETRAINED_PREFIX) :]
        estimator = MassEstimator.pretrained(name)
        model_path = PRETRAINED_DIR / name / "model"
    else:
        estimator = MassEstimator.load(model)
        model_path = model
    sample = select_clusters(args, ClusterSample.read(sample_path))
    prediction = estimator.predict(sample, progress=progress(args))
    table = prediction
    if not args.raw:
        table = publication_table(
            prediction, sample, h=args.h, estimator=estimator, model_path=model_path
        )
    with atomic_write(out) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    print(f"wrote {len(prediction)} predictions to {out}")
    _print_intervals(prediction)
    if prediction.has_truth:
        from ..evaluation.metrics import summarize

        s = summarize(prediction)
        print(
            f"scatter {s['scatter_dex']:.4f} dex ({s['scatter_percent']:.2f}%), "
            f"bias {s['bias_dex']:+.4f} dex"
        )
        for level in prediction.interval_levels:
            from ..evaluation.calibration import interval_coverage

            print(
                f"coverage of the {level:.0%} intervals: {interval_coverage(prediction, level):.3f}"
            )
    return 0


def _print_intervals(prediction) -> None:
    """The interval columns written, their mean width, and the out-of-distribution count."""
    import numpy as np

    from ..estimators.prediction import interval_columns

    levels = prediction.interval_levels
    if levels:
        cols = ", ".join("/".join(interval_columns(lv)) for lv in levels)
        widths = ", ".join(
            f"{lv:.0%}: {float(np.mean(np.subtract(*prediction.interval(lv)[::-1]))):.3f} dex"
            for lv in levels
        )
        method = prediction.meta.get("interval_method", "")
        print(f"intervals ({method}) in columns {cols}; mean widths {widths}")
    if "out_of_distribution" in prediction.colnames:
        flagged = int(np.sum(prediction["out_of_distribution"]))
        print(
            f"{flagged} of {len(prediction)} clusters out of the training distribution "
            "(column out_of_distribution)"
        )
