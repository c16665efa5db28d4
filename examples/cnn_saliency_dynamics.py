"""Train a multi-band CNN, explain it with saliency, and watch it learn band by band.

On a mock universe: trains ``multiband_cnn`` on seven octants of the box
and tests on the eighth next to the N_phot,500c proxy (Ho et al. 2023
Sec. 5); computes saliency maps of the test clusters and their radial
profile against R500c, beside the proxy's analytic saliency (Sec. 6,
Fig. 7); and runs Lovig's (2024) channel-dynamics protocol. Writes
``predictions.png``, ``saliency_map.png``, ``radial_profile.png``,
``dynamics.png``, ``dynamics_metrics.png`` and the saved model
``multiband_cnn/``.

Run (a few minutes on 2 CPU cores)::

    python examples/cnn_saliency_dynamics.py --out cnn_example
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from astroclustermass import Attribution, ClusterSample, MassEstimator, MockUniverse, compare
from astroclustermass.attribution import channel_dynamics, plot_radial_profile, radial_profile
from astroclustermass.evaluation.plots import plot_predictions
from astroclustermass.exceptions import OutOfRangeWarning


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clusters", type=int, default=600, help="mock clusters (600)")
    parser.add_argument("--npix", type=int, default=32, help="map pixels per side (32)")
    parser.add_argument("--epochs", type=int, default=30, help="max CNN epochs (30)")
    parser.add_argument("--dynamics-epochs", type=int, default=10, help="epochs per band (10)")
    parser.add_argument("--seed", type=int, default=0, help="mock universe seed (0)")
    parser.add_argument("--out", default="cnn_example", help="output directory")
    args = parser.parse_args(argv)
    out = Path(args.out)
    mock = out / "mock"
    if not (mock / "catalog.ecsv").exists():
        MockUniverse(n_clusters=args.n_clusters, seed=args.seed).write(mock, progress=False)
    sample = ClusterSample.build(
        mock, bands=["bolometric", "erosita_3"], npix=args.npix, dynamics=False, progress=False
    )
    train_idx, test_idx = sample.folds("octant")[0]
    train, test = sample[train_idx], sample[test_idx]
    print(f"{len(train)} training clusters, {len(test)} in the held-out octant")
    warnings.simplefilter("ignore", OutOfRangeWarning)  # extremes of the held-out octant

    # 1. the CNN and the proxy on the same held-out clusters
    cnn = MassEstimator.from_name(
        "multiband_cnn", max_epochs=args.epochs, patience=5, device="auto", seed=0
    ).fit(train, progress=False)
    cnn.save(out / "multiband_cnn")
    proxy = MassEstimator.from_name("power_law", observable="n_phot_500c").fit(train)
    p_cnn, p_proxy = cnn.predict(test), proxy.predict(test)
    compare(p_proxy, p_cnn, names=["power_law(n_phot_500c)", "multiband_cnn"]).pprint(max_width=-1)
    plot_predictions(
        p_proxy, p_cnn, names=["N_phot,500c", "multi-band CNN"], path=out / "predictions.png"
    )

    # 2. saliency: d log10 M / d(photon counts), and its radial profile against R500c
    saliency = Attribution.from_name("saliency").attribute(cnn, test, progress=False)
    analytic = Attribution.from_name("analytic_proxy").attribute(proxy, test)
    saliency.plot(0, path=out / "saliency_map.png")
    profiles = {
        "multiband_cnn": radial_profile(saliency),
        "power_law (analytic)": radial_profile(analytic),
    }
    plot_radial_profile(profiles, path=out / "radial_profile.png")

    # 3. channel dynamics: the same CNN trained one band at a time
    dyn = channel_dynamics(
        MassEstimator.from_name("multiband_cnn", device="auto", seed=0),
        train,
        test,
        epochs_per_phase=args.dynamics_epochs,
        progress=False,
    )
    dyn.summary().pprint(max_width=-1)
    dyn.plot(out / "dynamics.png")
    dyn.plot_metrics(out / "dynamics_metrics.png")
    print(
        f"wrote the model, predictions.png, saliency_map.png, radial_profile.png, "
        f"dynamics.png and dynamics_metrics.png to {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
