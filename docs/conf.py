"""Sphinx configuration for the flask-sessionauth documentation."""

from __future__ import annotations

import importlib.metadata

# -- Project ------------------------------------------------------------------

project = "flask-sessionauth"
author = "flask-sessionauth contributors"
copyright = author
# Autodoc imports the package, so the docs are built with it installed; its
# metadata is then the one source of the version number.
release = importlib.metadata.version("flask-sessionauth")
version = ".".join(release.split(".")[:2])

# -- General ------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "myst_parser",
]
# The sources are reST; myst_parser is only here so changes.rst can include
# CHANGES.md from the project root.
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
# Builds run offline, so no intersphinx; unresolved type references in
# signatures are left as plain text instead of failing the -W build.
nitpicky = False

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

# -- HTML ---------------------------------------------------------------------

html_theme = "furo"
html_title = f"flask-sessionauth {release}"
