"""`Trainer`: the one training loop shared by every neural-network estimator.

Adam with coupled L2 weight decay on the weights of convolution and dense
layers only (the PyTorch equivalent of Keras ``kernel_regularizer=l2(λ)`` is
``weight_decay = 2λ``), MSE / MAE / Gaussian negative log-likelihood loss
(Krippendorf et al. 2023, Eq. 1), optional sample weights, early stopping on a
validation split with best-weight restoration, optional D4 augmentation and
test-time augmentation, ``device="auto"``, mixed precision and
``channels_last`` on CUDA; on CPU channels-last layout (with true
channels-last strides also for one-band images), fused Adam and gradient
accumulation over micro-batches of ~10 images of 128², together 2.5-2.9×
faster training and 3.4-3.7× faster inference than a naive loop on a 2-core
CPU (``python -m astroclustermass.benchmarks.bench_training``);
seeded reproducibility and atomic per-epoch checkpoints from which an
interrupted run resumes to exactly the result of an uninterrupted one.

Model calling convention: ``model(**batch)`` where ``batch`` maps input names
to tensors — ``image`` ``(B, C, H, W)`` and optionally ``cube``
``(B, 1, D, H, W)`` and ``redshift`` ``(B, 1)`` — returning ``(B, 1)`` for the
MSE/MAE losses and ``(B, 2)`` = ``(mu, log_sigma)`` for the NLL loss.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._utils import progress_bar, resolve_device
from ..exceptions import ConvergenceWarning, InputError
from ._augment import N_D4, d4_apply, d4_batch, d4_random
from ._checkpoint import clone_state, load_checkpoint, save_checkpoint
from ._history import TrainHistory
from ._losses import LOSSES, decay_parameter_groups, gaussian_nll, loss_function
from ._tensors import n_samples, spatial_numel, to_channels_last, to_tensors
from .distributed import DataParallel

#: Pixels (per channel) per micro-batch on CPU when ``micro_batch='auto'``: 10 images of
#: 128², the fastest for the paper's network (`astroclustermass.benchmarks.bench_training`).
_CPU_MICRO_PIXELS = 10 * 128 * 128

__all__ = [
    "Trainer",
    "TrainHistory",
    "gaussian_nll",
    "loss_function",
    "decay_parameter_groups",
    "to_channels_last",
]


class Trainer:
    """Train a network on dict inputs with early stopping; also predicts.

    Parameters
    ----------
    loss : {'mse', 'nll', 'mae'}
        MSE (Ho et al. 2023 Eq. 8), Gaussian NLL (Krippendorf et al. 2023
        Eq. 1; the network outputs ``(mu, log_sigma)``) or mean absolute error.
    lr : float
        Adam learning rate (1e-3, the Keras default used by the papers).
    weight_decay : float
        Coupled L2 decay on weights of conv/dense layers, not on biases;
        ``2e-4`` reproduces Keras ``l2(1e-4)``.
    batch_size : int
    max_epochs : int
    patience : int
        Stop after this many epochs without a lower validation loss.
    restore_best : bool
        End with the weights of the best epoch (lowest validation loss, or
        training loss without a validation set) rather than the last one.
    augment : bool
        Random D4 rotation/flip of every training sample each epoch (the same
        element for the image and the cube's sky axes).
    tta : bool
        `predict` averages over the 8 D4 transforms.
    device : str or torch.device
        ``"auto"``: CUDA when available, else CPU.
    seed : int
        Seeds weight-independent randomness (shuffling, augmentation,
        dropout). Same seed, data and device ⇒ identical weights.
    mixed_precision : {'auto', True, False}
        bf16 (or fp16 with loss scaling) autocast; ``'auto'`` enables it on
        CUDA only. Never used on CPU.
    channels_last : {'auto', True, False}
        NHWC memory layout for 4-D tensors and NDHWC for 3-D convolution
        weights (``'auto'``: on; fastest on CPU and tensor-core GPUs; 1.3-1.4×
        faster joint-CNN training on a 2-core CPU).
    checkpoint_path : path-like or None
        Write an atomic checkpoint here after every epoch; ``fit(...,
        resume=True)`` continues from it.
    progress : bool or None
        tqdm bar with train/val loss (None: only on a terminal).
    num_threads : int or None
        ``torch.set_num_threads`` during fit/predict (restored afterwards).
    micro_batch : int, 'auto' or None
        Split each optimiser step's batch into micro-batches of this size
        and accumulate their gradients: the same update (for networks
        without batch statistics), computed on activations small enough to
        stay in cache and small enough for the memory allocator to reuse
        (3× faster than whole batches of 50 128² images on a 2-core CPU).
        ``'auto'``: on CPU, micro-batches of 10 × 128² pixels per channel
        (10 images at 128², 1 cube at 64³); none on CUDA. `predict` uses the
        same size on CPU unless given ``batch_size``.
    distributed : {'auto', True, False}
        Data parallel with DistributedDataParallel in a ``torch.distributed``
        process group of more than one process (``torchrun``; see
        `astroclustermass.estimators.distributed`): the same weights as one
        process with the same ``batch_size``. ``'auto'``: whenever such a
        group exists.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from torch import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.lin = nn.Linear(4, 1)
    ...     def forward(self, image):
    ...         return self.lin(image.flatten(1))
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(60, 1, 2, 2)).astype("float32")
    >>> y = x.reshape(60, -1).sum(1)
    >>> trainer = Trainer(max_epochs=3, batch_size=20, progress=False, device="cpu")
    >>> hist = trainer.fit(Net(), {"image": x[:50]}, y[:50], {"image": x[50:]}, y[50:])
    >>> hist.epochs_run
    3
    """

    def __init__(
        self,
        loss: str = "mse",
        lr: float = 1e-3,
        weight_decay: float = 2e-4,
        batch_size: int = 50,
        max_epochs: int = 200,
        patience: int = 20,
        augment: bool = False,
        tta: bool = False,
        device: Any = "auto",
        seed: int = 0,
        mixed_precision: bool | str = "auto",
        channels_last: bool | str = "auto",
        checkpoint_path: str | Path | None = None,
        progress: bool | None = None,
        num_threads: int | None = None,
        micro_batch: int | str | None = "auto",
        restore_best: bool = True,
        distributed: bool | str = "auto",
    ) -> None:
        if loss not in LOSSES:
            raise InputError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        self.loss = loss
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.batch_size = int(batch_size)
        self.max_epochs = int(max_epochs)
        self.patience = int(patience)
        self.augment = bool(augment)
        self.tta = bool(tta)
        self.device = resolve_device(device)
        self.seed = int(seed)
        self.mixed_precision = mixed_precision
        self.channels_last = channels_last
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.progress = progress
        self.num_threads = num_threads
        self.micro_batch = micro_batch
        self.restore_best = bool(restore_best)
        self.distributed = distributed
        if self.batch_size < 1 or self.max_epochs < 1 or self.patience < 1:
            raise InputError(
                "batch_size, patience and max_epochs must be >= 1 (max_epochs=0 would return "
                "an untrained network); got "
                f"{batch_size}, {patience}, {max_epochs}"
            )

    # ------------------------------------------------------------ settings
    @property
    def n_outputs(self) -> int:
        """Network outputs the loss expects: 2 for NLL, else 1."""
        return 2 if self.loss == "nll" else 1

    def _use_channels_last(self) -> bool:
        return True if self.channels_last == "auto" else bool(self.channels_last)

    def _amp_dtype(self) -> torch.dtype | None:
        if self.device.type != "cuda":
            return None
        use = self.mixed_precision
        if use == "auto" or use is True:
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return None

    def _autocast(self):
        dtype = self._amp_dtype()
        if dtype is None:
            return nullcontext()
        return torch.autocast(device_type="cuda", dtype=dtype)

    def _prepare_model(self, model: nn.Module) -> nn.Module:
        # never inference tensors, even when called from predict's inference mode: the
        # parameters of a loaded model would otherwise be copied into ones that autograd
        # (attribution maps after a predict) refuses
        with torch.inference_mode(False):
            model.to(self.device)
            if self._use_channels_last():
                for p in model.parameters():
                    if p.ndim == 4:
                        p.data = to_channels_last(p.data)
                    elif p.ndim == 5:  # Conv3d weights: NDHWC (networks follow their layout)
                        p.data = p.data.contiguous(memory_format=torch.channels_last_3d)
        return model

    def _make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        groups = decay_parameter_groups(model, self.weight_decay)
        kwargs: dict[str, Any] = {"lr": self.lr}
        try:
            return torch.optim.Adam(groups, fused=True, **kwargs)
        except (RuntimeError, TypeError, ValueError):  # pragma: no cover - no fused kernel
            return torch.optim.Adam(groups, foreach=True, **kwargs)

    def _batch(self, data: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        for key, t in data.items():
            b = t.index_select(0, idx.to(t.device))
            if b.device != self.device:
                b = b.to(self.device, non_blocking=True)
            if b.ndim == 4 and self._use_channels_last():
                b = to_channels_last(b)
            out[key] = b
        return out

    # ------------------------------------------------------------ training
    def fit(
        self,
        model: nn.Module,
        train_inputs: dict[str, np.ndarray],
        train_target: np.ndarray,
        val_inputs: dict[str, np.ndarray] | None = None,
        val_target: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        resume: bool = False,
        callback: Callable[[int, TrainHistory], None] | None = None,
        val_sample_weight: np.ndarray | None = None,
    ) -> TrainHistory:
        """Train ``model`` in place; return the `TrainHistory`.

        Parameters
        ----------
        model : torch.nn.Module
            Called as ``model(**batch)``; moved to the trainer's device.
        train_inputs, val_inputs : dict of str to ndarray
            Arrays sharing their first (sample) axis. Without a validation set
            no early stopping happens and the last epoch is kept.
        train_target, val_target : ndarray, shape (N,)
            Targets (already scaled by the caller).
        sample_weight, val_sample_weight : ndarray, optional
            Per-sample loss weights (normalised to mean 1).
        resume : bool
            Continue from ``checkpoint_path`` when it exists (same data and
            settings); otherwise start afresh. A run that stopped early is
            returned as it was; one that reached an earlier ``max_epochs``
            continues up to the current ``max_epochs``.
        callback : callable, optional
            ``callback(epoch, history)`` after each epoch's checkpoint.
        """
        n_threads_before = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(int(self.num_threads))
        devices = [self.device] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                return self._fit(
                    model,
                    train_inputs,
                    train_target,
                    val_inputs,
                    val_target,
                    sample_weight,
                    val_sample_weight,
                    resume,
                    callback,
                )
        finally:
            torch.set_num_threads(n_threads_before)

    def _fit(
        self,
        model,
        train_inputs,
        train_target,
        val_inputs,
        val_target,
        sample_weight,
        val_sample_weight,
        resume,
        callback,
    ) -> TrainHistory:
        torch.manual_seed(self.seed)
        par = DataParallel.current(self.distributed)
        if par is not None:
            self.device = par.device(self.device)
        main = par is None or par.main
        cl = self._use_channels_last()
        x_tr = to_tensors(train_inputs, self.device, cl)
        n_tr = n_samples(x_tr)
        if n_tr == 0:
            raise InputError("the training set is empty")
        y_tr = self._target_tensor(train_target, n_tr, "train_target")
        w_tr = self._weight_tensor(sample_weight, n_tr, "sample_weight")
        has_val = val_inputs is not None and n_samples(val_inputs) > 0
        if has_val:
            x_va = to_tensors(val_inputs, self.device, cl)
            n_va = n_samples(x_va)
            y_va = self._target_tensor(val_target, n_va, "val_target")
            w_va = self._weight_tensor(val_sample_weight, n_va, "val_sample_weight")
        model = self._prepare_model(model)
        net = model if par is None else par.wrap(model, self.device)
        optimizer = self._make_optimizer(model)
        scaler = None
        if self._amp_dtype() == torch.float16:
            scaler = torch.amp.GradScaler("cuda")
        loss_fn = loss_function(self.loss)
        sample_numel = spatial_numel(x_tr)
        shuffle_gen = torch.Generator().manual_seed(self.seed)
        aug_gen = torch.Generator().manual_seed(self.seed + 1)

        history = TrainHistory()
        best_state = clone_state(model)
        bad_epochs = 0
        start_epoch = 0
        fingerprint = {
            "n_train": n_tr,
            "n_val": n_va if has_val else 0,
            "loss": self.loss,
            "target_sha256": hashlib.sha256(y_tr.cpu().numpy().tobytes()).hexdigest(),
        }
        if resume and self.checkpoint_path is not None and self.checkpoint_path.exists():
            ckpt = load_checkpoint(self.checkpoint_path, self.device, fingerprint)
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            if scaler is not None and "scaler" in ckpt:
                scaler.load_state_dict(ckpt["scaler"])
            best_state = {k: v.to(self.device) for k, v in ckpt["best_state"].items()}
            history = TrainHistory.from_dict(ckpt["history"])
            bad_epochs = int(ckpt["bad_epochs"])
            start_epoch = int(ckpt["epoch"])
            shuffle_gen.set_state(ckpt["shuffle_rng"])
            aug_gen.set_state(ckpt["aug_rng"])
            torch.set_rng_state(ckpt["torch_rng"])
            if self.device.type == "cuda" and "cuda_rng" in ckpt:
                torch.cuda.set_rng_state(ckpt["cuda_rng"], self.device)
            if history.stopped_early or start_epoch >= self.max_epochs:
                if self.restore_best:
                    model.load_state_dict(best_state)
                return history

        bar = progress_bar(
            total=self.max_epochs,
            initial=start_epoch,
            progress=self.progress if main else False,
            desc=f"training ({self.device.type})",
            unit="epoch",
        )
        finished = False
        try:
            for epoch in range(start_epoch, self.max_epochs):
                t0 = time.perf_counter()
                model.train()
                perm = torch.randperm(n_tr, generator=shuffle_gen)
                total, count = 0.0, 0
                for start in range(0, n_tr, self.batch_size):
                    idx = perm[start : start + self.batch_size]
                    n_step = len(idx)  # the global batch; a process takes its share
                    d4 = d4_random(n_step, aug_gen) if self.augment else None
                    if par is not None:
                        idx, d4 = par.shard(idx), None if d4 is None else par.shard(d4)
                    batch = self._batch(x_tr, idx)
                    if d4 is not None:
                        batch = d4_batch(batch, d4)
                    tgt = y_tr[idx.to(y_tr.device)]
                    wgt = None if w_tr is None else w_tr[idx.to(w_tr.device)]
                    optimizer.zero_grad(set_to_none=True)
                    loss = 0.0
                    chunks = self._chunks(len(idx), sample_numel)
                    for j, sl in enumerate(chunks):
                        sub = {k: v[sl] for k, v in batch.items()}
                        last = j == len(chunks) - 1
                        with nullcontext() if par is None else par.no_sync(net, last):
                            with self._autocast():
                                out = net(**sub)
                            if len(tgt[sl]):
                                w_sl = None if wgt is None else wgt[sl]
                                part = loss_fn(out.float(), tgt[sl], w_sl) * (len(tgt[sl]) / n_step)
                            else:  # an empty share of a short last batch joins the all-reduce
                                part = out.float().sum() * 0.0
                            # DDP averages gradients over processes: scale to their sum
                            grad = part if par is None else part * par.world_size
                            (grad if scaler is None else scaler.scale(grad)).backward()
                        loss += float(part.detach())
                    if scaler is not None:
                        scaler.step(optimizer)
                        scaler.update()
                    else:
                        optimizer.step()
                    total += loss * n_step
                    count += n_step
                if par is not None:
                    total = par.sum(total)
                train_loss = total / count
                if not math.isfinite(train_loss):
                    raise InputError(
                        f"the training loss became {train_loss} at epoch {epoch}; lower the "
                        "learning rate or check the inputs for extreme values"
                    )
                val_loss = (
                    self._evaluate(model, x_va, y_va, w_va, loss_fn, par) if has_val else math.nan
                )
                history.train_loss.append(train_loss)
                history.val_loss.append(val_loss)
                history.epochs_run = epoch + 1
                monitored = val_loss if has_val else train_loss
                if monitored < history.best_val_loss or history.best_epoch < 0:
                    history.best_val_loss = float(monitored)
                    history.best_epoch = epoch
                    best_state = clone_state(model)
                    bad_epochs = 0
                else:
                    bad_epochs += 1
                if has_val and bad_epochs >= self.patience:
                    history.stopped_early = True
                    finished = True
                if epoch + 1 >= self.max_epochs:
                    finished = True
                history.epoch_time.append(time.perf_counter() - t0)
                if self.checkpoint_path is not None and main:
                    save_checkpoint(
                        self.checkpoint_path,
                        epoch=epoch + 1,
                        bad_epochs=bad_epochs,
                        fingerprint=fingerprint,
                        model=model.state_dict(),
                        best_state=best_state,
                        optimizer=optimizer.state_dict(),
                        history=history.to_dict(),
                        **self._rng_states(shuffle_gen, aug_gen, scaler),
                    )
                bar.update(1)
                bar.set_postfix(train=f"{train_loss:.4g}", val=f"{val_loss:.4g}")
                if callback is not None and main:
                    callback(epoch, history)
                if finished:
                    break
        finally:
            bar.close()
        if self.restore_best and history.best_epoch >= 0:
            model.load_state_dict(best_state)
        if main and has_val and not history.stopped_early and history.epochs_run >= self.max_epochs:
            warnings.warn(
                f"training ran all max_epochs={self.max_epochs} epochs without early stopping "
                f"(the validation loss still improved within the last patience={self.patience} "
                "epochs): the model may not have converged; raise max_epochs",
                ConvergenceWarning,
                stacklevel=2,
            )
        return history

    def _chunks(self, n: int, spatial_numel: int) -> list[slice]:
        """Micro-batches of one optimiser step (gradient accumulation)."""
        mb = self._micro_batch(spatial_numel)
        if not mb or mb >= n:
            return [slice(None)]
        return [slice(s, s + mb) for s in range(0, n, mb)]

    def _micro_batch(self, spatial_numel: int) -> int | None:
        if self.micro_batch == "auto":
            if self.device.type != "cpu":
                return None
            return max(1, _CPU_MICRO_PIXELS // max(int(spatial_numel), 1))
        return None if not self.micro_batch else int(self.micro_batch)

    def _rng_states(self, shuffle_gen, aug_gen, scaler) -> dict:
        states = {
            "shuffle_rng": shuffle_gen.get_state(),
            "aug_rng": aug_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        if scaler is not None:
            states["scaler"] = scaler.state_dict()
        if self.device.type == "cuda":
            states["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return states

    def _target_tensor(self, target, n: int, name: str) -> torch.Tensor:
        if target is None:
            raise InputError(f"{name} is required")
        y = np.asarray(target, dtype=np.float32).reshape(-1)
        if len(y) != n:
            raise InputError(f"{name} has {len(y)} values for {n} samples")
        if not np.isfinite(y).all():
            raise InputError(f"{name} contains NaN or inf values")
        t = torch.from_numpy(y)
        return t.to(self.device) if self.device.type != "cpu" else t

    def _weight_tensor(self, weight, n: int, name: str) -> torch.Tensor | None:
        if weight is None:
            return None
        w = np.asarray(weight, dtype=np.float64).reshape(-1)
        if len(w) != n or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise InputError(f"{name} must hold {n} finite non-negative values with a positive sum")
        t = torch.from_numpy((w / w.mean()).astype(np.float32))
        return t.to(self.device) if self.device.type != "cpu" else t

    @torch.inference_mode()
    def _evaluate(self, model, x, y, w, loss_fn, par=None) -> float:
        model.eval()
        n = len(y)
        total = 0.0
        starts = range(0, n, self.batch_size)
        for start in starts if par is None else par.shard(starts):
            idx = torch.arange(start, min(start + self.batch_size, n))
            batch = self._batch(x, idx)
            with self._autocast():
                out = model(**batch)
            tgt = y[idx.to(y.device)]
            wgt = None if w is None else w[idx.to(w.device)]
            total += float(loss_fn(out.float(), tgt, wgt)) * len(idx)
        return (total if par is None else par.sum(total)) / n

    # ------------------------------------------------------------ prediction
    def predict(
        self, model: nn.Module, inputs: dict[str, np.ndarray], batch_size: int | None = None
    ) -> np.ndarray:
        """Network outputs ``(N, n_out)`` as float64, in eval mode.

        ``batch_size`` defaults to the CPU micro-batch size (see
        ``micro_batch``), else the training ``batch_size``; it does not change
        the numbers beyond floating-point rounding.

        With ``tta=True`` the outputs are averaged over the 8 D4 transforms;
        for two-output (NLL) networks the mixture is summarised by its mean
        and ``log`` of its standard deviation (mean of σ² plus variance of μ).
        """
        n_threads_before = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(int(self.num_threads))
        try:
            return self._predict(model, inputs, batch_size)
        finally:
            torch.set_num_threads(n_threads_before)

    @torch.inference_mode()
    def _predict(self, model, inputs, batch_size) -> np.ndarray:
        model = self._prepare_model(model)
        model.eval()
        x = to_tensors(inputs, self.device, self._use_channels_last())
        n = n_samples(x)
        bs = int(batch_size or self._micro_batch(spatial_numel(x)) or self.batch_size)
        outs = []
        for start in range(0, n, bs):
            idx = torch.arange(start, min(start + bs, n))
            batch = self._batch(x, idx)
            if not self.tta:
                with self._autocast():
                    outs.append(model(**batch).float().cpu())
                continue
            preds = []
            for k in range(N_D4):
                tb = {key: (d4_apply(t, k) if t.ndim >= 4 else t) for key, t in batch.items()}
                tb = {
                    key: to_channels_last(t)
                    if t.ndim == 4 and self._use_channels_last()
                    else t.contiguous()
                    for key, t in tb.items()
                }
                with self._autocast():
                    preds.append(model(**tb).float().cpu())
            stack = torch.stack(preds)  # (8, B, n_out)
            if stack.shape[-1] == 2:
                mu = stack[..., 0]
                var = torch.exp(2 * stack[..., 1]).mean(0) + mu.var(0, unbiased=False)
                outs.append(torch.stack([mu.mean(0), 0.5 * torch.log(var)], dim=-1))
            else:
                outs.append(stack.mean(0))
        if not outs:
            return np.zeros((0, self.n_outputs))
        return torch.cat(outs).double().numpy()
