"""Why `integrated_gradients` is the default of single-cluster explanations: numbers.

A CNN trained on package-made clusters (`make_tiny_sample`: a Gaussian
blob of photons whose amplitude grows with mass, on a sky where 3 pixels in
4 are empty) is shown the same clusters with a bright extended source next
to them, which raises its estimate. The default method must put the
attribution on the cluster and on that source; plain saliency per count puts
it on the empty pixels (the gradient of log10(n + 1) is largest at n = 0).
The colour bars and PNG names of `explain` are checked here too.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pytest

from astroclustermass._utils import defaults
from astroclustermass.attribution import Attribution
from astroclustermass.estimators import MassEstimator
from astroclustermass.exceptions import OutOfRangeWarning
from astroclustermass.sample import ClusterSample
from astroclustermass.testing import make_tiny_sample

NPIX = 32
CENTRE = (NPIX - 1) / 2.0
SOURCE = (CENTRE + 9.0, CENTRE)  # 9 pixels (0.65 h^-1 Mpc) east of the cluster centre
CNN = {
    "network_params": {"conv": (8, 8, 8, 8), "dense": (16, 16, 8)},
    "max_epochs": 30,
    "batch_size": 16,
    "device": "cpu",
    "num_threads": 1,
    "seed": 0,
}


def _disk(x0: float, y0: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[:NPIX, :NPIX]
    return (xx - x0) ** 2 + (yy - y0) ** 2 <= radius**2


@pytest.fixture(scope="module")
def cnn():
    train = make_tiny_sample(n=160, npix=NPIX, seed=0)
    return MassEstimator.from_name("single_band_cnn", **CNN).fit(train, progress=False)


@pytest.fixture(scope="module")
def clusters():
    """(clean, with a source) samples of the same 16 clusters."""
    clean = make_tiny_sample(n=16, npix=NPIX, seed=1)
    clean.catalog["id"] = 1000 + 7 * np.arange(16)  # ids that are not row numbers
    yy, xx = np.mgrid[:NPIX, :NPIX]
    blob = np.exp(-((xx - SOURCE[0]) ** 2 + (yy - SOURCE[1]) ** 2) / (2 * 1.5**2))
    extra = np.random.default_rng(5).poisson(8.0 * np.broadcast_to(blob, (16, 1, NPIX, NPIX)))
    dirty = ClusterSample.from_arrays(
        clean.catalog,
        images={"bolometric": clean.images("bolometric") + extra.astype(np.int32)},
        band_sets=clean.band_sets,
        observables=clean.observables,
        npix=NPIX,
    )
    return clean, dirty


def _shares(amap, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Share of each cluster's total |attribution| on the source, cluster, empty pixels."""
    a = np.abs(amap.values[:, 0])
    total = a.sum(axis=(1, 2))
    regions = {
        "source": _disk(*SOURCE, 4.0),
        "cluster": _disk(CENTRE, CENTRE, 8.0),
        "empty": counts[:, 0] == 0,
    }
    return {k: (a * m).sum(axis=(1, 2)) / total for k, m in regions.items()}


def test_the_default_method_explains_a_bright_neighbour_and_saliency_does_not(cnn, clusters):
    clean, dirty = clusters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        before = np.asarray(cnn.predict(clean, progress=False)["log10_m500c"])
        after = np.asarray(cnn.predict(dirty, progress=False)["log10_m500c"])
        default = Attribution.from_name(defaults.ATTRIBUTION_METHOD).attribute(
            cnn, dirty, progress=False
        )
        plain = Attribution.from_name("saliency").attribute(cnn, dirty, progress=False)
    # the neighbour raises the estimate: an over-estimate for the map to explain
    assert np.median(after - before) > 0.02
    counts = dirty.images("bolometric")
    ig, sal = _shares(default, counts), _shares(plain, counts)
    med = {m: {k: float(np.median(v)) for k, v in s.items()} for m, s in (("ig", ig), ("sal", sal))}
    # measured (seed 0): saliency 97 % on empty pixels, 1.5 % on the source, 10 % on the
    # cluster; integrated gradients 0 %, 14 % and 68 % (the source disk is 5 % of the map)
    assert med["sal"]["empty"] > 0.8
    assert np.all(ig["empty"] == 0.0)
    assert med["ig"]["source"] > 2 * _disk(*SOURCE, 4.0).mean()
    assert med["ig"]["source"] > 3 * med["sal"]["source"]
    assert med["ig"]["cluster"] + med["ig"]["source"] > 0.6
    assert med["ig"]["cluster"] + med["ig"]["source"] > 3 * (
        med["sal"]["cluster"] + med["sal"]["source"]
    )


def test_explain_uses_the_one_default():
    from astroclustermass.attribution.base import DEFAULT_METHOD
    from astroclustermass.cli import explain

    sub = argparse.ArgumentParser().add_subparsers()
    parser = explain.add_parser(sub)
    args = parser.parse_args(["model", "sample.h5", "--out", "x"])
    assert args.method == DEFAULT_METHOD == defaults.ATTRIBUTION_METHOD
    assert defaults.ATTRIBUTION_METHOD in Attribution.available()


@pytest.mark.parametrize(
    "name, params, words",
    [
        ("saliency", {}, "|∂log10 M/∂n| [dex per count]"),
        ("saliency", {"wrt": "input"}, "|∂log10 M/∂x|"),
        ("input_x_gradient", {}, "|n·∂log10 M/∂n [dex]|"),
        ("integrated_gradients", {}, "|integrated gradients from the empty baseline [dex]|"),
        ("integrated_gradients", {"baseline": "mean"}, "from the mean baseline"),
        ("smoothgrad", {}, "SmoothGrad (16× Poisson, λ=1) of |∂log10 M/∂n| [dex per count]"),
    ],
)
def test_colour_bars_say_what_each_map_shows(cnn, clusters, name, params, words):
    _, dirty = clusters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        amap = Attribution.from_name(name, **params).attribute(cnn, dirty[:2], progress=False)
    fig = amap.plot(0)
    labels = [ax.get_ylabel() for ax in fig.axes[1:]]
    assert labels == [amap.colorbar_label()]
    assert words in labels[0]


def test_explain_indices_and_png_names_are_cluster_ids(cnn, clusters, tmp_path, capsys):
    from astroclustermass.cli.main import main

    _, dirty = clusters
    cnn.save(tmp_path / "model")
    dirty.write(tmp_path / "sample.h5")
    ids = [int(i) for i in np.asarray(dirty.catalog["id"])[[5, 2]]]
    out = tmp_path / "explain"
    argv = ["explain", str(tmp_path / "model"), str(tmp_path / "sample.h5"), "--out", str(out)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        assert main([*argv, "--indices", *map(str, ids), "-q"]) == 0
    assert sorted(p.name for p in out.glob("map_*.png")) == sorted(f"map_{i}.png" for i in ids)
    assert main([*argv, "--indices", "999", "-q", "--overwrite"]) != 0
    assert "999" in capsys.readouterr().err
