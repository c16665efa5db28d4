"""Survey tiles: mock layout, SurveyTiles reader, exposure reprojection, bad inputs."""

import shutil

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from astroclustermass.bands import get_bands
from astroclustermass.events import EventList, OutsideSurveyError, SurveyTiles
from astroclustermass.exceptions import FileFormatError, MissingColumnError
from astroclustermass.images import ExposureMap, bin_events, comoving_wcs
from astroclustermass.simulate import MockSurvey, exposure_at

N_CLUSTERS = 12
LAYOUT = {"n_ra": 2, "n_dec": 2, "tile_size": 1.0, "overlap": 0.2}


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    s = MockSurvey(n_clusters=N_CLUSTERS, seed=3, **LAYOUT)
    d = tmp_path_factory.mktemp("survey") / "s"
    s.write(d, progress=False)
    return s, d


def _maps(ev, row, bands, npix=64):
    x, y = ev.to_comoving((row["ra"], row["dec"]), row["redshift"])
    return bin_events(x, y, bands.band_index(ev.energy.to_value(u.keV)), bands.n_bands, npix, 2.3)


def test_layout_places_clusters_on_corners_edges_and_centres(survey):
    s, d = survey
    lay = s.layout
    ra, dec = s.positions()
    assert (ra[0], dec[0]) == lay.corners()[0]
    for k, (r, de) in enumerate(lay.edges()):
        assert (ra[1 + k], dec[1 + k]) == (r, de)
    tiles = Table.read(d / "tiles.fits")
    # unique areas partition the survey: every position in the rectangle has one owner
    rng = np.random.default_rng(0)
    lo, hi, dlo, dhi = lay.bounds()
    pr, pd = rng.uniform(lo, hi, 5000), rng.uniform(dlo, dhi, 5000)
    inside = [
        ((pr >= t["RA_MIN"]) & (pr < t["RA_MAX"]) & (pd >= t["DE_MIN"]) & (pd < t["DE_MAX"]))
        for t in tiles
    ]
    assert np.array_equal(np.sum(inside, axis=0), np.ones(5000))
    with fits.open(d / "tiles" / "tile_101_events.fits") as h:
        assert [x.name for x in h[2:]] == [f"GTI{k}" for k in range(1, 8)] + ["FLAREGTI"]
        ev = h["EVENTS"]
        assert sorted(set(ev.data["TM_NR"].tolist())) == list(range(1, 8))
        assert ev.columns["PI"].format == "E" and ev.columns["PI"].unit == "eV"
        assert ev.columns["RA"].format == "D" and np.isclose(ev.header["TCDLT5"], -0.05 / 3600)


def test_tiles_give_the_per_cluster_maps_inside_overlap_and_corner(survey):
    s, d = survey
    cat = Table.read(d / "catalog.ecsv")
    bands = get_bands("erosita_3")
    n_tiles = []
    with SurveyTiles(d) as tiles:
        for row in cat:
            ev_file = EventList.read(d / row["file"])
            ev_tile = tiles.cutout((row["ra"], row["dec"]), row["redshift"])
            a, b = _maps(ev_file, row, bands), _maps(ev_tile, row, bands)
            assert a.sum() > 0
            np.testing.assert_array_equal(a, b)
            n_tiles.append(len(ev_tile.meta["tiles"]))
            # no photon twice: (RA, Dec, TIME) are unique in the merged list
            key = np.stack([ev_tile.ra.value, ev_tile.dec.value, ev_tile.time.value])
            assert np.unique(key, axis=1).shape[1] == len(ev_tile)
    assert n_tiles[0] == 4  # the corner cluster
    assert {1, 2, 4} <= set(n_tiles)


def test_naive_merge_double_counts_overlaps(survey):
    s, d = survey
    row = Table.read(d / "catalog.ecsv")[1]  # in an overlap strip
    tiles = SurveyTiles(d)
    ev = tiles.cutout((row["ra"], row["dec"]), row["redshift"])
    naive = 0
    for name in ev.meta["tiles"]:
        one = EventList.read(d / "tiles" / name)
        sel = one.select(center=(row["ra"], row["dec"]) * u.deg, radius=0.05 * u.deg)
        naive += len(sel)
    owned = len(ev.select(center=(row["ra"], row["dec"]) * u.deg, radius=0.05 * u.deg))
    assert naive > owned > 0  # (the tiles hold events outside GTIs too)


def test_every_good_photon_comes_back_exactly_once(survey):
    s, d = survey
    ph, _ = s.photons()
    good = ph["GOOD"]
    tiles = SurveyTiles(d)
    lay = s.layout
    centre = lay.center
    ev = tiles.events(centre, 2.0 * u.deg)
    assert len(ev) == int(good.sum())
    assert np.isclose(ev.energy.value.sum(), ph["PI"][good].astype(float).sum() / 1000, rtol=1e-9)


def test_cameras_light_leak_and_gtis(survey):
    s, d = survey
    centre = s.layout.center
    full = SurveyTiles(d).events(centre, 2.0 * u.deg)
    no57 = SurveyTiles(d, cameras=(1, 2, 3, 4, 6)).events(centre, 2.0 * u.deg)
    assert 0 < len(no57) < len(full)
    leak = SurveyTiles(d, light_leak_energy=0.4 * u.keV).events(centre, 2.0 * u.deg)
    dropped = len(full) - len(leak)
    assert dropped > 0
    ph, _ = s.photons()
    g = ph["GOOD"]
    expect = np.sum(g & np.isin(ph["TM_NR"], (5, 7)) & (ph["PI"].astype(float) * 1e-3 < 0.4))
    assert dropped == expect
    raw = SurveyTiles(d, apply_gti=False).events(centre, 2.0 * u.deg)
    assert len(raw) == len(ph["RA"]) > len(full)


def test_tiles_open_a_bounded_number_of_times(survey):
    s, d = survey
    cat = Table.read(d / "catalog.ecsv")
    tiles = SurveyTiles(d)
    seen = [i for i, _ in tiles.cutouts((cat["ra"], cat["dec"]), cat["redshift"])]
    assert sorted(seen) == list(range(len(cat)))
    assert max(tiles.open_counts.values()) == 1
    small = SurveyTiles(d, cache_size=1)
    list(small.cutouts((cat["ra"], cat["dec"]), cat["redshift"]))
    assert max(small.open_counts.values()) <= len(cat)


def test_index_from_headers_matches_tile_table(survey, tmp_path):
    s, d = survey
    copy = tmp_path / "s"
    shutil.copytree(d, copy)
    (copy / "tiles.fits").unlink()
    row = Table.read(d / "catalog.ecsv")[0]
    a = SurveyTiles(d).cutout((row["ra"], row["dec"]), row["redshift"])
    b = SurveyTiles(copy).cutout((row["ra"], row["dec"]), row["redshift"])
    assert len(a) == len(b) and np.array_equal(np.sort(a.ra.value), np.sort(b.ra.value))


def test_exposure_on_grid_matches_reproject(survey):
    reproject = pytest.importorskip("reproject")
    s, d = survey
    cat = Table.read(d / "catalog.ecsv")
    tiles = SurveyTiles(d)
    npix = 48
    for idx in (0, 9):  # a corner cluster and one at a tile centre
        row = cat[idx]
        center, z = (row["ra"], row["dec"]), row["redshift"]
        ours = tiles.exposure_on_grid(center, z, npix)
        w_out = comoving_wcs(center, z, npix, 2.3)
        from astroclustermass.images import grid_sky_positions

        ra, dec = grid_sky_positions(center, z, npix, 2.3)
        own = tiles.owner(ra, dec)
        ref = np.zeros((npix, npix))
        for k in np.unique(own[own >= 0]):
            m = ExposureMap.read(tiles._rows[k]["expmap"])
            arr, _ = reproject.reproject_interp(
                (m.data, m.wcs), w_out, shape_out=(npix, npix), order="bilinear"
            )
            ref[own == k] = arr.T[own == k]  # WCS arrays are [y, x]; images [x, y]
        inside = own >= 0
        assert np.all(ours[~inside] == 0)  # outside the survey: no exposure
        np.testing.assert_allclose(ours[inside], ref[inside], rtol=2e-6)
        # and the analytic depth of the mock
        truth = exposure_at(ra, dec, s.depth)
        np.testing.assert_allclose(ours[inside], truth[inside], rtol=1e-4)
        assert ours.std() > 0  # the eRASS1 depth varies across the image


def test_bad_inputs_raise_package_errors(survey, tmp_path):
    s, d = survey
    tiles = SurveyTiles(d)
    with pytest.raises(OutsideSurveyError, match="outside every tile"):
        tiles.cutout((10.0, 10.0), 0.2)
    copy = tmp_path / "s"
    shutil.copytree(d, copy)
    (copy / "tiles" / "tile_202_expmap.fits").unlink()
    with pytest.raises(FileFormatError, match="tile_202_events.fits has no exposure map"):
        SurveyTiles(copy).exposure_map(3)
    path = copy / "tiles" / "tile_101_events.fits"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    row = Table.read(d / "catalog.ecsv")[0]
    with pytest.raises(FileFormatError, match="tile_101_events.fits"):
        SurveyTiles(copy).cutout((row["ra"], row["dec"]), row["redshift"])
    t = Table.read(d / "tiles.fits")
    t.remove_column("DE_MAX")
    with pytest.raises(MissingColumnError, match="DE_MAX"):
        SurveyTiles(d, tile_table=t)
    t.rename_column("DE_MIN", "DEC_LO")
    t["DEC_HI"] = Table.read(d / "tiles.fits")["DE_MAX"]
    ok = SurveyTiles(d, tile_table=t, tile_columns={"dec_min": "DEC_LO", "dec_max": "DEC_HI"})
    assert len(ok.cutout((row["ra"], row["dec"]), row["redshift"])) > 0


def test_survey_catalogue_is_in_physical_units(survey):
    s, d = survey
    cat = Table.read(d / "clusters.ecsv")
    assert cat["M500"].unit == u.Msun and cat["R500"].unit == u.kpc
    z = cat["BEST_Z"][0]
    np.testing.assert_allclose(cat["M500"][0], 10 ** cat["log10_m500c"][0] / 0.7)
    np.testing.assert_allclose(cat["R500"][0], cat["r500c"][0] / (1 + z) / 0.7 * 1000)
    src = Table.read(d / "sources.fits")
    assert {"RA", "DEC", "ML_FLUX_1", "DET_LIKE_0", "EXT"} <= set(src.colnames) and len(src) > 5
