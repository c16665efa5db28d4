"""`MockSurvey`: the mock universe written as an eRASS-style survey of sky tiles (L2).

The clusters of a `MockUniverse` are placed on a grid of overlapping sky tiles
(`~astroclustermass.simulate.survey_layout.SurveyLayout`): some on the four-tile
corners, some in the overlap strips between two tiles, some at tile centres,
the rest at random. One survey-wide photon list is drawn —

* each cluster's ICM and cluster-AGN photons (`simulate_cluster_events` at the
  deepest exposure of its field, then thinned by the local exposure),
* sky and particle background and field AGN over the whole survey, with
  densities proportional to the local exposure,
* an optical light leak (TM5, TM7, 0.2–0.35 keV) and events in bad time
  (the flare interval; TM5 while it is off) that GTIs remove,

— and then cut into files: every tile's event file holds *all* the photons in
its footprint (photons in overlaps are in two or four files, as in eRASS1),
and, with ``per_cluster=True``, every cluster also gets a per-cluster event
file with the *same* photons (good time only) in its field, so that the two
layouts can be compared photon for photon. Layout of the files:
`~astroclustermass.simulate.survey_writer` and ``docs/survey.rst``.

Examples
--------
>>> from astroclustermass.simulate import MockSurvey
>>> s = MockSurvey(n_clusters=6, seed=0, n_ra=2, n_dec=2, tile_size=1.0, overlap=0.2)
>>> cat = s.catalog()
>>> len(cat), sorted(cat.colnames)[:3]
(6, ['BEST_Z', 'DEC', 'ID_SRC'])
"""

from __future__ import annotations

import os
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table

from .._utils import atomic_directory, progress_bar
from ..cosmology import cosmology_to_dict
from ..exceptions import InputError
from ..version import __version__
from .agn import draw_field_agn
from .background import particle_counts_spectrum, sky_counts_spectrum
from .instrument import apply_energy_resolution, sample_psf_offsets, tangent_to_sky
from .photons import (
    SRC_BACKGROUND,
    SRC_CLUSTER_AGN,
    SRC_FIELD_AGN,
    SRC_ICM,
    _grid,
    _powerlaw_rates,
    field_halfwidth,
    simulate_cluster_events,
)
from .spectra import sample_energies
from .survey_layout import (
    FLARE_INTERVAL,
    SurveyLayout,
    _in_box,
    camera_gtis,
    check_depth,
    exposure_at,
    uniform_times,
)
from .survey_writer import (
    field_photons,
    write_exposure_map,
    write_fits_table,
    write_tile_events,
)
from .universe import _STREAM_PHOTONS, MockUniverse
from .writer import event_file_name, write_json, write_table

__all__ = ["MockSurvey"]

_STREAM_PLACE, _STREAM_THIN, _STREAM_FIELD = 20, 21, 22
_COLUMNS = ("TIME", "TM_NR", "RA", "DEC", "PI", "SRC_ID", "GOOD")
#: light-leak events per s and deg² per affected camera (TM5, TM7), 0.2–0.35 keV
_LEAK_RATE, _LEAK_CAMERAS = 0.03, (5, 7)
#: flare events per s and deg² during the flare interval
_FLARE_RATE = 0.5
#: a field AGN is in the source catalogue when it has at least this many expected counts
_DETECT_COUNTS = 5.0


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _photon_dict(ra, dec, pi, src, rng, good=True) -> dict:
    n = np.asarray(ra).size
    tm = rng.integers(1, 8, n).astype(np.uint8)
    return {
        "TIME": uniform_times(tm, rng, bad=not good),
        "TM_NR": tm,
        "RA": np.asarray(ra, float) % 360.0,
        "DEC": np.asarray(dec, float),
        "PI": np.asarray(pi, np.float32),
        "SRC_ID": np.broadcast_to(np.asarray(src, np.int32), (n,)).copy(),
        "GOOD": np.full(n, bool(good)),
    }


def _pi_ev(signal_kev) -> np.ndarray:
    return (np.asarray(signal_kev, np.float32).astype(np.float64) * 1000.0).astype(np.float32)


class MockSurvey:
    """A mock eRASS-style survey: overlapping sky tiles, exposure maps, catalogues.

    Parameters
    ----------
    n_clusters : int
        Number of clusters (their masses, redshifts and morphologies are those
        of ``MockUniverse(n_clusters, seed)``; only the sky positions change).
    seed : int
        Seed of every random stream.
    n_ra, n_dec : int
        Tiles along RA and Dec.
    tile_size, overlap : float
        Tile side and overlap (deg); eRASS1 has 3.6 and 1/3. Tests use ~1.
    center : (float, float)
        RA, Dec of the tile grid (deg); the default lies at ecliptic latitude
        about −73°, where the eRASS1 depth rises towards the south pole.
    depth : str or float
        ``"erass1"`` (varying, a few hundred s), ``"erass1_wide"`` (100 s
        at the ecliptic to 2 ks at the poles), ``"paper"``/``"uniform"``
        (2 ks) or seconds; see
        `~astroclustermass.simulate.survey_layout.exposure_at`.
    expmap_pixel_arcsec : float
        Exposure-map pixel (eRASS1: 4″; the default 30″ keeps files small).
    config : MockConfig, optional
    cosmology : astropy FLRW or str, optional

    Examples
    --------
    >>> s = MockSurvey(n_clusters=3, seed=1, n_ra=2, n_dec=1, tile_size=1.0, overlap=0.2,
    ...                depth="paper")
    >>> float(s.catalog()["exposure"][0])
    2000.0
    """

    def __init__(
        self,
        n_clusters: int = 40,
        seed: int = 0,
        *,
        n_ra: int = 3,
        n_dec: int = 3,
        tile_size: float = 3.6,
        overlap: float = 1.0 / 3.0,
        center: tuple[float, float] = (90.0, -50.0),
        depth: str | float = "erass1",
        expmap_pixel_arcsec: float = 30.0,
        config=None,
        cosmology=None,
    ) -> None:
        self.universe = MockUniverse(n_clusters, seed, 2000.0, config, cosmology)
        self.layout = SurveyLayout(n_ra, n_dec, float(tile_size), float(overlap), tuple(center))
        self.depth = check_depth(depth)
        if not float(expmap_pixel_arcsec) > 0:
            raise InputError(f"expmap_pixel_arcsec must be > 0; got {expmap_pixel_arcsec!r}")
        self.expmap_pixel_arcsec = float(expmap_pixel_arcsec)
        self.seed, self.n_clusters = self.universe.seed, self.universe.n_clusters
        self.config, self.cosmology = self.universe.config, self.universe.cosmology
        self._positions: tuple[np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        lay = self.layout
        return (
            f"MockSurvey(n_clusters={self.n_clusters}, seed={self.seed}, tiles={lay.n_ra}x"
            f"{lay.n_dec} of {lay.tile_size:g} deg, depth={self.depth!r})"
        )

    def exposure(self, ra, dec) -> np.ndarray:
        """Exposure (s) at sky positions (deg)."""
        return exposure_at(ra, dec, self.depth)

    # --------------------------------------------------------------- population
    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Cluster RA, Dec (deg): tile corners first, then overlap strips, tile centres, random.

        Examples
        --------
        >>> s = MockSurvey(n_clusters=2, n_ra=2, n_dec=2, tile_size=1.0, overlap=0.2)
        >>> ra, dec = s.positions()
        >>> (round(float(ra[0]), 6), round(float(dec[0]), 6)) == s.layout.corners()[0]
        True
        """
        if self._positions is None:
            lay = self.layout
            rng = _stream(self.seed, _STREAM_PLACE)
            fixed = lay.corners() + lay.edges() + [(t["RA_CEN"], t["DE_CEN"]) for t in lay.tiles()]
            pts = [(float(r), float(d)) for r, d in fixed[: self.n_clusters]]
            ra_lo, ra_hi, d_lo, d_hi = lay.bounds()
            width = (ra_hi - ra_lo) % 360.0
            s_lo, s_hi = np.sin(np.radians([d_lo, d_hi]))
            while len(pts) < self.n_clusters:
                pts.append(
                    (
                        (ra_lo + width * rng.random()) % 360.0,
                        float(np.degrees(np.arcsin(s_lo + (s_hi - s_lo) * rng.random()))),
                    )
                )
            arr = np.array(pts, dtype=float)
            self._positions = (arr[:, 0] % 360.0, arr[:, 1])
        return self._positions

    def cluster_spec(self, index: int) -> dict:
        """`MockUniverse.cluster_spec` with the survey position of the cluster."""
        spec = self.universe.cluster_spec(index)
        ra, dec = self.positions()
        spec["ra"], spec["dec"] = float(ra[index]), float(dec[index])
        return spec

    def catalog(self) -> Table:
        """Cluster catalogue in eRASS1-like names and physical units (h = 0.7).

        Columns ``ID_SRC``, ``RA``, ``DEC`` (deg), ``BEST_Z``, ``M500`` (M☉
        for h = 0.7), ``R500`` (physical kpc, h = 0.7), the mock's truth in the
        package's units ``log10_m500c`` (log10 h⁻¹ M☉) and ``r500c``
        (comoving h⁻¹ Mpc) — what a real catalogue does not have — and
        ``exposure`` (s, at the centre). No ``file`` column: photons come from
        the tiles (``catalog.ecsv`` is the per-cluster layout's catalogue).
        """
        base = self.universe.catalog()
        ra, dec = self.positions()
        h = 0.7
        z = np.asarray(base["redshift"], float)
        t = Table()
        t["ID_SRC"] = np.asarray(base["id"], np.int64)
        t["RA"] = ra * u.deg
        t["DEC"] = dec * u.deg
        t["BEST_Z"] = z
        t["M500"] = 10 ** np.asarray(base["log10_m500c"]) / h * u.Msun
        t["R500"] = np.asarray(base["r500c"]) / (1 + z) / h * 1000.0 * u.kpc
        t["log10_m500c"] = np.asarray(base["log10_m500c"])
        t["r500c"] = np.asarray(base["r500c"])
        t["exposure"] = self.exposure(ra, dec) * u.s
        t.meta.update(
            {
                "h": h,
                "M500": "Msun for h = 0.7 (physical)",
                "R500": "physical kpc for h = 0.7",
                "log10_m500c": "truth, log10 h^-1 Msun",
                "r500c": "truth, comoving h^-1 Mpc",
                "depth": self.depth,
                "cosmology": cosmology_to_dict(self.cosmology),
                "creator": f"astroclustermass.simulate {__version__}",
            }
        )
        return t

    # ------------------------------------------------------------------ photons
    def _cluster_photons(self, index: int) -> dict:
        spec = self.cluster_spec(index)
        hw = field_halfwidth(spec["redshift"], self.config, self.cosmology)
        g = np.linspace(-hw, hw, 9)
        gx, gy = np.meshgrid(g, g)
        ra_g, dec_g = tangent_to_sky(gx.ravel(), gy.ravel(), spec["ra"], spec["dec"])
        t_max = float(self.exposure(ra_g, dec_g).max()) * 1.02
        seed = np.random.SeedSequence(self.seed, spawn_key=(_STREAM_PHOTONS, int(index)))
        ev = simulate_cluster_events(spec, self.config, t_max, seed=seed, cosmology=self.cosmology)
        c = ev.columns
        rng = _stream(self.seed, _STREAM_THIN, int(index))
        keep = np.isin(c["SRC_ID"], (SRC_ICM, SRC_CLUSTER_AGN))
        keep &= rng.random(keep.size) < self.exposure(c["RA"], c["DEC"]) / t_max
        return _photon_dict(c["RA"][keep], c["DEC"][keep], _pi_ev(c["SIGNAL"][keep]),
                            c["SRC_ID"][keep], rng)  # fmt: skip

    def _survey_area(self) -> tuple[float, float]:
        ra_lo, ra_hi, d_lo, d_hi = self.layout.bounds()
        width = np.radians((ra_hi - ra_lo) % 360.0)
        sr = width * (np.sin(np.radians(d_hi)) - np.sin(np.radians(d_lo)))
        g_ra = (ra_lo + np.linspace(0, 1, 21) * np.degrees(width)) % 360.0
        g_dec = np.linspace(d_lo, d_hi, 21)
        gr, gd = np.meshgrid(g_ra, g_dec)
        t_max = float(self.exposure(gr, gd).max()) * 1.02
        return float(sr * (180.0 / np.pi) ** 2), t_max

    def _uniform_positions(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        ra_lo, ra_hi, d_lo, d_hi = self.layout.bounds()
        s_lo, s_hi = np.sin(np.radians([d_lo, d_hi]))
        ra = (ra_lo + ((ra_hi - ra_lo) % 360.0) * rng.random(n)) % 360.0
        dec = np.degrees(np.arcsin(s_lo + (s_hi - s_lo) * rng.random(n)))
        return ra, dec

    def _field_photons(self) -> tuple[list[dict], dict]:
        cfg, rng = self.config, _stream(self.seed, _STREAM_FIELD)
        area, t_max = self._survey_area()
        edges, centres, resp = _grid(cfg)
        parts = []
        # sky (focused: energy resolution) and particle background
        bscale = cfg.background_scale * t_max * area
        for spectrum, folded in ((sky_counts_spectrum(edges, cfg), True),
                                 (particle_counts_spectrum(edges, cfg), False)):  # fmt: skip
            n = int(rng.poisson(bscale * spectrum.sum()))
            e = sample_energies(spectrum[None, :], np.zeros(n, np.int64), edges, rng)
            if folded:
                e = apply_energy_resolution(e, rng)
            ra, dec = self._uniform_positions(n, rng)
            keep = rng.random(n) < self.exposure(ra, dec) / t_max
            keep &= (e >= cfg.energy_min) & (e < cfg.energy_max)
            parts.append(_photon_dict(ra[keep], dec[keep], _pi_ev(e[keep]), SRC_BACKGROUND, rng))
        # field AGN over the survey's tangent plane
        lay = self.layout
        ra_lo, ra_hi, d_lo, d_hi = lay.bounds()
        hw = np.radians(max(lay.n_ra, lay.n_dec) * lay.step * lay.ra_scale / 2 + lay.tile_size)
        fld = draw_field_agn(hw, cfg, rng)
        s_ra, s_dec = tangent_to_sky(fld["xi"], fld["eta"], *lay.center)
        inside = lay.contains(s_ra, s_dec)
        rate, spectra = _powerlaw_rates(cfg.agn_nh_logs, 1.0, 1.0, cfg, resp, centres)
        mu = fld["flux"] * rate[fld["nh_index"]] * self.exposure(s_ra, s_dec) * inside
        n_each = rng.poisson(mu)
        src_of = np.repeat(np.arange(n_each.size), n_each)
        e = apply_energy_resolution(
            sample_energies(spectra, fld["nh_index"][src_of], edges, rng), rng
        )
        dx, dy = sample_psf_offsets(src_of.size, rng, cfg.psf_hew_arcsec)
        ra, dec = tangent_to_sky(fld["xi"][src_of] + dx, fld["eta"][src_of] + dy, *lay.center)
        keep = (e >= cfg.energy_min) & (e < cfg.energy_max)
        parts.append(_photon_dict(ra[keep], dec[keep], _pi_ev(e[keep]), SRC_FIELD_AGN, rng))
        det = mu >= _DETECT_COUNTS
        sources = {
            "ID_SRC": np.arange(1, int(det.sum()) + 1, dtype=np.int64),
            "RA": s_ra[det],
            "DEC": s_dec[det],
            "ML_FLUX_1": fld["flux"][det],
            "ML_CTS_1": mu[det],
            "DET_LIKE_0": mu[det] / 2.0,
            "EXT": np.zeros(int(det.sum())),
        }
        # optical light leak of TM5 and TM7 (soft, uniform)
        n = int(rng.poisson(_LEAK_RATE * t_max * area * len(_LEAK_CAMERAS)))
        ra, dec = self._uniform_positions(n, rng)
        keep = rng.random(n) < self.exposure(ra, dec) / t_max
        leak = _photon_dict(ra[keep], dec[keep], rng.uniform(200.0, 350.0, int(keep.sum())),
                            SRC_BACKGROUND, rng)  # fmt: skip
        leak["TM_NR"] = rng.choice(np.array(_LEAK_CAMERAS, np.uint8), leak["TM_NR"].size)
        leak["TIME"] = uniform_times(leak["TM_NR"], rng)
        parts.append(leak)
        # events in bad time (flares, camera off): in the tiles, removed by their GTIs
        f0, f1 = FLARE_INTERVAL
        n = int(rng.poisson(_FLARE_RATE * (f1 - f0) * area))
        ra, dec = self._uniform_positions(n, rng)
        e = sample_energies(particle_counts_spectrum(edges, cfg)[None, :], np.zeros(n, np.int64),
                            edges, rng)  # fmt: skip
        parts.append(_photon_dict(ra, dec, _pi_ev(e), SRC_BACKGROUND, rng, good=False))
        return parts, sources

    def photons(self, progress: bool | None = False) -> tuple[dict, dict]:
        """The survey-wide photon list (``GOOD`` marks good time) and the source catalogue.

        Returns
        -------
        photons : dict of ndarray
            ``TIME``, ``TM_NR``, ``RA``, ``DEC``, ``PI`` (eV), ``SRC_ID``,
            ``GOOD``, inside the survey rectangle (the union of unique areas).
        sources : dict of ndarray
            Detected field point sources: ``ID_SRC``, ``RA``, ``DEC``,
            ``ML_FLUX_1`` (erg/s/cm², 0.5–2 keV), ``ML_CTS_1`` (expected
            counts), ``DET_LIKE_0``, ``EXT``.
        """
        parts, sources = self._field_photons()
        bar = progress_bar(total=self.n_clusters, progress=progress, desc="clusters", unit="cl")
        try:
            for i in range(self.n_clusters):
                parts.append(self._cluster_photons(i))
                bar.update(1)
        finally:
            bar.close()
        ph = {k: np.concatenate([p[k] for p in parts]) for k in _COLUMNS}
        inside = self.layout.contains(ph["RA"], ph["DEC"])
        return {k: v[inside] for k, v in ph.items()}, sources

    # ------------------------------------------------------------------- output
    def write(
        self,
        out_dir: str | os.PathLike,
        per_cluster: bool = True,
        progress: bool | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write the survey directory (tiles, exposure maps, catalogues).

        Writes ``tiles.fits``, ``tiles/tile_NNN_events.fits`` and
        ``tiles/tile_NNN_expmap.fits``, ``clusters.ecsv`` (survey names,
        physical units), ``sources.fits`` (point sources), ``galaxies.ecsv``,
        ``survey.json`` and — with ``per_cluster`` — ``events/cluster_NNNNN.fits``
        plus ``catalog.ecsv`` (the per-cluster layout of ``docs/internals.rst``
        with the same photons).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "survey"
        >>> s = MockSurvey(n_clusters=2, n_ra=2, n_dec=1, tile_size=0.8, overlap=0.2)
        >>> sorted(p.name for p in s.write(d, progress=False).iterdir())[:4]
        ['catalog.ecsv', 'clusters.ecsv', 'events', 'galaxies.ecsv']
        """
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise InputError(f"{out_dir} exists and is not a directory")
        if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
            raise InputError(f"{out_dir} exists and is not empty; pass overwrite=True")
        ph, sources = self.photons(progress=progress)
        cat = self.catalog()
        lay = self.layout
        gtis = camera_gtis()
        flare = np.array([[0.0, FLARE_INTERVAL[0]], [FLARE_INTERVAL[1], 1e4]])
        with atomic_directory(out_dir, overwrite=True) as tmp:
            (tmp / "tiles").mkdir()
            rows = []
            for t in lay.tiles():
                name = f"tile_{t['SRVMAP']:03d}"
                fp = t["footprint"]
                sel = _in_box(ph["RA"], ph["DEC"], fp[0], fp[1], fp[2], fp[3])
                keys = {k: t[k] for k in ("SRVMAP", "RA_CEN", "DE_CEN", "RA_MIN", "RA_MAX",
                                          "DE_MIN", "DE_MAX")}  # fmt: skip
                write_tile_events(
                    tmp / "tiles" / f"{name}_events.fits",
                    {k: v[sel] for k, v in ph.items()},
                    (t["RA_CEN"], t["DE_CEN"]),
                    {**keys, "OBJECT": name},
                    gtis,
                    flare,
                    lay.tile_size,
                )
                write_exposure_map(
                    tmp / "tiles" / f"{name}_expmap.fits",
                    (t["RA_CEN"], t["DE_CEN"]),
                    lay.tile_size * 1.1 * max(1.0, lay.ra_scale * np.cos(np.radians(fp[2]))),
                    self.expmap_pixel_arcsec,
                    self.exposure,
                )
                rows.append({**keys, "EVENTS": f"tiles/{name}_events.fits",
                             "EXPMAP": f"tiles/{name}_expmap.fits"})  # fmt: skip
            write_fits_table(
                tmp / "tiles.fits", {k: [r[k] for r in rows] for k in rows[0]}, "SKYTILES",
                {k: "deg" for k in ("RA_CEN", "DE_CEN", "RA_MIN", "RA_MAX", "DE_MIN", "DE_MAX")},
            )  # fmt: skip
            write_fits_table(tmp / "sources.fits", sources, "SRCCAT",
                             {"RA": "deg", "DEC": "deg", "ML_FLUX_1": "erg / (s cm2)"})  # fmt: skip
            write_table(tmp / "clusters.ecsv", cat)
            write_table(tmp / "galaxies.ecsv", self.universe.galaxies())
            if per_cluster:
                self._write_per_cluster(tmp, ph, cat)
            write_json(tmp / "survey.json", self.metadata())
        return out_dir

    def _write_per_cluster(self, root: Path, ph: dict, cat: Table) -> None:
        (root / "events").mkdir()
        good = {k: v[ph["GOOD"]] for k, v in ph.items()}
        for i in range(self.n_clusters):
            spec = self.cluster_spec(i)
            hw = field_halfwidth(spec["redshift"], self.config, self.cosmology)
            sel = field_photons(good, (spec["ra"], spec["dec"]), hw)
            header = {
                "OBJECT": f"cluster_{i:05d}",
                "RA_OBJ": spec["ra"],
                "DEC_OBJ": spec["dec"],
                "REDSHIFT": spec["redshift"],
                "EXPOSURE": float(cat["exposure"][i]),
                "FOVHALF": float(np.degrees(hw)),
            }
            write_tile_events(root / event_file_name(i), {k: v[sel] for k, v in good.items()},
                              (spec["ra"], spec["dec"]), header, None, None,
                              float(np.degrees(hw)) * 2)  # fmt: skip
        pkg = Table()
        pkg["id"] = cat["ID_SRC"]
        pkg["file"] = [event_file_name(i) for i in cat["ID_SRC"]]
        pkg["ra"] = cat["RA"]
        pkg["dec"] = cat["DEC"]
        pkg["redshift"] = cat["BEST_Z"]
        for k in ("log10_m500c", "r500c", "exposure"):
            pkg[k] = cat[k]
        base = self.universe.catalog()
        for k in ("x", "y", "z"):
            pkg[k] = base[k]
        pkg.meta.update({"box_size": float(self.config.box_size)})
        write_table(root / "catalog.ecsv", pkg)

    def metadata(self) -> dict:
        """The JSON document written to ``survey.json``."""
        lay = self.layout
        return {
            "creator": "astroclustermass.simulate.MockSurvey",
            "version": __version__,
            "n_clusters": self.n_clusters,
            "seed": self.seed,
            "depth": self.depth,
            "tiles": {
                "n_ra": lay.n_ra,
                "n_dec": lay.n_dec,
                "tile_size": lay.tile_size,
                "overlap": lay.overlap,
                "center": list(lay.center),
            },  # fmt: skip
            "expmap_pixel_arcsec": self.expmap_pixel_arcsec,
            "cosmology": cosmology_to_dict(self.cosmology),
            "config": self.config.to_dict(),
        }
