"""Fast evaluation of a 3D Gaussian KDE on a regular grid (private, L1).

The estimate has exactly the semantics of `scipy.stats.gaussian_kde` with a
scalar ``bw_method``: the kernel covariance is ``bw**2`` times the sample
covariance (``ddof=1``) of the points, with a full 3×3 matrix. Evaluating it
naively at the 64³ grid points costs ``N × 262 144`` kernel evaluations and a
Python loop over grid points is out of the question; this module

1. whitens with the Cholesky factor ``L`` of the kernel covariance, so that the
   squared Mahalanobis distance of grid point ``(a, b, c)`` from a galaxy is
   ``z0[a]² + z1[a, b]² + z2[a, b, c]²`` with ``z2 = (y_c − g[a, b]) / L22``:
   a sum of non-negative terms (no cancellation, no overflow), of which only
   the last is three-dimensional;
2. evaluates every kernel only inside its bounding box at Mahalanobis radius
   `KERNEL_RADIUS` (7σ: the neglected tail is below ``exp(-24.5) ≈ 2e-11`` of the
   kernel peak), which is the same box for every galaxy, so that the kernels
   of a chunk of galaxies are computed in one vectorised numpy expression and
   added into a padded cube one slice per galaxy.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import InputError

__all__ = ["KERNEL_RADIUS", "kde_covariance", "kde_on_grid"]

#: Mahalanobis radius beyond which kernels are truncated.
KERNEL_RADIUS = 7.0

# elements of the per-chunk kernel block: 2 MB of float64 stays in cache (measured fastest)
_CHUNK_ELEMENTS = 262_144


def kde_covariance(points: np.ndarray, bw: float) -> np.ndarray:
    """Kernel covariance ``bw² · cov(points, ddof=1)`` as `scipy.stats.gaussian_kde` builds it.

    Parameters
    ----------
    points : ndarray, shape (n, d)
        Sample points, one per row.
    bw : float
        Bandwidth factor (``bw_method`` as a scalar).

    Returns
    -------
    ndarray, shape (d, d)

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> kde_covariance(pts, 0.5).round(4).tolist()
    [[0.0833, 0.0], [0.0, 0.0833]]
    """
    return np.atleast_2d(np.cov(np.asarray(points, dtype=float), rowvar=False)) * float(bw) ** 2


def kde_on_grid(
    points: np.ndarray, axes: tuple[np.ndarray, np.ndarray, np.ndarray], bw: float
) -> np.ndarray:
    """Sum of the Gaussian kernels of ``points`` on the tensor grid ``axes`` (unnormalised).

    Parameters
    ----------
    points : ndarray, shape (n, 3)
        Sample points (columns in the order of ``axes``).
    axes : tuple of three 1D ndarrays
        Regularly spaced grid coordinates along each dimension.
    bw : float
        Bandwidth factor, as ``bw_method`` of `scipy.stats.gaussian_kde`.

    Returns
    -------
    ndarray, shape (len(axes[0]), len(axes[1]), len(axes[2])), float64
        ``Σ_i exp(-½ (p − x_i)ᵀ Σ⁻¹ (p − x_i))``; proportional to the
        `~scipy.stats.gaussian_kde` density (same shape, different constant).

    Raises
    ------
    InputError
        If the kernel covariance is singular (for instance fewer than four
        distinct points, or all points on a plane).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pts = rng.normal(size=(50, 3))
    >>> ax = np.linspace(-3, 3, 16)
    >>> kde_on_grid(pts, (ax, ax, ax), 0.3).shape
    (16, 16, 16)
    """
    pts = np.asarray(points, dtype=float)
    cov = kde_covariance(pts, bw)
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as err:
        raise InputError(
            f"the KDE kernel covariance of {len(pts)} points is singular (the points lie on a "
            "plane or line); at least 4 points in general position are needed"
        ) from err
    grid = [np.asarray(a, dtype=float) for a in axes]
    shape = tuple(len(a) for a in grid)
    steps = np.array([a[1] - a[0] if len(a) > 1 else 1.0 for a in grid])
    # half-width of the bounding box of the Mahalanobis ellipsoid, in cells
    half = np.ceil(KERNEL_RADIUS * np.sqrt(np.diag(cov)) / steps).astype(int) + 1
    half = np.minimum(half, np.array(shape))
    box = 2 * half + 1
    n_arr = np.array(shape)
    # cell at (or just below) each point; points whose box misses the grid are dropped
    centre = np.floor((pts - np.array([a[0] for a in grid])) / steps).astype(np.int64)
    on = np.all((centre + half >= 0) & (centre - half < n_arr), axis=1)
    # Clamping the box centre into [-1, n] keeps every on-grid cell of the box inside it
    # (the kernel is still evaluated at exact offsets from the true point).
    centre = np.clip(centre[on], -1, n_arr)
    pts = pts[on]
    lo_idx = centre - half
    pad = half + 1
    start = lo_idx + pad  # box start in the padded cube
    if len(pts) == 0:
        return np.zeros(shape)
    # the padded accumulator is laid out (axis 2, axis 0, axis 1), like the kernel blocks
    acc = np.zeros((shape[2] + 2 * pad[2], shape[0] + 2 * pad[0], shape[1] + 2 * pad[1]))
    l00, l10, l11 = chol[0, 0], chol[1, 0], chol[1, 1]
    l20, l21, l22 = chol[2, 0], chol[2, 1], chol[2, 2]
    offs = [np.arange(b) for b in box]
    a0 = np.array([a[0] for a in grid])
    delta = steps[2] / l22  # step of z2 between neighbouring cells along axis 2
    chunk = max(1, _CHUNK_ELEMENTS // int(np.prod(box)))
    for s in range(0, len(pts), chunk):
        p = pts[s : s + chunk]
        li = lo_idx[s : s + chunk]
        # grid coordinates of each galaxy's box minus the galaxy's position
        d0 = (a0[0] + (li[:, 0, None] + offs[0]) * steps[0]) - p[:, 0, None]  # (m, B0)
        d1 = (a0[1] + (li[:, 1, None] + offs[1]) * steps[1]) - p[:, 1, None]  # (m, B1)
        d2_first = a0[2] + li[:, 2] * steps[2] - p[:, 2]  # (m,) offset of the first cell
        z0 = d0 / l00  # (m, B0)
        z1 = (d1[:, None, :] - l10 * z0[:, :, None]) / l11  # (m, B0, B1)
        q01 = z0[:, :, None] ** 2 + z1**2  # (m, B0, B1)
        g = l20 * z0[:, :, None] + l21 * z1  # (m, B0, B1)
        # z2 at the first cell along axis 2; then z2(c) = u + c * delta
        u = (d2_first[:, None, None] - g) / l22
        blk = _gaussian_planes(q01, u, delta, int(box[2]))  # (m, B2, B0, B1)
        st = start[s : s + chunk]
        for k in range(len(p)):
            i, j, m = st[k]
            acc[m : m + box[2], i : i + box[0], j : j + box[1]] += blk[k]
    h0, h1, h2 = pad
    return np.ascontiguousarray(
        acc[h2 : h2 + shape[2], h0 : h0 + shape[0], h1 : h1 + shape[1]].transpose(1, 2, 0)
    )


def _gaussian_planes(q01: np.ndarray, u: np.ndarray, delta: float, n: int) -> np.ndarray:
    """``exp(-½ (q01 + (u + c δ)²))`` for ``c = 0 … n−1``, stacked on a new second axis.

    The Gaussian along ``c`` is generated by the exact recurrence
    ``f(c+1) = f(c) r(c)``, ``r(c+1) = r(c) e^{-δ²}`` with ``r(0) = e^{-uδ-δ²/2}``,
    which needs two exponentials per (a, b) instead of one per cell (float64
    rounding grows by ~1e-16 per step). Where ``f(0)`` or ``r(0)`` could leave
    the float64 range (very elongated kernels) the exponentials are taken directly.
    """
    if 0.5 * float(np.max(u * u)) > 600.0 or float(np.max(np.abs(u))) * abs(delta) > 600.0:
        c = np.arange(n)[None, :, None, None]
        z = u[:, None] + c * delta
        return np.exp(-0.5 * (q01[:, None] + z * z))
    # one contiguous (n, B0, B1) block per point, so that adding it is a cheap strided copy
    out = np.empty((u.shape[0], n, *u.shape[1:]))
    f = np.exp(-0.5 * (q01 + u * u))
    r = np.exp(-u * delta - 0.5 * delta * delta)
    ratio = np.exp(-delta * delta)
    for c in range(n):
        out[:, c] = f
        if c + 1 < n:
            f *= r
            r *= ratio
    return out
