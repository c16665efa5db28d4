"""torch DistributedDataParallel: 2 gloo processes train like one with the same global batch."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from astroclustermass.estimators.distributed import DataParallel, init_distributed, world
from astroclustermass.estimators.training import Trainer
from astroclustermass.exceptions import InputError

pytestmark = pytest.mark.distributed

# 49 clusters, batches of 16: the last global batch holds one cluster, so one
# process's share of it is empty; micro-batches of 3 exercise no_sync
SETTINGS = {
    "batch_size": 16,
    "max_epochs": 3,
    "device": "cpu",
    "num_threads": 1,
    "seed": 2,
    "micro_batch": 3,
    "augment": True,
    "progress": False,
}


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.lin = nn.Linear(4, 1)

    def forward(self, image):
        return self.lin(torch.relu(self.conv(image)).mean((2, 3)))


def _data():
    rng = np.random.default_rng(0)
    x = rng.poisson(3.0, size=(60, 1, 8, 8)).astype("float32")
    y = (x.sum((1, 2, 3)) - 192.0) / 14.0
    w = rng.uniform(0.5, 1.5, 49)
    return {"image": x[:49]}, y[:49], {"image": x[49:]}, y[49:], w


def _train(checkpoint=None, resume=False, **kw):
    x, y, xv, yv, w = _data()
    net = TinyCNN()
    trainer = Trainer(**{**SETTINGS, **kw}, checkpoint_path=checkpoint)
    history = trainer.fit(net, x, y, xv, yv, sample_weight=w, resume=resume)
    return {k: v.detach().clone() for k, v in net.state_dict().items()}, history


def _worker(rank: int, init: str, out: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        weights, history = _train()
        # resume: 2 epochs with a checkpoint, then on to 3, equals 3 straight
        ckpt = os.path.join(out, "ckpt.pt")
        _train(checkpoint=ckpt, max_epochs=2)
        torch.distributed.barrier()  # rank 0 has written the checkpoint
        resumed, _ = _train(checkpoint=ckpt, resume=True)
        torch.save(
            {"weights": weights, "resumed": resumed, "val": history.val_loss, "world": world()},
            os.path.join(out, f"rank{rank}.pt"),
        )
    finally:
        torch.distributed.destroy_process_group()


def test_two_gloo_processes_give_the_weights_of_one(tmp_path):
    """Same seed and global batch: 2-process DDP weights equal single-process ones."""
    alone, history = _train()
    ctx = multiprocessing.get_context("spawn")
    init = f"file://{tmp_path / 'rendezvous'}"
    procs = [ctx.Process(target=_worker, args=(r, init, str(tmp_path))) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    assert [r["world"] for r in ranks] == [(0, 2), (1, 2)]
    for r in ranks:
        for name, value in alone.items():
            torch.testing.assert_close(r["weights"][name], value, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(r["resumed"][name], value, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(r["val"], history.val_loss, rtol=1e-5)
    assert (tmp_path / "ckpt.pt").exists()


def test_outside_a_process_group_training_is_local():
    assert world() == (0, 1) and DataParallel.current() is None
    assert init_distributed() == (0, 1) or "WORLD_SIZE" in os.environ
    with pytest.raises(InputError, match="torchrun"):
        DataParallel.current(True)


@pytest.mark.slow
def test_torchrun_train_command(tmp_path):
    """``torchrun --nproc-per-node 2 -m astroclustermass train`` writes one model, as one process."""
    pytest.importorskip("torch.distributed.run")
    from astroclustermass.estimators import MassEstimator
    from astroclustermass.testing import make_tiny_sample

    sample = make_tiny_sample(n=40, npix=16, seed=1)
    path = sample.write(tmp_path / "s.h5")
    params = [
        "--param",
        "network_params={'conv': (4, 4, 4, 4), 'dense': (8,)}",
        "--param",
        "max_epochs=2",
        "--param",
        "batch_size=8",
        "--param",
        "device='cpu'",
        "--param",
        "num_threads=1",
    ]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "astroclustermass",
        "train",
        "single_band_cnn",
        "--sample",
        str(path),
        "--out",
        str(tmp_path / "ddp"),
        "-q",
        *params,
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("saved to") == 1  # rank 0 only
    single = [sys.executable, "-m", "astroclustermass", "train", "single_band_cnn"]
    single += ["--sample", str(path), "--out", str(tmp_path / "one"), "-q", *params]
    subprocess.run(single, check=True, capture_output=True, timeout=300)
    a = MassEstimator.load(tmp_path / "ddp").predict(sample, progress=False)
    b = MassEstimator.load(tmp_path / "one").predict(sample, progress=False)
    np.testing.assert_allclose(a["log10_m500c"], b["log10_m500c"], atol=1e-5)
