"""Compatibility with flask-login 0.6.3, in one place.

- :class:`FlaskLoginNames`: the private and deprecated :class:`LoginManager`
  methods that code written for flask-login calls, mixed into
  :class:`~flask_sessionauth.LoginManager`;
- :mod:`flask_sessionauth.compat.flask_login`: flask-login's module tree
  (``flask_login``, ``flask_login.utils``, ``flask_login.login_manager``,
  ...), with flask-login's public names and the private ones dependents use;
- :func:`install_as_flask_login`, which makes ``import flask_login`` give
  that tree.

Everything here is a thin wrapper over the public core; the core never
imports this package, except :mod:`~flask_sessionauth.manager` for the mixin.
"""

from __future__ import annotations

from .install import install_as_flask_login as install_as_flask_login
from .manager_names import FlaskLoginNames as FlaskLoginNames

__all__ = ["FlaskLoginNames", "install_as_flask_login"]
