"""Write your own mass estimator, plug it in, and benchmark it like a built-in.

Defines ``PhotonRedshiftFit`` (log10 M500c linear in log10 N_phot,500c and
redshift, the worked example of ``docs/plugins.rst``), registers it through the
same pluggy hook the built-in estimators use, runs the package's conformance
checks on it (`astroclustermass.testing.check_estimator`), saves and reloads
it, and cross-validates it against the ``power_law`` proxy over the octants
of a mock universe.

In a package of your own, put the class in a module and the hook in the
module named by an entry point in the group ``astroclustermass`` (see
``docs/plugins.rst``); here `register_plugin` does that at run time.

Run::

    python examples/plugin_estimator.py --out plugin_example
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np

from astroclustermass import ClusterSample, MassEstimator, MockUniverse, compare, cross_validate
from astroclustermass.estimators import InputSpec
from astroclustermass.estimators._params import Interval
from astroclustermass.estimators.base import get_observable
from astroclustermass.exceptions import OutOfRangeWarning
from astroclustermass.plugins import hookimpl, register_plugin
from astroclustermass.testing import check_estimator


class PhotonRedshiftFit(MassEstimator):
    """log10 M500c linear in log10 N_phot,500c and redshift."""

    name: ClassVar[str] = "photon_redshift_fit"
    provides_sigma: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict] = {
        "observable": [str],
        "ridge": [Interval(float, 0, None)],
    }

    def __init__(self, observable: str = "n_phot_500c", ridge: float = 0.0):
        self.observable = observable
        self.ridge = ridge

    def input_spec(self) -> InputSpec:
        return InputSpec(observables=[self.observable], redshift=True)

    def _design(self, sample):
        counts = np.clip(get_observable(sample, self.observable), 1.0, None)
        z = np.asarray(sample.catalog["redshift"], dtype=float)
        return np.column_stack([np.ones_like(z), np.log10(counts), z])

    def _fit(self, sample, validation):
        x = self._design(sample)
        y = np.asarray(sample.catalog["log10_m500c"], dtype=float)
        a = x.T @ x + self.ridge * np.eye(x.shape[1])
        self.coef_ = np.linalg.solve(a, x.T @ y)
        self.scatter_ = float(np.std(y - x @ self.coef_))

    def _predict(self, sample):
        mu = self._design(sample) @ self.coef_
        return mu, np.full(mu.shape, self.scatter_)

    def _get_state(self):
        return {"scatter": self.scatter_}, {"coef": self.coef_}

    def _set_state(self, state, arrays):
        self.scatter_ = float(state["scatter"])
        self.coef_ = np.asarray(arrays["coef"], dtype=float)


@hookimpl
def astroclustermass_register_estimators(registry):
    registry.register("photon_redshift_fit", PhotonRedshiftFit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clusters", type=int, default=600, help="mock clusters (600)")
    parser.add_argument("--seed", type=int, default=0, help="mock universe seed (0)")
    parser.add_argument("--out", default="plugin_example", help="output directory")
    args = parser.parse_args(argv)
    out = Path(args.out)

    # what an entry point would do when the plugin package is installed
    plugin = SimpleNamespace(
        astroclustermass_register_estimators=astroclustermass_register_estimators
    )
    register_plugin(plugin, name="photon_redshift_example")
    print("registered:", MassEstimator.available()["photon_redshift_fit"])

    check_estimator(PhotonRedshiftFit())  # raises AssertionError on the first failed check
    print("check_estimator: all conformance checks pass")

    mock = out / "mock"
    if not (mock / "catalog.ecsv").exists():
        MockUniverse(n_clusters=args.n_clusters, seed=args.seed).write(mock, progress=False)
    sample = ClusterSample.build(mock, bands="bolometric", npix=16, progress=False)
    # a straight-line fit can predict the lightest or heaviest clusters (and those of a
    # held-out octant) a little outside the training mass range: it warns, we know
    warnings.simplefilter("ignore", OutOfRangeWarning)
    est = MassEstimator.from_name("photon_redshift_fit", ridge=1e-3).fit(sample)
    est.save(out / "photon_fit")
    same = MassEstimator.load(out / "photon_fit")  # found through the registry
    assert np.array_equal(same.predict(sample)["log10_m500c"], est.predict(sample)["log10_m500c"])
    print(f"coefficients (1, log10 N, z): {np.round(est.coef_, 3).tolist()}")

    mine = cross_validate("photon_redshift_fit", sample, folds="octant")
    proxy = cross_validate("power_law", sample, folds="octant", observable="n_phot_500c")
    compare(mine, proxy, names=["photon_redshift_fit", "power_law(n_phot_500c)"]).pprint(
        max_width=-1
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
