"""Tests of astroclustermass.sample (ClusterSample: build, HDF5, folds, torch view)."""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from astroclustermass.bands import EnergyBands, get_bands
from astroclustermass.cosmology import default_cosmology
from astroclustermass.exceptions import (
    AstroClusterMassWarning,
    BandMismatchError,
    FileFormatError,
    InputError,
    MissingColumnError,
)
from astroclustermass.sample import ClusterSample

# ----------------------------------------------------------------------------- helpers

_CLUSTERS = [
    # id, ra, dec, z, r500c, log10_m500c, x, y, z_box, n_gal
    (11, 150.0, 2.0, 0.10, 0.70, 14.1, 10.0, 20.0, 30.0, 60),
    (12, 30.0, -10.0, 0.25, 0.90, 14.6, 200.0, 20.0, 30.0, 90),
    (13, 200.0, 45.0, 0.40, 0.50, 13.7, 10.0, 300.0, 250.0, 2),
    (14, 10.0, 10.0, 0.18, 1.10, 14.9, 340.0, 340.0, 340.0, 40),
    (15, 80.0, -60.0, 0.30, 0.60, 13.9, 190.0, 100.0, 10.0, 25),
]


def _write_events(path, ra0, dec0, z, seed, n=600, labels=True):
    """A SIXTE-layout event file: photons around (ra0, dec0), SRC_ID 1/2/3/-1."""
    rng = np.random.default_rng(seed)
    # scatter over about ±0.45 deg so that some photons fall outside the aperture
    dra = rng.normal(0, 0.12, n) / np.cos(np.radians(dec0))
    ddec = rng.normal(0, 0.12, n)
    ra = np.mod(ra0 + dra, 360.0)
    dec = dec0 + ddec
    energy = rng.uniform(0.2, 9.0, n)
    src = rng.choice([1, 2, 3, -1], size=n, p=[0.6, 0.2, 0.1, 0.1])
    cols = [
        fits.Column("TIME", "D", unit="s", array=np.sort(rng.uniform(0, 2000, n))),
        fits.Column("FRAME", "J", array=np.arange(n)),
        fits.Column("PHA", "J", array=(energy * 100).astype(int)),
        fits.Column("SIGNAL", "E", unit="keV", array=energy.astype(np.float32)),
        fits.Column("PI", "J", unit="eV", array=np.round(energy * 1000).astype(int)),
        fits.Column("RA", "D", unit="deg", array=ra),
        fits.Column("DEC", "D", unit="deg", array=dec),
        fits.Column("RAWX", "I", array=np.zeros(n, np.int16)),
        fits.Column("RAWY", "I", array=np.zeros(n, np.int16)),
        fits.Column("PH_ID", "J", array=np.arange(n)),
        fits.Column("SRC_ID", "J", array=src),
    ]
    hdu = fits.BinTableHDU.from_columns(cols)
    hdr = hdu.header
    hdr["EXTNAME"] = "EVENTS"
    hdr["TELESCOP"] = "SRG"
    hdr["INSTRUME"] = "eROSITA"
    hdr["EXPOSURE"] = 2000.0
    hdr["RA_OBJ"] = ra0
    hdr["DEC_OBJ"] = dec0
    hdr["REDSHIFT"] = z
    hdr["OBJECT"] = "test"
    hdr["CREATOR"] = "test_sample"
    if labels:
        hdr["SRCICM"] = "1"
        hdr["SRCAGN"] = "2,3"
        hdr["SRCBKG"] = "-1"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)


def make_directory(root, with_galaxies=True, labels=True):
    """A tiny data directory in the layout of docs/internals.rst."""
    (root / "events").mkdir(parents=True, exist_ok=True)
    rows = []
    gal_rows = {"cluster_id": [], "x_proj": [], "y_proj": [], "v_los": [], "m_star": []}
    rng = np.random.default_rng(99)
    for k, (cid, ra, dec, z, r500, lm, x, y, zb, ngal) in enumerate(_CLUSTERS):
        fname = f"events/cluster_{cid}.fits"
        _write_events(root / fname, ra, dec, z, seed=k, labels=labels)
        rows.append((cid, fname, ra, dec, z, r500, lm, x, y, zb, 2000.0))
        gal_rows["cluster_id"] += [cid] * ngal
        gal_rows["x_proj"] += list(rng.normal(0, 0.6, ngal))
        gal_rows["y_proj"] += list(rng.normal(0, 0.6, ngal))
        gal_rows["v_los"] += list(rng.normal(0, 600, ngal))
        gal_rows["m_star"] += list(10 ** rng.uniform(9.3, 11.5, ngal))
    names = [
        "id",
        "file",
        "ra",
        "dec",
        "redshift",
        "r500c",
        "log10_m500c",
        "x",
        "y",
        "z",
        "exposure",
    ]
    cat = Table(rows=rows, names=names)
    cat["ra"].unit = u.deg
    cat["dec"].unit = u.deg
    cat["exposure"].unit = u.s
    cat.meta["box_size"] = 352.0
    cat.write(root / "catalog.ecsv")
    if with_galaxies:
        Table(gal_rows).write(root / "galaxies.ecsv")
    return root


def _project_independently(ra, dec, ra0, dec0, z):
    """Gnomonic projection through astropy.wcs (RA---TAN), times D_M h."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra0, dec0]
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cdelt = [1.0, 1.0]
    px, py = w.wcs_world2pix(ra, dec, 0)
    cosmo = default_cosmology()
    dist = cosmo.comoving_transverse_distance(z).to_value("Mpc") * cosmo.h
    return np.radians(px + 1.0) * dist, np.radians(py + 1.0) * dist


def _events(root, cid):
    with fits.open(root / f"events/cluster_{cid}.fits") as hdul:
        d = hdul["EVENTS"].data
        return (
            np.array(d["RA"]),
            np.array(d["DEC"]),
            np.array(d["SIGNAL"], dtype=float),
            np.array(d["SRC_ID"]),
        )


def _build(root, **kw):
    kw.setdefault("n_jobs", 1)
    kw.setdefault("progress", False)
    kw.setdefault("npix", 32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstroClusterMassWarning)
        return ClusterSample.build(root, **kw)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_directory(tmp_path_factory.mktemp("data"))


def _require_readers():
    pytest.importorskip("astroclustermass.events")
    pytest.importorskip("astroclustermass.images")


@pytest.fixture(scope="module")
def built(data_dir):
    _require_readers()
    return _build(data_dir, sources=("icm", "agn", "background"))


def _random_sample(n=12, npix=8, seed=0, cubes=True):
    rng = np.random.default_rng(seed)
    cat = Table(
        {
            "id": np.arange(100, 100 + n),
            "redshift": rng.uniform(0.07, 0.47, n),
            "log10_m500c": rng.uniform(13.5, 15.0, n),
            "x": rng.uniform(0, 352, n) * u.Mpc,
            "y": rng.uniform(0, 352, n),
            "z": rng.uniform(0, 352, n),
            "name": [f"cl{i}" for i in range(n)],
        }
    )
    cat.meta["box_size"] = 352.0
    cat.meta["note"] = {"a": [1, 2]}
    images = {
        "bolometric": rng.poisson(3.0, (n, 1, npix, npix)).astype(np.int32),
        "erosita_3": rng.poisson(1.0, (n, 3, npix, npix)).astype(np.int32),
    }
    src = {
        "bolometric": {
            "icm": images["bolometric"] // 2,
            "agn": images["bolometric"] - images["bolometric"] // 2,
        }
    }
    cube = rng.random((n, 4, 4, 4)).astype(np.float32) if cubes else None
    obs = Table(
        {
            "id": cat["id"],
            "n_phot": images["bolometric"].sum(axis=(1, 2, 3)),
            "sigma_v": rng.uniform(300, 900, n) * u.km / u.s,
        }
    )
    return ClusterSample.from_arrays(
        cat, images, cubes=cube, observables=obs, source_images=src, meta={"k": np.int64(3)}
    )


def _assert_samples_equal(a, b):
    assert len(a) == len(b)
    assert a.catalog.colnames == b.catalog.colnames
    for c in a.catalog.colnames:
        assert a.catalog[c].unit == b.catalog[c].unit
        assert a.catalog[c].dtype == b.catalog[c].dtype
        np.testing.assert_array_equal(np.asarray(a.catalog[c]), np.asarray(b.catalog[c]))
    assert dict(a.catalog.meta) == dict(b.catalog.meta)
    assert list(a.band_sets) == list(b.band_sets)
    for name in a.band_sets:
        assert a.band_sets[name] == b.band_sets[name]
        ia, ib = a.images(name), b.images(name)
        assert ia.dtype == ib.dtype == np.int32
        np.testing.assert_array_equal(ia, ib)
    assert a.sources == b.sources
    assert {k: sorted(v) for k, v in a._source_images.items()} == {
        k: sorted(v) for k, v in b._source_images.items()
    }
    for name, per_source in a._source_images.items():
        for src in per_source:
            np.testing.assert_array_equal(a.source_images(name, src), b.source_images(name, src))
    if a.cubes is None:
        assert b.cubes is None
    else:
        assert a.cubes.dtype == b.cubes.dtype == np.float32
        np.testing.assert_array_equal(a.cubes, b.cubes)
    if a.observables is None:
        assert b.observables is None
    else:
        assert a.observables.colnames == b.observables.colnames
        for c in a.observables.colnames:
            assert a.observables[c].unit == b.observables[c].unit
            np.testing.assert_array_equal(
                np.asarray(a.observables[c]), np.asarray(b.observables[c])
            )
    assert (a.npix, a.aperture) == (b.npix, b.aperture)
    assert a.cosmology.name == b.cosmology.name and a.cosmology.H0 == b.cosmology.H0


# ----------------------------------------------------------------------------- container


def test_indexing_variants():
    s = _random_sample()
    ids = s.ids
    assert s[3].ids.tolist() == [ids[3]]
    assert s[-1].ids.tolist() == [ids[-1]]
    assert s[2:5].ids.tolist() == ids[2:5].tolist()
    mask = np.arange(len(s)) % 3 == 0
    sub = s[mask]
    assert sub.ids.tolist() == ids[mask].tolist()
    np.testing.assert_array_equal(sub.images("erosita_3"), s.images("erosita_3")[mask])
    np.testing.assert_array_equal(sub.cubes, s.cubes[mask])
    assert sub.observables["n_phot"].tolist() == s.observables["n_phot"][mask].tolist()
    idx = np.array([5, 0, 5])
    np.testing.assert_array_equal(s[idx].images(), s.images()[idx])
    assert s[[1, 2]][1].ids.tolist() == [ids[2]]
    with pytest.raises(IndexError):
        s[len(s)]
    with pytest.raises(IndexError):
        s[np.ones(3, bool)]


def test_band_sets_and_errors():
    s = _random_sample()
    assert list(s.band_sets) == ["bolometric", "erosita_3"]
    assert s.images(get_bands("erosita_3")).shape == (len(s), 3, 8, 8)
    assert s.images().shape[1] == 1  # first band set by default
    with pytest.raises(BandMismatchError, match="bolometric.*erosita_3"):
        s.images("lovig_4")
    with pytest.raises(BandMismatchError):
        s.images(EnergyBands([[0.5, 2.0]]))
    assert s.sources == ("icm", "agn")
    with pytest.raises(InputError, match="background"):
        s.source_images("bolometric", "background")
    with pytest.raises(InputError, match="no 'icm' images"):
        s.source_images("erosita_3", "icm")
    assert s.has_truth and s.exposure is None
    assert "12 clusters" in repr(s)


def test_from_arrays_validation():
    cat = {"redshift": [0.1, 0.2]}
    with pytest.raises(InputError, match="integer photon counts"):
        ClusterSample.from_arrays(cat, images={"bolometric": np.full((2, 1, 4, 4), 0.5)})
    with pytest.raises(InputError, match="shape"):
        ClusterSample.from_arrays(cat, images={"erosita_3": np.zeros((2, 1, 4, 4))})
    with pytest.raises(InputError, match="band_sets"):
        ClusterSample.from_arrays(cat, images={"mine": np.zeros((2, 1, 4, 4))})
    s = ClusterSample.from_arrays(
        cat, images={"mine": np.zeros((2, 2, 4, 4))}, band_sets={"mine": [(0.5, 1.0), (1.0, 2.0)]}
    )
    assert s.band_sets["mine"].name == "mine" and s.ids.tolist() == [0, 1]
    with pytest.raises(InputError, match="cubes"):
        ClusterSample.from_arrays(
            cat, images={"bolometric": np.zeros((2, 1, 4, 4))}, cubes=np.zeros((3, 4, 4, 4))
        )
    with pytest.raises(InputError, match="true masses"):
        _ = s.log10_m500c


# ----------------------------------------------------------------------------- HDF5


@pytest.mark.parametrize("lazy", [True, False])
@pytest.mark.parametrize("compression", ["gzip", "lzf", None])
def test_hdf5_round_trip_exact(tmp_path, lazy, compression):
    s = _random_sample()
    p = s.write(tmp_path / "s.h5", compression=compression)
    r = ClusterSample.read(p, lazy=lazy)
    assert r.is_lazy == lazy
    _assert_samples_equal(s, r)
    assert r.meta == {"k": 3}
    # a subset of a lazy sample reads only its rows, and round-trips again
    sub = r[[7, 2, 2]]
    if lazy:
        assert sub._images["bolometric"].rows.tolist() == [7, 2, 2]
    _assert_samples_equal(s[[7, 2, 2]], sub)
    _assert_samples_equal(s[[7, 2, 2]], ClusterSample.read(sub.write(tmp_path / "sub.h5")))
    _assert_samples_equal(s, r.load())


def test_hdf5_write_is_atomic_and_checks(tmp_path):
    s = _random_sample()
    p = s.write(tmp_path / "s.h5")
    with pytest.raises(FileExistsError):
        s.write(p)
    s[:3].write(p, overwrite=True)
    assert len(ClusterSample.read(p)) == 3
    assert [f.name for f in tmp_path.iterdir()] == ["s.h5"]  # no temporary files left
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(FileFormatError, match="bad.h5"):
        ClusterSample.read(bad)
    with pytest.raises(FileFormatError, match="does not exist"):
        ClusterSample.read(tmp_path / "missing.h5")


# ----------------------------------------------------------------------------- folds


def test_octant_folds_disjoint_cover_and_separated():
    s = _random_sample(n=200, cubes=False)
    folds = s.folds()
    assert 2 <= len(folds) <= 8
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(len(s)))  # disjoint and covering
    pos = np.column_stack([np.asarray(s.catalog[c], float) for c in ("x", "y", "z")])
    octant = (np.floor(pos / 176.0) * [4, 2, 1]).sum(axis=1)
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0
        assert len(train) + len(test) == len(s)
        assert len(np.unique(octant[test])) == 1  # every test cluster in one octant
        assert octant[test[0]] not in set(octant[train].tolist())


def test_kfold_and_fold_errors():
    s = _random_sample(n=23, cubes=False)
    a = s.folds(k=5, seed=1)
    b = s.folds("kfold", k=5, seed=1)
    assert len(a) == 5
    for (tr1, te1), (tr2, te2) in zip(a, b):
        np.testing.assert_array_equal(te1, te2)
        np.testing.assert_array_equal(tr1, tr2)
    sizes = sorted(len(te) for _, te in a)
    assert sizes == [4, 4, 5, 5, 5]
    assert sorted(np.concatenate([te for _, te in a]).tolist()) == list(range(23))
    assert [te.tolist() for _, te in s.folds(5, seed=2)] != [te.tolist() for _, te in a]
    with pytest.raises(InputError, match="k must be"):
        s.folds(k=1)
    with pytest.raises(InputError, match="kind"):
        s.folds("quadrant")
    nobox = ClusterSample.from_arrays(
        {"redshift": [0.1, 0.2]}, images={"bolometric": np.zeros((2, 1, 4, 4))}
    )
    with pytest.raises(MissingColumnError, match="x, y, z"):
        nobox.folds()


# ----------------------------------------------------------------------------- torch


def test_torch_view():
    torch = pytest.importorskip("torch")
    s = _random_sample()

    def transform(images, redshift):
        return np.log10(images + 1.0) * (1 + redshift[:, None, None, None])

    ds = s.to_torch(bands="erosita_3", transform=transform, cubes=True, redshift=True)
    assert len(ds) == len(s)
    item = ds[4]
    expected = np.log10(s.images("erosita_3")[4] + 1.0) * (1 + s.redshift[4])
    assert item["image"].dtype == torch.float32 and tuple(item["image"].shape) == (3, 8, 8)
    np.testing.assert_allclose(item["image"].numpy(), expected, rtol=1e-6)
    assert tuple(item["cube"].shape) == (1, 4, 4, 4)
    assert float(item["target"]) == pytest.approx(s.catalog["log10_m500c"][4], rel=1e-6)
    assert float(item["redshift"]) == pytest.approx(s.redshift[4], rel=1e-6)
    assert item["index"] == 4
    lazy_ds = s.to_torch(bands="erosita_3", transform=transform, cubes=True, preload=False)
    np.testing.assert_allclose(lazy_ds[4]["image"].numpy(), item["image"].numpy())
    loader = torch.utils.data.DataLoader(ds, batch_size=5)
    batch = next(iter(loader))
    assert tuple(batch["image"].shape) == (5, 3, 8, 8)
    with pytest.raises(InputError, match="true masses"):
        ClusterSample.from_arrays(
            {"redshift": [0.1]}, images={"bolometric": np.zeros((1, 1, 4, 4))}
        ).to_torch()


# ----------------------------------------------------------------------------- build


def test_build_images_match_independent_binning(built, data_dir):
    s = built
    assert len(s) == len(_CLUSTERS)
    assert s.ids.tolist() == [c[0] for c in _CLUSTERS]
    assert list(s.band_sets) == ["bolometric", "erosita_3"]
    edges = np.linspace(-2.3, 2.3, 33)
    for k, (cid, ra0, dec0, z, r500, *_rest) in enumerate(_CLUSTERS):
        ra, dec, energy, _src = _events(data_dir, cid)
        x, y = _project_independently(ra, dec, ra0, dec0, z)
        for name in ("bolometric", "erosita_3"):
            bands = get_bands(name).edges_keV
            for b, (lo, hi) in enumerate(bands):
                m = (energy >= lo) & (energy < hi)
                ref, _, _ = np.histogram2d(x[m], y[m], bins=[edges, edges])
                np.testing.assert_array_equal(s.images(name)[k, b], ref.astype(np.int32))
        bolo = (energy >= 0.5) & (energy < 10.0)
        inside = (np.abs(x) <= 2.3) & (np.abs(y) <= 2.3) & bolo
        assert s.observables["n_phot"][k] == inside.sum()
        # N_phot,500c: events within R500c (not 2 R500c) of the centre, counted directly
        n500 = int(np.count_nonzero(bolo & (np.hypot(x, y) <= r500)))
        assert s.observables["n_phot_500c"][k] == n500
        assert 0 < n500 < inside.sum()


def test_build_source_images_sum_to_total(built, data_dir):
    s = built
    assert s.sources == ("icm", "agn", "background")
    for name in s.band_sets:
        total = sum(s.source_images(name, src) for src in s.sources)
        np.testing.assert_array_equal(total, s.images(name))
    ra, dec, energy, src = _events(data_dir, _CLUSTERS[0][0])
    x, y = _project_independently(ra, dec, *_CLUSTERS[0][1:4])
    inside = (np.abs(x) <= 2.3) & (np.abs(y) <= 2.3) & (energy >= 0.5) & (energy < 10)
    assert s.observables["n_phot_icm"][0] == np.count_nonzero(inside & (src == 1))
    assert s.observables["n_phot_agn"][0] == np.count_nonzero(inside & np.isin(src, [2, 3]))


def test_build_catalog_dynamics_and_meta(built, data_dir):
    from astroclustermass.dynamics import DynamicalCube, dynamical_observables

    s = built
    for c in ("id", "file", "ra", "dec", "redshift", "r500c", "log10_m500c", "x", "y", "z"):
        assert c in s.catalog.colnames
    assert s.catalog["ra"].unit == u.deg and s.catalog.meta["box_size"] == 352.0
    assert s.has_truth and s.exposure == (2000.0, 2000.0)
    assert s.cubes.shape == (5, 64, 64, 64) and s.cubes.dtype == np.float32
    gal = Table.read(data_dir / "galaxies.ecsv")
    for k, row in enumerate(_CLUSTERS):
        g = gal[gal["cluster_id"] == row[0]]
        obs = dynamical_observables(g)
        for key in ("n_gal", "n_gal_cylinder"):
            assert s.observables[key][k] == obs[key]
        np.testing.assert_allclose(s.observables["sigma_v"][k], obs["sigma_v"])
        if row[0] == 13:  # two galaxies: a zero cube, recorded in the meta
            assert s.cubes[k].sum() == 0
            continue
        np.testing.assert_array_equal(s.cubes[k], DynamicalCube.from_galaxies(g).data)
    assert s.meta["build"]["zero_cube_ids"] == [13]
    assert s.meta["build"]["bw_method"] == 0.15 and "package_version" in s.meta
    assert s.dynamical_cube(0).n_galaxies == s.observables["n_gal_cylinder"][0]


def test_build_cube_size(data_dir):
    """n_cube=16 gives 16³ KDE cubes on the same phase-space box, recorded in the meta."""
    from astroclustermass.dynamics import DynamicalCube

    with pytest.warns(AstroClusterMassWarning, match="too few galaxies"):
        s = ClusterSample.build(
            data_dir, bands="bolometric", npix=8, n_jobs=1, progress=False, n_cube=16
        )
    assert s.cubes.shape == (5, 16, 16, 16) and s.meta["build"]["n_cube"] == 16
    gal = Table.read(data_dir / "galaxies.ecsv")
    g = gal[gal["cluster_id"] == _CLUSTERS[0][0]]
    np.testing.assert_array_equal(s.cubes[0], DynamicalCube.from_galaxies(g, n=16).data)
    assert s.cubes[0].sum() == pytest.approx(1.0, rel=1e-5)
    for bad in (1, 2.5, "x"):
        with pytest.raises(InputError, match="n_cube"):
            ClusterSample.build(data_dir, npix=8, n_jobs=1, progress=False, n_cube=bad)


def test_build_warns_for_few_galaxies(data_dir):
    _require_readers()
    with pytest.warns(AstroClusterMassWarning, match=r"too few galaxies.*\[13\]"):
        ClusterSample.build(data_dir, bands="bolometric", npix=8, n_jobs=1, progress=False)


def test_build_parallel_identical_and_streamed_to_file(built, data_dir, tmp_path):
    s2 = _build(data_dir, sources=("icm", "agn", "background"), n_jobs=2)
    _assert_samples_equal(built, s2)
    f = _build(
        data_dir,
        sources=("icm", "agn", "background"),
        n_jobs=2,
        path=tmp_path / "built.h5",
        cube_compression="lzf",
    )
    assert f.is_lazy
    _assert_samples_equal(built, f)
    _assert_samples_equal(built, ClusterSample.read(built.write(tmp_path / "mem.h5")))


def test_build_quantized_cubes_within_bound_and_smaller(built, data_dir, tmp_path):
    """Default file cubes: n^3 |error| <= CUBE_ERROR per voxel; images exact; smaller file."""
    from astroclustermass.sample.hdf5 import CUBE_ERROR

    kw = {"sources": ("icm", "agn", "background"), "n_jobs": 1}
    q = _build(data_dir, path=tmp_path / "q.h5", **kw)
    _build(data_dir, path=tmp_path / "x.h5", cube_compression="lzf", **kw)
    n = built.cubes.shape[1]
    err = np.abs(q.cubes.astype(np.float64) - built.cubes) * n**3
    assert 0 < err.max() <= CUBE_ERROR
    assert q.meta["build"]["cube_compression"] == "quantized"
    for name in built.band_sets:
        np.testing.assert_array_equal(q.images(name), built.images(name))
    assert (tmp_path / "q.h5").stat().st_size < (tmp_path / "x.h5").stat().st_size


def test_build_cube_size_pools_the_kde_grid(built, data_dir):
    """cube_size sum-pools the n_cube KDE in the workers (same as pooling afterwards)."""
    from astroclustermass.dynamics import sum_pool_cubes

    n = built.cubes.shape[1]
    small = _build(data_dir, sources=("icm", "agn", "background"), cube_size=n // 2)
    np.testing.assert_allclose(small.cubes, sum_pool_cubes(built.cubes, n // 2), atol=1e-9)
    np.testing.assert_allclose(
        small.cubes.sum(axis=(1, 2, 3))[small.cubes.any((1, 2, 3))], 1, rtol=1e-5
    )
    assert small.meta["build"]["n_cube"] == n // 2
    assert small.meta["build"]["cube_pooled_from"] == n
    with pytest.raises(InputError, match="must divide n_cube"):
        _build(data_dir, cube_size=n - 1)


def test_build_without_galaxies_or_labels(tmp_path):
    _require_readers()
    root = make_directory(tmp_path, with_galaxies=False, labels=False)
    s = _build(root, bands="erosita_3")
    assert s.cubes is None and s.sources == ()
    assert "n_gal" not in s.observables.colnames
    assert s.observables["n_phot"].tolist() == s.images().sum(axis=(1, 2, 3)).tolist()
    with pytest.raises(InputError, match="source labels"):
        s.source_images("erosita_3", "icm")


def test_build_missing_column_and_files(tmp_path):
    _require_readers()
    root = make_directory(tmp_path, with_galaxies=False)
    cat = Table.read(root / "catalog.ecsv")
    cat.remove_column("redshift")
    cat.write(root / "nored.ecsv")
    with pytest.raises(MissingColumnError, match=r"nored.ecsv.*'redshift'"):
        ClusterSample.build(root, catalog="nored.ecsv", progress=False)
    with pytest.raises(FileFormatError, match="does not exist"):
        ClusterSample.build(root, catalog="nothere.ecsv", progress=False)
    with pytest.raises(FileFormatError, match="does not exist"):
        ClusterSample.build(tmp_path / "nodir", progress=False)
    (root / "events/cluster_12.fits").unlink()
    (root / "events/cluster_14.fits").write_bytes(b"SIMPLE  = garbage")
    with pytest.raises(FileFormatError, match=r"cluster id 12 .*cluster_12.fits"):
        ClusterSample.build(root, npix=8, progress=False, n_jobs=1)
    (root / "events/cluster_12.fits").write_bytes(b"")
    # in parallel the first failure seen is reported (either one)
    with pytest.raises(FileFormatError, match=r"cluster id 1[24] .*not a FITS file"):
        ClusterSample.build(root, npix=8, progress=False, n_jobs=2)
    with pytest.warns(AstroClusterMassWarning, match=r"skipped 2 cluster.*\[12, 14\]"):
        s = ClusterSample.build(root, npix=8, progress=False, on_error="skip", n_jobs=2)
    assert s.ids.tolist() == [11, 13, 15]
    assert s.meta["build"]["skipped_ids"] == [12, 14]
    with pytest.raises(InputError, match="on_error"):
        ClusterSample.build(root, on_error="ignore")
    Table({"cluster_id": [11], "x_proj": [0.1], "y_proj": [0.2]}).write(root / "bad_gal.ecsv")
    with pytest.raises(MissingColumnError, match=r"bad_gal.ecsv needs .*v_los"):
        ClusterSample.build(root, galaxies="bad_gal.ecsv", progress=False)


def test_fast_ecsv_reader_matches_astropy(tmp_path):
    from astropy.table import MaskedColumn

    from astroclustermass.sample.ecsv import read_ecsv

    rng = np.random.default_rng(3)
    n = 300
    t = Table(
        {
            "cluster_id": rng.integers(0, 30, n),
            "x_proj": rng.normal(size=n) * u.Mpc,
            "is_member": rng.random(n) > 0.5,
            "m_star": MaskedColumn(10 ** rng.uniform(9, 11, n), mask=rng.random(n) > 0.8),
            "label": np.array(["a b", "c"] * (n // 2)),
            "flag": MaskedColumn(rng.integers(0, 3, n), mask=rng.random(n) > 0.5),
            "special": np.where(rng.random(n) > 0.5, np.nan, -np.inf),
        }
    )
    t["x_proj"].description = "projected x"
    t.meta["box_size"] = 352.0
    t.write(tmp_path / "g.ecsv")
    t32 = Table({"f": rng.random(5).astype(np.float32), "s": ["007", "1", "2", "3", "4"]})
    t32.write(tmp_path / "f32.ecsv")
    for name in ("g.ecsv", "f32.ecsv"):
        a = read_ecsv(tmp_path / name)
        b = Table.read(tmp_path / name, format="ascii.ecsv")
        assert a.meta == b.meta and a.colnames == b.colnames
        for c in b.colnames:
            assert type(a[c]) is type(b[c]) and a[c].dtype == b[c].dtype
            assert (a[c].unit, a[c].description) == (b[c].unit, b[c].description)
            mask = np.ma.getmaskarray(b[c])
            np.testing.assert_array_equal(np.ma.getmaskarray(a[c]), mask)
            np.testing.assert_array_equal(np.ma.getdata(a[c])[~mask], np.ma.getdata(b[c])[~mask])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"npix": 64.5}, "npix must be a positive integer; got 64.5"),
        ({"npix": 0}, "npix must be a positive integer"),
        ({"npix": True}, "npix must be a positive integer"),
        ({"aperture": -1.0}, "aperture must be a positive finite length"),
        ({"n_cube": 1}, "n_cube"),
        ({"n_cube": 16.5}, "n_cube"),
    ],
)
def test_build_refuses_a_bad_grid_before_reading_anything(tmp_path, kwargs, match):
    """One grid validator: build and bin_events apply the same rule (64.5 is not 64)."""
    from astroclustermass.images import bin_events

    with pytest.raises(InputError, match=match):
        ClusterSample.build(tmp_path, **kwargs)
    if "npix" in kwargs:
        with pytest.raises(InputError, match=match):
            bin_events(np.zeros(1), np.zeros(1), npix=kwargs["npix"])


def test_a_corrupted_chunk_names_the_sample_file_and_dataset(tmp_path):
    import h5py

    from astroclustermass.exceptions import FileFormatError
    from astroclustermass.testing import make_tiny_sample

    path = make_tiny_sample(n=6, seed=1).write(tmp_path / "s.h5")
    with h5py.File(path, "r") as f:
        info = f["images/bolometric"].id.get_chunk_info(2)  # cluster 2's compressed chunk
    raw = bytearray(path.read_bytes())
    raw[info.byte_offset : info.byte_offset + info.size] = b"\xff" * info.size
    path.write_bytes(bytes(raw))
    lazy = ClusterSample.read(path)  # the header and tables are intact
    np.asarray(lazy[:2].images("bolometric"))  # other clusters' chunks still read
    pattern = r"sample file .*s\.h5: dataset 'images/bolometric' cannot be read.*damaged"
    with pytest.raises(FileFormatError, match=pattern):
        np.asarray(lazy.images("bolometric"))
    with pytest.raises(FileFormatError, match=pattern):
        ClusterSample.read(path, lazy=False)
