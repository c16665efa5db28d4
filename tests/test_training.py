"""Tests of the shared training loop (astroclustermass.estimators.training)."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from astroclustermass.estimators._augment import d4_apply, d4_batch, d4_inverse
from astroclustermass.estimators.training import Trainer, TrainHistory, gaussian_nll
from astroclustermass.exceptions import ConvergenceWarning, InputError


class TinyNet(nn.Module):
    def __init__(self, n_out=1, dropout=0.2):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.lin = nn.Linear(4 * 8 * 8, n_out)

    def forward(self, image):
        return self.lin(self.drop(torch.relu(self.conv(image)).flatten(1)))


def _data(n=160, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    y = x[:, 0, 2:6, 2:6].mean(axis=(1, 2)) * 4 + 0.1 * rng.normal(size=n)
    return x, y


def _fit(tmp_path=None, max_epochs=6, loss="mse", resume=False, callback=None, seed=3, **kw):
    x, y = _data()
    torch.manual_seed(11)
    net = TinyNet(n_out=2 if loss == "nll" else 1)
    trainer = Trainer(
        loss=loss,
        max_epochs=max_epochs,
        batch_size=32,
        patience=kw.pop("patience", 50),
        augment=kw.pop("augment", True),
        device="cpu",
        seed=seed,
        progress=False,
        checkpoint_path=None if tmp_path is None else tmp_path / "ckpt.pt",
        **kw,
    )
    hist = trainer.fit(
        net,
        {"image": x[:128]},
        y[:128],
        {"image": x[128:]},
        y[128:],
        resume=resume,
        callback=callback,
    )
    return net, hist, trainer


def _same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_same_seed_gives_identical_weights_and_other_seed_differs():
    a, ha, _ = _fit(max_epochs=3)
    b, hb, _ = _fit(max_epochs=3)
    c, _, _ = _fit(max_epochs=3, seed=4)
    assert _same_weights(a, b)
    assert ha == hb
    assert not _same_weights(a, c)
    # the global torch RNG is left untouched by fit
    x, y = _data()
    net = TinyNet()
    torch.manual_seed(5)
    s = torch.get_rng_state()
    Trainer(max_epochs=1, device="cpu", progress=False).fit(net, {"image": x}, y)
    assert torch.equal(s, torch.get_rng_state())


@pytest.mark.parametrize("loss", ["mse", "nll"])
def test_resume_after_interrupt_equals_uninterrupted(tmp_path, loss):
    full, h_full, _ = _fit(tmp_path / "a", max_epochs=6, loss=loss)

    def crash(epoch, history):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "b", max_epochs=6, loss=loss, callback=crash)
    ckpt = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=True)  # no pickle needed
    assert ckpt["epoch"] == 3
    resumed, h_res, _ = _fit(tmp_path / "b", max_epochs=6, loss=loss, resume=True)
    assert h_res == h_full
    assert _same_weights(full, resumed)


def test_resume_after_max_epochs_cut_continues(tmp_path):
    full, h_full, _ = _fit(tmp_path / "a", max_epochs=5)
    _fit(tmp_path / "b", max_epochs=2)
    resumed, h_res, _ = _fit(tmp_path / "b", max_epochs=5, resume=True)
    assert h_res.epochs_run == 5
    assert h_res == h_full
    assert _same_weights(full, resumed)


def test_resume_refuses_checkpoint_of_other_data(tmp_path):
    from astroclustermass.exceptions import ModelFileError

    _fit(tmp_path, max_epochs=1)
    x, y = _data(seed=9)
    trainer = Trainer(
        max_epochs=2, device="cpu", progress=False, checkpoint_path=tmp_path / "ckpt.pt"
    )
    with pytest.raises(ModelFileError, match="other data"):
        trainer.fit(
            TinyNet(), {"image": x[:128]}, y[:128], {"image": x[128:]}, y[128:], resume=True
        )


def test_early_stopping_restores_best_weights():
    x, y = _data()
    rng = np.random.default_rng(1)
    y_val = rng.normal(size=32) * 3  # unrelated validation targets: val loss wanders
    snapshots = {}
    torch.manual_seed(0)
    net = TinyNet()

    def record(epoch, history):
        snapshots[epoch] = {k: v.clone() for k, v in net.state_dict().items()}

    trainer = Trainer(max_epochs=60, patience=3, lr=1e-2, device="cpu", progress=False)
    hist = trainer.fit(net, {"image": x[:128]}, y[:128], {"image": x[128:]}, y_val, callback=record)
    assert hist.stopped_early
    assert hist.best_epoch == int(np.argmin(hist.val_loss))
    assert hist.epochs_run == hist.best_epoch + 1 + 3
    assert hist.best_val_loss == min(hist.val_loss)
    best = snapshots[hist.best_epoch]
    assert all(torch.equal(v, best[k]) for k, v in net.state_dict().items())
    assert not all(
        torch.equal(v, snapshots[hist.epochs_run - 1][k]) for k, v in net.state_dict().items()
    )


def test_running_out_of_epochs_warns_and_early_stopping_does_not():
    with pytest.warns(ConvergenceWarning, match="max_epochs=4 epochs without early stopping"):
        _, hist, _ = _fit(max_epochs=4)
    assert hist.epochs_run == 4 and not hist.stopped_early
    x, y = _data()
    rng = np.random.default_rng(1)
    trainer = Trainer(max_epochs=60, patience=2, lr=1e-2, device="cpu", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        hist = trainer.fit(
            TinyNet(), {"image": x[:128]}, y[:128], {"image": x[128:]}, rng.normal(size=32) * 3
        )
    assert hist.stopped_early


def test_d4_is_a_group_of_eight_distinct_transforms():
    x = torch.arange(16.0).reshape(1, 4, 4)
    images = [d4_apply(x, k) for k in range(8)]
    assert len({tuple(t.flatten().tolist()) for t in images}) == 8
    assert torch.equal(images[0], x)
    for a in range(8):
        assert torch.equal(d4_apply(images[a], d4_inverse(a)), x)
        for b in range(8):  # closure
            ab = d4_apply(images[a], b)
            assert any(torch.equal(ab, t) for t in images)
    # rotations preserve the sum and are exactly the square's symmetries
    assert torch.equal(d4_apply(x, 1), torch.rot90(x, 1, dims=(1, 2)))
    assert torch.equal(d4_apply(x, 4), x.transpose(1, 2))


def test_augmentation_keeps_image_and_cube_aligned():
    rng = np.random.default_rng(0)
    img = torch.from_numpy(rng.normal(size=(16, 2, 6, 6)).astype(np.float32))
    cube = img[:, :1, None].expand(-1, -1, 5, -1, -1).contiguous()  # (B, 1, v, x, y)
    z = torch.arange(16.0)[:, None]
    out = d4_batch({"image": img, "cube": cube, "redshift": z}, torch.arange(16) % 8)
    assert torch.equal(out["redshift"], z)
    for i in range(16):
        assert torch.equal(out["image"][i], d4_apply(img[i], i % 8))
        for v in range(5):  # each velocity slice moved exactly as the image
            assert torch.equal(out["cube"][i, 0, v], out["image"][i, 0])


def test_trainer_augments_inputs_consistently():
    seen = []

    class CheckNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)

        def forward(self, image, cube):
            if self.training:
                assert torch.equal(cube[:, 0, 3], image[:, 0])
                seen.append(image[:, 0].flatten(1).clone())
            return self.lin(
                image.mean(dim=(1, 2, 3))[:, None] + cube.mean(dim=(1, 2, 3, 4))[:, None]
            )

    rng = np.random.default_rng(0)
    img = rng.normal(size=(40, 1, 6, 6)).astype(np.float32)
    cube = np.repeat(img[:, :, None], 4, axis=2)
    Trainer(max_epochs=2, batch_size=40, augment=True, device="cpu", progress=False).fit(
        CheckNet(), {"image": img, "cube": cube}, np.zeros(40)
    )
    # the two epochs saw differently transformed copies of the data
    assert not torch.equal(seen[0].sort(dim=0).values, seen[1].sort(dim=0).values)


def test_gaussian_nll_matches_formula():
    rng = np.random.default_rng(2)
    mu, log_s, y, w = rng.normal(size=(4, 50))
    w = np.abs(w)
    out = torch.tensor(np.stack([mu, log_s], 1))
    expected = np.mean(w * (0.5 * ((y - mu) / np.exp(log_s)) ** 2 + log_s))
    got = gaussian_nll(out, torch.tensor(y), torch.tensor(w))
    assert math.isclose(float(got), expected, rel_tol=1e-5)
    # the minimum over sigma of the expected loss is at sigma = |y - mu|
    grid = torch.linspace(-3, 1, 401)
    losses = [
        float(gaussian_nll(torch.tensor([[0.0, float(g)]]), torch.tensor([0.5]))) for g in grid
    ]
    assert abs(float(grid[int(np.argmin(losses))]) - math.log(0.5)) < 0.02


def test_predict_shapes_and_tta_average():
    x, _ = _data(n=20)
    torch.manual_seed(0)
    net = TinyNet(n_out=1, dropout=0.0)
    plain = Trainer(device="cpu", progress=False).predict(net, {"image": x})
    assert plain.shape == (20, 1)
    tta = Trainer(device="cpu", tta=True, progress=False).predict(net, {"image": x}, batch_size=7)
    manual = np.mean(
        [
            Trainer(device="cpu", progress=False).predict(
                net, {"image": d4_apply(torch.from_numpy(x), k).numpy()}
            )
            for k in range(8)
        ],
        axis=0,
    )
    np.testing.assert_allclose(tta, manual, rtol=1e-5, atol=1e-6)


def test_history_roundtrip_and_bad_inputs():
    h = TrainHistory([1.0], [2.0], 0, 2.0, 1, False, [0.1])
    assert TrainHistory.from_dict(h.to_dict()) == h
    x, y = _data(n=10)
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        Trainer(device="cpu", progress=False).fit(TinyNet(), {"image": x}, y)
    with pytest.raises(InputError, match="loss"):
        Trainer(loss="huber")


def test_micro_batches_give_the_same_update():
    x, y = _data()
    nets = []
    for mb in (None, 7):
        torch.manual_seed(2)
        net = TinyNet(dropout=0.0)
        Trainer(max_epochs=2, batch_size=32, device="cpu", progress=False, micro_batch=mb).fit(
            net, {"image": x}, y, sample_weight=np.linspace(0.5, 1.5, len(y))
        )
        nets.append(net)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
