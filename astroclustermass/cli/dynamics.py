"""``astroclustermass dynamics``: train a CNN one band at a time (Lovig 2024 channel dynamics)."""

from __future__ import annotations

import argparse

from ..exceptions import InputError
from ._common import add_param_option, output_dir, parse_params, progress


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``dynamics`` command to the sub-parsers of the main parser."""
    p = sub.add_parser(
        "dynamics",
        help="train a CNN one energy band at a time and plot its test predictions (Lovig 2024)",
    )
    p.add_argument("name", help="CNN estimator with >= 2 bands (e.g. multiband_cnn, gap_cnn)")
    p.add_argument("--sample", required=True, help="sample with true masses (HDF5)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--test-fraction", type=float, default=0.2, help="held out (0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split (0)")
    p.add_argument("--epochs-per-phase", type=int, default=50, help="epochs per band (50)")
    p.add_argument("--extra-epochs", type=int, default=1, help="epochs after the kick (1)")
    p.add_argument("--noise", type=float, default=0.05, help="kick, x weight RMS (0.05)")
    p.add_argument("--order", type=int, nargs="+", help="band order (increasing energy)")
    add_param_option(p, "hyper-parameter of the estimator, repeatable")
    p.add_argument("--overwrite", action="store_true", help="replace files in --out")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``astroclustermass dynamics`` with the parsed ``args``; returns the exit status."""
    import numpy as np

    from .._utils import atomic_write
    from ..attribution import channel_dynamics
    from ..estimators import MassEstimator
    from ..sample import ClusterSample

    if not 0 < args.test_fraction < 1:
        raise InputError(f"--test-fraction must be in (0, 1); got {args.test_fraction}")
    out = output_dir(args)
    estimator = MassEstimator.from_name(args.name, **parse_params(args.param))
    sample = ClusterSample.read(args.sample)
    n_test = int(round(args.test_fraction * len(sample)))
    if n_test < 2 or len(sample) - n_test < 2:
        raise InputError(f"{len(sample)} clusters are too few to hold out {args.test_fraction}")
    perm = np.random.default_rng(args.seed).permutation(len(sample))
    test, train = sample[np.sort(perm[:n_test])], sample[np.sort(perm[n_test:])]
    dyn = channel_dynamics(
        estimator,
        train,
        test,
        epochs_per_phase=args.epochs_per_phase,
        extra_epochs=args.extra_epochs,
        noise=args.noise,
        order=args.order,
        progress=progress(args),
    )
    out.mkdir(parents=True, exist_ok=True)
    dyn.write(out / "dynamics.h5", overwrite=True)
    dyn.plot(out / "dynamics.png")
    dyn.plot_metrics(out / "metrics.png")
    summary = dyn.summary()
    with atomic_write(out / "summary.ecsv") as tmp:
        summary.write(tmp, format="ascii.ecsv", overwrite=True)
    for row in summary:
        print(
            f"phase {row['phase']} ({row['bands']}): scatter {row['scatter_dex']:.4f} dex, "
            f"Spearman rho {row['spearman']:.3f}"
        )
    print(f"wrote dynamics.h5, dynamics.png, metrics.png and summary.ecsv to {out}")
    return 0
