"""Making ``import flask_login`` give flask-sessionauth."""

from __future__ import annotations

import importlib
import sys
import typing as t

if t.TYPE_CHECKING:
    from types import ModuleType

#: The package that stands in for flask-login.
PACKAGE = "flask_sessionauth.compat.flask_login"
#: flask-login 0.6.3's submodules, each given under ``flask_login.<name>``.
SUBMODULES = (
    "__about__",
    "config",
    "login_manager",
    "mixins",
    "signals",
    "test_client",
    "utils",
)


def install_as_flask_login() -> None:
    """Make ``import flask_login`` and ``import flask_login.<submodule>``
    (``config``, ``utils``, ``login_manager``, ``mixins``, ``signals``,
    ``test_client``, ``__about__``) give flask-sessionauth's compatible
    modules, so that libraries written for flask-login, such as
    Flask-Security-Too and Flask-AppBuilder, run on flask-sessionauth
    unchanged.

    Call it before anything imports ``flask_login``: in the first lines of the
    WSGI entry point, or of the module holding the app factory. Calling it
    again does nothing. Importing :mod:`flask_sessionauth` installs nothing.

    :raises RuntimeError: The real flask-login was imported already; code
        that imported it keeps using it, so installing now would leave two
        login extensions in one process.

    .. versionadded:: 0.2.0
    """
    package = importlib.import_module(PACKAGE)
    present = sys.modules.get("flask_login")

    if present is package:
        return

    if present is not None:
        where = getattr(present, "__file__", None) or repr(present)
        raise RuntimeError(
            f"flask_login was already imported (from {where}) before"
            " install_as_flask_login() was called, and modules that imported"
            " it keep using it. Call flask_sessionauth.install_as_flask_login()"
            " first: in the first lines of the WSGI entry point or of the"
            " module holding the app factory, before importing any library"
            " built on flask-login."
        )

    modules: dict[str, ModuleType] = {"flask_login": package}

    for name in SUBMODULES:
        modules[f"flask_login.{name}"] = importlib.import_module(f"{PACKAGE}.{name}")

    stale = [name for name in sys.modules if name.startswith("flask_login.")]

    if stale:
        # A submodule imported without its package (never the case in
        # practice): refuse rather than mix the two.
        raise RuntimeError(
            f"{stale[0]} was already imported before install_as_flask_login()"
            " was called. Call it first: in the first lines of the WSGI entry"
            " point or of the module holding the app factory."
        )

    sys.modules.update(modules)
