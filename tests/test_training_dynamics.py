"""Channel dynamics (Lovig 2024 §4): phased training, masking, perturbation, plots, I/O."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from astropy.table import Table

matplotlib.use("Agg")

from astroclustermass.attribution import TrainingDynamics, channel_dynamics  # noqa: E402
from astroclustermass.attribution.training_dynamics import _masked, _perturb  # noqa: E402
from astroclustermass.estimators import MassEstimator  # noqa: E402
from astroclustermass.exceptions import FileFormatError, InputError  # noqa: E402
from astroclustermass.sample import ClusterSample  # noqa: E402

NPIX = 16
SMALL = {"conv": (8, 8, 8, 8), "dense": (16,)}


def _sample(n: int, seed: int, noise_seed: int | None = None):
    """erosita_3 maps of a blob whose brightness grows with mass: band 3 carries it
    tightly, band 1 with 0.5 dex scatter, band 2 is flat Poisson noise."""
    rng = np.random.default_rng(seed)
    logm = rng.uniform(13.6, 15.0, n)
    yy, xx = np.mgrid[:NPIX, :NPIX] - (NPIX - 1) / 2
    blob = np.exp(-(xx**2 + yy**2) / (2 * 2.0**2))
    amp = 6.0 * 10 ** (1.2 * (logm - 14.3))
    lam = np.full((n, 3, NPIX, NPIX), 2.0)
    lam[:, 0] += (amp * 10 ** rng.normal(0, 0.5, n))[:, None, None] * blob
    lam[:, 2] += amp[:, None, None] * blob
    images = rng.poisson(lam).astype(np.int32)
    if noise_seed is not None:  # another draw of the noise band only
        images[:, 1] = np.random.default_rng(noise_seed).poisson(lam[:, 1])
    cat = Table({"id": np.arange(n), "redshift": np.full(n, 0.2), "log10_m500c": logm})
    return ClusterSample.from_arrays(cat, images={"erosita_3": images}, aperture=2.3)


def _estimator(**kw):
    params = dict(
        network_params=SMALL,
        batch_size=16,
        lr=3e-3,
        device="cpu",
        num_threads=1,
        seed=0,
        normalise_redshift=False,
    )
    params.update(kw)
    return MassEstimator.from_name("multiband_cnn", **params)


def test_adding_the_informative_band_sharpens_the_ordering():
    """Band 1 knows the mass roughly, band 2 not at all, band 3 well: the test clusters
    are ordered moderately in phases 1-2 and clearly better once band 3 is added."""
    s = _sample(160, seed=1)
    est = _estimator()
    dyn = channel_dynamics(est, s[:120], s[120:], epochs_per_phase=12, progress=False)
    assert dyn.predictions.shape == (39, 40)
    assert dyn.phase.tolist() == [1] * 13 + [2] * 13 + [3] * 13
    assert dyn.perturbed.tolist() == ([False] * 12 + [True]) * 3
    summary = dyn.summary()
    rho, scatter = summary["spearman"], summary["scatter_dex"]
    assert 0.3 < rho[0] < 0.75 and rho[1] < 0.75  # measured 0.59, 0.54
    assert rho[2] > rho[1] + 0.15  # measured 0.78
    assert scatter[2] < 0.9 * scatter[1]
    assert not getattr(est, "is_fitted_", False)  # a clone was trained


def test_masked_bands_of_the_test_maps_do_not_reach_early_phases():
    """Changing band 2 of the test maps leaves phase 1 (band 1 only) untouched and changes
    the later phases; adding band 2 first changes phase 1 too."""
    train = _sample(48, seed=2)
    test_a = _sample(12, seed=3, noise_seed=10)
    test_b = _sample(12, seed=3, noise_seed=11)
    a0 = np.asarray(test_a.images("erosita_3"))
    b0 = np.asarray(test_b.images("erosita_3"))
    np.testing.assert_array_equal(a0[:, [0, 2]], b0[:, [0, 2]])
    assert not np.array_equal(a0[:, 1], b0[:, 1])
    est = _estimator()
    kw = dict(epochs_per_phase=2, extra_epochs=1, progress=False)
    dyn_a = channel_dynamics(est, train, test_a, **kw)
    dyn_b = channel_dynamics(est, train, test_b, **kw)
    p1 = dyn_a.phase == 1
    np.testing.assert_array_equal(dyn_a.predictions[p1], dyn_b.predictions[p1])
    assert not np.allclose(dyn_a.predictions[~p1], dyn_b.predictions[~p1])
    # band 2 first: now phase 1 sees the band that differs
    dyn_c = channel_dynamics(est, train, test_a, order=[1, 0, 2], **kw)
    dyn_d = channel_dynamics(est, train, test_b, order=[1, 0, 2], **kw)
    assert not np.allclose(dyn_c.predictions[p1], dyn_d.predictions[p1])
    assert [str(b) for b in dyn_c.summary()["bands"]][0] == "1.2-2 keV"


def test_masked_and_perturb_helpers():
    x = {"image": np.ones((2, 3, 4, 4), np.float32), "redshift": np.zeros((2, 1))}
    m = _masked(x, [1])
    assert m["image"][:, 1].min() == 1 and m["image"][:, [0, 2]].max() == 0
    assert x["image"].min() == 1  # the input is not modified
    torch = pytest.importorskip("torch")
    net = torch.nn.Linear(200, 100)
    before = net.weight.detach().clone()
    rms = float(before.pow(2).mean().sqrt())
    _perturb(net, 0.1, seed=0)
    step = (net.weight.detach() - before).std().item()
    assert step == pytest.approx(0.1 * rms, rel=0.05)


def test_write_read_plot(tmp_path):
    rng = np.random.default_rng(0)
    truth = rng.uniform(13.5, 15, 30)
    preds = truth[None] + rng.normal(0, 0.3, (6, 30)) * np.linspace(1, 0.2, 6)[:, None]
    dyn = TrainingDynamics(
        preds,
        truth,
        [1, 1, 1, 2, 2, 2],
        [False, False, True] * 2,
        "erosita_3",
        [0, 1, 2],
        ids=np.arange(100, 130),
        train_loss=np.linspace(1, 0.1, 6),
        meta={"estimator": "multiband_cnn"},
    )
    assert dyn.scatter()[-1] < dyn.scatter()[0]
    path = dyn.write(tmp_path / "dyn.h5")
    back = TrainingDynamics.read(path)
    np.testing.assert_array_equal(back.predictions, dyn.predictions)
    np.testing.assert_array_equal(back.ids, dyn.ids)
    assert back.order == [0, 1, 2] and back.bands.name == "erosita_3"
    assert back.meta == {"estimator": "multiband_cnn"}
    with pytest.raises(FileExistsError):
        dyn.write(path)
    fig = dyn.plot(tmp_path / "dyn.png")
    assert (tmp_path / "dyn.png").stat().st_size > 5000
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (30, 7)  # clusters x (epochs + truth)
    np.testing.assert_allclose(image[:, -1], np.sort(truth) - truth.mean())
    dyn.plot_metrics(tmp_path / "metrics.png")
    assert (tmp_path / "metrics.png").stat().st_size > 5000
    with pytest.raises(FileFormatError):
        TrainingDynamics.read(tmp_path / "missing.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(FileFormatError):
        TrainingDynamics.read(tmp_path / "junk.h5")
    with pytest.raises(InputError, match="one entry per epoch"):
        TrainingDynamics(preds, truth, [1, 2], [False] * 6, "erosita_3", [0, 1, 2])


def test_bad_arguments():
    s = _sample(20, seed=4)
    with pytest.raises(InputError, match="CNN estimator"):
        channel_dynamics(MassEstimator.from_name("power_law"), s, s)
    with pytest.raises(InputError, match="at least two bands"):
        channel_dynamics(MassEstimator.from_name("single_band_cnn"), s, s)
    with pytest.raises(InputError, match="permutation"):
        channel_dynamics(_estimator(), s, s, order=[0, 0, 1])
    with pytest.raises(InputError, match="epochs_per_phase"):
        channel_dynamics(_estimator(), s, s, epochs_per_phase=0)
