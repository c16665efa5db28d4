"""One open survey tile (private, L1): memory-mapped EVENTS, Dec index, GTIs.

`~astroclustermass.events.SurveyTiles` holds at most ``cache_size`` of these
at a time; each keeps only the RA/Dec columns and a Dec-sorted index in
memory and reads the other columns row by row from the memory map.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..exceptions import FileFormatError, MissingColumnError
from .fits import PI_ALIASES, parse_source_map, unit_factor

__all__ = ["open_tile", "in_intervals"]


class _Tile:
    """One open tile: memory-mapped EVENTS, RA/Dec sorted by Dec, GTIs."""

    def __init__(self, path: Path, gti_names: str, flare_gti: str | None) -> None:
        import warnings

        from astropy.io import fits
        from astropy.utils.exceptions import AstropyUserWarning

        self.path, self.hdul = path, None
        try:
            with warnings.catch_warnings():  # a truncated file is reported below
                warnings.simplefilter("ignore", AstropyUserWarning)
                self._open(fits, gti_names, flare_gti)
        except (FileFormatError, MissingColumnError):
            self.close()
            raise
        except Exception as err:  # astropy raises many kinds on damaged files
            self.close()
            raise FileFormatError(f"cannot read survey tile {path}: {err}") from err
        self.source_map = parse_source_map(self.header, path)

    def _open(self, fits, gti_names: str, flare_gti: str | None) -> None:
        path = self.path
        self.hdul = fits.open(path, memmap=True, mode="readonly")
        names = [str(h.header.get("EXTNAME", "")).upper() for h in self.hdul]
        if "EVENTS" not in names:
            raise FileFormatError(
                f"survey tile {path} has no EVENTS extension (its HDUs: "
                f"{[n or 'PRIMARY' for n in names]}); the tile table's EVENTS column must name "
                "event files, not images or exposure maps"
            )
        ev = self.hdul["EVENTS"]
        info = ev.fileinfo()
        need = info["datLoc"] + info["datSpan"]
        size = path.stat().st_size
        if need > size:
            raise FileFormatError(
                f"{path}: the EVENTS table needs {need} bytes but the file has {size}: the "
                "tile is truncated (an interrupted download?)"
            )
        self.data = ev.data
        names = {n.upper(): n for n in ev.columns.names}
        for col in ("RA", "DEC", "PI"):
            if col not in names:
                raise MissingColumnError(
                    f"{path}: the EVENTS table lacks column {col!r}; columns are {ev.columns.names}"
                )
        self.names = names
        self.header = ev.header
        units = {n.upper(): c.unit for n, c in zip(ev.columns.names, ev.columns)}
        self.pi_factor = unit_factor(units.get("PI"), "keV", "eV", PI_ALIASES, str(path), "PI")
        dec = np.asarray(self.data.field(names["DEC"]), dtype=np.float64)
        self.order = np.argsort(dec, kind="stable")
        self.dec_sorted = dec[self.order]
        self.ra = np.asarray(self.data.field(names["RA"]), dtype=np.float64)
        self.gtis = {}
        self.flare = None
        for h in self.hdul[1:]:
            extname = str(h.header.get("EXTNAME", "")).upper()
            if extname == (flare_gti or "").upper():
                self.flare = self._intervals(h)
            for tm in range(1, 8):
                if extname == gti_names.format(tm=tm).upper():
                    self.gtis[tm] = self._intervals(h)

    @staticmethod
    def _intervals(hdu) -> np.ndarray:
        iv = np.column_stack([np.asarray(hdu.data["START"], float),
                              np.asarray(hdu.data["STOP"], float)])  # fmt: skip
        return iv[np.argsort(iv[:, 0])]

    def close(self) -> None:
        hdul = getattr(self, "hdul", None)
        if hdul is not None:
            hdul.close()
        self.hdul = None

    def rows_in_dec(self, lo: float, hi: float) -> np.ndarray:
        a = np.searchsorted(self.dec_sorted, lo, side="left")
        b = np.searchsorted(self.dec_sorted, hi, side="right")
        return np.sort(self.order[a:b])

    def column(self, name: str, rows: np.ndarray) -> np.ndarray:
        key = self.names.get(name.upper())
        if key is None:
            return None
        return np.asarray(self.data.field(key)[rows])


def in_intervals(t: np.ndarray, iv: np.ndarray) -> np.ndarray:
    """T inside any [start, stop) of sorted intervals."""
    if iv.size == 0:
        return np.zeros(t.shape, bool)
    k = np.searchsorted(iv[:, 0], t, side="right") - 1
    ok = k >= 0
    kk = np.clip(k, 0, None)
    return ok & (t < iv[kk, 1]) & (t >= iv[kk, 0])



def open_tile(path: Path, gti_names: str, flare_gti: str | None) -> _Tile:
    """Open the tile event file ``path`` (FileFormatError/MissingColumnError when damaged).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from astroclustermass.simulate import MockSurvey
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "s"
    >>> _ = MockSurvey(n_clusters=1, n_ra=1, n_dec=1, tile_size=0.8).write(d, progress=False)
    >>> t = open_tile(d / "tiles" / "tile_101_events.fits", "GTI{tm}", "FLAREGTI")
    >>> sorted(t.gtis) == list(range(1, 8)), t.pi_factor
    (True, 0.001)
    >>> t.close()
    """
    return _Tile(path, gti_names, flare_gti)
