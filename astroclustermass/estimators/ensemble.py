r"""Deep ensembles of Gaussian-likelihood CNNs, after Krippendorf et al. (2023).

`NLLEnsemble` trains ``n_members`` networks that each predict a mean ``mu``
and a standard deviation ``sigma`` of log10 M500c, with the Gaussian negative
log-likelihood of their Eq. 1, and combines them with their Eq. 2-3 (the
deep ensembles of Lakshminarayanan et al. 2017): the mixture mean and the
mixture standard deviation,

.. math::

    \mu_* = \frac{1}{N}\sum_i \mu_i, \qquad
    \sigma_*^2 = \frac{1}{N}\sum_i (\sigma_i^2 + \mu_i^2) - \mu_*^2 .

Every member is an ordinary `ImageCNNEstimator` (private class
``_NLLMember``) trained on the same training and validation clusters with its
own seed (weight initialisation, shuffling, augmentation, dropout); the image
pipeline and the input transforms are computed once and shared.

Examples
--------
>>> import numpy as np
>>> mu = np.array([[14.0, 14.5], [14.2, 14.5]])
>>> sigma = np.array([[0.1, 0.2], [0.1, 0.2]])
>>> m, s = combine_members(mu, sigma)
>>> m.tolist(), s.round(4).tolist()
([14.1, 14.5], [0.1414, 0.2])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..bands import get_bands
from ..exceptions import InputError, ModelFileError
from ._cnn_base import ImageCNNEstimator, sample_images
from ._params import Interval, Options
from ._torch_base import TorchMassEstimator
from .base import InputSpec, check_is_fitted

__all__ = ["NLLEnsemble", "combine_members", "member_seed"]

# image pixels per chunk of the Krippendorf pipeline (float64 temporaries of ~64 MB)
_CHUNK_PIXELS = 8_000_000


def combine_members(mu: Any, sigma: Any) -> tuple[np.ndarray, np.ndarray]:
    """Combine member predictions, Krippendorf et al. (2023) Eq. 2-3.

    Parameters
    ----------
    mu, sigma : array-like, shape (n_members, N)
        Each member's mean and standard deviation (dex) per cluster.

    Returns
    -------
    mu_star, sigma_star : ndarray, shape (N,)
        The mixture mean (Eq. 2) and standard deviation (Eq. 3). Eq. 3 is
        evaluated in the equivalent form ``mean(σ_i²) + var(μ_i)`` (population
        variance), which avoids the cancellation of ``mean(μ_i²) − μ*²`` at
        μ ≈ 14.

    Examples
    --------
    >>> m, s = combine_members([[14.0], [14.4]], [[0.3], [0.4]])
    >>> float(m[0]), round(float(s[0]) ** 2, 4)  # (0.09 + 0.16) / 2 + 0.2**2
    (14.2, 0.165)
    """
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    if mu.ndim != 2 or mu.shape != sigma.shape or mu.shape[0] < 1:
        raise InputError(
            f"mu and sigma must both have shape (n_members, N); got {mu.shape} and {sigma.shape}"
        )
    mu_star = mu.mean(axis=0)
    var_star = np.mean(sigma**2, axis=0) + np.mean((mu - mu_star) ** 2, axis=0)
    return mu_star, np.sqrt(var_star)


def member_seed(seed: int, index: int) -> int:
    """The seed of ensemble member ``index`` (independent streams from one seed).

    Drawn from `numpy.random.SeedSequence` ``([seed, index])`` so that members
    never share the consecutive seeds that `Trainer` derives internally, and a
    member's seed does not depend on the ensemble size.

    Examples
    --------
    >>> member_seed(0, 0) == member_seed(0, 0), member_seed(0, 0) == member_seed(0, 1)
    (True, False)
    """
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0] >> 1)


class _PipelineView:
    """A sample-like view holding pre-processed (float) images of one band set.

    Gives the `ImageCNNEstimator` machinery what it reads from a
    `~astroclustermass.ClusterSample` (catalogue, band sets, images, npix,
    aperture, cosmology) after the Krippendorf pipeline has run once for the
    whole ensemble.
    """

    def __init__(self, sample: Any, images: np.ndarray, bands: Any) -> None:
        self._sample = sample
        self._images = images
        self._bands = get_bands(bands)
        self.catalog = sample.catalog
        self.npix = int(images.shape[-1])
        self.aperture = sample.aperture
        self.cosmology = sample.cosmology
        self.meta = dict(getattr(sample, "meta", {}) or {})
        self.observables = getattr(sample, "observables", None)
        self.cubes = None

    @property
    def band_sets(self) -> dict:
        return {self._bands.name: self._bands}

    def images(self, bands: Any = None) -> np.ndarray:
        return self._images

    def __len__(self) -> int:
        return len(self.catalog)

    def __getitem__(self, rows: Any) -> _PipelineView:
        rows = np.asarray(rows)
        return _PipelineView(self._sample[rows], self._images[rows], self._bands)


class _NLLMember(ImageCNNEstimator):
    """One ensemble member: a `KrippendorfCNN` trained with the Gaussian NLL.

    Not registered; `NLLEnsemble` creates, fits, saves and loads its members.
    Its ``_make_inputs`` reuses inputs the ensemble already prepared for the
    same sample (``_shared_inputs``), so that transforms and arrays are
    computed once for all members.
    """

    name: ClassVar[str] = "nll_ensemble"
    redshift_input: ClassVar[bool] = True
    provides_sigma: ClassVar[bool] = True
    _domain_check: ClassVar[bool] = False  # the ensemble checks the domain

    def _build_network(self, input_shapes: dict[str, tuple]) -> Any:
        from .networks import KrippendorfCNN

        c, h, w = input_shapes["image"]
        if h != w:
            raise InputError(f"{type(self).__name__} needs square images; got {h}x{w}")
        params = {"dropout": float(self.dropout), **(self.network_params or {})}
        try:
            return KrippendorfCNN(in_channels=c, npix=h, n_outputs=2, redshift_input=True, **params)
        except RuntimeError as err:  # a layer larger than what is left of the input
            raise InputError(
                f"the KrippendorfCNN network does not fit {h}x{h} images ({err}); use fewer "
                "pools in network_params or a smaller pipeline rebin factor"
            ) from err

    def _make_inputs(self, sample: Any, fit: bool) -> dict[str, np.ndarray]:
        cache = getattr(self, "_shared_inputs", None)
        key = (id(sample), bool(fit))
        if cache is not None and key in cache:
            inputs, transforms = cache[key]
            if fit:
                self.transforms_ = dict(transforms)
            return inputs
        inputs = super()._make_inputs(sample, fit)
        if cache is not None:
            cache[key] = (inputs, dict(self.transforms_))
        return inputs


class NLLEnsemble(TorchMassEstimator):
    """Deep ensemble of Gaussian-NLL CNNs with per-cluster σ (Krippendorf et al. 2023).

    Each of ``n_members`` networks (`~.networks.KrippendorfCNN`: convolutions
    with average pooling, the standardised redshift concatenated at the first
    dense layer, outputs ``(mu, log sigma)``) is trained with the Gaussian
    negative log-likelihood (Eq. 1) from its own seed, with early stopping on
    a validation split of the training sample (the same split for all members;
    never the test fold). Predictions are combined with Eq. 2-3
    (`combine_members`), so ``sigma_log10_m500c`` is the per-cluster mixture
    standard deviation: each member's aleatoric σ plus the members' spread.

    Parameters
    ----------
    n_members : int
        Ensemble size (Krippendorf et al. used 30).
    bands : str or `EnergyBands`
        Energy bands of the input images; the sample must hold images in
        exactly these bands. Default: Krippendorf's ten 205 eV bands over
        0.25-2.30 keV (``'krippendorf_10'``).
    pipeline : {'auto', 'krippendorf', 'standard'}
        ``'krippendorf'``: the counts are rebinned, smoothed with a 3-D
        Gaussian (across pixels and bands) and clipped at 36
        (`~astroclustermass.images.KrippendorfPipeline`, their Sec. 2.3 and
        App. A), then standardised per band; the redshift enters the network
        instead of Ho et al.'s Eq. 1 normalisation. ``'standard'``: the maps of
        `ImageCNNEstimator` (Eq. 1 redshift normalisation, Eq. 2 log scaling,
        per-band standardisation). ``'auto'``: ``'krippendorf'`` for the
        ``krippendorf_10`` bands, else ``'standard'``.
    pipeline_params : dict or None
        Keyword arguments of `~astroclustermass.images.KrippendorfPipeline`
        (e.g. the rebinned size or the smoothing σ).
    network_params : dict or None
        Keyword arguments of `~.networks.KrippendorfCNN` (``conv``,
        ``kernels``, ``pools``, ``dense``).
    dropout : float
        Dropout after each hidden dense layer.
    lr, weight_decay, batch_size, max_epochs, patience : optional
        Adam and early-stopping settings of every member (Krippendorf et al.:
        Adam with learning rate 1e-4, batch 100, a few hundred epochs).
    augment : bool
        Random rotations and flips (the dihedral group D4) of the training
        images, which Krippendorf et al. found to improve performance.
    tta : bool
        Average each member over the 8 rotations/flips at prediction.
    sample_weighting : None or 'flat'
        ``'flat'`` weights training clusters to a uniform mass distribution
        (Krippendorf et al. Sec. 4: less mass-dependent bias, slightly more
        scatter).
    validation_fraction : float
        Fraction of the training sample held out for early stopping when
        ``fit`` gets no ``validation`` sample.
    device : str
        ``'auto'`` (CUDA when available), ``'cpu'`` or ``'cuda[:n]'``.
    seed : int
        Seeds the validation split; member ``i`` uses ``member_seed(seed, i)``.
    checkpoint_dir : path-like or None
        Per-epoch checkpoints of every member; ``fit(..., resume=True)``
        continues an interrupted fit (finished members are not retrained).
    num_threads : int or None
        CPU threads used by torch.

    Attributes
    ----------
    members_ : list of estimators
        The fitted members (each with ``network_``, ``history_``).
    member_seeds_ : list of int
    transforms_ : dict
        Input transforms shared by the members (and the pipeline settings).
    validation_scatter_ : float
        Standard deviation (dex) of ``mu_* − truth`` on the validation split.
    validation_mean_sigma_ : float
        Mean predicted ``sigma_*`` (dex) on the validation split; close to
        ``validation_scatter_`` for a calibrated ensemble.
    training_means_ : dict
        ``counts``: the mean raw photon map of the training clusters.

    Examples
    --------
    >>> from astroclustermass.estimators import MassEstimator
    >>> est = MassEstimator.from_name("nll_ensemble", n_members=3, max_epochs=50)
    >>> est.bands, est.resolved_pipeline, est.provides_sigma
    ('krippendorf_10', 'krippendorf', True)
    >>> NLLEnsemble(bands="erosita_3").resolved_pipeline
    'standard'
    """

    _min_validation: ClassVar[int] = 2
    name: ClassVar[str] = "nll_ensemble"
    provides_sigma: ClassVar[bool] = True
    #: Fast settings for `astroclustermass.testing.check_estimator`.
    _test_params: ClassVar[dict] = {
        "n_members": 2,
        "max_epochs": 2,
        "batch_size": 16,
        "num_threads": 1,
        "network_params": {"conv": (4, 4, 4), "dense": (16,)},
    }

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **ImageCNNEstimator._parameter_constraints,
        "n_members": [Interval(int, 1, None)],
        "pipeline": [Options({"auto", "krippendorf", "standard"})],
        "pipeline_params": [None, dict],
    }

    def __init__(
        self,
        n_members: int = 5,
        bands: Any = "krippendorf_10",
        pipeline: str = "auto",
        pipeline_params: dict | None = None,
        network_params: dict | None = None,
        dropout: float = 0.0,
        lr: float = 1e-4,
        weight_decay: float = 0.0,
        batch_size: int = 100,
        max_epochs: int = 300,
        patience: int = 20,
        augment: bool = True,
        tta: bool = False,
        sample_weighting: str | None = None,
        validation_fraction: float = 0.15,
        device: str = "auto",
        seed: int = 0,
        checkpoint_dir: str | Path | None = None,
        num_threads: int | None = None,
    ) -> None:
        self.n_members = n_members
        self.bands = bands
        self.pipeline = pipeline
        self.pipeline_params = pipeline_params
        self.network_params = network_params
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.augment = augment
        self.tta = tta
        self.sample_weighting = sample_weighting
        self.validation_fraction = validation_fraction
        self.device = device
        self.seed = seed
        self.checkpoint_dir = checkpoint_dir
        self.num_threads = num_threads

    # ------------------------------------------------------------ settings
    @property
    def resolved_pipeline(self) -> str:
        """``'krippendorf'`` or ``'standard'`` (``pipeline`` with ``'auto'`` resolved)."""
        if self.pipeline != "auto":
            return self.pipeline
        return "krippendorf" if self._bands == get_bands("krippendorf_10") else "standard"

    def input_spec(self) -> InputSpec:
        """Images in ``bands`` and the redshift (a network input)."""
        return InputSpec(bands=[self._bands], redshift=True)

    def _make_member(self, index: int) -> _NLLMember:
        standard = self.resolved_pipeline == "standard"
        member = _NLLMember(
            bands=self.bands,
            network_params=self.network_params,
            dropout=self.dropout,
            loss="nll",
            lr=self.lr,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            patience=self.patience,
            augment=self.augment,
            tta=self.tta,
            normalise_redshift=standard,
            log_scale=standard,
            standardise=True,
            sample_weighting=self.sample_weighting,
            validation_fraction=0.0,
            device=self.device,
            seed=member_seed(self.seed, index),
            checkpoint_dir=self.checkpoint_dir,
            num_threads=self.num_threads,
        )
        return member

    # ------------------------------------------------------------ inputs
    def _pipeline(self, fitted: bool = True) -> Any:
        """The Krippendorf pipeline: as fitted (``transforms_``) or from ``pipeline_params``."""
        from ..images import KrippendorfPipeline

        if fitted:
            return KrippendorfPipeline.from_dict(self.transforms_["pipeline"])
        try:
            pipe = KrippendorfPipeline(**(self.pipeline_params or {}))
            pipe.to_dict()  # validates the values
        except TypeError as err:
            raise InputError(
                f"invalid pipeline_params {self.pipeline_params!r} for KrippendorfPipeline: {err}"
            ) from err
        return pipe

    def _view(self, sample: Any) -> Any:
        """The sample as the members see it (after the Krippendorf pipeline, if any).

        Within one ``fit``/``predict`` call the view of a sample is made once
        (kept in the call's cache), for the members and the domain check.
        """
        if self.resolved_pipeline == "standard":
            return sample
        cache = getattr(self, "_cache", None)
        key = ("view", id(sample))
        if cache is not None and key in cache:
            return cache[key][1]
        view = self._pipeline_view(sample)
        if cache is not None:
            cache[key] = (sample, view)  # the sample is kept alive, so its id stays unique
        return view

    def _pipeline_view(self, sample: Any) -> Any:
        pipe = self._pipeline()
        images = sample_images(sample, self._bands)
        # in chunks, so that the pipeline's float64 temporaries stay small
        step = max(1, _CHUNK_PIXELS // max(1, int(np.prod(images.shape[1:]))))
        parts = [
            np.asarray(pipe.transform(images[start : start + step]), dtype=np.float32)
            for start in range(0, len(images), step)
        ]
        return _PipelineView(sample, np.concatenate(parts), self._bands)

    def _fit(
        self,
        sample: Any,
        validation: Any,
        *,
        progress: bool | None = None,
        resume: bool = False,
    ) -> None:
        train, val = self._split(sample, validation)
        if self.pipeline_params and self.resolved_pipeline == "standard":
            raise InputError(
                f"pipeline_params={self.pipeline_params!r} apply to the Krippendorf pipeline, "
                f"but {self.bands!r} images with pipeline={self.pipeline!r} use the standard "
                "one; pass pipeline='krippendorf' or drop pipeline_params"
            )
        self.transforms_ = {}
        self.training_means_ = {
            "counts": sample_images(train, self.bands).mean(axis=0, dtype=np.float64)
        }
        if self.resolved_pipeline == "krippendorf":
            self.transforms_["pipeline"] = self._pipeline(fitted=False).to_dict()
        view_tr = self._view(train)
        view_va = None if val is None else self._view(val)
        shared: dict = {}
        members = []
        try:
            for i in range(int(self.n_members)):
                member = self._make_member(i)
                member._shared_inputs = shared
                member.fit(
                    view_tr,
                    validation=view_va,
                    progress=progress,
                    resume=resume,
                )
                members.append(member)
        finally:
            for member in members:
                member.__dict__.pop("_shared_inputs", None)
                member.__dict__.pop("training_means_", None)  # the ensemble's own, of raw counts
        self.members_ = members
        self.member_seeds_ = [int(m.seed) for m in members]
        self.transforms_.update(members[0].transforms_)
        if view_va is not None:
            mu, sigma = self._combine(view_va, shared)
            truth = np.asarray(val.catalog["log10_m500c"], dtype=float)
            self.validation_scatter_ = float(np.std(mu - truth))
            self.validation_mean_sigma_ = float(np.mean(sigma))
        else:
            self.validation_scatter_ = self.validation_mean_sigma_ = float("nan")

    # ------------------------------------------------------------ prediction
    def _shared(self) -> dict:
        """Inputs shared by the members: the call's cache when there is one."""
        cache = getattr(self, "_cache", None)
        return {} if cache is None else cache.setdefault("shared", {})

    def _member_outputs(self, view: Any, shared: dict | None = None) -> tuple[np.ndarray, ...]:
        shared = self._shared() if shared is None else shared
        mus, sigmas = [], []
        try:
            for member in self.members_:
                member._shared_inputs = shared
                mu, sigma = member._predict(view)
                mus.append(mu)
                sigmas.append(sigma)
        finally:
            for member in self.members_:
                member.__dict__.pop("_shared_inputs", None)
        return np.asarray(mus, dtype=float), np.asarray(sigmas, dtype=float)

    def _combine(self, view: Any, shared: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        return combine_members(*self._member_outputs(view, shared))

    def _predict(self, sample: Any) -> tuple[np.ndarray, np.ndarray]:
        return self._combine(self._view(sample))

    def _domain_features(self, sample: Any) -> dict[str, np.ndarray]:
        """The base features plus the first member's network embedding."""
        from ._domain import EMBEDDING

        first = self.members_[0]
        first._shared_inputs = self._shared()
        try:
            embedding = first._embedding(self._view(sample))
        finally:
            first.__dict__.pop("_shared_inputs", None)
        return {**super()._domain_features(sample), EMBEDDING: embedding}

    def member_predictions(self, sample: Any) -> tuple[np.ndarray, np.ndarray]:
        """Each member's prediction for every cluster of ``sample``.

        Returns
        -------
        mu, sigma : ndarray, shape (n_members, N)
            Mean log10 M500c and its standard deviation (dex) per member;
            `combine_members` of these gives `predict`'s columns.
        """
        check_is_fitted(self)
        self._check_inputs(sample, "prediction")
        self._check_compatible(sample)
        return self._member_outputs(self._view(sample))

    # ------------------------------------------------------------ torch forward
    def count_inputs(self, sample: Any) -> dict[str, np.ndarray]:
        """The raw inputs of `forward_counts`: ``counts`` (float64) and ``redshift``."""
        return {
            "counts": sample_images(sample, self.bands).astype(np.float64),
            "redshift": np.asarray(sample.catalog["redshift"], dtype=float),
        }

    def _pipeline_torch(self, counts: Any) -> Any:
        if self.resolved_pipeline == "krippendorf":
            return self._pipeline().transform_torch(counts)
        return counts

    def torch_inputs(self, counts: Any, redshift: Any, cube: Any = None) -> dict[str, Any]:
        """The members' network inputs from raw counts (torch), when they share them.

        Raises
        ------
        InputError
            When the members fitted different input transforms (there is then
            no single network input: use `forward_counts`), or with a ``cube``.
        """
        check_is_fitted(self)
        first = self.members_[0]
        if any(m.transforms_ != first.transforms_ for m in self.members_[1:]):
            raise InputError(
                f"the members of this {type(self).__name__} have different input transforms, "
                "so there is no single network input; differentiate forward_counts instead"
            )
        return first.torch_inputs(self._pipeline_torch(counts), redshift, cube)

    def forward_inputs(self, inputs: dict[str, Any]) -> Any:
        """The ensemble mean μ* (Krippendorf et al. 2023 Eq. 2) from shared network inputs."""
        import torch

        check_is_fitted(self)
        return torch.stack([m.forward_inputs(inputs) for m in self.members_]).mean(0)

    def forward_counts(self, counts: Any, redshift: Any, cube: Any = None) -> Any:
        """Ensemble mean μ* as a torch function of the raw photon counts.

        The Krippendorf pipeline (in torch), each member's fitted transforms
        and network, and the mean over members (Eq. 2); equal to
        ``predict(...)['log10_m500c']`` up to float32 rounding and
        differentiable with respect to ``counts``.

        Parameters
        ----------
        counts : torch.Tensor, shape (B, n_band, npix, npix)
            Photon counts in the estimator's bands.
        redshift : array-like, shape (B,)
        cube : None
            Not used (the ensemble has no dynamical input).

        Returns
        -------
        torch.Tensor, shape (B,), float64

        Examples
        --------
        >>> import torch
        >>> from astroclustermass.testing import make_tiny_sample
        >>> s = make_tiny_sample(n=16, npix=16, bands=("erosita_3",))
        >>> est = NLLEnsemble(n_members=2, bands="erosita_3", max_epochs=1, device="cpu",
        ...     network_params={"conv": (2, 2, 2), "dense": (4,)}).fit(s, progress=False)
        >>> raw = est.count_inputs(s[:2])
        >>> f = est.forward_counts(torch.as_tensor(raw["counts"]), raw["redshift"])
        >>> bool(torch.allclose(f, torch.as_tensor(est.predict(s[:2])["log10_m500c"]), atol=1e-4))
        True
        """
        import torch

        check_is_fitted(self)
        if cube is not None:
            raise InputError(f"{type(self).__name__} takes no dynamical cube")
        x = self._pipeline_torch(counts)
        return torch.stack([m.forward_counts(x, redshift) for m in self.members_]).mean(0)

    def torch_networks(self) -> list:
        """The members' fitted torch networks."""
        check_is_fitted(self)
        return [m.network_ for m in self.members_]

    # ------------------------------------------------------------ persistence
    def _get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        state: dict[str, Any] = {
            "transforms": self.transforms_,
            "member_seeds": list(self.member_seeds_),
            "validation_scatter": self.validation_scatter_,
            "validation_mean_sigma": self.validation_mean_sigma_,
            "members": [],
        }
        arrays: dict[str, np.ndarray] = {}
        for i, member in enumerate(self.members_):
            m_state, m_arrays = member._get_state()
            state["members"].append(m_state)
            arrays.update({f"member{i}.{k}": v for k, v in m_arrays.items()})
        for key, value in getattr(self, "training_means_", {}).items():
            arrays[f"mean.{key}"] = np.asarray(value, dtype=np.float32)
        return state, arrays

    def _set_state(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        seeds = [int(s) for s in state["member_seeds"]]
        if len(seeds) != int(self.n_members) or len(state["members"]) != len(seeds):
            raise ModelFileError(
                f"the saved ensemble has {len(state['members'])} members but its config says "
                f"n_members={self.n_members}; the file is inconsistent"
            )
        self.transforms_ = dict(state["transforms"])
        self.training_means_ = {
            k[len("mean.") :]: np.asarray(v, dtype=np.float64)
            for k, v in arrays.items()
            if k.startswith("mean.")
        }
        members = []
        for i, m_state in enumerate(state["members"]):
            member = self._make_member(i)
            if member.seed != seeds[i]:
                raise ModelFileError(
                    f"member {i} of the saved ensemble has seed {seeds[i]}, expected "
                    f"{member.seed}; the file is inconsistent"
                )
            prefix = f"member{i}."
            m_arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            member._set_state(m_state, m_arrays)
            member.is_fitted_ = True
            members.append(member)
        self.members_ = members
        self.member_seeds_ = seeds
        self.validation_scatter_ = float(state["validation_scatter"])
        self.validation_mean_sigma_ = float(state["validation_mean_sigma"])
