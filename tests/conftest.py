"""Shared fixtures: one small seeded mock universe and the sample built from it."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("ASTROCLUSTERMASS_PROGRESS", "0")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mock_dir(tmp_path_factory):
    """A 48-cluster mock universe written by the package's own simulator."""
    from astroclustermass.simulate import MockUniverse

    out = tmp_path_factory.mktemp("mock")
    MockUniverse(n_clusters=48, seed=1).write(out, n_jobs=1, progress=False, overwrite=True)
    return out


@pytest.fixture(scope="session")
def tiny_sample(mock_dir):
    """The mock universe binned at 32² in the bolometric and eROSITA 3-band sets."""
    from astroclustermass.sample import ClusterSample

    return ClusterSample.build(
        mock_dir,
        bands=("bolometric", "erosita_3"),
        npix=32,
        dynamics=True,
        n_jobs=1,
        progress=False,
    )
