"""``astroclustermass explain``: attribution maps of a saved model, and the Section 6 measurements."""

from __future__ import annotations

import argparse
from typing import Any

from ..exceptions import InputError
from ._common import add_param_option, output_dir, parse_params, progress


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``explain`` command to the sub-parsers of the main parser."""
    from .._utils.defaults import ATTRIBUTION_METHOD as DEFAULT_EXPLAIN_METHOD

    p = sub.add_parser(
        "explain",
        help="attribution (saliency) maps of a saved model, with radial profile and PNGs",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="MODEL SAMPLE: a model directory written by `train` and a sample (HDF5); "
        "with --section6 only SAMPLE",
    )
    p.add_argument(
        "--method",
        default=DEFAULT_EXPLAIN_METHOD,
        help=f"attribution method ({DEFAULT_EXPLAIN_METHOD}; see docs/attribution.rst)",
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument(
        "--indices",
        type=int,
        nargs="+",
        help="cluster ids (the catalogue's 'id', as in the PNG names) to explain (all)",
    )
    p.add_argument("--sky", action="store_true", help="maps in sky orientation (east left)")
    p.add_argument(
        "--section6",
        action="store_true",
        help="Ho et al. (2023) Sec. 6 on SAMPLE: train (or --single/--multi/--proxy) the "
        "single- and multi-band CNNs and the N_phot proxy, write table and figures",
    )
    p.add_argument("--single", help="--section6: a trained single-band CNN (model directory)")
    p.add_argument("--multi", help="--section6: a trained multi-band CNN (model directory)")
    p.add_argument("--proxy", help="--section6: a trained power_law N_phot proxy")
    p.add_argument(
        "--save-models",
        action="store_true",
        help="--section6: save the three models to OUT/models/ (reuse: --single/--multi/--proxy "
        "with the same --seed and --test-fraction)",
    )
    p.add_argument("--test-fraction", type=float, default=0.3, help="--section6: held out (0.3)")
    p.add_argument("--seed", type=int, default=0, help="--section6: split and CNN seed (0)")
    add_param_option(
        p,
        "parameter of the method (with --section6: of the CNNs), repeatable (e.g. absolute=false)",
    )
    p.add_argument("--batch-size", type=int, default=16, help="clusters per batch (16)")
    p.add_argument("--n-plots", type=int, default=4, help="per-cluster PNGs to write (4)")
    p.add_argument("--overwrite", action="store_true", help="replace files in --out")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``astroclustermass explain`` with the parsed ``args``; returns the exit status."""
    import numpy as np

    from .._utils import atomic_write
    from ..attribution import Attribution, plot_radial_profile, radial_profile
    from ..estimators import MassEstimator
    from ..sample import ClusterSample

    if args.section6:
        return _section6(args)
    if len(args.paths) != 2:
        raise InputError("explain takes a model directory and a sample (or --section6 SAMPLE)")
    estimator = MassEstimator.load(args.paths[0])
    sample = ClusterSample.read(args.paths[1])
    if args.indices:
        sample = sample[_rows_of_ids(sample, args.indices)]
    out = output_dir(args)
    method = Attribution.from_name(args.method, **parse_params(args.param))
    amap = method.attribute(estimator, sample, batch_size=args.batch_size, progress=progress(args))
    out.mkdir(parents=True, exist_ok=True)
    amap.write(out / "attribution.h5", overwrite=True)
    print(f"wrote {amap!r} to {out / 'attribution.h5'}")
    if np.all(np.isfinite(amap.r500c())):
        profile = radial_profile(amap)
        with atomic_write(out / "radial_profile.ecsv") as tmp:
            profile.write(tmp, format="ascii.ecsv", overwrite=True)
        plot_radial_profile({amap.estimator: profile}, path=out / "radial_profile.png")
        print(f"wrote the radial profile to {out / 'radial_profile.ecsv'} and .png")
    else:
        print("no R500c for some clusters (catalogue r500c or log10_m500c): no radial profile")
    for k in range(min(int(args.n_plots), len(amap))):
        amap.plot(k, path=out / f"map_{amap.ids[k]}.png", sky=args.sky)
    print(f"wrote {min(int(args.n_plots), len(amap))} map PNGs (map_<cluster id>.png) to {out}")
    return 0


def _rows_of_ids(sample: Any, ids: list[int]) -> Any:
    """Rows of the clusters with these catalogue ids, in the order given."""
    import numpy as np

    cat = sample.catalog
    known = np.asarray(cat["id"]) if "id" in cat.colnames else np.arange(len(cat))
    where = {int(i): k for k, i in enumerate(known)}
    bad = [i for i in ids if int(i) not in where]
    if bad:
        raise InputError(
            f"--indices {bad} are not cluster ids of the sample (its 'id' column, "
            f"{int(known.min())}..{int(known.max())}); the map PNGs are named by the same ids"
        )
    return np.asarray([where[int(i)] for i in ids])


def _section6(args: argparse.Namespace) -> int:
    from ..attribution.section6 import section6
    from ..estimators import MassEstimator
    from ..sample import ClusterSample

    if len(args.paths) != 1:
        raise InputError("explain --section6 takes one sample (HDF5)")
    sample = ClusterSample.read(args.paths[0])
    estimators = None
    models = {
        "single-band CNN": args.single,
        "multi-band CNN": args.multi,
        "N_phot proxy": args.proxy,
    }
    if any(models.values()):
        if not all(models.values()):
            raise InputError("give all of --single, --multi and --proxy, or none (to train them)")
        estimators = {label: MassEstimator.load(path) for label, path in models.items()}
    out = output_dir(args)
    result = section6(
        sample,
        estimators,
        test_fraction=args.test_fraction,
        seed=args.seed,
        cnn_params=parse_params(args.param) or None,
        progress=progress(args),
    )
    for path in result.write(out, overwrite=True):
        print(f"wrote {path}")
    if args.save_models:
        for label, est in result.estimators.items():
            path = est.save(out / "models" / est.name)
            print(f"wrote the {label} to {path}")
    result.table.pprint(max_width=160, max_lines=-1)
    return 0
