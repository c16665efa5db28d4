"""Run the speed benchmarks: ``python -m astroclustermass.benchmarks [binning|training|all]``.

Each benchmark prints timings as ratios against a baseline measured in the
same run, so numbers from different machines can be compared.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from collections.abc import Sequence

__all__ = ["main"]

SUITES = {"binning": "bench_binning", "training": "bench_training"}


def _run(module_name: str, rest: list[str]) -> int:
    module = importlib.import_module(
        f"{__package__ or 'astroclustermass.benchmarks'}.{module_name}"
    )
    func = module.main
    takes_args = bool(inspect.signature(func).parameters)
    status = func(rest) if takes_args else func()
    return int(status or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected speed benchmark suite(s); returns the exit status.

    Examples
    --------
    >>> main(["--help"])  # doctest: +ELLIPSIS
    usage: python -m astroclustermass.benchmarks ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m astroclustermass.benchmarks",
        description="Speed benchmarks of astroclustermass (ratios against in-run baselines). "
        "Arguments after the suite name are passed on to it.",
    )
    parser.add_argument(
        "suite", nargs="?", default="all", choices=[*SUITES, "all"], help="which suite to run (all)"
    )
    try:
        args, rest = parser.parse_known_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    names = list(SUITES) if args.suite == "all" else [args.suite]
    status = 0
    for name in names:
        print(f"== {name} ==", flush=True)
        status = max(status, _run(SUITES[name], rest))
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
