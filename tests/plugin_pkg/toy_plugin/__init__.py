"""A toy astroclustermass plugin (for the plugin tests and the docs' worked example)."""
