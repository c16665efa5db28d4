"""Plotting of `astroclustermass.images.BandImage` (private; imports matplotlib lazily)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InputError

__all__ = ["plot_image", "plot_bands"]

_XLABEL = "x [$h^{-1}$ Mpc]"
_YLABEL = "y [$h^{-1}$ Mpc]"


def _plane(image: Any, band: int | None) -> np.ndarray:
    if band is None:
        return image.data.sum(axis=0)
    b = int(band)
    if not 0 <= b < image.n_bands:
        raise InputError(f"band must be in [0, {image.n_bands}); got {band}")
    return image.data[b]


def _norm(values: np.ndarray, log: bool, vmin: float | None = None, vmax: float | None = None):
    from matplotlib.colors import LogNorm, Normalize

    positive = values[values > 0]
    if log and positive.size:
        # half the smallest value (0.5 for counts): one-count pixels above the lowest colour
        lo = 0.5 * float(positive.min()) if vmin is None else vmin
        hi = float(values.max()) if vmax is None else vmax
        return LogNorm(vmin=lo, vmax=max(hi, lo * 1.0001))
    return Normalize(vmin=vmin, vmax=vmax)


def _draw(ax, image, plane, norm, r500c, cmap, sky=False, **kwargs):
    import matplotlib.pyplot as plt

    cm = plt.get_cmap(cmap)
    cm = cm.with_extremes(bad=cm(0.0))
    # imshow rows are y: show data[i, j] (i along x) transposed, origin lower-left
    shown = (
        np.ma.masked_less_equal(plane.T.astype(float), 0)
        if norm.__class__.__name__ == "LogNorm"
        else plane.T
    )
    im = ax.imshow(
        shown,
        origin="lower",
        extent=image.extent,
        norm=norm,
        cmap=cm,
        interpolation="nearest",
        **kwargs,
    )
    if sky:  # x grows towards east: east to the left, as on the sky
        ax.set_xlim(image.extent[1], image.extent[0])
        ax.set_xlabel(_XLABEL + "  (east ←)")
        ax.set_ylabel(_YLABEL + "  (north ↑)")
    else:
        ax.set_xlabel(_XLABEL)
        ax.set_ylabel(_YLABEL)
    radius = image.r500c if r500c is None else float(r500c)
    if radius is not None:
        from regions import CirclePixelRegion, PixCoord

        # pixel coordinates of a PixelRegion are the axes' data coordinates here
        CirclePixelRegion(PixCoord(0.0, 0.0), radius=radius).plot(
            ax=ax, edgecolor="cyan", facecolor="none", lw=1.2, ls="--", label=r"$R_{500c}$"
        )
    return im


def plot_image(
    image: Any,
    ax: Any = None,
    band: int | None = None,
    r500c: Any = None,
    log: bool = True,
    cmap: str = "magma",
    colorbar: bool = True,
    sky: bool = False,
    **kwargs: Any,
):
    """Draw one band (or the sum) of ``image``; see `BandImage.plot`."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.2))
    plane = _plane(image, band)
    im = _draw(ax, image, plane, _norm(plane, log), r500c, cmap, sky, **kwargs)
    title = "all bands" if band is None else image.bands.labels[int(band)]
    if image.redshift is not None:
        title += f", z = {image.redshift:.3g}"
    ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label="counts" if image.data.dtype.kind in "iu" else "value")
    return ax


def plot_bands(
    image: Any,
    r500c: Any = None,
    log: bool = True,
    ncols: int | None = None,
    figsize: tuple[float, float] | None = None,
    sky: bool = False,
    **kwargs: Any,
):
    """One panel per band with a shared colour scale; see `BandImage.plot_bands`."""
    import matplotlib.pyplot as plt

    n = image.n_bands
    ncols = min(n, 4) if ncols is None else max(1, int(ncols))
    nrows = -(-n // ncols)
    if figsize is None:
        figsize = (3.4 * ncols + 1.0, 3.2 * nrows)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=figsize,
        squeeze=False,
        sharex=True,
        sharey=True,
        constrained_layout=True,
    )
    data = image.data
    positive = data[data > 0]
    vmin = 0.5 * float(positive.min()) if (log and positive.size) else None
    vmax = float(data.max()) if data.size else None
    im = None
    for b, ax in enumerate(axes.flat):
        if b >= n:
            ax.set_visible(False)
            continue
        plane = data[b]
        norm = _norm(data, log, vmin, vmax)
        im = _draw(ax, image, plane, norm, r500c, "magma", sky, **kwargs)
        ax.set_title(image.bands.labels[b])
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), label="counts", shrink=0.85)
    return fig
