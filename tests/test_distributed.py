"""Dask: building samples, writing the mock and cross-validating on a LocalCluster.

Two single-threaded worker processes, a handful of clusters: seconds. Skipped
when dask.distributed is not installed (it is in the ``test`` extra, so CI
runs these).
"""

from __future__ import annotations

import filecmp
import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from astroclustermass.exceptions import (  # noqa: E402
    AstroClusterMassWarning,
    FileFormatError,
    InputError,
)
from astroclustermass.sample import ClusterSample  # noqa: E402
from astroclustermass.simulate import MockUniverse  # noqa: E402

pytestmark = pytest.mark.distributed

_BUILD = {"bands": ("bolometric", "erosita_3"), "npix": 16, "n_cube": 16, "progress": False}


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def mock6(tmp_path_factory):
    out = tmp_path_factory.mktemp("mock6") / "sim"
    return MockUniverse(n_clusters=6, seed=3).write(out, n_jobs=1, progress=False)


def _build(directory, path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstroClusterMassWarning)  # zero cubes of poor clusters
        return ClusterSample.build(directory, path=path, **_BUILD, **kw)


def _assert_files_equal_array_for_array(a, b):
    assert a.catalog.colnames == b.catalog.colnames
    for c in a.catalog.colnames:
        np.testing.assert_array_equal(np.asarray(a.catalog[c]), np.asarray(b.catalog[c]))
    assert list(a.band_sets) == list(b.band_sets)
    for name in a.band_sets:
        np.testing.assert_array_equal(a.images(name), b.images(name))
        for src in a.sources:
            np.testing.assert_array_equal(a.source_images(name, src), b.source_images(name, src))
    np.testing.assert_array_equal(a.cubes, b.cubes)
    for c in a.observables.colnames:
        np.testing.assert_array_equal(np.asarray(a.observables[c]), np.asarray(b.observables[c]))
    assert a.meta == b.meta


def test_mock_written_with_one_and_two_workers_is_byte_identical(client, mock6, tmp_path):
    """Every file of the mock is the same whether 1 process or 2 Dask workers wrote it."""
    two = MockUniverse(n_clusters=6, seed=3).write(tmp_path / "two", client=client, progress=False)
    local = sorted(p.relative_to(mock6) for p in mock6.rglob("*") if p.is_file())
    dask = sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    assert local == dask and len(local) == 6 + 3
    for rel in local:
        assert filecmp.cmp(mock6 / rel, two / rel, shallow=False), rel


def test_build_on_two_workers_equals_local_build(client, mock6, tmp_path):
    """The HDF5 sample built on a 2-worker LocalCluster equals the local one array for array."""
    local = _build(mock6, tmp_path / "local.h5", n_jobs=1)
    dask = _build(mock6, tmp_path / "dask.h5", client=client)
    assert len(dask) == len(local) == 6
    assert dask.images("bolometric").sum() > 0 and dask.cubes.any()
    _assert_files_equal_array_for_array(local, dask)


def test_corrupt_event_file_reported_by_name_under_dask(client, mock6, tmp_path):
    """A corrupt file among good ones fails the build naming it, or is skipped and recorded."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(mock6, data)
    bad = sorted((data / "events").iterdir())[2]
    bad.write_bytes(b"SIMPLE  = not a FITS file")
    with pytest.raises(FileFormatError, match=bad.name):
        _build(data, tmp_path / "raise.h5", client=client)
    assert not (tmp_path / "raise.h5").exists()
    with pytest.warns(AstroClusterMassWarning, match="skipped 1 cluster"):
        s = ClusterSample.build(
            data, path=tmp_path / "skip.h5", on_error="skip", client=client, **_BUILD
        )
    assert len(s) == 5
    assert s.meta["build"]["skipped_ids"] == [2]


def test_client_must_be_a_dask_client(mock6):
    with pytest.raises(InputError, match="dask.distributed.Client"):
        ClusterSample.build(mock6, client=object(), **_BUILD)


def test_cross_validate_on_dask_equals_local(client):
    """Folds as Dask tasks: the same out-of-fold predictions as in this process."""
    from astroclustermass.evaluation import cross_validate
    from astroclustermass.testing import make_tiny_sample

    s = make_tiny_sample(n=48, npix=16, seed=5)
    params = {
        "network_params": {"conv": (4, 4, 4, 4), "dense": (8,)},
        "max_epochs": 2,
        "batch_size": 16,
        "device": "cpu",
        "seed": 1,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstroClusterMassWarning)
        local = cross_validate("single_band_cnn", s, folds=2, **params)
        dask = cross_validate("single_band_cnn", s, folds=2, client=client, **params)
    np.testing.assert_array_equal(local["log10_m500c"], dask["log10_m500c"])
    np.testing.assert_array_equal(local["fold"], dask["fold"])
    assert len(dask.meta["folds"]) == 2


def _malloc_state(_item):
    import os

    from astroclustermass._utils import _processes

    return "MALLOC_TRIM_THRESHOLD_" in os.environ, _processes._malloc_tuned


def test_dask_workers_raise_the_malloc_thresholds_the_nanny_pins(client):
    # the nanny pins glibc's thresholds (numpy temporaries then page-fault on every
    # allocation); every task of map_unordered first raises them in its worker
    import sys

    from astroclustermass._utils._processes import map_unordered

    results = dict(map_unordered(_malloc_state, list(range(4)), client=client))
    assert sorted(results) == [0, 1, 2, 3]
    for pinned, tuned in results.values():
        assert tuned == (pinned and sys.platform.startswith("linux"))
