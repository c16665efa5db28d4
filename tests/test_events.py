"""EventList: reading the three layouts, writing, selections and the sky → comoving projection."""

from __future__ import annotations

import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from astroclustermass.cosmology import get_cosmology
from astroclustermass.events import (
    SOURCE_AGN,
    SOURCE_BACKGROUND,
    SOURCE_ICM,
    SOURCE_UNKNOWN,
    EventList,
    read_events,
)
from astroclustermass.exceptions import (
    EmptyInputError,
    FileFormatError,
    InputError,
    MissingColumnError,
    UnitError,
    UnknownNameError,
)

DATA = Path(__file__).parent / "data"
SIXTE = DATA / "sixte_events.fits"
ESASS = DATA / "esass_events.fits"
PHOX = DATA / "phox_phlist.fits"


def _events(n=200, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    coords = SkyCoord(rng.normal(150, 0.05, n) * u.deg, rng.normal(2.2, 0.05, n) * u.deg)
    energy = rng.uniform(0.2, 10.0, n) * u.keV  # float64: not float32-exact
    return EventList(coords, energy, **kwargs)


def _same(a: EventList, b: EventList) -> None:
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.ra.value, b.ra.value)
    np.testing.assert_array_equal(a.dec.value, b.dec.value)
    np.testing.assert_array_equal(a.energy.value, b.energy.value)
    if a.time is None:
        assert b.time is None
    else:
        np.testing.assert_array_equal(a.time.value, b.time.value)
    for name in ("source", "src_id"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------------- round trip
def test_sixte_roundtrip_exact(tmp_path):
    rng = np.random.default_rng(1)
    n = 150
    src_id = rng.choice([1, 2, 3, -1], n).astype(np.int32)
    code = {1: SOURCE_ICM, 2: SOURCE_AGN, 3: SOURCE_AGN, -1: SOURCE_BACKGROUND}
    meta = {
        "telescope": "SRG",
        "instrument": "eROSITA",
        "exposure": 1234.5,
        "ra_obj": 150.0,
        "dec_obj": 2.2,
        "redshift": 0.123456789,
        "object": "c1",
        "source_map": {1: "icm", 2: "agn", 3: "agn", -1: "background"},
    }
    ev = _events(
        n,
        time=np.sort(rng.uniform(0, 1e4, n)) * u.s,
        source=[code[int(s)] for s in src_id],
        src_id=src_id,
        meta=meta,
    )
    path = tmp_path / "ev.fits"
    ev.write(path)
    back = EventList.read(path)
    assert back.format == "sixte"
    _same(ev, back)
    assert back.meta == meta
    assert back.exposure == 1234.5 * u.s
    # float64 energies are written as float64 (no loss); float32-exact ones as float32 (E)
    assert fits.getheader(path, "EVENTS")["TFORM" + str(_col_index(path, "SIGNAL"))] == "D"
    ev32 = EventList(ev.coords, np.float32(ev.energy.value).astype(float) * u.keV)
    ev32.write(tmp_path / "e32.fits")
    assert (
        fits.getheader(tmp_path / "e32.fits", "EVENTS")[
            "TFORM" + str(_col_index(tmp_path / "e32.fits", "SIGNAL"))
        ]
        == "E"
    )
    _same(ev32, EventList.read(tmp_path / "e32.fits"))


def _col_index(path, name):
    names = fits.getdata(path, "EVENTS").columns.names
    return names.index(name) + 1


def test_roundtrip_labels_without_src_id(tmp_path):
    ev = _events(4, source=[SOURCE_ICM, SOURCE_AGN, SOURCE_BACKGROUND, SOURCE_UNKNOWN])
    ev.write(tmp_path / "a.fits")
    back = EventList.read(tmp_path / "a.fits")
    assert back.source_labels.tolist() == ["icm", "agn", "background", "unknown"]
    assert back.src_id.tolist() == [1, 2, -1, 0]


def test_write_refuses_to_overwrite(tmp_path):
    ev = _events(3)
    ev.write(tmp_path / "a.fits")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        ev.write(tmp_path / "a.fits")
    ev.write(tmp_path / "a.fits", overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_shipped_sixte_file_written_by_the_package():
    ev = read_events(SIXTE)
    with fits.open(SIXTE) as hdul:  # independent read with astropy
        d = hdul["EVENTS"].data
        np.testing.assert_array_equal(ev.ra.to_value(u.deg), d["RA"])
        np.testing.assert_array_equal(ev.energy.to_value(u.keV), d["SIGNAL"].astype(float))
        np.testing.assert_array_equal(ev.time.to_value(u.s), d["TIME"])
        np.testing.assert_array_equal(ev.src_id, d["SRC_ID"])
        expected = np.select(
            [d["SRC_ID"] == 1, np.isin(d["SRC_ID"], [2, 3]), d["SRC_ID"] == -1],
            ["icm", "agn", "background"],
            "unknown",
        )
    assert ev.format == "sixte" and len(ev) == 300
    assert ev.meta["telescope"] == "SRG" and ev.meta["redshift"] == 0.2
    assert ev.source_labels.tolist() == expected.tolist()
    assert ev._extra["PH_ID"].tolist() == list(range(1, 301))


def test_shipped_esass_file():
    ev = EventList.read(ESASS)
    d = fits.getdata(ESASS, "EVENTS")
    assert ev.format == "esass" and len(ev) == 200
    np.testing.assert_allclose(ev.energy.to_value(u.eV), d["PI"].astype(float), rtol=1e-15)
    np.testing.assert_array_equal(ev.dec.value, d["DEC"])
    assert ev.exposure == 1480.5 * u.s  # LIVETIME: the file has no EXPOSURE keyword
    assert ev.meta["instrument"] == "TM1"
    assert ev.source is None and set(ev.source_labels) == {"unknown"}


def test_shipped_phox_file_reads_hdu2():
    ev = EventList.read(PHOX)
    with fits.open(PHOX) as hdul:
        d = hdul[2].data
        np.testing.assert_array_equal(ev.energy.value, d["ENERGY"].astype(float))
        np.testing.assert_array_equal(ev.ra.value, d["RA"])
    assert ev.format == "phox" and len(ev) == 250
    assert ev.centroid().separation(SkyCoord(10 * u.deg, 10 * u.deg)) < 0.01 * u.deg


@pytest.mark.parametrize(("path", "fmt"), [(SIXTE, "sixte"), (ESASS, "esass"), (PHOX, "phox")])
def test_autodetection_matches_explicit_format(path, fmt):
    auto = EventList.read(path)
    assert auto.format == fmt
    _same(auto, EventList.read(path, format=fmt))


def test_explicit_format_errors():
    with pytest.raises(UnknownNameError, match="sixte"):
        EventList.read(SIXTE, format="chandra")
    with pytest.raises(FileFormatError, match="EVENTS"):
        EventList.read(PHOX, format="esass")
    with pytest.raises(FileFormatError, match="HDU 2"):
        EventList.read(SIXTE, format="phox")


def test_esass_reading_of_a_sixte_file_uses_pi():
    ev = EventList.read(SIXTE, format="esass")
    d = fits.getdata(SIXTE, "EVENTS")
    np.testing.assert_allclose(ev.energy.to_value(u.eV), d["PI"].astype(float), rtol=1e-14)


def test_source_map_argument_overrides_header(tmp_path):
    ev = EventList.read(SIXTE, source_map={1: "agn"})
    assert set(ev.source_labels[ev.src_id == 1]) == {"agn"}
    assert set(ev.source_labels[ev.src_id != 1]) == {"unknown"}
    with pytest.raises(InputError, match="unknown label"):
        EventList.read(SIXTE, source_map={1: "galaxy"})
    with pytest.raises(MissingColumnError, match="SRC_ID"):
        EventList.read(ESASS, source_map={1: "icm"})


def test_gzip_file(tmp_path):
    import gzip

    p = tmp_path / "ev.fits.gz"
    p.write_bytes(gzip.compress(SIXTE.read_bytes()))
    _same(EventList.read(p), EventList.read(SIXTE))


# ---------------------------------------------------------------------- bad input
def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist") as err:
        EventList.read(tmp_path / "nope.fits")
    assert "nope.fits" in str(err.value)


@pytest.mark.parametrize("where", ["half", "primary header", "events header", "data end"])
def test_truncated_file(tmp_path, where):
    raw = SIXTE.read_bytes()
    with fits.open(SIXTE) as hdul:
        info = hdul.fileinfo(1)
        data_end = info["datLoc"] + hdul[1].header["NAXIS1"] * hdul[1].header["NAXIS2"]
    cut = {
        "half": len(raw) // 2,
        "primary header": 1000,
        "events header": info["hdrLoc"] + 500,
        "data end": data_end - 3,
    }[where]
    p = tmp_path / "cut.fits"
    p.write_bytes(raw[:cut])
    with pytest.raises(FileFormatError, match="truncated") as err:
        EventList.read(p)
    assert "cut.fits" in str(err.value)


def test_corrupt_files(tmp_path):
    p = tmp_path / "junk.fits"
    p.write_bytes(np.random.default_rng(0).bytes(5760))
    with pytest.raises(FileFormatError, match="not a FITS file"):
        EventList.read(p)
    p.write_bytes(b"")
    with pytest.raises(FileFormatError, match="junk.fits"):
        EventList.read(p)
    raw = bytearray(SIXTE.read_bytes())
    raw[2880 + 80 * 3 : 2880 + 80 * 3 + 10] = b"\xff" * 10  # garbage in the EVENTS header
    p.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="corrupt"):
        EventList.read(p)
    with pytest.raises(FileFormatError, match="directory"):
        EventList.read(tmp_path)


def _write_table(path, columns, name="EVENTS", header=None):
    hdu = fits.BinTableHDU.from_columns(columns, name=name)
    for k, v in (header or {}).items():
        hdu.header[k] = v
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)


def test_missing_columns(tmp_path):
    p = tmp_path / "nora.fits"
    _write_table(p, [fits.Column("DEC", "D", array=[1.0]), fits.Column("SIGNAL", "E", array=[1.0])])
    with pytest.raises(MissingColumnError, match="'RA'") as err:
        EventList.read(p)
    assert "nora.fits" in str(err.value) and "DEC" in str(err.value)
    p2 = tmp_path / "noenergy.fits"
    _write_table(p2, [fits.Column("RA", "D", array=[1.0]), fits.Column("DEC", "D", array=[1.0])])
    with pytest.raises(MissingColumnError, match="SIGNAL"):
        EventList.read(p2)
    p3 = tmp_path / "other.fits"
    _write_table(p3, [fits.Column("A", "D", array=[1.0])], name="SPECTRUM")
    with pytest.raises(FileFormatError, match="not a recognised event file"):
        EventList.read(p3)


@pytest.mark.parametrize(("column", "bad"), [("RA", np.nan), ("DEC", np.inf), ("SIGNAL", np.nan)])
def test_non_finite_values(tmp_path, column, bad):
    cols = {"RA": [1.0, 2.0], "DEC": [1.0, 2.0], "SIGNAL": [1.0, 2.0]}
    cols[column][1] = bad
    p = tmp_path / "nan.fits"
    _write_table(p, [fits.Column(k, "D", array=v) for k, v in cols.items()])
    with pytest.raises(InputError, match=rf"'{column}'.*row 1") as err:
        EventList.read(p)
    assert "nan.fits" in str(err.value)


def test_out_of_range_and_negative_values(tmp_path):
    p = tmp_path / "dec.fits"
    _write_table(
        p,
        [
            fits.Column("RA", "D", array=[1.0]),
            fits.Column("DEC", "D", array=[91.0]),
            fits.Column("SIGNAL", "D", array=[1.0]),
        ],
    )
    with pytest.raises(InputError, match="DEC"):
        EventList.read(p)
    p = tmp_path / "neg.fits"
    _write_table(
        p,
        [
            fits.Column("RA", "D", array=[1.0]),
            fits.Column("DEC", "D", array=[1.0]),
            fits.Column("SIGNAL", "D", array=[-1.0]),
        ],
    )
    with pytest.raises(InputError, match="negative"):
        EventList.read(p)


def test_units_are_converted_or_rejected(tmp_path):
    p = tmp_path / "units.fits"
    _write_table(
        p,
        [
            fits.Column("RA", "D", unit="rad", array=[np.pi / 2]),
            fits.Column("DEC", "D", unit="arcmin", array=[60.0]),
            fits.Column("SIGNAL", "D", unit="eV", array=[1500.0]),
        ],
    )
    ev = EventList.read(p)
    assert ev.ra.value[0] == pytest.approx(90.0)
    assert ev.dec.value[0] == pytest.approx(1.0)
    assert ev.energy.value[0] == pytest.approx(1.5)
    for column, unit in (("RA", "keV"), ("SIGNAL", "deg"), ("DEC", "furlong_per_fortnight")):
        cols = {"RA": "deg", "DEC": "deg", "SIGNAL": "keV"}
        cols[column] = unit
        q = tmp_path / f"bad_{column}.fits"
        _write_table(q, [fits.Column(k, "D", unit=v, array=[1.0]) for k, v in cols.items()])
        with pytest.raises(UnitError, match=rf"'{column}'") as err:
            EventList.read(q)
        assert q.name in str(err.value)


def test_empty_event_list_is_legal(tmp_path):
    p = tmp_path / "empty.fits"
    _write_table(
        p,
        [
            fits.Column("RA", "D", array=[]),
            fits.Column("DEC", "D", array=[]),
            fits.Column("SIGNAL", "E", array=[]),
        ],
        header={"REDSHIFT": 0.1},
    )
    ev = EventList.read(p)
    assert len(ev) == 0
    x, y = ev.to_comoving((10.0, 10.0))
    assert x.size == y.size == 0
    assert len(ev.select(energy=(0.5, 2) * u.keV)) == 0
    with pytest.raises(EmptyInputError, match="empty"):
        ev.centroid()
    with pytest.raises(EmptyInputError, match="center"):
        ev.to_comoving(redshift=0.1)
    ev.write(tmp_path / "empty2.fits")
    assert len(EventList.read(tmp_path / "empty2.fits")) == 0


def test_constructor_validation():
    c = SkyCoord([1.0, 2.0] * u.deg, [0.0, 0.0] * u.deg)
    with pytest.raises(UnitError, match="energy"):
        EventList(c, [1.0, 2.0])
    with pytest.raises(UnitError, match="energy"):
        EventList(c, [1.0, 2.0] * u.deg)
    with pytest.raises(InputError, match="energy"):
        EventList(c, [1.0, np.nan] * u.keV)
    with pytest.raises(InputError, match="2 events"):
        EventList(c, [1.0] * u.keV)
    with pytest.raises(InputError, match="source codes"):
        EventList(c, [1.0, 2.0] * u.keV, source=[0, 7])
    with pytest.raises(UnitError, match="time"):
        EventList(c, [1.0, 2.0] * u.keV, time=[1.0, 2.0])
    with pytest.raises(InputError, match="SkyCoord"):
        EventList([1, 2], [1.0, 2.0] * u.keV)
    ev = EventList(SkyCoord([1.0] * u.rad, [0.1] * u.rad), [0.002] * u.MeV)
    assert ev.energy.value[0] == 2.0 and ev.ra.value[0] == pytest.approx(np.degrees(1.0))


def test_write_rejects_unknown_meta_and_conflicting_labels(tmp_path):
    with pytest.raises(InputError, match="meta key"):
        _events(2, meta={"colour": "red"}).write(tmp_path / "a.fits")
    ev = _events(2, source=[SOURCE_ICM, SOURCE_AGN], src_id=[5, 5])
    with pytest.raises(InputError, match="SRC_ID 5"):
        ev.write(tmp_path / "b.fits")


# ------------------------------------------------------------------ selections
def test_getitem_and_meta():
    ev = EventList.read(SIXTE)
    sub = ev[ev.energy > 2 * u.keV]
    assert len(sub) == int((ev.energy > 2 * u.keV).sum())
    assert sub.meta == ev.meta and sub.meta is not ev.meta
    np.testing.assert_array_equal(ev[[0, 5]].src_id, ev.src_id[[0, 5]])
    assert len(ev[10:20]) == 10 and len(ev[3]) == 1
    with pytest.raises(InputError, match="mask"):
        ev[np.ones(3, bool)]


def test_select_energy():
    ev = EventList.read(SIXTE)
    e = ev.energy.value
    want = int(((e >= 0.5) & (e < 2.0)).sum())
    assert len(ev.select(energy=(0.5, 2.0) * u.keV)) == want
    assert len(ev.select(energy=(500 * u.eV, 2 * u.keV))) == want
    assert len(ev.select(energy="bolometric")) == int(((e >= 0.5) & (e < 10.0)).sum())
    with pytest.raises(InputError, match="one band"):
        ev.select(energy="erosita_3")
    with pytest.raises(UnitError):
        ev.select(energy=(0.5, 2.0))
    with pytest.raises(InputError, match="lo < hi"):
        ev.select(energy=(2.0, 0.5) * u.keV)


def test_select_circle_matches_astropy_separation():
    from regions import CircleSkyRegion

    ev = EventList.read(SIXTE)
    c = SkyCoord(150.02 * u.deg, 2.21 * u.deg)
    r = 3 * u.arcmin
    want = ev.coords.separation(c) <= r
    got = ev.select(center=c, radius=r)
    assert len(got) == int(want.sum()) > 0
    np.testing.assert_array_equal(got.ra.value, ev.ra.value[want])
    assert len(ev.select(region=CircleSkyRegion(c, r))) == int(want.sum())
    with pytest.raises(InputError, match="both"):
        ev.select(center=c)
    with pytest.raises(UnitError, match="angle"):
        ev.select(center=c, radius=1 * u.Mpc)


def test_select_rectangle_region_in_tangent_plane():
    from regions import RectangleSkyRegion

    from astroclustermass._utils._projection import gnomonic

    ev = EventList.read(SIXTE)
    c = SkyCoord(150.0 * u.deg, 2.2 * u.deg)
    w, h = 8 * u.arcmin, 4 * u.arcmin
    xi, eta = np.degrees(gnomonic(ev.ra.value, ev.dec.value, 150.0, 2.2))
    inside = (np.abs(xi) < w.to_value(u.deg) / 2) & (np.abs(eta) < h.to_value(u.deg) / 2)
    edge = (np.abs(np.abs(xi) - w.to_value(u.deg) / 2) < 1e-7) | (
        np.abs(np.abs(eta) - h.to_value(u.deg) / 2) < 1e-7
    )
    got = ev.select(region=RectangleSkyRegion(c, w, h))
    got_mask = np.isin(ev.ra.value, got.ra.value)
    assert inside.sum() > 10 and edge.sum() < 2
    np.testing.assert_array_equal(got_mask[~edge], inside[~edge])
    with pytest.raises(InputError, match="SkyRegion"):
        ev.select(region="circle(1,2,3)")


def test_select_source():
    ev = EventList.read(SIXTE)
    icm = ev.select(source="icm")
    assert len(icm) == int((ev.source == SOURCE_ICM).sum()) > 0
    assert len(ev.select(source=["agn", SOURCE_BACKGROUND])) == int(
        np.isin(ev.source, [SOURCE_AGN, SOURCE_BACKGROUND]).sum()
    )
    with pytest.raises(InputError, match="label"):
        ev.select(source="stars")


# ------------------------------------------------------------------ projection
def test_to_comoving_directions_and_defaults():
    ev = EventList(
        SkyCoord([150.1, 150.0] * u.deg, [2.2, 2.3] * u.deg),
        [1.0, 1.0] * u.keV,
        meta={"ra_obj": 150.0, "dec_obj": 2.2, "redshift": 0.2},
    )
    x, y = ev.to_comoving()  # centre and redshift from the header
    assert x[0] > 0 and abs(y[0]) < 1e-3  # east
    assert y[1] > 0 and abs(x[1]) < 1e-12  # north
    assert x.dtype == np.float64
    with pytest.raises(InputError, match="redshift"):
        ev.to_comoving(redshift=-1)
    with pytest.raises(InputError, match="redshift"):
        EventList(ev.coords, ev.energy).to_comoving((150.0, 2.2))


def test_to_comoving_accuracy_over_one_degree_field():
    """Gnomonic offsets vs exact spherical geometry (astropy) over a 1 deg field."""
    z, cosmo = 0.2, get_cosmology(None)
    dm = cosmo.comoving_transverse_distance(z).to_value(u.Mpc) * cosmo.h
    center = SkyCoord(150.0 * u.deg, 2.2 * u.deg)
    g = np.linspace(-0.5, 0.5, 41)
    xi_deg, eta_deg = np.meshgrid(g, g)
    # sky positions on a grid of offsets covering a 1 x 1 deg field (corners at 0.71 deg)
    sky = center.spherical_offsets_by(xi_deg.ravel() * u.deg, eta_deg.ravel() * u.deg)
    ev = EventList(sky, np.ones(sky.size) * u.keV)
    x, y = ev.to_comoving(center, z)
    theta = center.separation(sky).to_value(u.rad)
    pa = center.position_angle(sky).to_value(u.rad)
    # exact flat-sky offsets: arc length D_M * theta along the position angle
    x_arc, y_arc = dm * theta * np.sin(pa), dm * theta * np.cos(pa)
    r = np.hypot(x, y)
    r_arc = dm * theta
    m = theta > 0
    rel = np.abs(r[m] / r_arc[m] - 1)
    np.testing.assert_allclose(rel, theta[m] ** 2 / 3, rtol=1e-3, atol=1e-12)  # tan θ vs θ
    assert rel.max() < 5.2e-5 and theta.max() > np.radians(0.7)
    # directions agree exactly (both projections are azimuthal)
    np.testing.assert_allclose(np.arctan2(x[m], y[m]), np.arctan2(x_arc[m], y_arc[m]), atol=1e-9)
    # absolute error <= 1% of a 0.036 h^-1 Mpc pixel even at the field corners (7.1 h^-1 Mpc)
    assert np.hypot(x - x_arc, y - y_arc).max() < 3.7e-4
    # inside the +-2.3 h^-1 Mpc image at z = 0.2 it is below 0.1% of a pixel
    box = (np.abs(x_arc) <= 2.3) & (np.abs(y_arc) <= 2.3)
    assert np.hypot(x - x_arc, y - y_arc)[box].max() < 0.001 * 4.6 / 128
    # the reference code's rotated-Cartesian (orthographic) projection: D_M sin(theta)
    r_ortho = dm * np.sin(theta)
    assert np.abs(r[m] / r_ortho[m] - 1).max() < 7.8e-5


def test_from_file_to_comoving_uses_header():
    ev = EventList.read(SIXTE)
    x, y = ev.to_comoving()
    x2, y2 = ev.to_comoving(SkyCoord(150.0 * u.deg, 2.2 * u.deg), 0.2)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert json.dumps({k: v for k, v in ev.meta.items() if k != "source_map"})


@pytest.mark.parametrize("path", [SIXTE, ESASS, PHOX])
def test_header_parser_agrees_with_astropy(path):
    from astroclustermass.events._fits_scan import parse_header, scan_fits

    _, hdus = scan_fits(path)
    with fits.open(path) as hdul:
        assert len(hdul) == len(hdus)
        for ours, theirs in zip(hdus, hdul):
            assert ours.data_offset == hdul.fileinfo(hdul.index(theirs))["datLoc"]
            for card in theirs.header.cards:
                if (
                    card.keyword in ("", "COMMENT", "HISTORY")
                    or card.keyword in ours.header
                    and list(theirs.header.keys()).count(card.keyword) > 1
                ):
                    continue
                assert ours.header[card.keyword] == card.value, card.keyword
    text = (
        "KEY1    = 'it''s a / test'     / comment".ljust(80)
        + "KEY2    =                 1.5D3 / d exponent".ljust(80)
        + "KEY3    =                    T".ljust(80)
        + "END".ljust(80)
    )
    assert parse_header(text) == {"KEY1": "it's a / test", "KEY2": 1500.0, "KEY3": True}


def test_scaled_unsigned_logical_and_bit_columns(tmp_path):
    """TZERO/TSCAL columns, logicals and bit arrays read like astropy reads them."""
    n = 5
    cols = [
        fits.Column("RA", "D", array=np.linspace(1, 2, n)),
        fits.Column("DEC", "J", array=np.arange(n, dtype=np.int32) * 7),
        fits.Column("SIGNAL", "D", array=np.linspace(0.5, 2.0, n)),
        # unsigned 32-bit (TZERO 2**31) in a float column read through the same path
        fits.Column("TIME", "J", bzero=2**31, array=np.arange(n, dtype=np.uint32) + 4000000000),
        fits.Column("SRC_ID", "I", array=np.arange(n, dtype=np.int16)),
        fits.Column("FLAG", "L", array=np.array([True, False, True, True, False])),
    ]
    p = tmp_path / "scaled.fits"
    _write_table(p, cols, header={"TSCAL2": 0.001, "TZERO2": 1.0})
    ev = EventList.read(p)
    d = fits.getdata(p, "EVENTS")
    np.testing.assert_allclose(d["DEC"], 1.0 + 0.007 * np.arange(n))  # astropy applies TSCAL
    np.testing.assert_allclose(ev.dec.value, d["DEC"], rtol=1e-15)
    np.testing.assert_array_equal(ev.time.value, d["TIME"].astype(float))
    assert ev.time.value[-1] == 4000000004.0
    np.testing.assert_array_equal(ev.src_id, d["SRC_ID"])
    q = tmp_path / "bits.fits"
    _write_table(
        q,
        cols[:1]
        + [
            fits.Column("DEC", "D", array=np.zeros(n)),
            fits.Column("SIGNAL", "D", array=np.ones(n)),
            fits.Column("STATUS", "16X", array=np.zeros((n, 16), bool)),
        ],
    )
    np.testing.assert_array_equal(EventList.read(q).ra.value, np.linspace(1, 2, n))


def test_constructor_derives_labels_from_src_id_and_map():
    ev = _events(3, src_id=[1, 2, 7], meta={"source_map": {1: "icm", 2: "AGN"}})
    assert ev.source_labels.tolist() == ["icm", "agn", "unknown"]
