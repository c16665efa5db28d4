"""Ho et al. (2023) Section 6 on a sample: cores, AGN and bands in the saliency of CNNs.

`section6` trains (or takes) a single-band CNN, a multi-band CNN and the
``power_law`` N_phot,500c proxy on one training split of a sample, explains
their predictions on the held-out clusters and returns the measurements of
Sec. 6 as a `Section6` (a table and the figures).

Examples
--------
>>> sorted(PAPER)[:2]
['agn_icm_ratio multi-band CNN', 'agn_icm_ratio single-band CNN']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table

from ..exceptions import InputError
from ._map import AttributionMap, save_png
from .summaries import band_summary, mask_saliency, plot_radial_profile, radial_profile

__all__ = ["section6", "Section6", "PAPER", "CORE_ANNULUS", "R500_ANNULUS"]

#: Annulus (in R500c) for the core ratio: centred on 0.07 R500c, one 0.07-wide bin.
CORE_ANNULUS = (0.035, 0.105)
#: Annulus just inside R500c (the proxy's aperture ends at R500c).
R500_ANNULUS = (0.93, 1.0)

#: The paper's numbers (Ho et al. 2023 Sec. 6.1-6.3): log10 medians [16th, 84th]
#: of the pooled wrt-input saliency (Eq. 14 masks), and the CNN/proxy ratios of Fig. 7.
PAPER: dict[str, tuple[float, float, float]] = {
    "cnn_to_proxy at 0.07 R500c single-band CNN": (0.1, np.nan, np.nan),
    "cnn_to_proxy at R500c single-band CNN": (1.0, np.nan, np.nan),
    "log10 S_ICM single-band CNN": (-3.53, -3.53 - 0.67, -3.53 + 0.47),
    "log10 S_AGN single-band CNN": (-3.85, -3.85 - 0.74, -3.85 + 0.71),
    "log10 S_ICM multi-band CNN": (-3.77, -3.77 - 0.63, -3.77 + 0.49),
    "log10 S_AGN multi-band CNN": (-3.91, -3.91 - 0.74, -3.91 + 0.61),
    "agn_icm_ratio single-band CNN": (10 ** (-3.85 + 3.53), np.nan, np.nan),
    "agn_icm_ratio multi-band CNN": (10 ** (-3.91 + 3.77), np.nan, np.nan),
    "log10 S_band soft multi-band CNN": (-4.15, -4.15 - 0.68, -4.15 + 0.56),
    "log10 S_band medium multi-band CNN": (-4.17, -4.17 - 0.68, -4.17 + 0.59),
    "log10 S_band hard multi-band CNN": (-4.15, -4.15 - 0.72, -4.15 + 0.60),
}

_SINGLE, _MULTI, _PROXY = "single-band CNN", "multi-band CNN", "N_phot proxy"


@dataclass
class Section6:
    """The Section 6 measurements of `section6`.

    Attributes
    ----------
    table : `~astropy.table.Table`
        One row per measurement: ``quantity``, ``median``, ``p16``, ``p84``
        and the paper's ``paper_median``, ``paper_p16``, ``paper_p84`` (NaN
        where the paper gives none); ``meta`` holds the sample sizes.
    profiles : dict of label → Table
        `radial_profile` of each model (Fig. 7).
    ratio_profiles : dict of label → Table
        Pixel-by-pixel CNN / proxy saliency ratio against r / R500c, on the
        scale of the maps (``wrt``; keys the model labels) and per photon
        (keys ``"<label> per photon"``).
    bands : `~astropy.table.Table`
        `band_summary` of the multi-band CNN (Fig. 9).
    maps : dict of label → `AttributionMap`
        The maps of the test clusters.
    per_count : dict of label → `AttributionMap`
        Signed saliency per count of the same clusters (the CNN/proxy ratios).
    estimators : dict of label → `~astroclustermass.estimators.MassEstimator`
        The fitted models (save them to reuse them with the same ``seed``
        and ``test_fraction``: the same clusters are held out).
    """

    table: Table
    profiles: dict
    ratio_profiles: dict
    bands: Table
    maps: dict = field(repr=False)
    per_count: dict = field(default_factory=dict, repr=False)
    estimators: dict = field(default_factory=dict, repr=False)

    def write(self, out: str | os.PathLike, overwrite: bool = False) -> list[Path]:
        """Write ``section6.ecsv`` and the figures ``fig7_radial_saliency.png``,
        ``fig7_cnn_to_proxy.png``, ``eq14_mask_saliency.png`` and ``fig9_band_saliency.png``.
        """
        from .._utils import atomic_write

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        table_path = out / "section6.ecsv"
        if table_path.exists() and not overwrite:
            raise FileExistsError(f"{table_path} exists; pass overwrite=True to replace it")
        with atomic_write(table_path) as tmp:
            self.table.write(tmp, format="ascii.ecsv", overwrite=True)
        paths = [table_path]
        plot_radial_profile(self.profiles, path=out / "fig7_radial_saliency.png")
        paths.append(out / "fig7_radial_saliency.png")
        paths.append(self._plot_ratio(out / "fig7_cnn_to_proxy.png"))
        paths.append(self._plot_masks(out / "eq14_mask_saliency.png"))
        paths.append(self._plot_bands(out / "fig9_band_saliency.png"))
        return paths

    def _figure(self, size: tuple[float, float] = (5.5, 4.0)) -> tuple[Any, Any]:
        from matplotlib.figure import Figure

        fig = Figure(figsize=size, layout="constrained")
        return fig, fig.add_subplot()

    def _plot_ratio(self, path: Path) -> Path:
        fig, ax = self._figure()
        for label, t in self.ratio_profiles.items():
            r = np.asarray(t["r_mid"], float)
            per_photon = label.endswith("per photon")
            wrt = "" if per_photon else f" ({self.table.meta.get('wrt', 'input')} scale)"
            (line,) = ax.plot(
                r,
                t["median"],
                color="C0" if label.startswith(_SINGLE) else "C1",
                ls="-" if per_photon else "--",
                label=f"{label}{wrt} / proxy",
            )
            if per_photon:
                ax.fill_between(r, t["p16"], t["p84"], color=line.get_color(), alpha=0.2, lw=0)
        ax.axhline(1.0, color="0.5", lw=1)
        ax.axvline(0.07, color="0.5", ls=":", lw=1)
        ax.axvline(1.0, color="0.5", ls="--", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("$r / R_{500c}$")
        ax.set_ylabel("CNN / $N_{phot}$ proxy saliency, median per pixel")
        ax.set_title("band: 16-84 % (per photon)", fontsize=9)
        ax.legend()
        return save_png(fig, path)

    def _plot_masks(self, path: Path) -> Path:
        fig, ax = self._figure()
        rows = {r["quantity"]: r for r in self.table}
        labels, x = [], 0
        for model in (_SINGLE, _MULTI):
            for src, colour in (("ICM", "C0"), ("AGN", "C3")):
                r = rows.get(f"log10 S_{src} {model}")
                if r is None:
                    continue
                ax.errorbar(
                    x,
                    r["median"],
                    yerr=[[r["median"] - r["p16"]], [r["p84"] - r["median"]]],
                    fmt="o",
                    color=colour,
                    capsize=4,
                    label=f"{src}, ours" if x < 2 else None,
                )
                p = PAPER[f"log10 S_{src} {model}"]
                ax.errorbar(
                    x + 0.2,
                    p[0],
                    yerr=[[p[0] - p[1]], [p[2] - p[0]]],
                    fmt="s",
                    mfc="none",
                    color=colour,
                    capsize=4,
                    label=f"{src}, Ho et al. 2023" if x < 2 else None,
                )
                labels.append(f"{src}\n{model.split()[0]}")
                x += 1
        ax.set_xticks(np.arange(len(labels)) + 0.1, labels)
        ax.set_ylabel(r"$\log_{10} S_{\rm mask}$ (Eq. 14): median, 16-84 %")
        ax.set_title("ICM- vs AGN-dominated pixels")
        fig.legend(loc="outside lower center", fontsize=8, ncols=2)
        return save_png(fig, path)

    def _plot_bands(self, path: Path) -> Path:
        fig, ax = self._figure()
        t = self.bands
        x = np.arange(len(t))
        med = np.log10(np.asarray(t["median"], float))
        lo, hi = np.log10(np.asarray(t["p16"], float)), np.log10(np.asarray(t["p84"], float))
        ax.errorbar(x, med, yerr=[med - lo, hi - med], fmt="o", capsize=4, label="ours")
        names = ("soft", "medium", "hard")
        if len(t) == len(names):  # the paper's eROSITA bands
            p = np.array([PAPER[f"log10 S_band {b} {_MULTI}"] for b in names])
            ax.errorbar(
                x + 0.1,
                p[:, 0],
                yerr=[p[:, 0] - p[:, 1], p[:, 2] - p[:, 0]],
                fmt="s",
                mfc="none",
                capsize=4,
                label="Ho et al. 2023",
            )
        ax.set_xticks(x, list(t["band"]))
        ax.set_ylabel(r"$\log_{10}$ pixel saliency, median and 16-84 %")
        ax.set_title("multi-band CNN, per band (Fig. 9)")
        fig.legend(loc="outside lower center", ncols=2)
        return save_png(fig, path)


def _lognormal(values: np.ndarray) -> tuple[float, float, float]:
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return (np.nan, np.nan, np.nan)
    lo, med, hi = np.percentile(np.log10(v), (16, 50, 84))
    return float(med), float(lo), float(hi)


def _per_photon(amap: AttributionMap, counts: np.ndarray) -> np.ndarray:
    """|d log10 M / d(one photon)| per pixel from a signed per-count map (n, band, y, x).

    A photon lands in one band; with the pixel's own band shares ``f_b``
    (the cluster's shares where the pixel is empty) the derivative with
    respect to one more photon is ``sum_b f_b dlog10M/dn_b``. One band: the map.
    """
    v = np.asarray(amap.values, dtype=np.float64)
    if v.shape[1] == 1:
        return np.abs(v[:, 0])
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum(axis=1, keepdims=True)
    cluster = c.sum(axis=(2, 3), keepdims=True)
    cluster = cluster / np.maximum(cluster.sum(axis=1, keepdims=True), 1.0)
    share = np.where(total > 0, c / np.maximum(total, 1.0), cluster)
    return np.abs((share * v).sum(axis=1))


def _ratio_profile(
    cnn: AttributionMap,
    proxy: AttributionMap,
    edges: np.ndarray,
    counts: np.ndarray | None = None,
) -> Table:
    """Pixel-by-pixel per-photon |S_cnn| / |S_proxy| pooled in bins of r / R500c.

    Both maps per count (``wrt='counts'``, the CNN's signed); ``counts`` are the
    CNN's input images, for the band shares of a multi-band map.
    """
    from .summaries import _binned

    a = _per_photon(cnn, counts if counts is not None else np.ones(cnn.shape))
    b = np.abs(proxy.values).sum(axis=1) / proxy.n_bands
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(b > 0, a / b, np.nan)
    radius = cnn.pixel_radius()[None] / cnn.r500c()[:, None, None]
    ok = np.isfinite(ratio)
    return _binned(ratio[ok], radius[ok], edges, "r", "n_pixels")


def section6(
    sample: Any,
    estimators: dict | None = None,
    *,
    test_fraction: float = 0.3,
    seed: int = 0,
    cnn_params: dict | None = None,
    wrt: str = "input",
    progress: bool | None = None,
) -> Section6:
    """Measure Ho et al. (2023) Sec. 6 on a sample with per-source (ICM/AGN) images.

    The clusters are split at random (``seed``) into training and test
    clusters; each model of ``estimators`` that is not fitted yet is fitted
    on the training clusters, and the test clusters are explained: the CNNs
    with ``saliency`` (absolute gradient, ``wrt`` as given), the proxy with
    ``analytic_proxy``. Measured:

    * the median radial saliency profile with its 16-84 % band in units of
      R500c (Fig. 7) of every model;
    * the CNN-to-proxy saliency ratio, pixel by pixel on the same clusters,
      median and 16-84 % in the annulus `CORE_ANNULUS` (0.07 R500c) and in
      `R500_ANNULUS` (just inside R500c, where the proxy's aperture ends),
      twice: ``cnn_to_proxy`` on the scale of the maps (``wrt='input'``:
      the CNN's gradient with respect to its redshift-normalised
      ``log10(n + 1)`` input over Eq. 13's with respect to ``log10(n + 1)``,
      the paper's comparison, which found ~0.1 and ~1 for the single-band
      CNN), and ``cnn_to_proxy per photon`` from per-count maps. For the
      multi-band CNN the per-band values are weighted by the pixel's band
      shares (the derivative for one more photon of the pixel's spectrum);
    * the saliency of ICM- and AGN-dominated pixels (Eq. 14 masks from the
      bolometric source images, `mask_saliency`'s pooled pixel values, zeros
      dropped, as the paper's reference code) for the
      single- and multi-band CNN, summarised as a log-normal: the median and
      16/84 % of log10, and the AGN/ICM ratio of the medians;
    * the per-band saliency of the multi-band CNN (Fig. 9).

    Parameters
    ----------
    sample : `~astroclustermass.ClusterSample`
        Clusters with ``bolometric`` and ``erosita_3`` images, ``icm``/``agn``
        source images, ``log10_m500c``, ``r500c`` and the ``n_phot_500c``
        observable (what ``astroclustermass build`` writes from the mock).
    estimators : dict, optional
        ``{"single-band CNN": est, "multi-band CNN": est, "N_phot proxy": est}``
        (fitted or not; fitted ones are used as they are, and should not
        have seen the test clusters). Default: ``single_band_cnn``,
        ``multiband_cnn`` with ``cnn_params`` and ``power_law`` on
        ``n_phot_500c``.
    test_fraction : float
        Share of the clusters held out and explained.
    seed : int
        Seed of the split (and of the default CNNs).
    cnn_params : dict, optional
        Parameters of the default CNNs (e.g. ``{"max_epochs": 30}``).
    wrt : {'input', 'counts'}
        Saliency with respect to the network input ``log10(n + 1)`` scale
        (the scale of the paper's numbers) or per count.
    progress : bool or None
        Progress bars.

    Returns
    -------
    `Section6`

    Examples
    --------
    >>> section6.__name__
    'section6'
    """
    from ..estimators import MassEstimator
    from ..exceptions import NotFittedError
    from .base import Attribution

    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be in (0, 1); got {test_fraction}")
    n = len(sample)
    n_test = int(round(test_fraction * n))
    if n_test < 4 or n - n_test < 8:
        raise InputError(f"{n} clusters are too few for test_fraction={test_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    test, train = sample[np.sort(perm[:n_test])], sample[np.sort(perm[n_test:])]
    if estimators is None:
        params = {"seed": int(seed), **(cnn_params or {})}
        estimators = {
            _SINGLE: MassEstimator.from_name("single_band_cnn", bands="bolometric", **params),
            _MULTI: MassEstimator.from_name("multiband_cnn", bands="erosita_3", **params),
            _PROXY: MassEstimator.from_name("power_law", observable="n_phot_500c"),
        }
    missing = {_SINGLE, _MULTI, _PROXY} - set(estimators)
    if missing:
        raise InputError(f"estimators needs the keys {sorted(missing)}")
    maps: dict[str, AttributionMap] = {}
    per_count: dict[str, AttributionMap] = {}  # signed, per count: the CNN / proxy ratio
    for label, est in estimators.items():
        try:
            est.predict(test[:1], progress=False)
        except NotFittedError:
            est.fit(train, progress=progress)
        if label == _PROXY:
            method = Attribution.from_name("analytic_proxy", bands="bolometric", wrt=wrt)
            per_count[label] = Attribution.from_name(
                "analytic_proxy", bands="bolometric", wrt="counts"
            ).attribute(est, test, progress=progress)
        else:
            method = Attribution.from_name("saliency", wrt=wrt)
            per_count[label] = Attribution.from_name(
                "saliency", wrt="counts", absolute=False
            ).attribute(est, test, progress=progress)
        maps[label] = method.attribute(est, test, progress=progress)

    edges = np.round(np.arange(0.0, 3.0 + 1e-9, 0.07), 6)
    profiles = {label: radial_profile(m, bins=edges) for label, m in maps.items()}
    counts = {label: test.images(per_count[label].bands.name) for label in (_SINGLE, _MULTI)}

    def ratio(label: str, bins: np.ndarray, photon: bool) -> Table:
        m = per_count if photon else maps
        return _ratio_profile(m[label], m[_PROXY], bins, counts[label])

    ratio_profiles = {}
    for label in (_SINGLE, _MULTI):
        ratio_profiles[label] = ratio(label, edges, False)
        ratio_profiles[f"{label} per photon"] = ratio(label, edges, True)
    rows: list[tuple] = []

    def add(quantity: str, med: float, lo: float, hi: float) -> None:
        paper = PAPER.get(quantity, (np.nan, np.nan, np.nan))
        rows.append((quantity, med, lo, hi, *paper))

    for label in (_SINGLE, _MULTI):
        for photon, what in ((False, "cnn_to_proxy"), (True, "cnn_to_proxy per photon")):
            for name, (a, b) in (("0.07 R500c", CORE_ANNULUS), ("R500c", R500_ANNULUS)):
                t = ratio(label, np.array([a, b]), photon)
                add(
                    f"{what} at {name} {label}",
                    *(float(t[c][0]) for c in ("median", "p16", "p84")),
                )
        medians = {}
        # one mask from the bolometric source images for every plane (the reference code)
        masks = mask_saliency(maps[label], test, mask_bands="bolometric")
        for row in masks:
            src = str(row["source"])
            med, lo, hi = (
                float(np.log10(row[c])) for c in ("pixel_median", "pixel_p16", "pixel_p84")
            )
            medians[src] = med
            add(f"log10 S_{src.upper()} {label}", med, lo, hi)
        add(f"agn_icm_ratio {label}", 10 ** (medians["agn"] - medians["icm"]), np.nan, np.nan)
    bands = band_summary(maps[_MULTI])
    names = {0: "soft", 1: "medium", 2: "hard"}
    for b in range(maps[_MULTI].n_bands):
        v = np.abs(maps[_MULTI].values[:, b]).ravel()
        add(f"log10 S_band {names.get(b, b)} {_MULTI}", *_lognormal(v[v != 0]))
    table = Table(
        rows=rows,
        names=("quantity", "median", "p16", "p84", "paper_median", "paper_p16", "paper_p84"),
    )
    table.meta.update({"n_train": len(train), "n_test": len(test), "wrt": wrt, "seed": seed})
    return Section6(table, profiles, ratio_profiles, bands, maps, per_count, dict(estimators))
