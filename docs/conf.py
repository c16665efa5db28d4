"""Sphinx configuration for astroclustermass."""

import importlib.metadata

project = "astroclustermass"
author = "astroclustermass developers"
copyright = "2026, astroclustermass developers"
try:
    release = importlib.metadata.version("astroclustermass")
except importlib.metadata.PackageNotFoundError:  # building from a plain checkout
    release = "dev"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_automodapi.automodapi",
    "sphinx_automodapi.smart_resolver",
]

numpydoc_show_class_members = False
numpydoc_xref_param_type = False
automodapi_toctreedirnm = "api"
automodsumm_inherited_members = False
autodoc_typehints = "none"
default_role = "obj"
nitpicky = False


exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
