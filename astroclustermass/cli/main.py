"""The main parser and entry point: dispatch to the command modules, one-line errors.

Examples
--------
>>> sorted(build_parser()._subparsers._group_actions[0].choices)[:3]
['benchmark', 'build', 'dynamics']
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from ..exceptions import AstroClusterMassError
from ..version import __version__
from . import benchmark, build, dynamics, explain, plugins, predict, simulate, train
from ._common import PROG, cli_message, show_warning

#: The commands, in the order ``--help`` lists them.
COMMANDS = (simulate, build, train, predict, explain, dynamics, benchmark, plugins)


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
    for command in COMMANDS:
        command.add_parser(sub)
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
            warnings.showwarning = show_warning
            return int(args.func(args) or 0)
    except (AstroClusterMassError, OSError) as err:  # bad input, missing/unwritable files
        if args.debug:
            raise
        print(f"{PROG} {args.command}: error: {cli_message(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug, or an input no check caught yet: one line, no source
        if args.debug:
            raise
        print(
            f"{PROG} {args.command}: internal error: {type(err).__name__}: "
            f"{cli_message(str(err))} (rerun with --debug for the traceback, and please "
            "report it)",
            file=sys.stderr,
        )
        return 1
