"""`MockUniverse`: the built-in mock eROSITA cluster survey.

A universe is fixed by ``(n_clusters, seed, exposure, config, cosmology)``.
Randomness is split into independent streams derived from ``seed`` with
`numpy.random.SeedSequence` spawn keys: one each for the halos, the ideal
observables, the ICM morphology and the galaxies, and one per cluster for its
photons, so a cluster's event file does not depend on ``n_jobs`` or on which
process simulated it, and changing e.g. the galaxy parameters leaves the
halos alone.

Examples
--------
>>> from astroclustermass.simulate import MockUniverse
>>> u = MockUniverse(n_clusters=10, seed=1)
>>> cat = u.catalog()
>>> len(cat), float(cat["exposure"][0])
(10, 2000.0)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from .._utils import atomic_directory, check_replaceable, defaults, progress_bar
from .._utils._processes import map_unordered, n_workers
from ..cosmology import cosmology_from_dict, cosmology_to_dict, get_cosmology
from ..exceptions import InputError
from ..version import __version__
from .config import MockConfig, resolve_exposure
from .galaxies import draw_galaxies, sigma_v_true
from .halos import sample_halos
from .icm import draw_morphology
from .photons import ClusterEvents, simulate_cluster_events
from .scaling import draw_observables
from .writer import event_file_name, write_event_file, write_json, write_table

__all__ = ["MockUniverse"]

_STREAM_HALOS, _STREAM_OBS, _STREAM_MORPH, _STREAM_GAL, _STREAM_PHOTONS = range(5)
#: What `MockUniverse.write` puts in its directory; ``overwrite`` replaces nothing else.
SIMULATION_FILES = ("catalog.ecsv", "galaxies.ecsv", "simulation.json", "events")
_MORPH_SCALARS = ("x_c", "beta", "x_cc", "q", "pa", "shift_x", "shift_y")
_MORPH_ARRAYS = ("sub_frac", "sub_x", "sub_y", "sub_rc")


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _simulate_chunk(task: dict) -> list[tuple[int, dict]]:
    """Worker: simulate and write a list of clusters; returns their counts."""
    config = MockConfig.from_dict(task["config"])
    cosmology = cosmology_from_dict(task["cosmology"])
    out = []
    for spec in task["specs"]:
        cid = int(spec["id"])
        ev = simulate_cluster_events(
            spec,
            config,
            task["exposure"],
            seed=np.random.SeedSequence(task["seed"], spawn_key=(_STREAM_PHOTONS, cid)),
            cosmology=cosmology,
        )
        write_event_file(Path(task["root"]) / event_file_name(cid), ev)
        out.append((cid, ev.counts))
    return out


class MockUniverse:
    """A calibrated mock eROSITA survey of galaxy clusters.

    Parameters
    ----------
    n_clusters : int
        Number of clusters (3,285 as in Ho et al. 2023).
    seed : int
        Seed of every random stream.
    exposure : float or str
        Exposure in seconds, or a preset of
        `astroclustermass.simulate.EXPOSURE_PRESETS` (``"paper"`` = 2 ks,
        ``"efeds"``, ``"erass1"``, ``"erass4"``).
    config : MockConfig, optional
        Physical parameters (the calibrated defaults if None).
    cosmology : astropy FLRW or str, optional
        Default WMAP7 (Magneticum).

    Examples
    --------
    >>> u = MockUniverse(n_clusters=5, seed=0, exposure="erass1")
    >>> u.exposure
    200.0
    >>> sorted(u.galaxies().colnames)[:3]
    ['cluster_id', 'is_member', 'm_star']
    """

    def __init__(
        self,
        n_clusters: int = 3285,
        seed: int = 0,
        exposure: float | str = "paper",
        config: MockConfig | None = None,
        cosmology=None,
    ) -> None:
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
            raise InputError(f"n_clusters must be a positive integer; got {n_clusters!r}")
        if n_clusters < 1:
            raise InputError(f"n_clusters must be >= 1; got {n_clusters}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"seed must be a non-negative integer; got {seed!r}")
        if config is not None and not isinstance(config, MockConfig):
            raise InputError(f"config must be a MockConfig; got {type(config).__name__}")
        self.n_clusters = int(n_clusters)
        self.seed = int(seed)
        self.exposure = resolve_exposure(exposure)
        self.config = MockConfig() if config is None else config
        self.cosmology = get_cosmology(cosmology)
        self._pop: dict | None = None

    def __repr__(self) -> str:
        return (
            f"MockUniverse(n_clusters={self.n_clusters}, seed={self.seed}, "
            f"exposure={self.exposure:g})"
        )

    # ------------------------------------------------------------------ population
    def _population(self) -> dict:
        if self._pop is None:
            cfg, cosmo, n = self.config, self.cosmology, self.n_clusters
            halos = sample_halos(n, cfg, _stream(self.seed, _STREAM_HALOS), cosmo)
            obs = draw_observables(
                halos["m500c"], halos["redshift"], cfg, _stream(self.seed, _STREAM_OBS), cosmo
            )
            morph = draw_morphology(obs, cfg, _stream(self.seed, _STREAM_MORPH))
            gal = draw_galaxies(halos, cfg, _stream(self.seed, _STREAM_GAL), cosmo)
            sv = sigma_v_true(gal, n)
            self._pop = {"halos": halos, "obs": obs, "morph": morph, "gal": gal, "sigv": sv}
        return self._pop

    def catalog(self) -> Table:
        """The cluster catalogue: truth, positions and ideal observables (no photons).

        Returns
        -------
        astropy.table.Table
            Columns ``id``, ``file``, ``ra``, ``dec``, ``redshift``,
            ``snapshot``, ``log10_m500c``, ``r500c`` (comoving h⁻¹ Mpc), ``x``,
            ``y``, ``z`` (box, h⁻¹ Mpc), ``exposure`` (s), ``T`` (keV), ``L_X``
            (10⁴⁴ erg/s, rest 0.5–2 keV in R500c), ``M_gas``, ``M_star``
            (h⁻¹ M☉), ``sigma_v_true`` (km/s), ``cool_core``, ``disturbed``.
            `write` adds ``n_icm``, ``n_agn`` and ``n_bkg``.

        Examples
        --------
        >>> cat = MockUniverse(n_clusters=3, seed=0).catalog()
        >>> str(cat["file"][0])
        'events/cluster_00000.fits'
        """
        pop = self._population()
        h, o = pop["halos"], pop["obs"]
        n = self.n_clusters
        ids = np.arange(n, dtype=np.int64)
        t = Table()
        t["id"] = ids
        t["file"] = [event_file_name(i) for i in ids]
        t["ra"] = h["ra"] * u.deg
        t["dec"] = h["dec"] * u.deg
        t["redshift"] = h["redshift"]
        t["snapshot"] = h["snapshot"]
        t["log10_m500c"] = h["log10_m500c"]
        t["r500c"] = h["r500c"]
        for k in ("x", "y", "z"):
            t[k] = h[k]
        t["exposure"] = np.full(n, self.exposure) * u.s
        t["T"] = o["T"] * u.keV
        t["L_X"] = o["L_X"] / 1e44 * u.Unit("1e44 erg / s")
        t["M_gas"] = o["M_gas"]
        t["M_star"] = o["M_star"]
        t["sigma_v_true"] = pop["sigv"] * u.km / u.s
        t["cool_core"] = o["cool_core"]
        t["disturbed"] = o["disturbed"]
        desc = {
            "log10_m500c": "log10 M500c in h^-1 Msun (truth)",
            "r500c": "R500c in comoving h^-1 Mpc",
            "x": "comoving box position in h^-1 Mpc",
            "y": "comoving box position in h^-1 Mpc",
            "z": "comoving box position in h^-1 Mpc",
            "L_X": "rest-frame 0.5-2 keV luminosity within R500c",
            "M_gas": "gas mass within R500c in h^-1 Msun",
            "M_star": "stellar mass within R500c in h^-1 Msun",
            "sigma_v_true": f"std of v_los of galaxies with 3D r < {defaults.APERTURE} h^-1 Mpc",
            "snapshot": "Magneticum-like snapshot number of the redshift",
        }
        for k, v in desc.items():
            t[k].info.description = v
        t.meta.update(
            {
                "box_size": float(self.config.box_size),
                "length_unit": "comoving h^-1 Mpc (r500c, x, y, z)",
                "mass_unit": "h^-1 Msun (M_gas, M_star, log10_m500c)",
                "seed": self.seed,
                "n_clusters": n,
                "exposure": self.exposure,
                "cosmology": cosmology_to_dict(self.cosmology),
                "creator": f"astroclustermass.simulate {__version__}",
            }
        )
        return t

    def galaxies(self) -> Table:
        """The galaxy catalogue (members and interlopers inside the dynamical cylinder).

        Returns
        -------
        astropy.table.Table
            ``cluster_id``, ``x_proj``, ``y_proj`` (comoving h⁻¹ Mpc),
            ``v_los`` (km/s), ``m_star`` (h⁻¹ M☉), ``is_member``, ``r3d``.

        Examples
        --------
        >>> g = MockUniverse(n_clusters=3, seed=0).galaxies()
        >>> set(g["cluster_id"]) <= {0, 1, 2}
        True
        """
        g = self._population()["gal"]
        t = Table()
        t["cluster_id"] = g["cluster_index"].astype(np.int64)
        t["x_proj"] = np.round(g["x_proj"], 5)
        t["y_proj"] = np.round(g["y_proj"], 5)
        t["v_los"] = np.round(g["v_los"], 2) * u.km / u.s
        t["m_star"] = np.round(g["m_star"] / 1e6) * 1e6
        t["is_member"] = g["is_member"]
        t["r3d"] = np.round(g["r3d"], 4)
        t.meta["length_unit"] = "comoving h^-1 Mpc"
        t.meta["mass_unit"] = "h^-1 Msun"
        return t

    def cluster_spec(self, index: int) -> dict:
        """All parameters `simulate_cluster_events` needs for one cluster.

        Examples
        --------
        >>> spec = MockUniverse(n_clusters=3, seed=0).cluster_spec(1)
        >>> spec["id"], sorted(spec)[:3]
        (1, ['L_X', 'T', 'beta'])
        """
        if not 0 <= int(index) < self.n_clusters:
            raise InputError(f"cluster index {index} outside 0..{self.n_clusters - 1}")
        i = int(index)
        pop = self._population()
        h, o, m = pop["halos"], pop["obs"], pop["morph"]
        spec = {
            "id": i,
            "ra": float(h["ra"][i]),
            "dec": float(h["dec"][i]),
            "redshift": float(h["redshift"][i]),
            "m500c": float(h["m500c"][i]),
            "r500c": float(h["r500c"][i]),
            "T": float(o["T"][i]),
            "L_X": float(o["L_X"][i]),
            "core_excess": float(o["core_excess"][i]),
            "cool_core": bool(o["cool_core"][i]),
            "disturbed": bool(o["disturbed"][i]),
        }
        for k in _MORPH_SCALARS:
            spec[k] = float(m[k][i])
        for k in _MORPH_ARRAYS:
            spec[k] = [float(v) for v in m[k][i]]
        return spec

    def simulate_cluster(self, index: int) -> ClusterEvents:
        """Simulate one cluster's events (the same events `write` puts in its file).

        Examples
        --------
        >>> ev = MockUniverse(n_clusters=2, seed=0).simulate_cluster(0)
        >>> ev.header["EXPOSURE"]
        2000.0
        """
        spec = self.cluster_spec(index)
        return simulate_cluster_events(
            spec,
            self.config,
            self.exposure,
            seed=np.random.SeedSequence(self.seed, spawn_key=(_STREAM_PHOTONS, int(index))),
            cosmology=self.cosmology,
        )

    # ------------------------------------------------------------------ output
    def simulation_metadata(self) -> dict:
        """The JSON document written to ``simulation.json`` (identifies a cache).

        Examples
        --------
        >>> MockUniverse(n_clusters=2, seed=5).simulation_metadata()["seed"]
        5
        """
        return {
            "creator": "astroclustermass.simulate",
            "version": __version__,
            "n_clusters": self.n_clusters,
            "seed": self.seed,
            "exposure": self.exposure,
            "cosmology": cosmology_to_dict(self.cosmology),
            "config": self.config.to_dict(),
        }

    def matches(self, directory: str | os.PathLike) -> bool:
        """True when ``directory`` holds a complete simulation of this universe.

        Compares ``simulation.json`` (parameters and package version) and
        checks that the catalogue and every event file exist.

        Examples
        --------
        >>> MockUniverse(n_clusters=2).matches("/nonexistent")
        False
        """
        directory = Path(directory)
        meta = directory / "simulation.json"
        if not meta.is_file():
            return False
        try:
            stored = json.loads(meta.read_text())
        except (OSError, ValueError):
            return False
        expected = json.loads(json.dumps(self.simulation_metadata()))
        if stored != expected:
            return False
        if not (directory / "catalog.ecsv").is_file():
            return False
        return all((directory / event_file_name(i)).is_file() for i in range(self.n_clusters))

    def write(
        self,
        out_dir: str | os.PathLike,
        n_jobs: int = 2,
        progress: bool | None = None,
        overwrite: bool = False,
        client: Any = None,
    ) -> Path:
        """Simulate every cluster and write the simulation directory.

        Writes ``events/cluster_NNNNN.fits``, ``catalog.ecsv`` (with the
        per-source counts ``n_icm``, ``n_agn``, ``n_bkg``), ``galaxies.ecsv``
        and ``simulation.json``. The directory appears in one rename when
        everything is written.

        Parameters
        ----------
        out_dir : path-like
            Destination directory.
        n_jobs : int
            Worker processes (1 runs in this process). Files do not depend on it.
        progress : bool or None
            Show a progress bar (None: only on a terminal).
        overwrite : bool
            Replace an existing non-empty directory of an earlier simulation.
            A directory holding anything else (a notes file, your own data)
            is refused with `~astroclustermass.exceptions.OutputExistsError`,
            before any work, and nothing in it is deleted.
        client : dask.distributed.Client, optional
            Simulate the clusters as tasks on this Dask cluster (needs
            ``astroclustermass[distributed]``); its workers write the event
            files, so they must share the file system of ``out_dir``. Every
            file is byte-identical to a local run, whatever the number of
            workers (each cluster draws from its own seeded stream).

        Returns
        -------
        Path
            ``out_dir``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "sim"
        >>> p = MockUniverse(n_clusters=2, seed=0).write(d, n_jobs=1, progress=False)
        >>> sorted(x.name for x in p.iterdir())
        ['catalog.ecsv', 'events', 'galaxies.ecsv', 'simulation.json']
        """
        out_dir = Path(out_dir)
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
            raise InputError(f"n_jobs must be a positive integer; got {n_jobs!r}")
        if client is not None:
            n_jobs = n_workers(client)
        if out_dir.is_dir() and not any(out_dir.iterdir()):
            overwrite = True  # an empty directory is simply filled
        check_replaceable(out_dir, overwrite, SIMULATION_FILES)
        catalog = self.catalog()
        galaxies = self.galaxies()
        specs = [self.cluster_spec(i) for i in range(self.n_clusters)]
        counts: dict[int, dict] = {}
        with atomic_directory(out_dir, overwrite=True, owned=SIMULATION_FILES) as tmp:
            (tmp / "events").mkdir()
            base = {
                "config": self.config.to_dict(),
                "cosmology": cosmology_to_dict(self.cosmology),
                "exposure": self.exposure,
                "seed": self.seed,
                "root": str(tmp),
            }
            # biggest clusters first so that the two workers finish together
            order = np.argsort(
                -np.asarray(catalog["L_X"]) / np.asarray(catalog["redshift"]) ** 2, kind="stable"
            )
            chunk = max(1, min(16, self.n_clusters // (8 * n_jobs) or 1))
            tasks = [
                {**base, "specs": [specs[i] for i in order[k : k + chunk]]}
                for k in range(0, self.n_clusters, chunk)
            ]
            bar = progress_bar(
                total=self.n_clusters, progress=progress, desc="simulating", unit="cluster"
            )
            results = map_unordered(_simulate_chunk, tasks, n_jobs=n_jobs, client=client)
            try:
                for k, chunk_counts in results:
                    for cid, c in chunk_counts:
                        counts[cid] = c
                    bar.update(len(tasks[k]["specs"]))
            finally:
                results.close()
                bar.close()
            for key in ("n_icm", "n_agn", "n_bkg"):
                catalog[key] = np.array(
                    [counts[i][key] for i in range(self.n_clusters)], dtype=np.int64
                )
            write_table(tmp / "catalog.ecsv", catalog)
            write_table(tmp / "galaxies.ecsv", galaxies)
            write_json(tmp / "simulation.json", self.simulation_metadata())
        return out_dir
