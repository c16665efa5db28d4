"""``astroclustermass build``: build a ClusterSample (HDF5) from a data directory or survey tiles."""

from __future__ import annotations

import argparse
from argparse import SUPPRESS

from .._utils import defaults
from ._common import add_survey_options, given, output_file, progress, survey_build_options


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``build`` command to the sub-parsers of the main parser."""
    p = sub.add_parser("build", help="build a ClusterSample (HDF5) from a data directory")
    p.add_argument("directory", help="directory with catalog.ecsv, events/ and galaxies.ecsv")
    p.add_argument("--out", required=True, help="output HDF5 file, e.g. sample.h5")
    p.add_argument(
        "--bands",
        nargs="+",
        default=SUPPRESS,
        help=f"band presets to image ({' '.join(defaults.BANDS)})",
    )
    p.add_argument(
        "--npix", type=int, default=SUPPRESS, help=f"pixels per image side ({defaults.NPIX})"
    )
    p.add_argument(
        "--aperture",
        type=float,
        default=SUPPRESS,
        help=f"image half-width in comoving h^-1 Mpc ({defaults.APERTURE})",
    )
    p.add_argument("--no-dynamics", action="store_true", help="skip galaxy cubes and dynamics")
    p.add_argument(
        "--n-cube",
        type=int,
        default=SUPPRESS,
        help=f"dynamical cube voxels per side ({defaults.N_CUBE})",
    )
    p.add_argument(
        "--cube-size",
        type=int,
        default=SUPPRESS,
        help="store cubes sum-pooled to this many voxels per side (a divisor of --n-cube)",
    )
    p.add_argument(
        "--cube-compression",
        choices=["quantized", "lzf", "gzip", "none"],
        default=SUPPRESS,
        help="cube storage: quantized (n^3 error <= 5e-4, ~4x smaller) or lossless (quantized)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Dask scheduler address (e.g. tcp://10.0.0.1:8786): build on its workers",
    )
    p.add_argument(
        "--on-error",
        choices=["raise", "skip"],
        default="raise",
        help="what to do with a missing/corrupt event file (raise)",
    )
    p.add_argument("--n-jobs", type=int, default=SUPPRESS, help="worker processes (2)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_survey_options(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``astroclustermass build`` with the parsed ``args``; returns the exit status."""
    from contextlib import nullcontext

    from .._utils._processes import dask_client
    from ..sample import ClusterSample

    output_file(args)
    options = given(
        args,
        bands="bands",
        npix="npix",
        aperture="aperture",
        n_cube="n_cube",
        cube_size="cube_size",
        cube_compression="cube_compression",
        n_jobs="n_jobs",
    )
    options.update(survey_build_options(args))
    if "bands" in options:
        options["bands"] = tuple(options["bands"])
    if options.get("cube_compression") == "none":
        options["cube_compression"] = None
    with dask_client(args.scheduler) if args.scheduler else nullcontext() as client:
        sample = ClusterSample.build(
            args.directory,
            dynamics=not args.no_dynamics,
            progress=progress(args),
            on_error=args.on_error,
            path=args.out,
            overwrite=args.overwrite,
            client=client,
            **options,
        )
    print(f"wrote {sample!r} to {args.out}")
    return 0
