"""Bad survey inputs: each a package error naming the file/column/value and the fix."""

import shutil

import astropy.units as u
import pytest
from astropy.io import fits
from astropy.table import Table

from astroclustermass.events import SurveyTiles
from astroclustermass.exceptions import FileFormatError, InputError
from astroclustermass.sample import ClusterSample
from astroclustermass.sample.catalog import read_catalog
from astroclustermass.simulate import MockSurvey


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad") / "s"
    s = MockSurvey(n_clusters=4, seed=6, n_ra=2, n_dec=2, tile_size=1.0, overlap=0.2)
    s.write(d, progress=False)
    return s, d


def _copy(d, tmp_path):
    c = tmp_path / "s"
    shutil.copytree(d, c)
    return c


def test_tile_files_without_events_or_footprint(survey, tmp_path):
    _, d = survey
    c = _copy(d, tmp_path)
    t = Table.read(c / "tiles.fits")
    t["EVENTS"][0] = str(t["EXPMAP"][0])  # an image where an event file belongs
    row = Table.read(d / "catalog.ecsv")[0]
    tiles = SurveyTiles(c, tile_table=t)
    with pytest.raises(FileFormatError, match="tile_101_expmap.fits has no EVENTS extension"):
        for k in range(len(tiles)):
            tiles._tile(k)
    # indexed from headers: a stray *events*.fits image is named, and so is a header
    # without unique area or centre
    (c / "tiles.fits").unlink()
    shutil.copy(c / "tiles" / "tile_101_expmap.fits", c / "tiles" / "old_events.fits")
    with pytest.raises(FileFormatError, match="old_events.fits has no EVENTS extension.*rename"):
        SurveyTiles(c)
    (c / "tiles" / "old_events.fits").unlink()
    with fits.open(c / "tiles" / "tile_102_events.fits", mode="update") as h:
        hdr = h["EVENTS"].header
        for key in ("RA_MIN", "RA_MAX", "DE_MIN", "DE_MAX", "RA_CEN", "DE_CEN"):
            hdr.remove(key, ignore_missing=True)
        for key in [k for k in hdr if str(k).startswith("TCTYP")]:
            hdr[key] = "NONE"
    with pytest.raises(FileFormatError, match="tile_102_events.fits has neither a unique area"):
        SurveyTiles(c)
    assert len(SurveyTiles(d).cutout((row["ra"], row["dec"]), row["redshift"])) > 0


def test_exposure_map_of_another_tile_or_without_wcs(survey, tmp_path):
    _, d = survey
    c = _copy(d, tmp_path)
    ev = c / "tiles"
    a, b = ev / "tile_101_expmap.fits", ev / "tile_202_expmap.fits"
    tmp = ev / "swap.fits"
    a.rename(tmp), b.rename(a), tmp.rename(b)  # swapped maps
    tiles = SurveyTiles(c)
    centre = tiles.index.rows[0]["centre"]  # inside tile_101's own area
    with pytest.raises(FileFormatError, match="tile_101_expmap.fits of tile tile_101 does not "
                       "cover .* pixel.*EXPMAP column"):  # fmt: skip
        tiles.exposure_on_grid(centre, 0.2, 32)
    with fits.open(a, mode="update") as h:
        for key in ("CTYPE1", "CTYPE2"):
            h[0].header[key] = "LINEAR"
    with pytest.raises(FileFormatError, match="tile_101_expmap.fits has no celestial WCS"):
        SurveyTiles(c).exposure_map(0)


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        ("M500", [3.2, 5.0], r"'m500c' has 2 value\(s\) outside the 1e\+10-1e\+17 h\^-1 Msun.*"
                             r"no unit.*'1e14 Msun'"),
        ("M500", [14.5, 14.8] * u.Msun, r"'m500c'.*from unit solMass.*log10_m500c"),
        ("R500", [800.0, 900.0], r"'r500c' has 2 value\(s\) outside the 0.01-10 comoving.*"
                                 r"no unit \(plain numbers\).*'kpc'"),
        ("R500", [0.8, 0.9] * u.kpc, r"'r500c'.*from unit kpc.*r500c_frame="),
    ],
)  # fmt: skip
def test_catalogue_with_ambiguous_units(survey, tmp_path, column, values, match):
    _, d = survey
    cat = Table.read(d / "clusters.ecsv")[:2]
    cat[column] = values
    path = tmp_path / "clusters.ecsv"
    cat.write(path)
    names = {"ra": "RA", "dec": "DEC", "redshift": "BEST_Z", "id": "ID_SRC",
             "m500c": "M500", "r500c": "R500"}  # fmt: skip
    with pytest.raises(InputError, match=match) as info:
        read_catalog(path, column_map=names, require_file=False)
    assert str(path) in str(info.value) and "row 0 (cluster id" in str(info.value)
    with pytest.raises(InputError, match=match):
        ClusterSample.build(tmp_path, catalog="clusters.ecsv", column_map=names, survey=False,
                            progress=False)  # fmt: skip


def test_cluster_just_inside_the_survey_edge_is_built(survey, tmp_path):
    # half its central pixels lie outside the survey; its centre was observed
    _, d = survey
    c = _copy(d, tmp_path)
    tiles = SurveyTiles(c)
    top = max(r["box"][3] for r in tiles.index.rows)
    cat = Table.read(c / "clusters.ecsv")
    cat["DEC"][0] = top - 1e-3
    cat.write(c / "clusters.ecsv", overwrite=True)
    names = {"ra": "RA", "dec": "DEC", "redshift": "BEST_Z", "id": "ID_SRC"}
    s = ClusterSample.build(c, catalog="clusters.ecsv", column_map=names, bands="bolometric",
                            npix=32, dynamics=False, progress=False, n_jobs=1)  # fmt: skip
    assert len(s) == len(cat)
    exposure = s.maps("exposure")[0]
    assert (exposure[:, -4:] == 0).all() and (exposure[:, :4] > 0).all()  # north is outside
    assert s.observables["exposure"][0] > 0
