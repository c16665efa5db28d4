"""BandImage, exact fast binning, FITS I/O, plotting, masks and the image transforms."""

from __future__ import annotations

import json
import os
from pathlib import Path

import astropy.units as u
import matplotlib
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

matplotlib.use("Agg")

from astroclustermass.bands import get_bands  # noqa: E402
from astroclustermass.events import SOURCE_AGN, SOURCE_ICM, EventList  # noqa: E402
from astroclustermass.exceptions import (  # noqa: E402
    AstroClusterMassWarning,
    BandMismatchError,
    EmptyInputError,
    FileFormatError,
    InputError,
    NotFittedError,
)
from astroclustermass.images import (  # noqa: E402
    BandImage,
    KrippendorfPipeline,
    RedshiftNormalizer,
    assign_bands,
    bin_events,
    bin_many,
    binning_backend,
    core_excision,
    inverse_log_scale,
    log_scale,
    source_masks,
)

SIXTE = Path(__file__).parent / "data" / "sixte_events.fits"


def _hist(x, y, b, n_bands, npix, aperture):
    edges = np.linspace(-aperture, aperture, npix + 1)
    return np.stack(
        [np.histogram2d(x[b == k], y[b == k], bins=[edges, edges])[0] for k in range(n_bands)]
    )


def _edge_photons(rng, n, npix, aperture):
    """Photons with many coordinates exactly on (or one ulp beside) the bin edges."""
    edges = np.linspace(-aperture, aperture, npix + 1)
    x = rng.normal(0, aperture / 1.5, n)
    y = rng.normal(0, aperture / 1.5, n)
    for arr in (x, y):
        k = rng.random(n) < 0.3
        arr[k] = rng.choice(edges, k.sum())
        k = rng.random(n) < 0.1
        arr[k] = np.nextafter(arr[k], rng.choice([-np.inf, np.inf], k.sum()))
    # the outer edges and just beyond them
    x[:8] = [
        aperture,
        -aperture,
        aperture,
        np.nextafter(aperture, 9),
        -aperture,
        np.nextafter(-aperture, -9),
        0.0,
        -0.0,
    ]
    y[:8] = [
        aperture,
        aperture,
        -aperture,
        0.0,
        np.nextafter(-aperture, -9),
        0.0,
        np.nextafter(aperture, 9),
        aperture,
    ]
    return x, y


# ------------------------------------------------------------------ binning
HAVE_NUMBA = binning_backend() == "numba"


@pytest.fixture(
    params=[
        "numpy",
        pytest.param("numba", marks=pytest.mark.skipif(not HAVE_NUMBA, reason="needs numba")),
    ]
)
def backend(request):
    """Every binning test runs on both kernels."""
    return request.param


def test_numba_is_the_default_backend_when_installed():
    pytest.importorskip("numba")
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        pytest.skip("NUMBA_DISABLE_JIT is set")
    assert binning_backend() == "numba"


@pytest.mark.parametrize(
    ("npix", "aperture"), [(128, 2.3), (7, 1.0), (32, 0.37), (1, 2.3), (50, 1e3), (64, 1e-3)]
)
def test_bin_events_matches_histogram2d_bin_for_bin(npix, aperture, backend):
    rng = np.random.default_rng(npix)
    x, y = _edge_photons(rng, 20_000, npix, aperture)
    b = rng.integers(-2, 5, x.size)  # includes codes in no band
    got = bin_events(x, y, b, 3, npix, aperture, backend=backend)
    assert got.dtype == np.int32 and got.shape == (3, npix, npix)
    np.testing.assert_array_equal(got, _hist(x, y, b, 3, npix, aperture))
    # one band, no codes; and int8 codes at the ends of their range
    one = bin_events(x, y, npix=npix, aperture=aperture, backend=backend)
    np.testing.assert_array_equal(one, _hist(x, y, np.zeros(x.size), 1, npix, aperture))
    codes = np.where(b == 2, 127, np.where(b == 1, -128, b)).astype(np.int8)
    got = bin_events(x, y, codes, 3, npix, aperture, backend=backend)
    np.testing.assert_array_equal(got, _hist(x, y, codes, 3, npix, aperture))


def test_outer_right_edge_is_closed_and_beyond_is_out(backend):
    a = 2.3
    got = bin_events(
        [a, np.nextafter(a, 3), -a, np.nextafter(-a, -3)],
        [0.1] * 4,
        npix=4,
        aperture=a,
        backend=backend,
    )[0]
    assert got.sum() == 2 and got[-1].sum() == 1 and got[0].sum() == 1


def test_bin_events_infinite_and_nan(backend):
    x = np.array([np.inf, -np.inf, 0.0, 1e300, -1e300])
    y = np.array([0.0, 0.0, np.inf, 0.0, 0.0])
    got = bin_events(x, y, npix=4, backend=backend)
    np.testing.assert_array_equal(got, _hist(x, y, np.zeros(5), 1, 4, 2.3))
    assert got.sum() == 0
    with pytest.raises(InputError, match=r"x coordinates contain 1 NaN.*index 1"):
        bin_events([0.0, np.nan], [0.0, 0.0], backend=backend)
    with pytest.raises(InputError, match=r"y coordinates of cluster 1 contain 2 NaN"):
        bin_many(
            [np.zeros(3), np.zeros(3)],
            [np.zeros(3), np.array([np.nan, 0.0, np.nan])],
            backend=backend,
        )


def test_broken_numba_falls_back_to_numpy_with_a_warning(monkeypatch):
    """A numba that cannot compile, cache or correctly run the kernel is not used."""
    pytest.importorskip("numba")
    import astroclustermass.images.binning as binning

    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        pytest.skip("NUMBA_DISABLE_JIT is set")

    def broken(name, package=None):
        raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setattr(binning.importlib, "import_module", broken)
    with pytest.warns(AstroClusterMassWarning, match="no locator available.*numpy instead"):
        assert binning._jit_module.__wrapped__() is None
    monkeypatch.undo()

    class WrongKernel:  # compiled, but counting wrongly
        BLOCK, NO_ENERGIES = 16, np.zeros(0)

        @staticmethod
        def bin_cluster(x, y, codes, energies, bounds, image, *args):
            image[:] = 0

    monkeypatch.setattr(binning.importlib, "import_module", lambda *a, **k: WrongKernel)
    with pytest.warns(AstroClusterMassWarning, match="differ from numpy.histogram2d"):
        assert binning._jit_module.__wrapped__() is None
    monkeypatch.undo()
    assert binning._jit_module.__wrapped__() is not None  # the real one passes its check


def test_backend_argument(monkeypatch):
    import astroclustermass.images.binning as binning

    with pytest.raises(InputError, match="backend must be one of"):
        bin_events([0.0], [0.0], backend="cuda")
    with pytest.raises(InputError, match="n_jobs"):
        bin_many([np.zeros(3)], [np.zeros(3)], n_jobs=0)
    monkeypatch.setattr(binning, "_jit_module", lambda: None)
    assert binning_backend() == "numpy"
    with pytest.raises(InputError, match="needs numba"):
        bin_events([0.0], [0.0], backend="numba")
    # auto quietly uses numpy
    assert bin_events([0.0], [0.0], npix=2, backend="auto").sum() == 1


def test_bin_events_bad_arguments():
    with pytest.raises(InputError, match="same length"):
        bin_events([0.0], [0.0, 1.0])
    with pytest.raises(InputError, match="band indices are required"):
        bin_events([0.0], [0.0], n_bands=2)
    with pytest.raises(InputError, match="integer band"):
        bin_events([0.0], [0.0], [0.5], n_bands=2)
    with pytest.raises(InputError, match="npix"):
        bin_events([0.0], [0.0], npix=0)
    with pytest.raises(InputError, match="aperture"):
        bin_events([0.0], [0.0], aperture=-1)


def test_bin_many_matches_per_cluster_and_threads_agree(backend, monkeypatch):
    import astroclustermass.images.binning as binning

    monkeypatch.setattr(binning, "_PARALLEL_MIN", 0)  # threads even for this small call
    rng = np.random.default_rng(7)
    sizes = [0, 1, 5, 300, 40_000, 70_000, 17, 0, 2_000]  # small ones share blocks, big ones split
    xs, ys, bs = [], [], []
    for n in sizes:
        x, y = _edge_photons(rng, n, 32, 2.3) if n >= 8 else (rng.normal(0, 1, n),) * 2
        xs.append(x)
        ys.append(y)
        bs.append(rng.integers(-1, 3, n).astype(np.int64))
    one = bin_many(xs, ys, bs, 3, 32, 2.3, n_jobs=1, backend=backend)
    two = bin_many(xs, ys, bs, 3, 32, 2.3, n_jobs=2, backend=backend)
    np.testing.assert_array_equal(one, two)
    for k in range(len(sizes)):
        np.testing.assert_array_equal(one[k], _hist(xs[k], ys[k], bs[k], 3, 32, 2.3))
    out = np.full(one.shape, 99, np.int32)
    assert bin_many(xs, ys, bs, 3, 32, 2.3, out=out, backend=backend) is out
    np.testing.assert_array_equal(out, one)
    with pytest.raises(InputError, match="out must be"):
        bin_many(xs, ys, bs, 3, 32, 2.3, out=np.zeros((2, 3, 32, 32), np.int32))


@pytest.mark.parametrize(
    "bands",
    [
        "erosita_3",
        "krippendorf_10",
        "bolometric",
        "lovig_4",  # the last band is open: > 7.5 keV
        [(0.5, 1.0), (2.0, 3.0), (2.5, 9.0)],
    ],
)
def test_bin_many_with_energies_equals_band_indices(bands, backend):
    """Contiguous bands, bands with gaps (and overlaps: the first band wins) and band
    edges hit exactly all give the counts of histogram2d on band_index."""
    rng = np.random.default_rng(3)
    bands = get_bands(bands)
    xs = [rng.normal(0, 1, n) for n in (100, 50_000)]
    ys = [rng.normal(0, 1, n) for n in (100, 50_000)]
    es = [rng.uniform(0.1, 12, n) for n in (100, 50_000)]
    es[1][:2000] = rng.choice(bands.edges_keV.ravel(), 2000)
    es = [e * u.keV for e in es]
    got = bin_many(xs, ys, energies=es, bands=bands, npix=16, backend=backend)
    for k in range(2):
        b = bands.band_index(es[k])
        np.testing.assert_array_equal(got[k], _hist(xs[k], ys[k], b, bands.n_bands, 16, 2.3))


@pytest.mark.parametrize(
    "name", ["bolometric", "erosita_3", "krippendorf_10", "lovig_4", "all_energies"]
)
def test_assign_bands_equals_band_index(name):
    bands = get_bands(name)
    rng = np.random.default_rng(0)
    e = np.concatenate(
        [rng.uniform(0, 12, 5000), bands.edges_keV[np.isfinite(bands.edges_keV)], [0.0, 1e6]]
    )
    got = assign_bands(e, bands)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, bands.band_index(e))
    np.testing.assert_array_equal(assign_bands(e * 1000 * u.eV, bands), got)


def test_assign_bands_non_contiguous():
    bands = get_bands([(0.5, 1.0), (2.0, 3.0)])
    e = np.array([0.4, 0.5, 0.99, 1.0, 1.5, 2.0, 2.99, 3.0])
    np.testing.assert_array_equal(assign_bands(e, bands), bands.band_index(e))


# ------------------------------------------------------------------ BandImage
def test_from_events_band_sums_equal_direct_mask_counts():
    ev = EventList.read(SIXTE)
    img = BandImage.from_events(ev, bands="erosita_3", npix=64, aperture=1.5)
    assert img.redshift == 0.2 and img.center.ra.deg == 150.0  # from the header
    x, y = ev.to_comoving(SkyCoord(150.0 * u.deg, 2.2 * u.deg), 0.2)
    e = ev.energy.to_value(u.keV)
    inside = (np.abs(x) <= 1.5) & (np.abs(y) <= 1.5)
    for k, (lo, hi) in enumerate(img.bands.edges_keV):
        want = int((inside & (e >= lo) & (e < hi)).sum())
        assert img.data[k].sum() == want
    assert 0 < img.total < len(ev)
    np.testing.assert_array_equal(img.data, _hist(x, y, img.bands.band_index(e), 3, 64, 1.5))


def test_from_events_arguments_and_empty():
    ev = EventList.read(SIXTE)
    a = BandImage.from_events(
        ev,
        SkyCoord(150 * u.deg, 2.2 * u.deg),
        0.2,
        aperture=2.3 * u.Mpc,
        npix=16,
        cosmology="Planck18",
        r500c=0.7,
    )
    assert a.cosmology.name == "Planck18" and a.r500c == 0.7 and a.aperture == 2.3
    empty = ev[np.zeros(len(ev), bool)]
    img = BandImage.from_events(empty, npix=8)
    assert img.total == 0 and img.data.shape == (1, 8, 8)
    with pytest.raises(InputError, match="redshift"):
        BandImage.from_events(EventList(ev.coords, ev.energy), (150.0, 2.2), npix=8)


def test_band_image_properties_and_validation():
    img = BandImage(np.zeros((3, 8, 8)), "erosita_3", aperture=2.0, center=(150.0, 2.2))
    assert img.pixel_size == 0.5 and img.extent == (-2.0, 2.0, -2.0, 2.0)
    np.testing.assert_allclose(img.centers, np.arange(-1.75, 2.0, 0.5))
    assert isinstance(img.center, SkyCoord)
    with pytest.raises(BandMismatchError):
        BandImage(np.zeros((2, 8, 8)), "erosita_3")
    with pytest.raises(InputError, match="shape"):
        BandImage(np.zeros((1, 8, 4)))
    with pytest.raises(InputError, match="NaN"):
        BandImage(np.full((1, 2, 2), np.nan))
    assert "BandImage" in repr(img)


def test_fits_roundtrip_exact(tmp_path):
    from astropy.wcs import WCS

    rng = np.random.default_rng(0)
    data = rng.poisson(3.0, (3, 16, 16)).astype(np.int32)
    data[0, 1, 2] = 1000  # asymmetric: catches a transposed write
    img = BandImage(
        data,
        "erosita_3",
        aperture=2.3,
        redshift=0.123456789012345,
        center=SkyCoord(150.123456789 * u.deg, -2.2 * u.deg),
        r500c=0.812345678901,
        cosmology="Planck18",
    )
    p = tmp_path / "img.fits"
    img.write(p)
    back = BandImage.read(p)
    np.testing.assert_array_equal(back.data, data)
    assert back.data.dtype == np.int32
    assert back.bands == img.bands and back.bands.name == "erosita_3"
    assert (back.aperture, back.redshift, back.r500c) == (2.3, img.redshift, img.r500c)
    assert back.center.ra.deg == img.center.ra.deg and back.center.dec.deg == -2.2
    assert back.cosmology.name == "Planck18" and back.cosmology.H0 == img.cosmology.H0
    # the header is a WCS for the comoving grid: pixel centres -> comoving offsets
    h = fits.getheader(p)
    assert (h["CTYPE1"], h["CTYPE2"], h["CUNIT1"]) == ("X-COMOV", "Y-COMOV", "Mpc/h")
    assert fits.getdata(p)[0, 2, 1] == 1000  # FITS axis 1 is x
    wcs = WCS(h)
    xw, yw, bw = wcs.pixel_to_world_values([1, 15], [2, 0], [0, 2])
    np.testing.assert_allclose(xw, img.centers[[1, 15]], atol=1e-12)
    np.testing.assert_allclose(yw, img.centers[[2, 0]], atol=1e-12)
    np.testing.assert_array_equal(bw, [0, 2])
    np.testing.assert_array_equal(fits.getdata(p, "BANDS")["E_MAX"], [1.2, 2.0, 7.0])


def test_fits_roundtrip_float_and_awkward_values(tmp_path):
    img = BandImage(
        np.random.default_rng(1).random((4, 8, 8)), "lovig_4", aperture=1e-5 / 3, redshift=None
    )
    img.write(tmp_path / "f.fits")
    back = BandImage.read(tmp_path / "f.fits")
    np.testing.assert_array_equal(back.data, img.data)
    assert back.aperture == img.aperture and back.redshift is None and back.center is None
    assert np.isinf(back.bands.edges_keV[-1, 1])
    with pytest.raises(FileExistsError):
        img.write(tmp_path / "f.fits")


def test_read_errors(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        BandImage.read(tmp_path / "none.fits")
    with pytest.raises(FileFormatError, match="BANDS"):
        BandImage.read(SIXTE)
    (tmp_path / "junk.fits").write_bytes(b"not fits at all" * 300)
    with pytest.raises(FileFormatError):
        BandImage.read(tmp_path / "junk.fits")


def test_plot_returns_axes_and_saves_png(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    img = BandImage.from_events(EventList.read(SIXTE), bands="erosita_3", npix=32, r500c=0.6)
    ax = img.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    assert isinstance(ax.images[0].norm, LogNorm)
    assert ax.get_xlabel().startswith("x") and "Mpc" in ax.get_ylabel()
    assert len(ax.patches) == 1  # the R500 circle
    np.testing.assert_allclose(ax.patches[0].get_radius(), 0.6)
    assert ax.images[0].get_extent() == [-2.3, 2.3, -2.3, 2.3]
    ax.figure.savefig(tmp_path / "img.png")
    assert (tmp_path / "img.png").stat().st_size > 1000
    ax2 = img.plot(band=2, log=False, r500c=None, colorbar=False)
    assert not isinstance(ax2.images[0].norm, LogNorm)
    # the image is shown with x horizontal: data[b, i, j] -> pixel row j, column i
    one = np.zeros((1, 4, 4), int)
    one[0, 3, 0] = 5  # x = +right, y = bottom
    shown = BandImage(one, aperture=2.0).plot(log=False).images[0].get_array()
    assert shown[0, 3] == 5
    fig = img.plot_bands()
    assert len([a for a in fig.axes if a.get_visible()]) == 4  # 3 panels + colour bar
    fig.savefig(tmp_path / "bands.png")
    BandImage(np.zeros((1, 4, 4), int)).plot()  # an empty image does not break log scaling
    with pytest.raises(InputError, match="band"):
        img.plot(band=5)
    plt.close("all")


def test_plot_shows_one_count_pixels_and_the_sky_orientation():
    import matplotlib.pyplot as plt

    data = np.zeros((1, 4, 4), int)
    data[0, 0, 0], data[0, 1, 1], data[0, 2, 2] = 1, 10, 100
    img = BandImage(data, aperture=2.0)
    for ax in (img.plot(), img.plot_bands().axes[0]):
        im = ax.images[0]
        rgba = im.cmap(im.norm(np.ma.masked_less_equal(np.array([0.0, 1.0]), 0)))
        empty, one = rgba
        assert not np.allclose(empty[:3], one[:3])  # one count is not the empty colour
        assert im.norm.vmin == 0.5
    ax = img.plot(sky=True)
    assert ax.xaxis_inverted() and not ax.yaxis_inverted()
    assert "east" in ax.get_xlabel() and "north" in ax.get_ylabel()
    fig = img.plot_bands(sky=True)
    assert fig.axes[0].xaxis_inverted() and "east" in fig.axes[0].get_xlabel()
    assert not img.plot().xaxis_inverted()
    plt.close("all")


# ------------------------------------------------------------------ masks
def test_source_masks_align_with_images():
    icm = np.array([[[3, 0], [1, 2]]])
    agn = np.array([[[1, 0], [2, 2]]])
    m_icm, m_agn = source_masks(icm, agn)
    np.testing.assert_array_equal(m_icm, icm > agn)
    np.testing.assert_array_equal(m_agn, [[[False, False], [True, False]]])
    assert not (m_icm & m_agn).any()
    with pytest.raises(InputError, match="shape"):
        source_masks(np.zeros((2, 2)), np.zeros((3, 3)))
    # from labelled events: the masks sit where the photons are, not rotated
    ev = EventList(
        SkyCoord([150.05, 150.05, 150.0] * u.deg, [2.2, 2.2, 2.25] * u.deg),
        [1.0, 1.0, 1.0] * u.keV,
        source=[SOURCE_ICM, SOURCE_ICM, SOURCE_AGN],
    )
    kw = dict(center=(150.0, 2.2), redshift=0.2, npix=8, aperture=1.0)
    i_img = BandImage.from_events(ev.select(source="icm"), **kw)
    a_img = BandImage.from_events(ev.select(source="agn"), **kw)
    m_icm, m_agn = source_masks(i_img, a_img)
    assert m_icm.shape == i_img.data.shape
    assert np.argwhere(m_icm)[0].tolist() == np.argwhere(i_img.data)[0].tolist()
    assert np.argwhere(m_icm)[0][1] > 4 and np.argwhere(m_agn)[0][2] > 4  # east, north


# ------------------------------------------------------------------ transforms
def test_redshift_normalizer_recovers_gamma_eta():
    rng = np.random.default_rng(5)
    z = rng.uniform(0.05, 0.5, 400)
    gamma, eta = -2.7, 4.1
    totals = np.round(10 ** (gamma * z + eta + rng.normal(0, 0.05, z.size)))
    totals[:5] = 0  # empty clusters are left out
    norm = RedshiftNormalizer().fit(totals, z)
    slope, intercept = np.polyfit(z[5:], np.log10(totals[5:]), 1)  # independent OLS
    assert norm.gamma_ == pytest.approx(slope, rel=1e-10)
    assert norm.eta_ == pytest.approx(intercept, rel=1e-10)
    assert abs(norm.gamma_ - gamma) < 0.05 and abs(norm.eta_ - eta) < 0.02
    assert norm.n_used_ == 395
    exact = RedshiftNormalizer(pivot=100.0).fit(10 ** (gamma * z + eta), z)
    assert exact.gamma_ == pytest.approx(gamma, abs=1e-10)
    assert exact.eta_ == pytest.approx(eta, abs=1e-10)


def test_redshift_normalizer_transform_and_state():
    z = np.array([0.1, 0.3])
    norm = RedshiftNormalizer().fit([1000.0, 100.0], z)
    images = np.ones((2, 3, 4, 4), np.int32)
    out = norm.transform(images, z)
    np.testing.assert_allclose(out[0], 4000.0 / 1000.0)
    np.testing.assert_allclose(out[1], 4000.0 / 100.0)
    np.testing.assert_allclose(norm.transform(images[0], 0.3), 40.0)
    assert norm.transform(images.astype(np.float32), z).dtype == np.float32
    state = json.loads(json.dumps(norm.to_dict()))
    again = RedshiftNormalizer.from_dict(state)
    np.testing.assert_array_equal(again.transform(images, z), out)
    ft = RedshiftNormalizer().fit_transform(images * np.array([10, 1])[:, None, None, None], z)
    assert ft.shape == images.shape
    with pytest.raises(InputError, match="one redshift per image"):
        norm.transform(images, [0.1, 0.2, 0.3])


def test_redshift_normalizer_errors():
    with pytest.raises(NotFittedError, match="fit"):
        RedshiftNormalizer().transform(np.ones((1, 2, 2)), [0.1])
    with pytest.raises(NotFittedError):
        RedshiftNormalizer.from_dict({"pivot": 4000.0}).factor(0.1)
    with pytest.raises(EmptyInputError, match="at least 2"):
        RedshiftNormalizer().fit([0, 0, 5], [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match="same redshift"):
        RedshiftNormalizer().fit([10, 20], [0.2, 0.2])
    with pytest.raises(InputError, match="NaN"):
        RedshiftNormalizer().fit([10, np.nan], [0.1, 0.2])
    with pytest.raises(InputError, match="pivot"):
        RedshiftNormalizer(pivot=-1).fit([10, 20], [0.1, 0.2])


def test_log_scale():
    x = np.array([0.0, 9.0, 99.0, 0.5])
    np.testing.assert_allclose(log_scale(x), np.log10(x + 1))
    np.testing.assert_allclose(inverse_log_scale(log_scale(x)), x, atol=1e-12)
    with pytest.raises(InputError, match="non-negative"):
        log_scale([-2.0])


def test_krippendorf_pipeline_matches_explicit_convolution():
    from scipy.signal import convolve

    rng = np.random.default_rng(2)
    images = rng.poisson(2.0, (2, 10, 12, 12)).astype(float)
    images[0, 4, 5, 5] = 4000.0  # something to clip
    pipe = KrippendorfPipeline(rebin=2)
    out = pipe.transform(images)
    # independent: block sums by loops, kernel from Eq. A.2 on a (11, 3, 3) grid, scipy.signal
    reb = np.zeros((2, 10, 6, 6))
    for i in range(6):
        for j in range(6):
            reb[:, :, i, j] = images[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].sum(axis=(2, 3))
    k, i, j = np.meshgrid(np.arange(-5, 6), np.arange(-1, 2), np.arange(-1, 2), indexing="ij")
    kernel = np.exp(-((i / 1) ** 2 + (j / 1) ** 2 + (k / 5) ** 2) / (2 * 0.75**2))
    kernel /= kernel.sum()
    np.testing.assert_allclose(pipe.kernel, kernel, rtol=1e-12)
    want = np.stack([np.minimum(convolve(r, kernel, mode="same"), 36.0) for r in reb])
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-12)
    assert out.max() == 36.0
    # a single (C, H, W) image, no rebin, no clip
    single = KrippendorfPipeline(rebin=1, clip=None)(images[1])
    np.testing.assert_allclose(single, convolve(images[1], kernel, mode="same"), atol=1e-10)
    assert (
        KrippendorfPipeline.from_dict(json.loads(json.dumps(pipe.to_dict()))).to_dict()
        == pipe.to_dict()
    )
    with pytest.raises(InputError, match="divisible"):
        KrippendorfPipeline(rebin=5).transform(images)
    with pytest.raises(InputError, match="odd"):
        KrippendorfPipeline(kernel_size=(4, 3, 3)).transform(images)


def test_core_excision_matches_percentile_per_image():
    rng = np.random.default_rng(4)
    images = rng.poisson(1.0, (5, 3, 16, 16))
    images[:, :, 8, 8] += 500  # a bright core
    images[4] = 0  # an empty image stays empty
    for p in (99, 90, 50, 25, 100):
        out = core_excision(images, p)
        assert out.dtype == images.dtype
        for k in range(4):
            s = images[k].sum(axis=0)
            keep = (s > 0) & (s <= np.percentile(s[s > 0], p))
            np.testing.assert_array_equal(out[k], images[k] * keep)
        assert out[4].sum() == 0
        assert (out[:4, :, 8, 8] == 0).all() or p == 100
    with pytest.raises(InputError, match="percentile"):
        core_excision(images, 0)
    with pytest.raises(InputError, match="shape"):
        core_excision(np.ones((4, 4)), 50)


@pytest.mark.parametrize("flag", ["arithmetic", "symmetric"])
@pytest.mark.parametrize("backend_name", ["numpy", "auto"])
def test_kernel_fallbacks_give_histogram2d_counts(monkeypatch, flag, backend_name):
    """Edges from a table (if numpy.linspace ever stops matching j * step + lo; numba
    then hands over to numpy) and the general inside test (grids not centred on 0)
    give the same exact counts."""
    import astroclustermass.images.binning as binning

    rng = np.random.default_rng(11)
    x, y = _edge_photons(rng, 20_000, 16, 2.3)
    energy = rng.uniform(0.2, 9.0, x.size)
    edges = np.linspace(-2.3, 2.3, 17)
    bands = get_bands("erosita_3")
    grid = binning._Grid(16, 2.3)
    assert getattr(grid, flag)
    setattr(grid, flag, False)
    monkeypatch.setattr(binning, "_grid", lambda npix, aperture: grid)
    got = bin_many(
        [x], [y], npix=16, aperture=2.3, energies=[energy], bands=bands, backend=backend_name
    )[0]
    for k, (lo, hi) in enumerate(bands.edges_keV):
        m = (energy >= lo) & (energy < hi)
        want = np.histogram2d(x[m], y[m], bins=[edges, edges])[0]
        np.testing.assert_array_equal(got[k], want)


def test_nan_energies_are_rejected(backend):
    with pytest.raises(InputError, match="NaN"):
        assign_bands([1.0, np.nan], "erosita_3")
    for bands in ("bolometric", [(0.5, 1.0), (2.0, 3.0)]):
        with pytest.raises(InputError, match=r"energies contain NaN \(first at index 1\)"):
            bin_many(
                [np.zeros(2)],
                [np.zeros(2)],
                energies=[np.array([1.0, np.nan])],
                bands=bands,
                backend=backend,
            )
        # many clusters binned together: the message names the cluster
        with pytest.raises(
            InputError, match=r"energies of cluster 2 contain NaN \(first at index 3"
        ):
            bin_many(
                [np.zeros(5)] * 3,
                [np.zeros(5)] * 3,
                energies=[np.ones(5), np.ones(5), np.array([1, 1, 1, np.nan, 1])],
                bands=bands,
                backend=backend,
            )
    # infinite energies are simply in no band
    assert assign_bands([np.inf, -np.inf, 1.0], "bolometric").tolist() == [-1, -1, 0]
