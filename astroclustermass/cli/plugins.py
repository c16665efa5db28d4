"""``astroclustermass plugins``: list plugins, estimators and attribution methods."""

from __future__ import annotations

import argparse

from ..exceptions import AstroClusterMassError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``plugins`` command to the sub-parsers of the main parser."""
    p = sub.add_parser("plugins", help="list plugins, estimators and attribution methods")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``astroclustermass plugins`` with the parsed ``args``; returns the exit status."""
    from ..plugins import attribution_registry, estimator_registry, list_plugins

    print("plugins:")
    for p in list_plugins():
        version = f" {p['version']}" if p["version"] else ""
        status = "" if p["status"] == "loaded" else f"  [{p['status']}]"
        print(f"  {p['name']}{version}{status}")
    for title, registry in (
        ("estimators", estimator_registry()),
        ("attributions", attribution_registry()),
    ):
        print(f"{title}:")
        described = registry.describe()
        width = max((len(n) for n in described), default=0)
        for name, text in described.items():
            try:
                origin = registry.entry(name).plugin
            except AstroClusterMassError as err:  # a plugin whose class cannot be imported
                origin = f"unavailable: {err}"
            tail = f"  (from {origin})" if origin and origin != "builtin" else ""
            print(f"  {name:<{width}}  {text}{tail}")
    from ..estimators.pretrained import pretrained_models

    print("pretrained models (predict --model pretrained:NAME; card: README.md beside each):")
    for row in pretrained_models():
        print(
            f"  {row['name']}  {row['description']}; {row['npix']}² maps, "
            f"held-out scatter {row['scatter_dex']:.3f} dex"
        )
    return 0
