"""``astroclustermass benchmark``: reproduce Table 3 and Figure 4 on the mock or your data."""

from __future__ import annotations

import argparse

from ._common import add_survey_options, folds, progress, survey_build_options


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``benchmark`` command to the sub-parsers of the main parser."""
    p = sub.add_parser(
        "benchmark",
        help="reproduce Ho et al. (2023) Table 3 and Figure 4 on the mock or your data",
        description="Simulate (or reuse) a mock universe or read --data, build the sample, "
        "cross-validate the scalar proxies and the CNNs, and write a report.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--data", help="your data directory (catalog.ecsv + events/ [+ galaxies.ecsv])"
    )
    src.add_argument(
        "--simulate",
        type=int,
        metavar="N",
        help="simulate N clusters (default: the preset's number)",
    )
    p.add_argument(
        "--preset",
        choices=["quick", "paper"],
        default="quick",
        help="quick: minutes on a laptop CPU (default); paper: Ho et al. settings",
    )
    p.add_argument("--estimators", nargs="+", help="estimators to cross-validate (preset's list)")
    p.add_argument(
        "--folds",
        type=folds,
        help="'octant', 'sky' ('sky:N': N contiguous sky patches), 'kfold' or a number of "
        "random folds",
    )
    p.add_argument("--npix", type=int, help="pixels per image side (preset's value)")
    p.add_argument("--epochs", type=int, help="maximum training epochs (preset's value)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:n] (auto)")
    p.add_argument("--out", default="acm-benchmark", help="output directory (acm-benchmark)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="worker processes for simulate, build and the CNN folds (-1: every core)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_survey_options(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``astroclustermass benchmark`` with the parsed ``args``; returns the exit status."""
    from ..benchmarks.pipeline import format_table, run_benchmark

    result = run_benchmark(
        data=args.data,
        simulate=args.simulate,
        estimators=args.estimators,
        folds=args.folds,
        npix=args.npix,
        epochs=args.epochs,
        device=args.device,
        out=args.out,
        preset=args.preset,
        seed=args.seed,
        n_jobs=args.n_jobs,
        progress=progress(args),
        build_options=survey_build_options(args) or None,
    )
    print(format_table(result.table))
    for alert in result.alerts:
        print(f"attention: {alert}")
    print(f"\nreport: {result.report}  (total {sum(result.timings.values()):.0f} s)")
    return 0
