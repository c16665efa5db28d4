"""The layer rule of docs/internals.rst: a module imports only its own layer or lower."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import astroclustermass

PKG = Path(astroclustermass.__file__).parent

# top-level module or subpackage -> layer
LAYERS = {
    "exceptions": 0,
    "_utils": 0,
    "cosmology": 0,
    "bands": 0,
    "version": 0,
    "events": 1,
    "transforms": 1,
    "images": 1,
    "dynamics": 1,
    "sample": 2,
    "plugins": 2,
    "estimators": 3,
    "attribution": 4,
    "evaluation": 4,
    "testing": 4,
    "benchmarks": 5,
    "cli": 5,
    "__init__": 5,
    "__main__": 5,
}
# the simulator writes what the readers read; it may use L0 only
SIMULATE_MAX = 0


def _layer_of(unit: str) -> int | None:
    """Layer of a unit: a root module or subpackage, read from the package structure."""
    return LAYERS.get(unit)


def _unit(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imported_units(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(PKG)
    depth = len(rel.parts) - 1  # directories below the package root
    units = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                mod = node.module or ""
                if mod == "astroclustermass" or mod.startswith("astroclustermass."):
                    parts = mod.split(".")[1:]
                    if parts:
                        units.add(parts[0])
                    else:
                        units.update(a.name for a in node.names)
            else:
                up = node.level - 1
                if up > depth:
                    continue
                base = list(rel.parts[:-1])[: depth - up] if up else list(rel.parts[:-1])
                parts = base + ((node.module or "").split(".") if node.module else [])
                if parts:
                    units.add(parts[0])
                else:  # from . import x at the package root
                    units.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("astroclustermass."):
                    units.add(alias.name.split(".")[1])
    return {u.removesuffix(".py") for u in units}


MODULES = sorted(p for p in PKG.rglob("*.py") if "tests" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_module_imports_only_lower_layers(path):
    unit = _unit(path)
    if unit == "simulate":
        allowed = SIMULATE_MAX
    else:
        allowed = _layer_of(unit)
        assert allowed is not None, f"{unit} has no layer: add it to LAYERS in this test"
    for dep in _imported_units(path):
        if dep in ("simulate",) and unit != "simulate":
            dep_layer = 2
        elif dep == unit:
            continue
        else:
            dep_layer = _layer_of(dep)
            assert dep_layer is not None, f"{path}: imports unknown unit {dep!r}"
        assert dep_layer <= allowed, (
            f"{path.relative_to(PKG)} (layer {allowed}) imports {dep} (layer {dep_layer})"
        )


def test_package_root_holds_only_public_modules():
    """Private modules live inside the subpackage of their concept, never at the root."""
    root = {p.stem for p in PKG.glob("*.py")}
    assert root <= set(LAYERS), f"root modules without a layer: {sorted(root - set(LAYERS))}"
    private = sorted(m for m in root if m.startswith("_") and m not in ("__init__", "__main__"))
    assert not private, f"private modules at the package root: {private}"
    for sub in (p for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        assert sub.name in LAYERS or sub.name == "simulate", f"subpackage {sub.name} has no layer"


def test_import_has_no_heavy_side_effects():
    import subprocess
    import sys

    code = "import sys, astroclustermass; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
