"""The ``astroclustermass`` command line: a thin layer over the public API.

::

    astroclustermass simulate --n-clusters 600 --seed 0 --out mock/
    astroclustermass build mock/ --out sample.h5 --npix 64
    astroclustermass train multiband_cnn --sample sample.h5 --out model/ --param max_epochs=50
    astroclustermass predict model/ --sample sample.h5 --out predictions.ecsv
    astroclustermass explain model/ sample.h5 --out explain/ --indices 12 40
    astroclustermass explain --section6 sample.h5 --out section6/ --param max_epochs=30
    astroclustermass dynamics multiband_cnn --sample sample.h5 --out dynamics/
    astroclustermass benchmark --preset quick
    astroclustermass plugins

Errors the package raises on purpose (`~astroclustermass.exceptions.AstroClusterMassError`)
and file-system errors print one line to standard error, with options in their
command-line spelling (``--overwrite``, ``--on-error skip``), and exit with
status 2; anything else is reported as an internal error on one line (status
1). Warnings print one line each, without Python source. ``--debug`` shows the
traceback instead. ``--out`` is checked before any work: an existing file or
non-empty directory is refused unless ``--overwrite`` is given, and even then
only the files the command writes are replaced (``train`` and ``simulate``
refuse a directory that holds anything else).

Examples
--------
>>> main(["--version"])  # doctest: +ELLIPSIS
astroclustermass ...
0
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import warnings
from argparse import SUPPRESS
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._utils import defaults
from .exceptions import AstroClusterMassError, InputError
from .version import __version__

__all__ = ["main", "build_parser"]

PROG = "astroclustermass"


def _parse_value(text: str) -> Any:
    """Interpret a ``--param`` value: JSON / Python literal, else the string itself."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            continue
    lowered = text.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered in {"none", "null"}:
        return None
    return text


def _parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param expects key=value; got {item!r}")
        params[key.strip()] = _parse_value(value.strip())
    return params


def _folds(text: str) -> str | int:
    from .sample.folds import parse_fold_spec

    try:
        return parse_fold_spec(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(f"--{err}") from None


def _exposure(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _tiles(text: str) -> tuple[int, int]:
    try:
        n_ra, n_dec = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"tiles are NRAxNDEC, e.g. 3x3; got {text!r}") from err
    return n_ra, n_dec


def _add_param_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help=help)


def _output_dir(args: argparse.Namespace) -> Path:
    """``--out`` as a directory that is new, empty, or may be overwritten (``--overwrite``).

    The commands using it write a fixed set of files into the directory and
    leave everything else there alone.
    """
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a directory; choose another --out")
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise InputError(f"{out} exists and is not empty; pass --overwrite to replace its files")
    return out


def _given(args: argparse.Namespace, **names: str) -> dict[str, Any]:
    """``{parameter: value}`` for the options the user gave (``option_dest=parameter``).

    Options declared with ``default=argparse.SUPPRESS`` are absent from
    ``args`` unless given, so the Python API's own defaults apply otherwise.
    """
    return {param: getattr(args, dest) for dest, param in names.items() if hasattr(args, dest)}


def _output_file(args: argparse.Namespace) -> Path:
    """``--out`` as a file that is new or may be replaced (``--overwrite``); checked before work."""
    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"{out} is a directory; --out must name a file")
    if out.exists() and not args.overwrite:
        raise InputError(f"{out} exists; pass --overwrite to replace it")
    return out


#: Python keyword spellings in package messages, as the command line spells them.
_CLI_SPELLING = {
    "overwrite=True": "--overwrite",
    "on_error='skip'": "--on-error skip",
}


def _cli_message(text: str) -> str:
    """A package message with its Python spellings replaced by command-line options.

    Examples
    --------
    >>> _cli_message("out.h5 exists; pass overwrite=True to replace it")
    'out.h5 exists; pass --overwrite to replace it'
    """
    for python, cli in _CLI_SPELLING.items():
        text = text.replace(python, cli)
    return " ".join(text.split())  # one line


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line, without the Python source line it came from."""
    name = "warning" if issubclass(category, UserWarning) else category.__name__
    print(f"{PROG}: {name}: {_cli_message(str(message))}", file=sys.stderr)


def _progress(args: argparse.Namespace) -> bool | None:
    return False if getattr(args, "quiet", False) else None


# ------------------------------------------------------------------ commands
def _cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import MockSurvey, MockUniverse

    if args.survey:
        n_ra, n_dec = args.tiles
        survey = MockSurvey(
            args.n_clusters,
            n_ra=n_ra,
            n_dec=n_dec,
            **_given(args, seed="seed", depth="depth", tile_size="tile_size", overlap="overlap"),
        )
        out = survey.write(args.out, progress=_progress(args), overwrite=args.overwrite)
        print(f"wrote {survey!r} to {out}")
        return 0

    universe = MockUniverse(args.n_clusters, **_given(args, seed="seed", exposure="exposure"))
    out = universe.write(
        args.out,
        progress=_progress(args),
        overwrite=args.overwrite,
        **_given(args, n_jobs="n_jobs"),
    )
    print(f"wrote {args.n_clusters} clusters to {out or args.out}")
    if args.report:
        from .simulate import calibration_report

        print(calibration_report(args.out))
    return 0


def _survey_build_options(args: argparse.Namespace) -> dict:
    """ClusterSample.build options of --catalog, --column-map, --survey, --source-catalog."""
    options = _given(args, catalog="catalog", source_catalog="source_catalog")
    if getattr(args, "column_map", None):
        options["column_map"] = _parse_column_map(args.column_map)
    if getattr(args, "survey", False):
        options["survey"] = True
    return options


def _parse_column_map(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        ours, sep, theirs = item.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise InputError(f"--column-map takes OURS=THEIRS (e.g. redshift=BEST_Z); got {item!r}")
        out[ours.strip()] = theirs.strip()
    return out


def _add_survey_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", default=SUPPRESS, help="catalogue file in the directory")
    p.add_argument(
        "--column-map",
        action="append",
        metavar="OURS=THEIRS",
        help="map a catalogue column onto the package's name, e.g. redshift=BEST_Z (repeat)",
    )
    p.add_argument(
        "--survey",
        action="store_true",
        help="read survey tiles (auto-detected: a catalogue without 'file' next to tiles.fits)",
    )
    p.add_argument(
        "--source-catalog", default=SUPPRESS, help="point-source catalogue to mask (FITS/ECSV)"
    )


def _cmd_build(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from ._utils._processes import dask_client
    from .sample import ClusterSample

    _output_file(args)
    options = _given(
        args,
        bands="bands",
        npix="npix",
        aperture="aperture",
        n_cube="n_cube",
        cube_size="cube_size",
        cube_compression="cube_compression",
        n_jobs="n_jobs",
    )
    options.update(_survey_build_options(args))
    if "bands" in options:
        options["bands"] = tuple(options["bands"])
    if options.get("cube_compression") == "none":
        options["cube_compression"] = None
    with dask_client(args.scheduler) if args.scheduler else nullcontext() as client:
        sample = ClusterSample.build(
            args.directory,
            dynamics=not args.no_dynamics,
            progress=_progress(args),
            on_error=args.on_error,
            path=args.out,
            overwrite=args.overwrite,
            client=client,
            **options,
        )
    print(f"wrote {sample!r} to {args.out}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .estimators import MassEstimator
    from .estimators._persistence import check_model_path
    from .sample import ClusterSample

    params = _parse_params(args.param)
    estimator = MassEstimator.from_name(args.name, **params)
    out = Path(args.out)
    empty = out.is_dir() and not any(out.iterdir())
    if out.exists() and not empty and not args.overwrite:
        raise InputError(f"{out} exists and is not empty; pass --overwrite to replace the model")
    check_model_path(out, overwrite=True)  # refuses a directory holding foreign files
    sample = ClusterSample.read(args.sample)
    estimator.fit(sample, progress=_progress(args))
    path = estimator.save(out)
    print(f"trained {estimator!r} on {len(sample)} clusters; saved to {path}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from ._utils import atomic_write
    from .estimators import MassEstimator
    from .sample import ClusterSample

    out = _output_file(args)
    estimator = MassEstimator.load(args.model)
    sample = ClusterSample.read(args.sample)
    prediction = estimator.predict(sample, progress=_progress(args))
    with atomic_write(out) as tmp:
        prediction.write(tmp, format="ascii.ecsv", overwrite=True)
    print(f"wrote {len(prediction)} predictions to {out}")
    _print_intervals(prediction)
    if prediction.has_truth:
        from .evaluation.metrics import summarize

        s = summarize(prediction)
        print(
            f"scatter {s['scatter_dex']:.4f} dex ({s['scatter_percent']:.2f}%), "
            f"bias {s['bias_dex']:+.4f} dex"
        )
        for level in prediction.interval_levels:
            from .evaluation.calibration import interval_coverage

            print(
                f"coverage of the {level:.0%} intervals: {interval_coverage(prediction, level):.3f}"
            )
    return 0


def _print_intervals(prediction) -> None:
    """The interval columns written, their mean width, and the out-of-distribution count."""
    import numpy as np

    from .estimators.prediction import interval_columns

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


def _cmd_explain(args: argparse.Namespace) -> int:
    import numpy as np

    from ._utils import atomic_write
    from .attribution import Attribution, plot_radial_profile, radial_profile
    from .estimators import MassEstimator
    from .sample import ClusterSample

    if args.section6:
        return _explain_section6(args)
    if len(args.paths) != 2:
        raise InputError("explain takes a model directory and a sample (or --section6 SAMPLE)")
    estimator = MassEstimator.load(args.paths[0])
    sample = ClusterSample.read(args.paths[1])
    if args.indices:
        sample = sample[_rows_of_ids(sample, args.indices)]
    out = _output_dir(args)
    method = Attribution.from_name(args.method, **_parse_params(args.param))
    amap = method.attribute(estimator, sample, batch_size=args.batch_size, progress=_progress(args))
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


def _explain_section6(args: argparse.Namespace) -> int:
    from .attribution.section6 import section6
    from .estimators import MassEstimator
    from .sample import ClusterSample

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
    out = _output_dir(args)
    result = section6(
        sample,
        estimators,
        test_fraction=args.test_fraction,
        seed=args.seed,
        cnn_params=_parse_params(args.param) or None,
        progress=_progress(args),
    )
    for path in result.write(out, overwrite=True):
        print(f"wrote {path}")
    result.table.pprint(max_width=160, max_lines=-1)
    return 0


def _cmd_dynamics(args: argparse.Namespace) -> int:
    import numpy as np

    from ._utils import atomic_write
    from .attribution import channel_dynamics
    from .estimators import MassEstimator
    from .sample import ClusterSample

    if not 0 < args.test_fraction < 1:
        raise InputError(f"--test-fraction must be in (0, 1); got {args.test_fraction}")
    out = _output_dir(args)
    estimator = MassEstimator.from_name(args.name, **_parse_params(args.param))
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
        progress=_progress(args),
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


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from .benchmarks.pipeline import format_table, run_benchmark

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
        progress=_progress(args),
        build_options=_survey_build_options(args) or None,
    )
    print(format_table(result.table))
    print(f"\nreport: {result.report}  (total {sum(result.timings.values()):.0f} s)")
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import attribution_registry, estimator_registry, list_plugins

    print("plugins:")
    for p in list_plugins():
        version = f" {p['version']}" if p["version"] else ""
        status = "" if p["status"] == "loaded" else f"  [{p['status']}]"
        print(f"  {p['name']}{version}{status}")
    for title, registry in (
        ("estimators", estimator_registry()),
        ("attributions", attribution_registry()),
    ):
        print(f"{title}:")
        described = registry.describe()
        width = max((len(n) for n in described), default=0)
        for name, text in described.items():
            try:
                origin = registry.entry(name).plugin
            except AstroClusterMassError as err:  # a plugin whose class cannot be imported
                origin = f"unavailable: {err}"
            tail = f"  (from {origin})" if origin and origin != "builtin" else ""
            print(f"  {name:<{width}}  {text}{tail}")
    return 0


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``astroclustermass`` command.

    Examples
    --------
    >>> build_parser().parse_args(["plugins"]).command
    'plugins'
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Galaxy-cluster masses from X-ray photon event lists.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from .attribution.base import DEFAULT_METHOD as DEFAULT_EXPLAIN_METHOD

    p = sub.add_parser("simulate", help="write a mock universe (event files + catalogues)")
    p.add_argument("--n-clusters", type=int, required=True, help="number of clusters")
    p.add_argument("--seed", type=int, default=SUPPRESS, help="random seed (0)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument(
        "--exposure",
        type=_exposure,
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
        "--tiles", type=_tiles, default=(3, 3), metavar="NRAxNDEC", help="survey tiles (3x3)"
    )
    p.add_argument("--tile-size", type=float, default=SUPPRESS, help="tile side, deg (3.6)")
    p.add_argument("--overlap", type=float, default=SUPPRESS, help="tile overlap, deg (1/3)")
    p.add_argument(
        "--depth",
        type=_exposure,
        default=SUPPRESS,
        help="survey depth: erass1 (varying, default), paper/uniform (2 ks) or seconds",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier simulation in --out (a directory holding other files is refused)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_simulate)

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
    _add_survey_options(p)
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("train", help="fit a registered estimator and save it")
    p.add_argument("name", help="estimator name (see `astroclustermass plugins`)")
    p.add_argument("--sample", required=True, help="training sample (HDF5)")
    p.add_argument("--out", required=True, help="model directory to write")
    _add_param_option(p, "hyper-parameter, repeatable (values parsed as JSON/Python literals)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a saved model in --out (a directory holding other files is refused)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("predict", help="predict masses with a saved model")
    p.add_argument("model", help="model directory written by `train`")
    p.add_argument("--sample", required=True, help="sample (HDF5)")
    p.add_argument("--out", required=True, help="output ECSV table")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_predict)

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
    p.add_argument("--test-fraction", type=float, default=0.3, help="--section6: held out (0.3)")
    p.add_argument("--seed", type=int, default=0, help="--section6: split and CNN seed (0)")
    _add_param_option(
        p,
        "parameter of the method (with --section6: of the CNNs), repeatable (e.g. absolute=false)",
    )
    p.add_argument("--batch-size", type=int, default=16, help="clusters per batch (16)")
    p.add_argument("--n-plots", type=int, default=4, help="per-cluster PNGs to write (4)")
    p.add_argument("--overwrite", action="store_true", help="replace files in --out")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_explain)

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
    _add_param_option(p, "hyper-parameter of the estimator, repeatable")
    p.add_argument("--overwrite", action="store_true", help="replace files in --out")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_dynamics)

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
    p.add_argument("--folds", type=_folds, help="'octant', 'kfold' or a number of random folds")
    p.add_argument("--npix", type=int, help="pixels per image side (preset's value)")
    p.add_argument("--epochs", type=int, help="maximum training epochs (preset's value)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:n] (auto)")
    p.add_argument("--out", default="acm-benchmark", help="output directory (acm-benchmark)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--n-jobs", type=int, default=2, help="worker processes for simulate/build (2)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_survey_options(p)
    p.set_defaults(func=_cmd_benchmark)

    p = sub.add_parser("plugins", help="list plugins, estimators and attribution methods")
    p.set_defaults(func=_cmd_plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on an error the package reports (bad input, unknown
        name, missing file) or a usage error.

    Examples
    --------
    >>> main(["train", "no_such_estimator", "--sample", "s.h5", "--out", "m"])
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code) if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except (AstroClusterMassError, OSError) as err:  # bad input, missing/unwritable files
        if args.debug:
            raise
        print(f"{PROG} {args.command}: error: {_cli_message(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug, or an input no check caught yet: one line, no source
        if args.debug:
            raise
        print(
            f"{PROG} {args.command}: internal error: {type(err).__name__}: "
            f"{_cli_message(str(err))} (rerun with --debug for the traceback, and please "
            "report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
