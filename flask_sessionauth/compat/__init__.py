"""Compatibility with flask-login 0.6.3, in one place.

- :mod:`flask_sessionauth.compat.flask_login`: flask-login's module tree
  (``flask_login``, ``flask_login.utils``, ``flask_login.login_manager``,
  ...), with flask-login's public names and the private ones dependents use;
- :func:`install_as_flask_login`, which makes ``import flask_login`` give
  that tree.

Everything here is a thin wrapper over the public core; the core never
imports this package. flask-login's private :class:`LoginManager` methods
that dependents call live on :class:`~flask_sessionauth.LoginManager` itself,
in one fenced section, so that ``flask_login.LoginManager is
flask_sessionauth.LoginManager``.
"""

from __future__ import annotations

from .install import install_as_flask_login as install_as_flask_login

__all__ = ["install_as_flask_login"]
