"""Survey depth: exposure per cluster, count rates, the CNN depth input and its warnings."""

import warnings

import numpy as np
import pytest

from astroclustermass.estimators import MassEstimator
from astroclustermass.exceptions import IncompatibleSampleError, InputError, OutOfRangeWarning
from astroclustermass.sample import ClusterSample, iterative_r500c
from astroclustermass.sample.depth import (
    aperture_exposure,
    cluster_exposure,
    count_rate,
    with_count_rates,
)
from astroclustermass.simulate import MockSurvey, MockUniverse
from astroclustermass.testing import make_tiny_sample

_TINY_NET = {"conv": (2, 2, 2, 2), "dense": (4,)}


def test_aperture_exposure_matches_a_hand_calculation():
    npix, aperture = 6, 3.0  # pixel centres at -2.5, -1.5, ..., 2.5
    i, j = np.meshgrid(np.arange(npix), np.arange(npix), indexing="ij")
    expmap = 100.0 * i + 10.0 * j  # a depth gradient across the image
    expmap[0, 0] = 0.0  # a masked / off-survey pixel counts with 0 s
    assert aperture_exposure(expmap, aperture) == pytest.approx(expmap.mean())
    centres = np.arange(npix) - 2.5
    inside = [
        expmap[a, b]
        for a in range(npix)
        for b in range(npix)
        if centres[a] ** 2 + centres[b] ** 2 <= 2.0**2
    ]  # the 12 pixels whose centres lie within 2 of the centre
    assert len(inside) == 12
    assert aperture_exposure(expmap, aperture, 2.0) == pytest.approx(np.mean(inside))
    # several maps, one radius each; a tiny radius keeps the 4 central pixels, NaN gives NaN
    both = aperture_exposure(np.stack([expmap, 2 * expmap]), aperture, [2.0, 0.1])
    assert both[0] == pytest.approx(np.mean(inside))
    assert both[1] == pytest.approx(2 * expmap[2:4, 2:4].mean())
    assert np.isnan(aperture_exposure(expmap, aperture, float("nan")))
    with pytest.raises(InputError, match="shape"):
        aperture_exposure(np.ones(5), aperture)
    assert count_rate([10, 5], [100.0, 0.0])[0] == pytest.approx(0.1)
    assert np.isnan(count_rate([10, 5], [100.0, 0.0])[1])


@pytest.fixture(scope="module")
def survey_sample(tmp_path_factory):
    d = tmp_path_factory.mktemp("depth") / "s"
    MockSurvey(n_clusters=6, seed=3, n_ra=2, n_dec=2, tile_size=1.0, overlap=0.2).write(
        d, per_cluster=False, progress=False
    )
    names = {"ra": "RA", "dec": "DEC", "redshift": "BEST_Z", "id": "ID_SRC"}
    return ClusterSample.build(
        d, catalog="clusters.ecsv", column_map=names, npix=16, n_jobs=1, progress=False
    )


def test_survey_build_stores_the_mean_exposure_and_count_rates(survey_sample):
    s = survey_sample
    obs = s.observables
    maps = np.asarray(s.maps("exposure"), float)
    assert str(obs["exposure"].unit) == "s" and str(obs["rate_500c"].unit) == "1 / s"
    np.testing.assert_allclose(obs["exposure"], maps.mean(axis=(1, 2)), rtol=1e-6)
    r500 = np.asarray(s.catalog["r500c"], float)
    np.testing.assert_allclose(
        obs["exposure_500c"], aperture_exposure(maps, s.aperture, r500), rtol=1e-6
    )
    np.testing.assert_allclose(obs["rate"], np.asarray(obs["n_phot"]) / obs["exposure"])
    np.testing.assert_allclose(
        obs["rate_500c"], np.asarray(obs["n_phot_500c"]) / obs["exposure_500c"]
    )
    # the centre's exposure is kept; the maps vary little across an image inside the survey,
    # and one reaching over the survey's edge (0 s there) has a lower mean
    full = (maps > 0).all(axis=(1, 2))
    assert full.any() and not full.all()
    centre, mean = np.asarray(obs["exposure_centre"]), np.asarray(obs["exposure"])
    np.testing.assert_allclose(centre[full], mean[full], rtol=0.01)
    assert np.all(mean[~full] < 0.99 * centre[~full])
    np.testing.assert_allclose(cluster_exposure(s), obs["exposure"])
    again = with_count_rates(s)
    np.testing.assert_allclose(again.observables["rate_500c"], obs["rate_500c"], rtol=1e-6)
    # the iterative R500c (no truth) recounts n_phot_500c; the rate follows its radius
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = iterative_r500c(s, lambda n, z: 13.0 + 0.5 * np.log10(np.maximum(n, 1)))
    o = it.observables
    r_it = np.asarray(o["r500c_iter"], float)
    np.testing.assert_allclose(o["exposure_500c"], aperture_exposure(maps, s.aperture, r_it))
    np.testing.assert_allclose(o["rate_500c"], np.asarray(o["n_phot_500c"]) / o["exposure_500c"])


def test_count_rate_is_invariant_under_the_exposure(tmp_path):
    """The same clusters observed for 500 s and 2 ks: 4x the counts, the same rate."""
    samples = {}
    for t in (500.0, 2000.0):
        d = tmp_path / f"t{t:g}"
        MockUniverse(n_clusters=12, seed=4, exposure=t).write(d, n_jobs=1, progress=False)
        samples[t] = ClusterSample.build(d, npix=16, n_jobs=1, progress=False)
        assert np.all(np.asarray(samples[t].observables["exposure_500c"]) == t)
    deep, shallow = samples[2000.0].observables, samples[500.0].observables
    counts = np.asarray(deep["n_phot_500c"], float) / shallow["n_phot_500c"]
    rates = np.asarray(deep["rate_500c"], float) / shallow["rate_500c"]
    assert np.median(counts) == pytest.approx(4.0, rel=0.1)
    assert np.median(rates) == pytest.approx(1.0, rel=0.1)
    # a power law fitted at 2 ks on the counts predicts the 500 s clusters far too low; on
    # the rate the depth drops out
    truth = np.asarray(samples[500.0].catalog["log10_m500c"])
    bias = {}
    for obs in ("rate_500c", "n_phot_500c"):
        est = MassEstimator.from_name("power_law", observable=obs).fit(samples[2000.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bias[obs] = float(np.median(est.predict(samples[500.0])["log10_m500c"] - truth))
    assert bias["n_phot_500c"] < -0.3, bias
    assert abs(bias["rate_500c"]) < abs(bias["n_phot_500c"]) / 2, bias


def _with_exposure(sample, exposure):
    out = sample[np.arange(len(sample))]
    out.catalog["exposure"] = np.broadcast_to(np.asarray(exposure, float), (len(out),)).copy()
    return out


@pytest.fixture(scope="module")
def varying():
    s = make_tiny_sample(n=64, bands=("erosita_3",), npix=16, seed=2)
    rng = np.random.default_rng(0)
    return _with_exposure(s, 10 ** rng.uniform(2.3, 3.3, len(s)))


@pytest.mark.parametrize("mode", ["scale", "map"])
def test_depth_input_round_trips_and_moves_predictions(varying, mode, tmp_path):
    est = MassEstimator.from_name(
        "multiband_cnn", depth_input=mode, max_epochs=8, batch_size=16, device="cpu",
        num_threads=1, network_params=_TINY_NET, seed=0,
    )  # fmt: skip
    est.fit(varying, progress=False)
    path = tmp_path / "model"
    est.save(path)
    back = MassEstimator.load(path)
    assert back.get_params()["depth_input"] == mode
    assert back.input_shapes_["image"][0] == (4 if mode == "map" else 3)
    a = est.predict(varying)["log10_m500c"]
    np.testing.assert_allclose(back.predict(varying)["log10_m500c"], a, atol=1e-5)
    # the same counts at a quarter of the exposure: the inputs change (scale: 4x the
    # counts; map: a lower exposure channel)
    shallow = _with_exposure(varying, np.asarray(varying.catalog["exposure"]) / 4)
    x, x_low = est._make_inputs(varying, fit=False), est._make_inputs(shallow, fit=False)
    if mode == "scale":  # a brighter cluster in every pixel and band
        assert np.all(x_low["image"] >= x["image"] - 1e-5)
        assert x_low["image"].mean() > x["image"].mean()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b = back.predict(shallow)["log10_m500c"]
        assert np.mean(b) > np.mean(a)  # ... and a larger mass
    else:  # the counts channels unchanged, the exposure channel lower everywhere
        np.testing.assert_array_equal(x_low["image"][:, :3], x["image"][:, :3])
        assert np.all(x_low["image"][:, 3] < x["image"][:, 3])
    with pytest.raises(InputError, match="forward_counts does not take"):
        back.torch_inputs(np.zeros((1, 3, 16, 16)), [0.1])
    bare = varying[np.arange(len(varying))]
    bare.catalog.remove_column("exposure")
    with pytest.raises(IncompatibleSampleError, match="needs each cluster's exposure"):
        back.predict(bare)


def _messages(fn, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(*args)
    return [str(w.message) for w in caught if issubclass(w.category, OutOfRangeWarning)]


def test_depth_mismatch_warns_without_depth_input(varying):
    params = {"max_epochs": 1, "batch_size": 16, "device": "cpu", "num_threads": 1,
              "network_params": _TINY_NET}  # fmt: skip
    at_2ks = _with_exposure(varying, 2000.0)
    plain = MassEstimator.from_name("multiband_cnn", **params).fit(at_2ks, progress=False)
    assert MassEstimator.from_name("multiband_cnn").depth_input is None
    msgs = _messages(plain.predict, _with_exposure(varying, 200.0))
    assert any("exposure time" in m and "depth_input='map'" in m for m in msgs), msgs
    assert any("log10 exposure" in m for m in msgs), msgs  # the domain check names it too
    # a depth-input model trained across depths predicts inside its range without the
    # exposure warning, and warns (without the hint) outside it
    deep = MassEstimator.from_name("multiband_cnn", depth_input="map", **params)
    deep.fit(varying, progress=False)
    inside = _with_exposure(varying, float(np.median(varying.catalog["exposure"])))
    assert not any("exposure time" in m for m in _messages(deep.predict, inside))
    msgs = _messages(deep.predict, _with_exposure(varying, 20.0))
    assert any("exposure time" in m for m in msgs)
    assert not any("depth_input=" in m for m in msgs)
