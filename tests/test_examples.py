"""The scripts in examples/ run from start to finish (with tiny settings) and write their files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG = b"\x89PNG\r\n\x1a\n"

if not EXAMPLES.is_dir():  # e.g. tests run against an installed package only
    pytest.skip("examples/ is not next to tests/", allow_module_level=True)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == PNG


def test_photon_maps(tmp_path, capsys):
    assert _load("photon_maps").main(["--out", str(tmp_path), "--npix", "32"]) == 0
    text = capsys.readouterr().out
    # the per-band counts equal the direct event counts, printed side by side
    for line in (ln for ln in text.splitlines() if ln.startswith("band")):
        counts = [int(tok.strip("():")) for tok in line.split() if tok.strip("():").isdigit()]
        assert counts[-2] == counts[-1] > 0
    assert _is_png(tmp_path / "bands.png") and (tmp_path / "bands.fits").exists()


def test_scaling_relations(tmp_path, capsys):
    args = ["--n-clusters", "120", "--out", str(tmp_path)]
    assert _load("scaling_relations").main(args) == 0
    text = capsys.readouterr().out
    assert "multi_property(n_phot_500c, n_gal)" in text and "0.1252" in text  # paper row
    assert _is_png(tmp_path / "predictions.png") and (tmp_path / "relation.ecsv").exists()


def test_cnn_saliency_dynamics(tmp_path, capsys):
    args = ["--n-clusters", "100", "--npix", "16", "--epochs", "2", "--dynamics-epochs", "1"]
    assert _load("cnn_saliency_dynamics").main([*args, "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "multiband_cnn" in text and "2-7 keV" in text
    for name in (
        "predictions",
        "saliency_map",
        "radial_profile",
        "dynamics",
        "dynamics_metrics",
    ):
        assert _is_png(tmp_path / f"{name}.png"), name
    assert (tmp_path / "multiband_cnn" / "config.json").exists()


def test_plugin_estimator(tmp_path, capsys):
    from astroclustermass.plugins import unregister_plugin

    try:
        assert _load("plugin_estimator").main(["--n-clusters", "60", "--out", str(tmp_path)]) == 0
    finally:
        unregister_plugin("photon_redshift_example")
    text = capsys.readouterr().out
    assert "all conformance checks pass" in text and "photon_redshift_fit" in text
    assert (tmp_path / "photon_fit" / "config.json").exists()
