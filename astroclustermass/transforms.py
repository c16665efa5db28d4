"""Array-level image transforms shared by training and prediction (L1).

They work on count cubes with the band axis third from last, e.g.
``(N, C, H, W)`` batches or single ``(C, H, W)`` images, and carry their
fitted numbers (``to_dict``/``from_dict``, JSON-safe) so that a model applies
at prediction time exactly what it was trained with:

* `RedshiftNormalizer` — Eq. 1 of Ho et al. (2023):
  ``n = m · N0 / 10^(γ z + η)`` with γ, η fitted by least squares of
  ``log10 N_tot = γ z + η`` on the training clusters, ``N0 = 4000``.
* `log_scale` / `inverse_log_scale` — Eq. 2: ``x = log10(n + 1)``.
* `KrippendorfPipeline` — Krippendorf et al. (2023), Sec. 2.3 and App. A:
  block-sum rebinning, 3D Gaussian smoothing over (energy, x, y) and
  clipping at 36.
* `core_excision` — Lovig (2024), Sec. 3.1.3: keep only pixels whose total
  count is at or below the p-th percentile of the non-empty pixels.

Examples
--------
>>> import numpy as np
>>> from astroclustermass.transforms import RedshiftNormalizer, log_scale
>>> z = np.array([0.1, 0.2, 0.3, 0.4])
>>> totals = 10 ** (-2.0 * z + 4.0)
>>> norm = RedshiftNormalizer().fit(totals, z)
>>> round(norm.gamma_, 6), round(norm.eta_, 6)
(-2.0, 4.0)
>>> images = totals[:, None, None, None] * np.ones((4, 1, 2, 2)) / 4
>>> np.allclose(norm.transform(images, z).sum(axis=(1, 2, 3)), 4000.0)
True
>>> float(log_scale(9.0))
1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .exceptions import EmptyInputError, InputError, NotFittedError

__all__ = [
    "RedshiftNormalizer",
    "log_scale",
    "inverse_log_scale",
    "KrippendorfPipeline",
    "core_excision",
    "transform_from_dict",
]


def _float_images(images: Any, name: str = "images", min_ndim: int = 0) -> np.ndarray:
    arr = np.asarray(images)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must be numeric; got dtype {arr.dtype}")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = arr.astype(dtype, copy=False)
    if arr.ndim < min_ndim:
        raise InputError(f"{name} needs at least {min_ndim} dimension(s); got shape {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contain NaN or inf values")
    return arr


class RedshiftNormalizer:
    """Redshift normalisation of photon counts (Ho et al. 2023, Eq. 1).

    ``fit`` regresses ``log10 N_tot = γ z + η`` (ordinary least squares) over
    training clusters; ``transform`` multiplies each image by
    ``N0 / 10^(γ z + η)``, making the expected total count ``N0`` at every
    redshift. Clusters with no photons cannot enter the log and are left out
    of the fit (``n_used_`` records how many were used).

    Parameters
    ----------
    pivot : float
        ``N0``, the normalised total count (4000 in the paper).

    Attributes
    ----------
    gamma_, eta_ : float
        Fitted slope and intercept.
    n_used_ : int
        Clusters used in the fit.

    Examples
    --------
    >>> import numpy as np
    >>> norm = RedshiftNormalizer(pivot=100.0).fit([1000, 100], [0.1, 0.2])
    >>> round(norm.gamma_, 6), round(norm.eta_, 6)
    (-10.0, 4.0)
    >>> norm.factor([0.1, 0.2]).round(6).tolist()
    [0.1, 1.0]
    """

    name = "redshift_normalizer"

    def __init__(self, pivot: float = 4000.0) -> None:
        self.pivot = pivot

    def _check_fitted(self) -> None:
        if not hasattr(self, "gamma_"):
            raise NotFittedError(
                "this RedshiftNormalizer is not fitted yet; call fit(total_counts, redshift) "
                "on the training clusters first"
            )

    def fit(self, total_counts: Any, redshift: Any) -> RedshiftNormalizer:
        """Fit γ and η on training clusters.

        Parameters
        ----------
        total_counts : array-like, shape (n,)
            Total photon count of each cluster image (zeros are left out).
        redshift : array-like, shape (n,)

        Returns
        -------
        self

        Raises
        ------
        EmptyInputError
            Fewer than two clusters with photons.
        InputError
            NaN/inf, negative counts, mismatched lengths, or a single redshift.
        """
        pivot = float(self.pivot)
        if not np.isfinite(pivot) or pivot <= 0:
            raise InputError(f"pivot must be a positive number; got {self.pivot!r}")
        n = _float_images(total_counts, "total_counts").ravel()
        z = _float_images(redshift, "redshift").ravel()
        if n.shape != z.shape:
            raise InputError(f"total_counts and redshift differ in length ({n.size} vs {z.size})")
        if n.size and n.min() < 0:
            raise InputError("total_counts must be non-negative")
        keep = n > 0
        if keep.sum() < 2:
            raise EmptyInputError(
                f"need at least 2 clusters with photons to fit log10 N = gamma z + eta; got "
                f"{int(keep.sum())} of {n.size}"
            )
        zk, yk = z[keep].astype(np.float64), np.log10(n[keep].astype(np.float64))
        zc = zk - zk.mean()
        szz = float(zc @ zc)
        if szz == 0:
            raise InputError("all training clusters have the same redshift; gamma is undefined")
        gamma = float(zc @ (yk - yk.mean()) / szz)
        self.gamma_ = gamma
        self.eta_ = float(yk.mean() - gamma * zk.mean())
        self.n_used_ = int(keep.sum())
        return self

    def factor(self, redshift: Any) -> np.ndarray:
        """Multiplicative factor ``N0 / 10^(γ z + η)`` at each redshift."""
        self._check_fitted()
        z = _float_images(redshift, "redshift").astype(np.float64)
        return float(self.pivot) / 10.0 ** (self.gamma_ * z + self.eta_)

    def transform(self, images: Any, redshift: Any) -> np.ndarray:
        """Normalise images: multiply image ``k`` by ``factor(redshift[k])``.

        Parameters
        ----------
        images : array-like, shape (N, ...) or one image
            Counts; a scalar ``redshift`` applies to the whole array.
        redshift : float or array-like, shape (N,)

        Returns
        -------
        ndarray
            float64 (float32 stays float32).
        """
        arr = _float_images(images)
        f = np.asarray(self.factor(redshift))
        if f.ndim == 0:
            return (arr * f).astype(arr.dtype, copy=False)
        if f.ndim != 1 or arr.ndim < 1 or f.shape[0] != arr.shape[0]:
            raise InputError(
                f"need one redshift per image: images have shape {arr.shape}, redshift {f.shape}"
            )
        return (arr * f.reshape((-1,) + (1,) * (arr.ndim - 1))).astype(arr.dtype, copy=False)

    def fit_transform(self, images: Any, redshift: Any) -> np.ndarray:
        """Fit on the images' total counts, then transform them."""
        arr = _float_images(images, min_ndim=2)
        return self.fit(arr.reshape(arr.shape[0], -1).sum(axis=1), redshift).transform(
            arr, redshift
        )

    def to_dict(self) -> dict:
        """JSON-safe state (parameters and, when fitted, γ, η, n_used)."""
        d: dict[str, Any] = {"transform": self.name, "pivot": float(self.pivot)}
        if hasattr(self, "gamma_"):
            d.update(gamma_=self.gamma_, eta_=self.eta_, n_used_=self.n_used_)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> RedshiftNormalizer:
        """Rebuild from `to_dict` output.

        Examples
        --------
        >>> n = RedshiftNormalizer().fit([10, 100], [0.2, 0.1])
        >>> RedshiftNormalizer.from_dict(n.to_dict()).gamma_ == n.gamma_
        True
        """
        obj = cls(pivot=data.get("pivot", 4000.0))
        if "gamma_" in data:
            obj.gamma_ = float(data["gamma_"])
            obj.eta_ = float(data["eta_"])
            obj.n_used_ = int(data.get("n_used_", 0))
        return obj

    def __repr__(self) -> str:
        fitted = (
            f", gamma={self.gamma_:.4g}, eta={self.eta_:.4g}" if hasattr(self, "gamma_") else ""
        )
        return f"RedshiftNormalizer(pivot={self.pivot!r}{fitted})"


def log_scale(x: Any) -> np.ndarray:
    """``log10(x + 1)`` (Ho et al. 2023, Eq. 2), for counts ``x >= 0``.

    Examples
    --------
    >>> log_scale([0, 9, 99]).tolist()
    [0.0, 1.0, 2.0]
    """
    arr = _float_images(x, "x")
    if arr.size and arr.min() < 0:
        raise InputError("log_scale expects non-negative counts")
    return np.log10(arr + 1)


def inverse_log_scale(x: Any) -> np.ndarray:
    """Inverse of `log_scale`: ``10**x - 1``.

    Examples
    --------
    >>> inverse_log_scale([0.0, 1.0]).tolist()
    [0.0, 9.0]
    """
    arr = _float_images(x, "x")
    return 10.0**arr - 1


def _gauss1d(size: int, sigma: float) -> np.ndarray:
    """``exp(-(i/R)^2 / (2 sigma^2))`` for ``i = -R..R``, ``R = (size-1)/2``, summing to 1."""
    r = (size - 1) // 2
    if r == 0:
        return np.ones(1)
    i = np.arange(-r, r + 1, dtype=float)
    w = np.exp(-((i / r) ** 2) / (2.0 * sigma**2))
    return w / w.sum()


class KrippendorfPipeline:
    """Rebin, smooth in 3D and clip energy-band images (Krippendorf et al. 2023).

    Sec. 2.3 and App. A of Krippendorf et al.: images are block-summed to a
    coarser grid (their 300² → 50², a factor 6), convolved with the Gaussian
    kernel (their Eq. A.2)

    ``G(i, j, k) ∝ exp(-((i/X)² + (j/Y)² + (k/Z)²) / (2σ²))``, ``|i| ≤ X``,
    ``|j| ≤ Y``, ``|k| ≤ Z``

    with filter size (3, 3, 11) in (x, y, energy), i.e. (X, Y, Z) = (1, 1, 5),
    and σ = 0.75, normalised to sum 1, with zero padding at the borders (like
    ``scipy.signal.convolve(..., mode='same')``), then clipped at 36 counts.
    The kernel is separable and applied as three
    `scipy.ndimage.convolve1d` passes. Stateless apart from its parameters.

    Parameters
    ----------
    rebin : int
        Block-sum factor per spatial axis (1: none). For 128² inputs,
        2 gives 64² (close to their 50²), 4 gives 32².
    sigma : float
        σ of Eq. A.2 in units of the kernel half-widths (0.75).
    kernel_size : (int, int, int)
        Odd filter sizes along (energy, x, y): (11, 3, 3).
    clip : float or None
        Upper clip of the smoothed values (36); None for no clipping.

    Examples
    --------
    >>> import numpy as np
    >>> pipe = KrippendorfPipeline(rebin=2)
    >>> out = pipe.transform(np.ones((10, 8, 8)))
    >>> out.shape
    (10, 4, 4)
    >>> round(float(pipe.kernel.sum()), 12)
    1.0
    """

    name = "krippendorf"

    def __init__(
        self,
        rebin: int = 2,
        sigma: float = 0.75,
        kernel_size: tuple[int, int, int] = (11, 3, 3),
        clip: float | None = 36.0,
    ) -> None:
        self.rebin = rebin
        self.sigma = sigma
        self.kernel_size = kernel_size
        self.clip = clip

    def _validate(self) -> tuple[int, float, tuple[int, int, int], float | None]:
        rebin = int(self.rebin)
        if rebin != self.rebin or rebin < 1:
            raise InputError(f"rebin must be a positive integer; got {self.rebin!r}")
        sigma = float(self.sigma)
        if not np.isfinite(sigma) or sigma <= 0:
            raise InputError(f"sigma must be positive; got {self.sigma!r}")
        sizes = tuple(int(s) for s in self.kernel_size)
        if len(sizes) != 3 or any(s < 1 or s % 2 == 0 for s in sizes):
            raise InputError(
                f"kernel_size must be three odd positive integers; got {self.kernel_size!r}"
            )
        clip = None if self.clip is None else float(self.clip)
        return rebin, sigma, sizes, clip

    @property
    def kernel(self) -> np.ndarray:
        """The normalised 3D kernel, shape ``kernel_size`` (energy, x, y)."""
        _, sigma, sizes, _ = self._validate()
        ke, kx, ky = (_gauss1d(s, sigma) for s in sizes)
        return ke[:, None, None] * kx[None, :, None] * ky[None, None, :]

    def fit(self, *args: Any, **kwargs: Any) -> KrippendorfPipeline:
        """Nothing to fit; returns self (for a uniform transform interface)."""
        return self

    def transform(self, images: Any) -> np.ndarray:
        """Apply rebin → smooth → clip to ``(..., C, H, W)`` images.

        Raises
        ------
        InputError
            Fewer than 3 dimensions, or H, W not divisible by ``rebin``.
        """
        from scipy.ndimage import convolve1d

        rebin, sigma, sizes, clip = self._validate()
        arr = _float_images(images, min_ndim=3)
        *lead, c, h, w = arr.shape
        if h % rebin or w % rebin:
            raise InputError(f"image size {h}x{w} is not divisible by rebin={rebin}")
        if rebin > 1:
            arr = arr.reshape(*lead, c, h // rebin, rebin, w // rebin, rebin).sum(axis=(-3, -1))
        for axis, size in zip((-3, -2, -1), sizes):
            if size > 1:
                arr = convolve1d(arr, _gauss1d(size, sigma), axis=axis, mode="constant", cval=0.0)
        if clip is not None:
            np.minimum(arr, clip, out=arr)
        return arr

    __call__ = transform

    def transform_torch(self, images: Any) -> Any:
        """`transform` as a torch function of a ``(B, C, H, W)`` tensor (differentiable).

        The same rebin → smooth → clip, so that gradients reach the photon
        counts (`~astroclustermass.estimators.NLLEnsemble.forward_counts`).

        Examples
        --------
        >>> import numpy as np, torch
        >>> x = np.random.default_rng(0).poisson(3.0, (2, 10, 8, 8)).astype(float)
        >>> p = KrippendorfPipeline(clip=5.0)
        >>> bool(np.allclose(p.transform_torch(torch.as_tensor(x)).numpy(), p.transform(x)))
        True
        """
        import torch
        import torch.nn.functional as F

        rebin, _, sizes, clip = self._validate()
        b, c, h, w = images.shape
        if h % rebin or w % rebin:
            raise InputError(f"image size {h}x{w} is not divisible by rebin={rebin}")
        x = images
        if rebin > 1:
            x = x.reshape(b, c, h // rebin, rebin, w // rebin, rebin).sum(dim=(3, 5))
        kernel = torch.as_tensor(self.kernel, dtype=x.dtype, device=x.device)
        pad = tuple(s // 2 for s in sizes)
        x = F.conv3d(x.unsqueeze(1), kernel[None, None], padding=pad).squeeze(1)
        if clip is not None:
            x = torch.clamp(x, max=clip)
        return x

    def to_dict(self) -> dict:
        """JSON-safe parameters."""
        rebin, sigma, sizes, clip = self._validate()
        return {
            "transform": self.name,
            "rebin": rebin,
            "sigma": sigma,
            "kernel_size": list(sizes),
            "clip": clip,
        }

    @classmethod
    def from_dict(cls, data: dict) -> KrippendorfPipeline:
        """Rebuild from `to_dict` output.

        Examples
        --------
        >>> p = KrippendorfPipeline(rebin=4, clip=None)
        >>> KrippendorfPipeline.from_dict(p.to_dict()).to_dict() == p.to_dict()
        True
        """
        return cls(
            rebin=data.get("rebin", 2),
            sigma=data.get("sigma", 0.75),
            kernel_size=tuple(data.get("kernel_size", (11, 3, 3))),
            clip=data.get("clip", 36.0),
        )

    def __repr__(self) -> str:
        return (
            f"KrippendorfPipeline(rebin={self.rebin!r}, sigma={self.sigma!r}, "
            f"kernel_size={tuple(self.kernel_size)!r}, clip={self.clip!r})"
        )


def core_excision(images: Any, percentile: float = 90.0) -> np.ndarray:
    """Zero the brightest pixels: Lovig (2024), Sec. 3.1.3 "large observation excision".

    For each image, ``s`` is the pixel's total count over bands; a pixel is
    kept (in every band) when ``0 < s <= P_p``, with ``P_p`` the p-th
    percentile (linear interpolation, as `numpy.percentile`) of ``s`` over the
    image's non-empty pixels. So p = 100 keeps everything and p = 50 keeps
    the fainter half of the non-empty pixels, removing the core and bright
    point sources.

    Parameters
    ----------
    images : array-like, shape (..., C, H, W)
        Counts (band axis third from last).
    percentile : float
        p in (0, 100].

    Returns
    -------
    ndarray
        Same shape and dtype, excised pixels set to 0.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[[0, 1], [2, 10]]])
    >>> core_excision(img, 50).tolist()
    [[[0, 1], [2, 0]]]
    """
    p = float(percentile)
    if not 0 < p <= 100:
        raise InputError(f"percentile must be in (0, 100]; got {percentile!r}")
    arr = np.asarray(images)
    if arr.ndim < 3:
        raise InputError(f"images must have shape (..., C, H, W); got {arr.shape}")
    if arr.dtype.kind not in "biuf" or (arr.size and not np.all(np.isfinite(arr))):
        raise InputError("images must be finite numbers")
    s = arr.sum(axis=-3)
    lead = s.shape[:-2]
    flat = np.sort(s.reshape(*lead, -1), axis=-1)
    n = flat.shape[-1]
    n_pos = (flat > 0).sum(axis=-1)
    # numpy.percentile's 'linear' method over the positive values (the top n_pos
    # of the sorted pixels), mirrored step by step so thresholds match it exactly
    q = np.true_divide(p, 100)
    virtual = (np.maximum(n_pos, 1) - 1) * q
    prev = np.floor(virtual)
    gamma = virtual - prev
    above = virtual >= np.maximum(n_pos, 1) - 1
    i_lo = np.where(above, n_pos - 1, prev).astype(np.intp) + (n - n_pos)
    i_hi = np.where(above, n_pos - 1, prev + 1).astype(np.intp) + (n - n_pos)
    i_lo, i_hi = np.clip(i_lo, 0, n - 1), np.clip(i_hi, 0, n - 1)
    a = np.take_along_axis(flat, i_lo[..., None], -1)[..., 0].astype(np.float64)
    b = np.take_along_axis(flat, i_hi[..., None], -1)[..., 0].astype(np.float64)
    diff = b - a
    threshold = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    keep = (s > 0) & (s <= threshold[..., None, None]) & (n_pos[..., None, None] > 0)
    return np.where(keep[..., None, :, :], arr, 0).astype(arr.dtype, copy=False)


_TRANSFORMS = {
    RedshiftNormalizer.name: RedshiftNormalizer,
    KrippendorfPipeline.name: KrippendorfPipeline,
}


def transform_from_dict(data: dict):
    """Rebuild a transform saved with its ``to_dict`` (by its ``'transform'`` name).

    Examples
    --------
    >>> transform_from_dict(KrippendorfPipeline().to_dict())
    KrippendorfPipeline(rebin=2, sigma=0.75, kernel_size=(11, 3, 3), clip=36.0)
    """
    name = data.get("transform")
    if name not in _TRANSFORMS:
        from .exceptions import UnknownNameError

        raise UnknownNameError(f"unknown transform {name!r}; known: {', '.join(_TRANSFORMS)}")
    return _TRANSFORMS[name].from_dict(data)
