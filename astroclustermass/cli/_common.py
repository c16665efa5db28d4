"""What every command shares: option parsers, ``--out`` checks, messages in CLI spelling.

Examples
--------
>>> parse_params(["max_epochs=5", "bands=['soft', 'hard']"])
{'max_epochs': 5, 'bands': ['soft', 'hard']}
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from argparse import SUPPRESS
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..exceptions import InputError

PROG = "astroclustermass"


def parse_value(text: str) -> Any:
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


def parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param expects key=value; got {item!r}")
        params[key.strip()] = parse_value(value.strip())
    return params


def folds(text: str) -> str | int:
    from ..sample.folds import parse_fold_spec

    try:
        return parse_fold_spec(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(f"--{err}") from None


def exposure(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def tiles(text: str) -> tuple[int, int]:
    try:
        n_ra, n_dec = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"tiles are NRAxNDEC, e.g. 3x3; got {text!r}") from err
    return n_ra, n_dec


def add_param_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help=help)


def output_dir(args: argparse.Namespace) -> Path:
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


def given(args: argparse.Namespace, **names: str) -> dict[str, Any]:
    """``{parameter: value}`` for the options the user gave (``option_dest=parameter``).

    Options declared with ``default=argparse.SUPPRESS`` are absent from
    ``args`` unless given, so the Python API's own defaults apply otherwise.
    """
    return {param: getattr(args, dest) for dest, param in names.items() if hasattr(args, dest)}


def output_file(args: argparse.Namespace) -> Path:
    """``--out`` as a file that is new or may be replaced (``--overwrite``); checked before work."""
    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"{out} is a directory; --out must name a file")
    if out.exists() and not args.overwrite:
        raise InputError(f"{out} exists; pass --overwrite to replace it")
    return out


#: Python keyword spellings in package messages, as the command line spells them.
CLI_SPELLING = {
    "overwrite=True": "--overwrite",
    "on_error='skip'": "--on-error skip",
}


def cli_message(text: str) -> str:
    """A package message with its Python spellings replaced by command-line options.

    Examples
    --------
    >>> cli_message("out.h5 exists; pass overwrite=True to replace it")
    'out.h5 exists; pass --overwrite to replace it'
    """
    for python, cli in CLI_SPELLING.items():
        text = text.replace(python, cli)
    return " ".join(text.split())  # one line


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line, without the Python source line it came from."""
    name = "warning" if issubclass(category, UserWarning) else category.__name__
    print(f"{PROG}: {name}: {cli_message(str(message))}", file=sys.stderr)


def progress(args: argparse.Namespace) -> bool | None:
    return False if getattr(args, "quiet", False) else None


def survey_build_options(args: argparse.Namespace) -> dict:
    """ClusterSample.build options of --catalog, --column-map, --survey, --source-catalog."""
    options = given(args, catalog="catalog", source_catalog="source_catalog")
    if getattr(args, "column_map", None):
        options["column_map"] = parse_column_map(args.column_map)
    if getattr(args, "survey", False):
        options["survey"] = True
    return options


def parse_column_map(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        ours, sep, theirs = item.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise InputError(f"--column-map takes OURS=THEIRS (e.g. redshift=BEST_Z); got {item!r}")
        out[ours.strip()] = theirs.strip()
    return out


def add_survey_options(p: argparse.ArgumentParser) -> None:
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
