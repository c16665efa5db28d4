"""Event lists and images refuse implausible values with the package's own errors."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from astroclustermass.events import EventList
from astroclustermass.exceptions import InputError
from astroclustermass.images import BandImage


def _events(energy):
    n = len(energy)
    coords = SkyCoord(np.full(n, 150.0) * u.deg, np.linspace(1.99, 2.01, n) * u.deg)
    return coords, energy


def test_ev_values_labelled_kev_are_refused_with_a_hint(tmp_path):
    energy = np.array([300.0, 975.0, 1500.0, 4000.0])  # eV, as PI holds them
    with pytest.raises(
        InputError, match=r"median photon energy of 1237.5 keV.*look like eV.*u\.eV"
    ):
        EventList(*_events(energy * u.keV))
    ev = EventList(*_events(energy * u.eV))  # the same values in the right unit are fine
    path = tmp_path / "ev.fits"
    ev.write(path)
    from astropy.io import fits

    with fits.open(path, mode="update") as hdul:  # a file whose SIGNAL holds eV
        hdul["EVENTS"].data["SIGNAL"] = energy
    with pytest.raises(InputError, match=r"ev\.fits: column 'SIGNAL' \(unit keV\).*TUNIT to 'eV'"):
        EventList.read(path)


def test_hard_but_plausible_energies_stay_accepted():
    ev = EventList(*_events([0.3, 2.0, 9.5, 80.0] * u.keV))  # median 5.75 keV
    assert len(ev) == 4


@pytest.mark.parametrize("center", [(150.0, 95.0), (150.0 * u.deg, -91.0 * u.deg)])
def test_a_centre_beyond_the_pole_is_a_package_error(center):
    ev = EventList(*_events([1.0, 2.0] * u.keV))
    with pytest.raises(InputError, match=r"center Dec -?9[15]\.0 deg is outside \[-90, 90\]"):
        ev.to_comoving(center, 0.1)
    with pytest.raises(InputError, match=r"outside \[-90, 90\]"):
        BandImage.from_events(ev, center, 0.1, npix=4)


@pytest.mark.parametrize("z", [1e-9, 0.0, -0.1, 11.0, float("nan")])
def test_an_unphysical_redshift_is_refused(z):
    ev = EventList(*_events([1.0, 2.0] * u.keV))
    with pytest.raises(InputError, match=r"redshift.*outside 0.001-10"):
        ev.to_comoving((150.0, 2.0), z)


def test_multiband_maps_of_an_empty_event_list_are_empty_like_single_band():
    ev = EventList(*_events([1.0, 2.0] * u.keV))
    empty = ev[np.zeros(len(ev), dtype=bool)]
    for bands, n in (("bolometric", 1), ("erosita_3", 3)):
        image = BandImage.from_events(empty, (150.0, 2.0), 0.1, bands=bands, npix=4)
        assert image.data.shape == (n, 4, 4) and image.total == 0
