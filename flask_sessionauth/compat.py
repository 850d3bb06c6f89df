"""flask-login's names that are not part of this extension's own API but
that applications and libraries built on flask-login call: thin wrappers over
the public core. The core never calls them.
"""

from __future__ import annotations

import typing as t
import warnings

from flask import g

from .extension import USER_KEY

if t.TYPE_CHECKING:
    from flask import Flask

    from .mixins import UserProtocol


class FlaskLoginNames:
    """flask-login 0.6.3's private and deprecated :class:`LoginManager`
    methods, mixed into :class:`~flask_sessionauth.LoginManager`.
    """

    if t.TYPE_CHECKING:
        identifier_generator: t.Callable[[], str]
        anonymous_user: t.Callable[[], UserProtocol]

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
        # flask-login's loads the user of the request and keeps it on g.
        return self.find_user()

    def _update_request_context_with_user(
        self, user: UserProtocol | None = None
    ) -> None:
        # flask-login's makes ``user``, or an anonymous user, the current one.
        setattr(g, USER_KEY, self.anonymous_user() if user is None else user)
