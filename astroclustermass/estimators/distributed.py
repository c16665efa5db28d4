"""Data-parallel training with torch DistributedDataParallel (``torchrun``).

The shared `~astroclustermass.estimators.training.Trainer` trains data
parallel whenever a ``torch.distributed`` process group of more than one
process is initialised — by ``torchrun`` through the command line::

    torchrun --nproc-per-node 2 -m astroclustermass train multiband_cnn --sample s.h5 --out m/

or from Python, by calling `init_distributed` in every process first.
Every process holds the whole (in-memory) training set and draws the same
seeded permutation; each optimiser step's *global* batch of ``batch_size``
clusters is split between the processes (process ``r`` of ``W`` takes
clusters ``r, r + W, ...`` of it), the gradients are averaged by
`torch.nn.parallel.DistributedDataParallel`, and every process takes the
same step. The weights therefore equal those of one process training with
the same ``batch_size`` up to floating-point reduction order — unlike
`torch.utils.data.DistributedSampler`, which splits the *epoch* and so
changes which clusters meet in a batch. Validation batches are shared out
the same way and their losses summed over the processes, so that every
process takes the same early-stopping decision. Only process 0 writes
checkpoints, shows progress bars and warns; every process reads the
checkpoint on ``resume``. On CPU the backend is ``gloo``, on GPUs ``nccl``
with one GPU per process (``LOCAL_RANK``).

Networks with batch statistics (batch normalisation) would see per-process
batches; the package's networks have none. Dropout masks are drawn per
process from the same seeded stream.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from ..exceptions import InputError

__all__ = ["init_distributed", "world", "is_main_process", "DataParallel"]


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` outside a process group.

    Examples
    --------
    >>> world()
    (0, 1)
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """Whether this process writes files and shows progress (rank 0, or no process group).

    Examples
    --------
    >>> is_main_process()
    True
    """
    return world()[0] == 0


def init_distributed(backend: str | None = None) -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes in the environment.

    Does nothing (and returns ``(0, 1)``) unless ``WORLD_SIZE`` > 1, or
    when the group already exists.

    Parameters
    ----------
    backend : {'gloo', 'nccl'}, optional
        Default: ``nccl`` when CUDA is available (one GPU per process, chosen
        by ``LOCAL_RANK``), else ``gloo``.

    Returns
    -------
    rank, world_size : int

    Raises
    ------
    InputError
        ``WORLD_SIZE`` > 1 but this torch has no ``torch.distributed``.

    Examples
    --------
    >>> import os
    >>> "WORLD_SIZE" in os.environ or init_distributed() == (0, 1)
    True
    """
    import torch
    import torch.distributed as dist

    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return world()
    if not dist.is_available():
        raise InputError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    if not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return world()


@dataclass
class DataParallel:
    """One process's share of data-parallel training (see the module docstring).

    Examples
    --------
    >>> import torch
    >>> par = DataParallel(rank=1, world_size=2)
    >>> par.shard(torch.arange(5)).tolist()
    [1, 3]
    """

    rank: int
    world_size: int

    @classmethod
    def current(cls, mode: Any = "auto") -> DataParallel | None:
        """The group this process is in, or None to train alone.

        ``mode``: ``'auto'`` (data parallel in a process group of > 1),
        True (require one) or False (train alone even in a group).
        """
        if mode is False:
            return None
        rank, size = world()
        if size <= 1:
            if mode is True:
                raise InputError(
                    "distributed=True needs a torch.distributed process group of more than one "
                    "process: run under torchrun, or call init_distributed() in every process"
                )
            return None
        return cls(rank, size)

    @property
    def main(self) -> bool:
        """Whether this is process 0."""
        return self.rank == 0

    def device(self, device: Any) -> Any:
        """The device of this process: ``cuda:LOCAL_RANK`` for an unnumbered CUDA device."""
        import torch

        if device.type == "cuda" and device.index is None:
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", self.rank)))
        return device

    def wrap(self, model: Any, device: Any) -> Any:
        """``model`` in `~torch.nn.parallel.DistributedDataParallel` (parameters shared)."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def shard(self, items: Any) -> Any:
        """The elements of a global batch this process takes: every ``world_size``-th."""
        return items[self.rank :: self.world_size]

    def no_sync(self, net: Any, last: bool) -> Any:
        """Skip the gradient all-reduce for every micro-batch but the last."""
        return nullcontext() if last else net.no_sync()

    def sum(self, value: float) -> float:
        """``value`` summed over the processes (float64)."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([float(value)], dtype=torch.float64)
        if dist.get_backend() == "nccl":
            t = t.cuda()
        dist.all_reduce(t)
        return float(t.item())
