"""Sphinx configuration for the flask-sessionauth documentation."""

from __future__ import annotations

import importlib.metadata
import sys
import typing as t

from sphinx.util.nodes import make_refnode

if t.TYPE_CHECKING:
    from docutils import nodes
    from sphinx.addnodes import pending_xref
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

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

# Every reference to this project's own objects must resolve, so a renamed
# function or a typo in a docstring fails the -W build. Builds run offline,
# without intersphinx, so names from other projects and the type variables
# in signatures cannot resolve and are left as plain text.
nitpicky = True
_OTHER_MODULES = sorted(
    {*sys.stdlib_module_names, "blinker", "flask", "flask_session", "flask_wtf"}
    | {"itsdangerous", "pytest", "redis", "sqlalchemy", "t", "werkzeug"}
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(_OTHER_MODULES)})\..+"),
    (r"py:.*", r"Flask|Request|Response|BaseResponse|SessionMixin|timedelta|Iterable"),
    (r"py:.*", r"dict\..+"),
    (r"py:.*", r"[CPR]|flask_sessionauth\.\w+\.[CPR]"),
    (r"py:.*", r"ResponseReturn|SessionProtection|Config|UserProxy"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

# -- HTML ---------------------------------------------------------------------

html_theme = "furo"
html_title = f"flask-sessionauth {release}"


# -- Short references ---------------------------------------------------------


def _resolve_short_name(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.Element
) -> nodes.reference | None:
    """Resolve a Python reference that names an object by its short name.

    Docstrings say :func:`login_user` wherever they are, and the API page
    documents objects under several modules (``flask_sessionauth``,
    ``flask_sessionauth.redirects``, ``flask_sessionauth.signals``, ...).
    Sphinx only looks in the referring module and the global scope; this
    looks for the name in every module, and links it when exactly one object
    has it.
    """
    if node.get("refdomain") != "py":
        return None

    domain = env.get_domain("py")
    matches = domain.find_obj(  # type: ignore[attr-defined]
        env,
        node.get("py:module"),
        node.get("py:class"),
        node["reftarget"],
        node["reftype"],
        1,
    )

    if len(matches) != 1:
        return None

    name, entry = matches[0]
    return make_refnode(
        app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name
    )


def setup(app: Sphinx) -> dict[str, t.Any]:
    app.connect("missing-reference", _resolve_short_name)
    return {"parallel_read_safe": True}
