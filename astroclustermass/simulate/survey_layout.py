"""Sky tiles, depth and time layout of the survey mock (L2; imports only layer 0).

The mock survey is a grid of ``n_ra × n_dec`` overlapping sky tiles, as the
eRASS1 release cuts the sky into 3.6° × 3.6° tiles that overlap by about 20′.
Every tile has

* a *footprint*: the RA/Dec box its event file covers
  (``RA_CEN ± size / 2 / cos(dec_c)``, ``DE_CEN ± size / 2``);
* a *unique area*: the RA/Dec box it owns, ``[RA_MIN, RA_MAX) × [DE_MIN,
  DE_MAX)``. Interior boundaries run along the middle of each overlap strip;
  outer boundaries are the footprint's edges, so the unique areas partition
  the survey rectangle and every one lies inside its tile's footprint.

Depth presets (`exposure_at`): ``"erass1"`` is ``150 s / max(|cos β|, 0.1)``
with β the ecliptic latitude — a few hundred seconds over most of the sky,
rising towards the ecliptic poles as the eROSITA scanning law does;
``"erass1_wide"`` is ``100 s × 20^(|β| / 90°)``, 100 s at the ecliptic to
2 ks at the poles (the > 10× range of the depth study,
``astroclustermass/benchmarks/bench_depth.py``);
``"paper"`` / ``"uniform"`` is a uniform 2 ks (Ho et al. 2023); a number is a
uniform depth in seconds.

Examples
--------
>>> lay = SurveyLayout(n_ra=2, n_dec=2, tile_size=1.0, overlap=0.2, center=(90.0, -50.0))
>>> len(lay.tiles()), round(lay.tiles()[0]["DE_MAX"], 3)
(4, -50.0)
>>> round(float(exposure_at(90.0, -66.56, "erass1")), -2)  # south ecliptic pole
1500.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import InputError

__all__ = [
    "DEPTH_PRESETS",
    "SurveyLayout",
    "exposure_at",
    "ecliptic_latitude",
    "camera_gtis",
    "FLARE_INTERVAL",
    "SURVEY_SPAN",
]

#: depth presets: name -> description (see `exposure_at`)
DEPTH_PRESETS = {
    "erass1": "150 s / max(|cos(ecliptic latitude)|, 0.1): a few hundred s, rising to the poles",
    "erass1_wide": "100 s x 20^(|ecliptic latitude| / 90 deg): 100 s at the ecliptic to 2 ks at "
    "the poles (a 20x depth range, log-uniform in latitude, for depth studies)",
    "paper": "uniform 2000 s (Ho et al. 2023)",
    "uniform": "uniform 2000 s (same as 'paper')",
}
_OBLIQUITY = np.radians(23.4392911)
#: time span of the mock survey's scans (s) and the flare interval cut by FLAREGTI
SURVEY_SPAN = 10000.0
FLARE_INTERVAL = (2000.0, 2500.0)
#: cameras that are off for part of the survey (``{TM_NR: (start, stop)}``)
_CAMERA_OFF = {5: (6000.0, 8000.0)}


def ecliptic_latitude(ra, dec) -> np.ndarray:
    """Ecliptic latitude (deg) of ICRS (ra, dec) in deg (mean obliquity of J2000).

    Examples
    --------
    >>> round(float(ecliptic_latitude(90.0, 23.4392911)), 6)
    0.0
    """
    a, d = np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float))
    s = np.sin(d) * np.cos(_OBLIQUITY) - np.cos(d) * np.sin(_OBLIQUITY) * np.sin(a)
    return np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))


def check_depth(depth) -> str | float:
    """Validate a depth preset name or a positive number of seconds.

    Examples
    --------
    >>> check_depth("eRASS1"), check_depth(500)
    ('erass1', 500.0)
    """
    if isinstance(depth, str):
        key = depth.strip().lower()
        if key not in DEPTH_PRESETS:
            raise InputError(
                f"unknown survey depth {depth!r}; use one of {', '.join(DEPTH_PRESETS)} or a "
                "number of seconds"
            )
        return key
    try:
        value = float(depth)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"survey depth must be a preset name or seconds > 0; got {depth!r}")
    return value


def exposure_at(ra, dec, depth) -> np.ndarray:
    """Exposure (s) of the survey at sky positions (deg) for a depth preset or seconds.

    Examples
    --------
    >>> float(exposure_at(10.0, 0.0, "paper"))
    2000.0
    >>> bool(exposure_at(90.0, -60.0, "erass1") > exposure_at(90.0, -30.0, "erass1"))
    True
    """
    depth = check_depth(depth)
    shape = np.broadcast(np.asarray(ra), np.asarray(dec)).shape
    if depth == "erass1":
        beta = np.radians(ecliptic_latitude(ra, dec))
        return 150.0 / np.maximum(np.abs(np.cos(beta)), 0.1)
    if depth == "erass1_wide":
        beta = np.radians(ecliptic_latitude(ra, dec))
        return 100.0 * 20.0 ** (np.abs(beta) / (0.5 * np.pi))
    if depth in ("paper", "uniform"):
        return np.full(shape, 2000.0)
    return np.full(shape, float(depth))


def camera_gtis() -> dict[int, np.ndarray]:
    """Good-time intervals ``(n, 2)`` (s) of each camera TM_NR 1–7 (flares not cut).

    Examples
    --------
    >>> camera_gtis()[5].tolist()
    [[0.0, 6000.0], [8000.0, 10000.0]]
    """
    out = {}
    for tm in range(1, 8):
        if tm in _CAMERA_OFF:
            a, b = _CAMERA_OFF[tm]
            out[tm] = np.array([[0.0, a], [b, SURVEY_SPAN]])
        else:
            out[tm] = np.array([[0.0, SURVEY_SPAN]])
    return out


def good_intervals(tm: int) -> np.ndarray:
    """Camera ``tm``'s GTIs with the flare interval removed.

    Examples
    --------
    >>> good_intervals(1).tolist()
    [[0.0, 2000.0], [2500.0, 10000.0]]
    """
    f0, f1 = FLARE_INTERVAL
    out = []
    for a, b in camera_gtis()[tm]:
        for lo, hi in ((a, min(b, f0)), (max(a, f1), b)):
            if hi > lo:
                out.append((lo, hi))
    return np.array(out)


def uniform_times(tm: np.ndarray, rng: np.random.Generator, bad: bool = False) -> np.ndarray:
    """Arrival times uniform over each event's camera good time (or its bad time).

    Examples
    --------
    >>> t = uniform_times(np.array([5] * 100), np.random.default_rng(0))
    >>> bool(np.all((t < 2000) | ((t >= 2500) & (t < 6000)) | (t >= 8000)))
    True
    """
    t = np.empty(tm.size)
    for cam in range(1, 8):
        sel = tm == cam
        if not sel.any():
            continue
        if bad:
            cut = [FLARE_INTERVAL] + ([_CAMERA_OFF[cam]] if cam in _CAMERA_OFF else [])
            iv = np.array(cut, float)
        else:
            iv = good_intervals(cam)
        lengths = iv[:, 1] - iv[:, 0]
        u = rng.random(int(sel.sum())) * lengths.sum()
        cum = np.concatenate([[0.0], np.cumsum(lengths)])
        k = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(iv) - 1)
        t[sel] = iv[k, 0] + (u - cum[k])
    return t


@dataclass(frozen=True)
class SurveyLayout:
    """A grid of overlapping RA/Dec sky tiles with unique areas.

    Parameters
    ----------
    n_ra, n_dec : int
        Tiles along RA and Dec.
    tile_size : float
        Tile side (deg of Dec; RA widths are divided by cos of the centre Dec).
        eRASS1: 3.6.
    overlap : float
        Overlap of neighbouring tiles (deg). eRASS1: about 1/3 (20′).
    center : (float, float)
        RA, Dec (deg) of the grid centre.

    Examples
    --------
    >>> lay = SurveyLayout(3, 1, 1.0, 0.2, (10.0, 0.0))
    >>> [round(t["RA_MIN"], 2) for t in lay.tiles()]
    [8.7, 9.6, 10.4]
    """

    n_ra: int = 2
    n_dec: int = 2
    tile_size: float = 3.6
    overlap: float = 1.0 / 3.0
    center: tuple[float, float] = (90.0, -50.0)

    def __post_init__(self) -> None:
        for name in ("n_ra", "n_dec"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InputError(f"{name} must be a positive integer; got {v!r}")
        if not (self.tile_size > 0 and 0 <= self.overlap < self.tile_size):
            raise InputError(
                f"need tile_size > 0 and 0 <= overlap < tile_size; got {self.tile_size}, "
                f"{self.overlap}"
            )
        dec_half = (self.n_dec * self.step + self.overlap) / 2
        if abs(self.center[1]) + dec_half >= 89.0:
            raise InputError("the tile grid reaches a celestial pole; move center away from it")

    @property
    def step(self) -> float:
        """Distance between neighbouring tile centres (deg of Dec)."""
        return self.tile_size - self.overlap

    @property
    def ra_scale(self) -> float:
        """RA degrees per degree on the sky at the centre Dec."""
        return 1.0 / np.cos(np.radians(self.center[1]))

    def tiles(self) -> list[dict]:
        """One dict per tile: SRVMAP, RA_CEN, DE_CEN, RA_MIN, RA_MAX, DE_MIN, DE_MAX, footprint.

        Examples
        --------
        >>> t = SurveyLayout(1, 1, 1.0, 0.0, (0.5, 0.0)).tiles()[0]
        >>> round(t["RA_MIN"], 6), round(t["RA_MAX"], 6)
        (0.0, 1.0)
        """
        ra0, dec0 = self.center
        k, s, half = self.ra_scale, self.step, self.tile_size / 2
        dc = dec0 + (np.arange(self.n_dec) - (self.n_dec - 1) / 2) * s
        rc = ra0 + (np.arange(self.n_ra) - (self.n_ra - 1) / 2) * s * k
        # boundaries shared by neighbours (one float each), so unique areas partition exactly
        de_edges = np.concatenate([[dc[0] - half], dc[:-1] + s / 2, [dc[-1] + half]])
        ra_edges = np.concatenate([[rc[0] - half * k], rc[:-1] + s * k / 2, [rc[-1] + half * k]])
        ra_edges = ra_edges % 360.0
        out = []
        for j in range(self.n_dec):
            for i in range(self.n_ra):
                out.append(
                    {
                        "SRVMAP": 100 * (j + 1) + (i + 1),
                        "RA_CEN": float(rc[i] % 360.0),
                        "DE_CEN": float(dc[j]),
                        "RA_MIN": float(ra_edges[i]),
                        "RA_MAX": float(ra_edges[i + 1]),
                        "DE_MIN": float(de_edges[j]),
                        "DE_MAX": float(de_edges[j + 1]),
                        "footprint": (
                            float((rc[i] - half * k) % 360.0),
                            float((rc[i] + half * k) % 360.0),
                            float(dc[j] - half),
                            float(dc[j] + half),
                        ),
                    }
                )
        return out

    def bounds(self) -> tuple[float, float, float, float]:
        """The survey rectangle (ra_min, ra_max, dec_min, dec_max), the union of unique areas."""
        t = self.tiles()
        return t[0]["RA_MIN"], t[-1]["RA_MAX"], t[0]["DE_MIN"], t[-1]["DE_MAX"]

    def corners(self) -> list[tuple[float, float]]:
        """Sky positions (deg) where four unique areas meet (interior grid corners)."""
        t = {(i, j): tile for j in range(self.n_dec) for i in range(self.n_ra)
             for tile in [self.tiles()[j * self.n_ra + i]]}  # fmt: skip
        return [
            (t[i, j]["RA_MAX"], t[i, j]["DE_MAX"])
            for j in range(self.n_dec - 1)
            for i in range(self.n_ra - 1)
        ]

    def edges(self) -> list[tuple[float, float]]:
        """Midpoints of the overlap strips between two neighbouring tiles (deg)."""
        tiles = self.tiles()
        out = []
        for j in range(self.n_dec):
            for i in range(self.n_ra - 1):
                t = tiles[j * self.n_ra + i]
                out.append((t["RA_MAX"], t["DE_CEN"]))
        for j in range(self.n_dec - 1):
            for i in range(self.n_ra):
                t = tiles[j * self.n_ra + i]
                out.append((t["RA_CEN"], t["DE_MAX"]))
        return out

    def contains(self, ra, dec) -> np.ndarray:
        """Whether positions (deg) lie inside the survey rectangle."""
        ra_lo, ra_hi, d_lo, d_hi = self.bounds()
        return _in_box(ra, dec, ra_lo, ra_hi, d_lo, d_hi)


def _in_box(ra, dec, ra_lo, ra_hi, d_lo, d_hi) -> np.ndarray:
    """Half-open RA/Dec box test with RA wrapping at 360°."""
    ra = np.asarray(ra, float) % 360.0
    dec = np.asarray(dec, float)
    in_ra = (ra - ra_lo) % 360.0 < (ra_hi - ra_lo) % 360.0
    return in_ra & (dec >= d_lo) & (dec < d_hi)
