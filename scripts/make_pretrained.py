"""Regenerate the pretrained models shipped in astroclustermass/data/pretrained/.

Simulates the built-in mock, builds the sample, trains every model of
``astroclustermass.benchmarks.pretrained.SPECS`` on all octants but one and
writes each model with its card (``card.json`` and ``README.md``) to ``--out``.

    python scripts/make_pretrained.py                      # the shipped models (~1 h on 2 cores)
    python scripts/make_pretrained.py --tiny --out /tmp/p  # the whole chain in seconds
"""

from __future__ import annotations

import argparse
import time

from astroclustermass.benchmarks.pretrained import FULL, SPECS, TINY, make_pretrained
from astroclustermass.estimators.pretrained import PRETRAINED_DIR


def main() -> None:
    """Parse the command line and regenerate the models."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(PRETRAINED_DIR), help="where the models go")
    parser.add_argument("--names", nargs="+", choices=sorted(SPECS), help="which (all)")
    parser.add_argument("--tiny", action="store_true", help="40 clusters, 16² maps, 1 epoch")
    parser.add_argument(
        "--work", default="pretrained-work", help="simulation and sample cache (pretrained-work)"
    )
    parser.add_argument("--n-jobs", type=int, default=2, help="processes for simulate/build")
    args = parser.parse_args()
    config = dict(TINY if args.tiny else FULL)
    start = time.perf_counter()
    for path in make_pretrained(
        args.out, args.names, work_dir=args.work, n_jobs=args.n_jobs, progress=False, **config
    ):
        print(f"wrote {path}")
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
