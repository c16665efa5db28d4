"""Iterative R500c (no truth): fixed point, convergence on the survey mock, warnings."""

import numpy as np
import pytest

from astroclustermass import MassEstimator
from astroclustermass.cosmology import r500c_comoving
from astroclustermass.exceptions import ConvergenceWarning, InputError
from astroclustermass.sample import ClusterSample, iterative_r500c
from astroclustermass.sample.r500c import counts_within, radial_count_profiles
from astroclustermass.simulate import MockSurvey

MAP = {"ra": "RA", "dec": "DEC", "redshift": "BEST_Z", "id": "ID_SRC",
       "m500c": "M500", "r500c": "R500"}  # fmt: skip


@pytest.fixture(scope="module")
def survey_sample(tmp_path_factory):
    d = tmp_path_factory.mktemp("r5") / "s"
    MockSurvey(n_clusters=48, seed=2, n_ra=2, n_dec=2, tile_size=1.2, overlap=0.2).write(
        d, progress=False
    )
    return ClusterSample.build(d, catalog="clusters.ecsv", column_map=MAP, bands="bolometric",
                               npix=64, dynamics=False, progress=False, n_jobs=2)  # fmt: skip


def test_fixed_point_of_a_uniform_image_is_the_analytic_one():
    # uniform surface density: N(<r) = pi r^2 / pixel^2 (counts 1 per pixel); with
    # M = 1e12 N the fixed point solves R = r500c(1e12 pi R^2 / p^2)
    npix, z = 64, 0.3
    s = ClusterSample.from_arrays({"redshift": [z]},
                                  images={"bolometric": np.ones((1, 1, npix, npix), np.int32)})  # fmt: skip
    out = iterative_r500c(s, lambda n, zz: 12.0 + np.log10(n), rtol=1e-8, max_iter=200)
    r = float(out.observables["r500c_iter"][0])
    pix = 2 * 2.3 / npix
    expect = float(r500c_comoving(1e12 * np.pi * r**2 / pix**2, z))
    assert out.observables["r500c_converged"][0]
    np.testing.assert_allclose(r, expect, rtol=2e-3)  # 8x8 sub-pixels: ~0.1% in area
    np.testing.assert_allclose(out.observables["n_phot_500c"][0], np.pi * r**2 / pix**2, rtol=5e-3)


@pytest.mark.filterwarnings("ignore::astroclustermass.exceptions.OutOfRangeWarning")
def test_converges_on_the_survey_mock_without_truth(survey_sample):
    s = survey_sample
    # image counts at the true R500c = the build's photon counts, to a fraction of Poisson
    radii, prof = radial_count_profiles(s)
    image = counts_within(radii, prof, np.asarray(s.catalog["r500c"]))
    photons = np.asarray(s.observables["n_phot_500c"], float)
    assert np.median(np.abs(image - photons) / np.sqrt(photons + 1)) < 0.5
    est = MassEstimator.from_name("power_law", observable="n_phot_500c", redshift_bins=1,
                                  beta=0.0, min_per_bin=10).fit(s)  # fmt: skip
    catalog_r = s.catalog.copy()
    catalog_r.remove_column("r500c")  # nothing below may read the truth
    blind = ClusterSample.from_arrays(catalog_r, images={"bolometric": s.images("bolometric")},
                                      observables=s.observables, meta=s.meta)  # fmt: skip
    out = iterative_r500c(blind, est)
    obs = out.observables
    assert obs["r500c_converged"].all()
    assert 1 < np.median(obs["r500c_n_iter"]) < 20
    ratio = np.log10(np.asarray(obs["r500c_iter"]) / np.asarray(s.catalog["r500c"]))
    assert abs(np.median(ratio)) < 0.1 and np.std(ratio) < 0.3
    np.testing.assert_array_equal(obs["n_phot_500c_catalog"], s.observables["n_phot_500c"])
    assert out.meta["build"]["r500c_source"].startswith("iterative R500c without the truth")
    assert out.meta["build"]["r500c_iteration"]["n_converged"] == len(s)
    pred = est.predict(out)
    assert np.std(pred["log10_m500c"] - s.log10_m500c) < 0.8
    assert "r500c_source" not in s.meta.get("build", {})  # the input is left alone


def test_not_converged_is_warned_and_flagged(survey_sample):
    s = survey_sample[:5]
    with pytest.warns(ConvergenceWarning, match="did not converge for 5 of 5"):
        out = iterative_r500c(s, lambda n, z: 12.0 + np.log10(n), max_iter=1)
    assert not out.observables["r500c_converged"].any()
    with pytest.warns(ConvergenceWarning, match="5 gave no finite mass"):
        out = iterative_r500c(s, lambda n, z: np.full(n.shape, np.nan))
    assert np.isnan(out.observables["r500c_iter"]).all()
    with pytest.raises(InputError, match="relation= must be"):
        iterative_r500c(s, "power_law")
    with pytest.raises(InputError, match="rtol must be > 0"):
        iterative_r500c(s, lambda n, z: n, rtol=0)
