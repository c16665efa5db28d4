"""Write the oldest supported versions of the runtime dependencies as pins.

Reads ``[project] dependencies`` and the ``test`` extra of ``pyproject.toml``
and turns every lower bound ``name>=X`` into ``name==X`` (what ``tox -e
test-oldestdeps`` installs; the test tools too, since a new pytest would not
run with the oldest pluggy).
Works offline, unlike tools that ask the PyPI JSON API.

Usage: ``python .ci/min_requirements.py OUTFILE``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def main(out: str) -> int:
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["test"]
    pins = []
    for dep in deps:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*", dep)
        if match is None:
            raise SystemExit(f"cannot read a lower bound from dependency {dep!r}")
        pins.append(f"{match[1]}=={match[2]}")
    Path(out).write_text("\n".join(pins) + "\n")
    print("\n".join(pins))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
