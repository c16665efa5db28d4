"""``astroclustermass simulate``: write a mock universe or a survey-like mock."""

from __future__ import annotations

import argparse
from argparse import SUPPRESS

from ._common import exposure, given, progress, tiles


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``simulate`` command to the sub-parsers of the main parser."""
    p = sub.add_parser("simulate", help="write a mock universe (event files + catalogues)")
    p.add_argument("--n-clusters", type=int, required=True, help="number of clusters")
    p.add_argument("--seed", type=int, default=SUPPRESS, help="random seed (0)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument(
        "--exposure",
        type=exposure,
        default=SUPPRESS,
        help="exposure in seconds or a preset name (paper, efeds, erass1, erass4; paper)",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="print the calibration report against Ho et al. (2023) Tables 1 and 3",
    )
    p.add_argument("--n-jobs", type=int, default=SUPPRESS, help="worker processes (2)")
    p.add_argument(
        "--survey",
        action="store_true",
        help="write eRASS-style sky tiles + exposure maps + catalogues (docs/survey.rst)",
    )
    p.add_argument(
        "--tiles", type=tiles, default=(3, 3), metavar="NRAxNDEC", help="survey tiles (3x3)"
    )
    p.add_argument("--tile-size", type=float, default=SUPPRESS, help="tile side, deg (3.6)")
    p.add_argument("--overlap", type=float, default=SUPPRESS, help="tile overlap, deg (1/3)")
    p.add_argument(
        "--depth",
        type=exposure,
        default=SUPPRESS,
        help="survey depth: erass1 (varying, default), erass1_wide (100 s-2 ks), paper (2 ks) or s",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier simulation in --out (a directory holding other files is refused)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``astroclustermass simulate`` with the parsed ``args``; returns the exit status."""
    from ..simulate import MockSurvey, MockUniverse

    if args.survey:
        n_ra, n_dec = args.tiles
        survey = MockSurvey(
            args.n_clusters,
            n_ra=n_ra,
            n_dec=n_dec,
            **given(args, seed="seed", depth="depth", tile_size="tile_size", overlap="overlap"),
        )
        out = survey.write(args.out, progress=progress(args), overwrite=args.overwrite)
        print(f"wrote {survey!r} to {out}")
        return 0

    universe = MockUniverse(args.n_clusters, **given(args, seed="seed", exposure="exposure"))
    out = universe.write(
        args.out,
        progress=progress(args),
        overwrite=args.overwrite,
        **given(args, n_jobs="n_jobs"),
    )
    print(f"wrote {args.n_clusters} clusters to {out or args.out}")
    if args.report:
        from ..simulate import calibration_report

        print(calibration_report(args.out))
    return 0
