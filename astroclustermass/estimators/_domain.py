"""Domain-shift detection: how far the clusters to predict lie from those trained on.

Every estimator describes each cluster by a few *domain features*
(`MassEstimator._domain_features`): the redshift, the log photon counts per
band and the central concentration of the images it reads, the log of the
scalar observables it reads, and — for CNNs — the network's own view of the
cluster, the activations entering its output layer, reduced to a few
principal components. `DomainModel` learns the distribution of these
features on the training clusters and scores a new cluster by its
Mahalanobis distance (with a shrunk covariance) from the training mean, in
units of the 99th percentile of *out-of-fold* training distances: a new
cluster from the training distribution has distance > 1 with probability
about ``1 − quantile`` (1 %).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> train = {"redshift": rng.uniform(0, 0.5, (500, 1)), "counts": rng.normal(3, 0.3, (500, 2))}
>>> model = DomainModel().fit(train)
>>> fresh = {"redshift": rng.uniform(0, 0.5, (400, 1)), "counts": rng.normal(3, 0.3, (400, 2))}
>>> shifted = {"redshift": rng.uniform(0, 0.5, (400, 1)), "counts": rng.normal(4, 0.3, (400, 2))}
>>> bool(np.mean(model.distance(fresh) > 1) < 0.04), bool(np.mean(model.distance(shifted) > 1) > 0.9)
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import ModelFileError

__all__ = ["DomainModel", "EMBEDDING", "image_features", "network_embedding"]

#: Name of the feature block that is reduced by PCA (a network's embedding).
EMBEDDING = "embedding"
#: Distance given to a cluster whose value of a feature constant in training differs.
FIXED_DISTANCE = 2.0


def image_features(images: np.ndarray, name: str) -> dict[str, np.ndarray]:
    """Image statistics of ``(N, n_band, npix, npix)`` counts: log counts per band, concentration.

    Examples
    --------
    >>> img = np.zeros((1, 2, 8, 8)); img[0, :, 3:5, 3:5] = 9.0
    >>> f = image_features(img, "demo")
    >>> f["log10 counts demo"].round(3).tolist(), f["central fraction demo"].tolist()  # log10(37)
    ([[1.568, 1.568]], [[1.0]])
    >>> f["log10 edge counts per pixel demo"].tolist()  # no counts at the edge: log10(0.01)
    [[-2.0]]
    """
    images = np.asarray(images, dtype=np.float64)
    totals = images.sum(axis=(2, 3))
    npix = images.shape[-1]
    lo, hi = (3 * npix) // 8, npix - (3 * npix) // 8  # the central quarter of the side
    central = images[:, :, lo:hi, lo:hi].sum(axis=(1, 2, 3))
    all_counts = totals.sum(axis=1)
    fraction = np.where(all_counts > 0, central / np.maximum(all_counts, 1e-300), 0.0)
    # the outermost ring of pixels: mostly background, whose level scales with the exposure
    # and not with the cluster's mass
    ring = np.ones((npix, npix), bool)
    ring[1:-1, 1:-1] = False
    level = images[:, :, ring].sum(axis=1).mean(axis=1)
    return {
        f"log10 counts {name}": np.log10(totals + 1.0),
        f"central fraction {name}": fraction[:, None],
        f"log10 edge counts per pixel {name}": np.log10(level + 0.01)[:, None],
    }


def network_embedding(estimator: Any, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """A fitted network's features of each cluster: the activations entering its last layer.

    ``estimator`` is a fitted `ImageCNNEstimator` (its ``network_`` and
    ``_make_trainer``); ``inputs`` are its network inputs. One pass per
    cluster (no test-time augmentation), in the Trainer's batches and device.
    """
    import torch

    network = estimator.network_
    last = [m for m in network.modules() if isinstance(m, torch.nn.Linear)][-1]
    captured: list[np.ndarray] = []

    def keep(module, args, output):
        captured.append(args[0].detach().float().cpu().numpy())

    trainer = estimator._make_trainer(progress=False)
    trainer.tta = False
    hook = last.register_forward_hook(keep)
    try:
        trainer.predict(network, inputs)
    finally:
        hook.remove()
        network.cpu()
    return np.concatenate(captured).astype(np.float64)


class DomainModel:
    """Mahalanobis distance of feature vectors from the training clusters.

    Parameters
    ----------
    quantile : float
        Training quantile of the distance that becomes 1 (the flag threshold).
    shrinkage : float
        Weight of the scaled identity in the covariance (Ledoit-Wolf-style
        regularisation; keeps the distance stable for correlated features).
    n_components : int
        Principal components kept of the ``'embedding'`` block.
    n_folds : int
        Folds of the out-of-fold training distances that set the threshold.
    seed : int
        Seeds the fold assignment.
    """

    def __init__(
        self,
        quantile: float = 0.99,
        shrinkage: float = 0.1,
        n_components: int = 4,
        n_folds: int = 5,
        seed: int = 0,
    ) -> None:
        self.quantile = float(quantile)
        self.shrinkage = float(shrinkage)
        self.n_components = int(n_components)
        self.n_folds = int(n_folds)
        self.seed = int(seed)

    # ------------------------------------------------------------ features
    def _matrix(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        cols = []
        n = len(next(iter(blocks.values())))
        for name, width in zip(self.blocks_, self.widths_):
            if name not in blocks:  # e.g. no exposure column: taken as the training mean
                cols.append(np.full((n, int(width)), np.nan))
                continue
            x = np.asarray(blocks[name], dtype=float).reshape(len(blocks[name]), -1)
            if name == EMBEDDING:
                x = (x - np.asarray(self.pca_mean_)) @ np.asarray(self.pca_components_).T
            cols.append(x)
        z = (np.concatenate(cols, axis=1) - np.asarray(self.mean_)) / np.asarray(self.scale_)
        return np.nan_to_num(z, nan=0.0, posinf=1e6, neginf=-1e6)

    def _fit_pca(self, x: np.ndarray) -> None:
        self.pca_mean_ = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - self.pca_mean_, full_matrices=False)
        keep = max(1, min(self.n_components, int(np.sum(s > 1e-9 * max(s.max(), 1e-300)))))
        self.pca_components_ = vt[:keep]

    @staticmethod
    def _gaussian(z: np.ndarray, shrinkage: float) -> tuple[np.ndarray, np.ndarray]:
        mean = z.mean(axis=0)
        cov = np.atleast_2d(np.cov(z - mean, rowvar=False))
        d = cov.shape[0]
        target = max(float(np.trace(cov)) / d, 1e-12)
        cov = (1.0 - shrinkage) * cov + shrinkage * target * np.eye(d)
        return mean, np.linalg.inv(cov)

    @staticmethod
    def _mahalanobis(z: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
        dz = z - mean
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", dz, precision, dz), 0.0))

    def fit(self, blocks: dict[str, np.ndarray]) -> DomainModel:
        """Learn the training distribution of the feature ``blocks`` (name → (n, k) array)."""
        self.blocks_ = [name for name in blocks if np.asarray(blocks[name]).size]
        self.names_ = []
        cols = []
        for name in self.blocks_:
            x = np.asarray(blocks[name], dtype=float).reshape(len(blocks[name]), -1)
            if name == EMBEDDING:
                self._fit_pca(x)
                x = (x - self.pca_mean_) @ self.pca_components_.T
                self.names_ += [f"network embedding PC{i + 1}" for i in range(x.shape[1])]
            else:
                self.names_ += (
                    [name] if x.shape[1] == 1 else [f"{name}[{i}]" for i in range(x.shape[1])]
                )
            cols.append(x)
        self.widths_ = [int(c.shape[1]) for c in cols]
        if not hasattr(self, "pca_mean_"):
            self.pca_mean_, self.pca_components_ = np.zeros(0), np.zeros((0, 0))
        x = np.nan_to_num(np.concatenate(cols, axis=1))
        self.mean_ = x.mean(axis=0)
        scale = x.std(axis=0)
        # a feature that never varied in training (one exposure time): any other value is
        # out of distribution; it is left out of the Mahalanobis distance
        self.fixed_ = (scale <= 1e-9 * np.maximum(1.0, np.abs(self.mean_))).tolist()
        self.scale_ = np.where(np.asarray(self.fixed_), 1.0, scale)
        z = self._varying((x - self.mean_) / self.scale_)
        self.center_, self.precision_ = self._gaussian(z, self.shrinkage)
        n = len(z)
        k = min(self.n_folds, n // 4)
        if k >= 2:  # out-of-fold distances: what a fresh draw of the training data gets
            fold = np.random.default_rng(self.seed).permutation(n) % k
            dist = np.empty(n)
            for f in range(k):
                mean, prec = self._gaussian(z[fold != f], self.shrinkage)
                dist[fold == f] = self._mahalanobis(z[fold == f], mean, prec)
        else:
            dist = self._mahalanobis(z, self.center_, self.precision_)
        self.threshold_ = float(max(np.quantile(dist, self.quantile), 1e-12))
        return self

    # ------------------------------------------------------------ scoring
    def _varying(self, z: np.ndarray) -> np.ndarray:
        fixed = np.asarray(self.fixed_, bool)
        return z[:, ~fixed] if (~fixed).any() else np.zeros((len(z), 1))

    def distance(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        """Distance of every cluster in units of the training threshold (> 1: flagged).

        A cluster whose value of a feature that was constant in training
        differs from it (by more than 1e-6 relative) gets at least `FIXED_DISTANCE`.
        """
        z = self._matrix(blocks)
        dist = self._mahalanobis(self._varying(z), self.center_, self.precision_) / self.threshold_
        moved = self._moved(z)
        return np.where(moved.any(axis=1), np.maximum(dist, FIXED_DISTANCE), dist)

    def _moved(self, z: np.ndarray) -> np.ndarray:
        """(N, n_fixed): which fixed features of each cluster differ from their training value."""
        fixed = np.asarray(self.fixed_, bool)
        ref = np.maximum(1.0, np.abs(np.asarray(self.mean_)[fixed]))
        return np.abs(z[:, fixed]) > 1e-6 * ref

    def shifts(self, blocks: dict[str, np.ndarray]) -> list[tuple[str, float]]:
        """Mean shift of each feature in training standard deviations, largest first."""
        z = self._matrix(blocks)
        fixed = np.asarray(self.fixed_, bool)
        shift = np.zeros(z.shape[1])
        if (~fixed).any():
            shift[~fixed] = self._varying(z).mean(axis=0) - np.asarray(self.center_)
        shift[fixed] = np.where(self._moved(z).any(axis=0), np.inf, 0.0)  # never seen before
        order = np.argsort(-np.abs(shift))
        return [(self.names_[i], float(shift[i])) for i in order]

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (small: a few features and components)."""
        keys = ("blocks_", "names_", "threshold_", "fixed_", "widths_")
        out: dict[str, Any] = {k.rstrip("_"): getattr(self, k) for k in keys}
        for key in ("pca_mean_", "pca_components_", "mean_", "scale_", "center_", "precision_"):
            out[key.rstrip("_")] = np.asarray(getattr(self, key), dtype=float).tolist()
        out["params"] = {
            "quantile": self.quantile,
            "shrinkage": self.shrinkage,
            "n_components": self.n_components,
            "n_folds": self.n_folds,
            "seed": self.seed,
        }
        return out

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> DomainModel:
        """Invert `to_dict`."""
        try:
            model = cls(**state["params"])
            model.blocks_ = list(state["blocks"])
            model.names_ = list(state["names"])
            model.threshold_ = float(state["threshold"])
            model.fixed_ = [bool(v) for v in state["fixed"]]
            model.widths_ = [int(v) for v in state["widths"]]
            for key in ("pca_mean", "pca_components", "mean", "scale", "center", "precision"):
                setattr(model, f"{key}_", np.asarray(state[key], dtype=float))
        except (KeyError, TypeError, ValueError) as err:
            raise ModelFileError(f"the saved domain model is incomplete: {err}") from err
        return model
