"""ClusterSample.build from survey tiles: maps, masks, column_map and bad inputs."""

import shutil

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from regions import CircleSkyRegion, Regions

from astroclustermass.events import OutsideSurveyError, SurveyTiles
from astroclustermass.exceptions import (
    AstroClusterMassWarning,
    FileFormatError,
    MissingColumnError,
)
from astroclustermass.images import comoving_wcs
from astroclustermass.sample import ClusterSample
from astroclustermass.sample.survey_build import ZeroExposureError
from astroclustermass.simulate import MockSurvey

MAP = {"ra": "RA", "dec": "DEC", "redshift": "BEST_Z", "id": "ID_SRC"}
KW = {"bands": "erosita_3", "npix": 48, "dynamics": False, "progress": False}


@pytest.fixture(scope="module")
def survey_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("sb") / "s"
    MockSurvey(n_clusters=8, seed=5, n_ra=2, n_dec=2, tile_size=1.0, overlap=0.2).write(
        d, progress=False
    )
    return d


def _survey(d, **kw):
    return ClusterSample.build(d, catalog="clusters.ecsv", column_map=MAP, **KW, **kw)


def test_survey_build_equals_per_cluster_build_and_stores_exposure(survey_dir, tmp_path):
    files = ClusterSample.build(survey_dir, n_jobs=1, **KW)
    tiles = _survey(survey_dir, n_jobs=2, path=tmp_path / "s.h5")
    assert tiles.meta["build"]["survey"]["directory"] == str(survey_dir.resolve())
    np.testing.assert_array_equal(files.images("erosita_3"), tiles.images("erosita_3"))
    np.testing.assert_array_equal(
        files.source_images("erosita_3", "icm"), tiles.source_images("erosita_3", "icm")
    )
    for col in ("n_phot", "n_phot_500c"):
        np.testing.assert_array_equal(files.observables[col], tiles.observables[col])
    assert files.map_names == () and tiles.map_names == ("exposure",)
    reader = SurveyTiles(survey_dir)
    cat = tiles.catalog
    for i in (0, 3):
        expect = reader.exposure_on_grid((cat["ra"][i], cat["dec"][i]), cat["redshift"][i], 48)
        np.testing.assert_array_equal(tiles.maps("exposure")[i], expect)
    again = ClusterSample.read(tmp_path / "s.h5", lazy=False)
    np.testing.assert_array_equal(again.maps("exposure"), tiles.maps("exposure"))


def test_point_source_masks_match_a_direct_regions_mask(survey_dir):
    built = _survey(survey_dir, n_jobs=1, source_catalog="sources.fits")
    plain = _survey(survey_dir, n_jobs=1)
    src = Table.read(survey_dir / "sources.fits")
    masks = built.maps("mask").astype(bool)
    assert masks.any()
    cat = built.catalog
    for i in range(len(cat)):
        center = (cat["ra"][i], cat["dec"][i])
        w = comoving_wcs(center, cat["redshift"][i], 48, 2.3)
        c0 = SkyCoord(*center, unit="deg")
        pos = SkyCoord(src["RA"], src["DEC"], unit="deg")
        r = 30.0 * (1 + np.log10(np.maximum(1.0, np.asarray(src["ML_FLUX_1"]) / 1e-14)))
        keep = c0.separation(pos).arcsec > 30.0
        regs = Regions([CircleSkyRegion(p, rr * u.arcsec) for p, rr in zip(pos[keep], r[keep])])
        direct = np.zeros((48, 48), bool)
        for reg in regs:
            m = reg.to_pixel(w).to_mask(mode="center").to_image((48, 48))
            if m is not None:
                direct |= m.astype(bool)
        np.testing.assert_array_equal(masks[i], direct.T)
        # masked pixels lose their counts and exposure; the others keep them
        img, ref = built.images("erosita_3")[i], plain.images("erosita_3")[i]
        assert img[:, masks[i]].sum() == 0
        np.testing.assert_array_equal(img[:, ~masks[i]], ref[:, ~masks[i]])
        assert np.all(built.maps("exposure")[i][masks[i]] == 0)
    assert built.observables["n_phot"].sum() < plain.observables["n_phot"].sum()
    # the same masks when building from per-cluster files (training = prediction)
    files = ClusterSample.build(survey_dir, n_jobs=1, source_catalog="sources.fits", **KW)
    np.testing.assert_array_equal(files.maps("mask"), built.maps("mask"))
    np.testing.assert_array_equal(files.images("erosita_3"), built.images("erosita_3"))


def _with_outside_cluster(survey_dir, tmp_path):
    d = tmp_path / "s"
    shutil.copytree(survey_dir, d)
    cat = Table.read(d / "clusters.ecsv")
    cat.add_row(cat[0])
    cat["ID_SRC"][-1] = 999
    cat["RA"][-1] = 200.0
    cat.write(d / "clusters.ecsv", overwrite=True)
    return d


def test_cluster_outside_every_tile_raises_or_is_skipped(survey_dir, tmp_path):
    d = _with_outside_cluster(survey_dir, tmp_path)
    with pytest.raises(OutsideSurveyError, match="cluster id 999.*outside every tile"):
        _survey(d, n_jobs=1)
    with pytest.warns(AstroClusterMassWarning, match="skipped 1 cluster"):
        s = _survey(d, n_jobs=1, on_error="skip")
    assert len(s) == 8 and 999 not in s.catalog["id"]
    assert s.meta["build"]["skipped"][0]["id"] == 999
    assert "outside every tile" in s.meta["build"]["skipped"][0]["reason"]


def test_zero_exposure_and_missing_exposure_map(survey_dir, tmp_path):
    d = tmp_path / "s"
    shutil.copytree(survey_dir, d)
    cat = Table.read(d / "clusters.ecsv")
    owner = SurveyTiles(d).owner(cat["RA"], cat["DEC"])
    name = f"tile_{Table.read(d / 'tiles.fits')['SRVMAP'][owner[5]]:03d}_expmap.fits"
    with fits.open(d / "tiles" / name, mode="update") as h:
        h[0].data[:] = 0.0
    with pytest.raises(ZeroExposureError, match="zero exposure at the centre"):
        _survey(d, n_jobs=1)
    (d / "tiles" / name).unlink()
    with pytest.raises(FileFormatError, match="has no exposure map"):
        _survey(d, n_jobs=1)


def test_corrupt_tile_and_missing_columns(survey_dir, tmp_path):
    d = tmp_path / "s"
    shutil.copytree(survey_dir, d)
    with pytest.raises(MissingColumnError, match="clusters.ecsv lacks the required column 'ra'"):
        ClusterSample.build(d, catalog="clusters.ecsv", column_map={"redshift": "BEST_Z"}, **KW)
    bad = {**MAP, "redshift": "Z_BEST"}
    with pytest.raises(MissingColumnError, match="Z_BEST"):
        ClusterSample.build(d, catalog="clusters.ecsv", column_map=bad, **KW)
    with pytest.raises(MissingColumnError, match="'redshift'"):
        ClusterSample.build(d, catalog="clusters.ecsv", column_map={"ra": "RA", "dec": "DEC"},
                            **KW)  # fmt: skip
    with pytest.raises(MissingColumnError, match="sources.fits lacks column.*'FLUX'"):
        _survey(d, n_jobs=1, source_catalog="sources.fits",
                mask_options={"columns": {"flux": "FLUX"}})  # fmt: skip
    path = d / "tiles" / "tile_101_events.fits"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(FileFormatError, match="tile_101_events.fits"):
        _survey(d, n_jobs=1)
