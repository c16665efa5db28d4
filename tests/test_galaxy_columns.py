"""Galaxy tables in a survey's names: redshift (and cluster id) columns through column_map."""

import shutil

import numpy as np
import pytest
from astropy.table import Table

from astroclustermass.exceptions import MissingColumnError
from astroclustermass.sample import ClusterSample
from astroclustermass.simulate import MockSurvey

MAP = {"ra": "RA", "dec": "DEC", "redshift": "BEST_Z", "id": "ID_SRC"}
KW = {"bands": "bolometric", "npix": 32, "n_cube": 16, "progress": False, "n_jobs": 1}
C_KMS = 299792.458


@pytest.fixture(scope="module")
def survey_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("gal") / "s"
    MockSurvey(n_clusters=6, seed=4, n_ra=2, n_dec=1, tile_size=1.0, overlap=0.2).write(
        d, progress=False
    )
    return d


def test_galaxy_redshift_column_through_column_map(survey_dir, tmp_path):
    ref = ClusterSample.build(survey_dir, catalog="clusters.ecsv", column_map=MAP, **KW)
    d = tmp_path / "s"
    shutil.copytree(survey_dir, d)
    gal = Table.read(d / "galaxies.ecsv")
    cat = Table.read(d / "clusters.ecsv")
    z_cl = dict(zip(cat["ID_SRC"].tolist(), cat["BEST_Z"].tolist()))
    zc = np.array([z_cl[i] for i in gal["cluster_id"].tolist()])
    gal["z"] = zc + np.asarray(gal["v_los"]) * (1 + zc) / C_KMS  # a spectroscopic redshift
    gal.remove_column("v_los")
    gal.rename_column("cluster_id", "MEM_MATCH_ID")
    gal.write(d / "galaxies.ecsv", overwrite=True)
    names = {**MAP, "z_gal": "z", "cluster_id": "MEM_MATCH_ID"}
    got = ClusterSample.build(d, catalog="clusters.ecsv", column_map=names, **KW)
    assert got.meta["build"]["column_map"]["z_gal"] == "z"
    for col in ("n_gal", "n_gal_cylinder"):
        np.testing.assert_array_equal(got.observables[col], ref.observables[col])
    np.testing.assert_allclose(got.observables["sigma_v"], ref.observables["sigma_v"], rtol=1e-6)
    np.testing.assert_allclose(got.cubes, ref.cubes, atol=1e-6 * float(np.max(ref.cubes)))
    # without the map the table is refused, naming what it needs and what it has
    with pytest.raises(MissingColumnError, match="galaxy table .*galaxies.ecsv lacks the column"):
        ClusterSample.build(d, catalog="clusters.ecsv", column_map=MAP, **KW)
    with pytest.raises(MissingColumnError, match="needs x_proj, y_proj .*v_los \\(or z_gal\\)"):
        ClusterSample.build(d, catalog="clusters.ecsv",
                            column_map={**MAP, "cluster_id": "MEM_MATCH_ID"}, **KW)  # fmt: skip
