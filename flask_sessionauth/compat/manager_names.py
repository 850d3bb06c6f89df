"""flask-login 0.6.3's private and deprecated :class:`LoginManager` methods,
which libraries built on flask-login call: thin wrappers over the public
core, mixed into :class:`~flask_sessionauth.LoginManager`. The core never
calls them.
"""

from __future__ import annotations

import typing as t
import warnings

from flask import current_app
from flask import g
from flask import has_app_context
from flask import session

from .. import pipeline
from .. import remember
from ..extension import USER_KEY

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response

    from ..manager import LoginManager
    from ..mixins import UserProtocol


class FlaskLoginNames:
    """flask-login 0.6.3's private and deprecated :class:`LoginManager`
    names, mixed into :class:`~flask_sessionauth.LoginManager`.

    ``_user_callback`` and ``_request_callback`` need no wrapper: they are
    where the manager keeps the loaders, so assigning them directly works as
    it did with flask-login.
    """

    if t.TYPE_CHECKING:
        identifier_generator: t.Callable[[], str]
        anonymous_user: t.Callable[[], UserProtocol]
        clock: t.Callable[[], float]

        def init_app(self, app: Flask, add_context_processor: bool = True) -> None: ...

        def find_user(self) -> UserProtocol: ...

    def setup_app(self, app: Flask, add_context_processor: bool = True) -> None:
        """Deprecated name of :meth:`init_app`, kept because flask-login 0.6.3
        has it.

        .. deprecated:: 0.1.0
            Use :meth:`init_app`.
        """
        warnings.warn(
            "'setup_app' is deprecated. Use 'init_app' instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        self.init_app(app, add_context_processor)

    @property
    def _session_identifier_generator(self) -> t.Callable[[], str]:
        return self.identifier_generator

    @_session_identifier_generator.setter
    def _session_identifier_generator(self, generator: t.Callable[[], str]) -> None:
        self.identifier_generator = generator

    def _load_user(self) -> UserProtocol:
        # flask-login's finds the user of the request and keeps it on g (it
        # returned None; returning the user as well breaks no caller).
        return self.find_user()

    def _update_request_context_with_user(
        self, user: UserProtocol | None = None
    ) -> None:
        # flask-login's makes ``user``, or an anonymous user, the current one
        # without touching the session (Flask-Security-Too's HTTP Basic and
        # token checks use it).
        setattr(g, USER_KEY, self.anonymous_user() if user is None else user)

    def _session_protection_failed(self) -> bool:
        # flask-login's runs session protection and answers whether it ended
        # the login. A session without a login has nothing to protect.
        if "_user_id" not in session:
            return False

        visit = pipeline.Visit.current(t.cast("LoginManager", self))
        return not pipeline.protect(visit)

    def _set_cookie(self, response: Response) -> None:
        # flask-login's sets the remember cookie of the session's login.
        remember.set_login_cookie(
            response,
            current_app.config,
            self.clock,
            session._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
        )

    def _clear_cookie(self, response: Response) -> None:
        # flask-login's deletes the remember cookie.
        remember.clear_cookie(response, current_app.config)

    @property
    def _login_disabled(self) -> bool:
        """Deprecated: read ``app.config["LOGIN_DISABLED"]``."""
        _warn_login_disabled()
        return has_app_context() and bool(current_app.config.get("LOGIN_DISABLED"))

    @_login_disabled.setter
    def _login_disabled(self, value: bool) -> None:
        _warn_login_disabled()

        if has_app_context():
            current_app.config["LOGIN_DISABLED"] = value


def _warn_login_disabled() -> None:
    warnings.warn(
        "'_login_disabled' is deprecated. Use 'LOGIN_DISABLED' in 'app.config'"
        " instead.",
        DeprecationWarning,
        stacklevel=3,
    )
