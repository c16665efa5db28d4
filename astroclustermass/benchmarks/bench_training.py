"""Speed benchmark: CNN training and inference throughput against a naive loop.

For the paper's single-band network (`HoCNN`, 363,629 parameters) and the
multi-band network (3 bands, 364,829 parameters) at 128² and batch 50 it
measures, in the same run and interleaved (naive, ours, naive, ours, …):

* **training**: a naive PyTorch loop — float32 NCHW tensors, default
  settings, out-of-place ReLUs, ``torch.optim.Adam`` — against one epoch of
  `astroclustermass.estimators.training.Trainer` with its defaults
  (channels-last layout, fused Adam, in-place ReLUs and, on CPU, gradient
  accumulation over micro-batches of 10 images, whose activations the
  memory allocator can reuse instead of page-faulting 80 MB per layer);
* **inference**: ``model.eval()`` under ``torch.no_grad`` in NCHW, batch 50,
  against `Trainer.predict` (channels-last, ``torch.inference_mode``,
  micro-batches of 10);
* the achieved GFLOP/s (FLOPs counted from the layer shapes: ~108 MFLOP per
  image forward, 3× that per training image) next to a large float32 matrix
  multiplication measured in the same run;
* for the joint X-ray + dynamics network (`JointCNN`, 3 bands, cube of
  ``npix/2`` voxels per side): one training epoch of a naive loop, of
  `Trainer` with ``channels_last=False`` (NCDHW 3-D convolutions) and of
  `Trainer` with its defaults (NDHWC).

The variants run one after the other in each round (a matmul, naive,
ours, …) and every round yields a ratio to the naive loop; medians over the
rounds are reported, which keeps the ratios meaningful on a shared machine.
``--explore`` also times single options (whole batches, NCHW, out-of-place
ReLU, other micro-batch and inference batch sizes, one thread). Run it with::

    python -m astroclustermass.benchmarks.bench_training          # ~2-3 min
    python -m astroclustermass.benchmarks.bench_training --quick  # < 1 min

Examples
--------
>>> main(["--npix", "32", "--n-samples", "20", "--repeats", "1", "--quiet"])
0
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .._utils import defaults
from ..estimators.networks import HoCNN, JointCNN, count_parameters
from ..estimators.training import Trainer

__all__ = ["main", "count_flops", "matmul_gflops"]


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Forward FLOPs per sample (2 per multiply-add) of conv and dense layers.

    Examples
    --------
    >>> count_flops(HoCNN(1, 128), (1, 128, 128)) / 1e6
    107.856
    """
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d | nn.Conv3d):
            per_out = module.in_channels // module.groups * int(np.prod(module.kernel_size))
            total += 2 * per_out * output[0].numel()
        elif isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Conv3d | nn.Linear)
    ]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
    return total


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Median GFLOP/s of an ``n × n`` float32 matrix multiplication.

    Examples
    --------
    >>> matmul_gflops(64, repeats=1) > 0
    True
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def _naive_train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> Callable:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def run() -> float:
        model.train()
        t0 = time.perf_counter()
        for s in range(0, len(x), batch):
            opt.zero_grad()
            loss = ((model(x[s : s + batch])[:, 0] - y[s : s + batch]) ** 2).mean()
            loss.backward()
            opt.step()
        return len(x) / (time.perf_counter() - t0)

    return run


def _trainer_train(model: nn.Module, x: np.ndarray, y: np.ndarray, **kw) -> Callable:
    def run() -> float:
        trainer = Trainer(max_epochs=1, device="cpu", progress=False, **kw)
        hist = trainer.fit(model, {"image": x}, y)
        return len(x) / hist.epoch_time[0]

    return run


def _naive_predict(model: nn.Module, x: torch.Tensor, batch: int) -> Callable:
    def run() -> float:
        model.eval()
        t0 = time.perf_counter()
        with torch.no_grad():
            for s in range(0, len(x), batch):
                model(x[s : s + batch])
        return len(x) / (time.perf_counter() - t0)

    return run


def _trainer_predict(model: nn.Module, x: np.ndarray, batch: int | None = None, **kw) -> Callable:
    trainer = Trainer(device="cpu", progress=False, **kw)
    arrays = {"image": x}

    def run() -> float:
        t0 = time.perf_counter()
        trainer.predict(model, arrays, batch_size=batch)
        return len(x) / (time.perf_counter() - t0)

    return run


def _variants(bands: int, npix: int, n: int, batch: int, explore: bool) -> dict[str, Callable]:
    gen = np.random.default_rng(bands)
    x = gen.normal(size=(n, bands, npix, npix)).astype(np.float32)
    y = gen.normal(size=n).astype(np.float32)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def net(naive: bool = False) -> nn.Module:
        torch.manual_seed(0)
        model = HoCNN(in_channels=bands, npix=npix)
        for m in model.modules():  # the naive loop uses plain out-of-place ReLUs
            if isinstance(m, nn.ReLU):
                m.inplace = not naive
        return model

    v: dict[str, Callable] = {
        "train naive": _naive_train(net(naive=True), xt, yt, batch),
        "train Trainer": _trainer_train(net(), x, y, batch_size=batch),
        "infer naive": _naive_predict(net(naive=True), xt, batch),
        "infer Trainer": _trainer_predict(net(), x),
    }
    if explore:
        v["train whole batches"] = _trainer_train(net(), x, y, batch_size=batch, micro_batch=None)
        v["train NCHW"] = _trainer_train(net(), x, y, batch_size=batch, channels_last=False)
        v["train out-of-place ReLU"] = _trainer_train(net(naive=True), x, y, batch_size=batch)
        for mb in (5, 25):
            v[f"train micro_batch={mb}"] = _trainer_train(
                net(), x, y, batch_size=batch, micro_batch=mb
            )
        v["train 1 thread"] = _trainer_train(net(), x, y, batch_size=batch, num_threads=1)
        for b in (25, 50):
            v[f"infer batch {b}"] = _trainer_predict(net(), x, batch=b)
        v["infer NCHW"] = _trainer_predict(net(), x, channels_last=False)
        v["infer 1 thread"] = _trainer_predict(net(), x, num_threads=1)
    return v


def _joint_variants(npix: int, n: int, batch: int) -> dict[str, Callable]:
    """Training epochs of the joint network: naive loop, Trainer in NCDHW, Trainer default."""
    cube = max(npix // 2, 8)
    gen = np.random.default_rng(7)
    inputs = {
        "image": gen.normal(size=(n, 3, npix, npix)).astype(np.float32),
        "cube": gen.normal(size=(n, 1, cube, cube, cube)).astype(np.float32),
    }
    y = gen.normal(size=n).astype(np.float32)
    kernels = (5, 3, 1) if cube >= 32 else (3, 3, 1)

    def net() -> nn.Module:
        torch.manual_seed(0)
        return JointCNN(in_channels=3, npix=npix, cube_size=cube, cube_kernels=kernels)

    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt = {k: torch.from_numpy(v) for k, v in inputs.items()}
    yt = torch.from_numpy(y)

    def naive() -> float:
        model.train()
        t0 = time.perf_counter()
        for s in range(0, n, batch):
            opt.zero_grad()
            out = model(**{k: v[s : s + batch] for k, v in xt.items()})
            ((out[:, 0] - yt[s : s + batch]) ** 2).mean().backward()
            opt.step()
        return n / (time.perf_counter() - t0)

    def trainer(channels_last: bool) -> Callable:
        m = net()

        def run() -> float:
            t = Trainer(
                max_epochs=1,
                device="cpu",
                progress=False,
                batch_size=batch,
                channels_last=channels_last,
            )
            return n / t.fit(m, inputs, y).epoch_time[0]

        return run

    return {
        "train naive": naive,
        "train Trainer NCDHW": trainer(False),
        "train Trainer": trainer(True),
    }


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; returns 0."""
    parser = argparse.ArgumentParser(
        prog="python -m astroclustermass.benchmarks.bench_training",
        description="CNN training/inference throughput against a naive loop measured in the "
        "same run.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples and repeats (<1 min)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved rounds (7)")
    parser.add_argument("--n-samples", type=int, default=None, help="images per timing (100)")
    parser.add_argument("--npix", type=int, default=defaults.NPIX)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--explore", action="store_true", help="also time single options")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    n = args.n_samples or (50 if args.quick else 100)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    mm = 1024 if args.quick or args.npix < 128 else 2048

    say(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; npix {args.npix}, "
        f"batch {args.batch_size}, {n} images per timing; medians of {repeats} interleaved "
        "rounds (ratios: median of the per-round ratios)"
    )
    for bands, label in ((1, "single-band"), (3, "multi-band")):
        model = HoCNN(in_channels=bands, npix=args.npix)
        flops = count_flops(model, (bands, args.npix, args.npix))
        variants = _variants(bands, args.npix, n, args.batch_size, args.explore)
        for run in variants.values():  # warm-up
            run()
        rates: dict[str, list[float]] = {k: [] for k in variants}
        ratios: dict[str, list[float]] = {k: [] for k in variants}
        peak: list[float] = []
        fraction: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(repeats):
            peak.append(matmul_gflops(mm, repeats=1))
            this = {key: run() for key, run in variants.items()}
            for key, rate in this.items():
                kind = key.split()[0]
                rates[key].append(rate)
                ratios[key].append(rate / this[f"{kind} naive"])
                gflops = rate * flops * (3 if kind == "train" else 1) / 1e9
                fraction[key].append(gflops / peak[-1])
        say(
            f"\n{label} HoCNN: {count_parameters(model):,} parameters, "
            f"{flops / 1e6:.1f} MFLOP forward / {3 * flops / 1e6:.1f} MFLOP training per image; "
            f"fp32 {mm}x{mm} matmul {_median(peak):.1f} GFLOP/s"
        )
        say(f"  {'variant':<26}{'images/s':>10}{'x naive':>9}{'GFLOP/s':>9}{'% matmul':>10}")
        for key in variants:
            kind = key.split()[0]
            med = _median(rates[key])
            gflops = med * flops * (3 if kind == "train" else 1) / 1e9
            say(
                f"  {key:<26}{med:>10.1f}{_median(ratios[key]):>9.2f}{gflops:>9.2f}"
                f"{100 * _median(fraction[key]):>9.1f}%"
            )
    joint = _joint_variants(args.npix, n, args.batch_size)
    for run in joint.values():  # warm-up
        run()
    rates = {k: [] for k in joint}
    ratios = {k: [] for k in joint}
    for _ in range(repeats):
        this = {key: run() for key, run in joint.items()}
        for key, rate in this.items():
            rates[key].append(rate)
            ratios[key].append(rate / this["train naive"])
    cube = max(args.npix // 2, 8)
    say(f"\njoint JointCNN: {args.npix}^2 maps (3 bands), {cube}^3 cubes")
    say(f"  {'variant':<26}{'samples/s':>10}{'x naive':>9}")
    for key in joint:
        say(f"  {key:<26}{_median(rates[key]):>10.1f}{_median(ratios[key]):>9.2f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
