"""The :class:`LoginManager`: its settings, callbacks and the per-request
pipeline that finds the current user.
"""

from __future__ import annotations

import logging
import time
import typing as t

from flask import abort
from flask import current_app
from flask import flash
from flask import request

from . import pipeline
from .api import is_api_request
from .api import json_401
from .compat import FlaskLoginNames
from .config import ID_ATTRIBUTE
from .config import LOGIN_MESSAGE
from .config import LOGIN_MESSAGE_CATEGORY
from .config import REFRESH_MESSAGE
from .config import REFRESH_MESSAGE_CATEGORY
from .config import SESSION_EXPIRED_MESSAGE
from .config import SessionProtection
from .config import validate
from .current import user_context_processor
from .extension import expired_reason
from .extension import EXTENSION_KEY
from .mixins import AnonymousUserMixin
from .protection import create_identifier
from .session_state import check_store_lifetime
from .signals import user_needs_refresh
from .signals import user_unauthorized
from .urls import redirect_to_view

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response as BaseResponse

    from .mixins import UserProtocol

logger = logging.getLogger("flask_sessionauth")

#: A callable that may be a coroutine function; it is run through
#: :meth:`flask.Flask.ensure_sync`.
C = t.TypeVar("C", bound=t.Callable[..., t.Any])
ResponseReturn = t.Any


class LoginManager(FlaskLoginNames):
    """Holds the login settings and callbacks for one or more apps.

    A manager is not bound to an app: create it at import time and call
    :meth:`init_app` in the app factory, or pass the app right away.

    :param app: The app to register with now.
    :param add_context_processor: Make ``current_user`` available in
        templates.

    .. versionchanged:: 0.2.0
        Registering a manager on an app that already has one replaces it, as
        in flask-login (0.1.0 raised a :exc:`RuntimeError`).
    """

    def __init__(
        self, app: Flask | None = None, add_context_processor: bool = True
    ) -> None:
        #: The class or factory that makes the user when nobody is logged in.
        self.anonymous_user: t.Callable[[], UserProtocol] = AnonymousUserMixin
        #: The endpoint (or URL) of the login page. Without one,
        #: :meth:`unauthorized` aborts with 401.
        self.login_view: str | None = None
        #: Login views per blueprint name; ``None`` keys the app's default.
        self.blueprint_login_views: dict[str | None, str] = {}
        #: The message flashed when a user is sent to the login page, or None
        #: for no message.
        self.login_message: str | None = LOGIN_MESSAGE
        #: The category of :attr:`login_message`.
        self.login_message_category: str = LOGIN_MESSAGE_CATEGORY
        #: The endpoint (or URL) of the page that asks a user to log in again.
        self.refresh_view: str | None = None
        #: The message flashed when a user is sent to :attr:`refresh_view`.
        self.needs_refresh_message: str | None = REFRESH_MESSAGE
        #: The category of :attr:`needs_refresh_message`.
        self.needs_refresh_message_category: str = REFRESH_MESSAGE_CATEGORY
        #: The message flashed instead of :attr:`login_message` when the
        #: user's login just ended under ``SESSION_IDLE_TIMEOUT`` or
        #: ``SESSION_ABSOLUTE_TIMEOUT``, or None for no message.
        #:
        #: .. versionadded:: 0.2.0
        self.session_expired_message: str | None = SESSION_EXPIRED_MESSAGE
        #: The category of :attr:`session_expired_message`; None means
        #: :attr:`login_message_category`.
        #:
        #: .. versionadded:: 0.2.0
        self.session_expired_message_category: str | None = None
        #: ``"basic"``, ``"strong"`` or None. The ``SESSION_PROTECTION``
        #: config key takes precedence when it is set.
        self.session_protection: SessionProtection | None = "basic"
        #: Called with the flashed messages to translate them.
        self.localize_callback: t.Callable[[str], str] | None = None
        #: The name of the user method that returns the id to store.
        self.id_attribute: str = ID_ATTRIBUTE
        #: The handler set by :meth:`unauthorized_handler`.
        self.unauthorized_callback: t.Callable[[], ResponseReturn] | None = None
        #: The handler set by :meth:`needs_refresh_handler`.
        self.needs_refresh_callback: t.Callable[[], ResponseReturn] | None = None
        #: Names of blueprints whose views are API views: an unauthorized
        #: request to them gets a 401 JSON response, never a redirect.
        #:
        #: .. versionadded:: 0.1.0
        self.api_blueprints: set[str] = set()
        #: The time source, in seconds since the epoch: remember cookies are
        #: signed with its time and their age is checked against it, and
        #: :data:`FRESH_LOGIN_MAX_AGE` is measured with it. Tests may replace
        #: it.
        #:
        #: .. versionadded:: 0.1.0
        self.clock: t.Callable[[], float] = time.time

        self._user_callback: t.Callable[[str], t.Any] | None = None
        self._request_callback: t.Callable[[t.Any], t.Any] | None = None
        self._header_callback: t.Callable[[str], t.Any] | None = None
        self._basic_auth_callback: t.Callable[[str, str], t.Any] | None = None
        #: Makes the session-protection identifier of the current request's
        #: client. Replace it to identify clients another way.
        #:
        #: .. versionadded:: 0.2.0
        #:     flask-login's private ``_session_identifier_generator``, which
        #:     still works.
        self.identifier_generator: t.Callable[[], str] = create_identifier

        if app is not None:
            self.init_app(app, add_context_processor)

    def init_app(self, app: Flask, add_context_processor: bool = True) -> None:
        """Register the manager with ``app``: the ``after_request`` hook that
        writes the remember cookie and, unless told not to, a context processor
        that puts ``current_user`` into templates.

        A manager registered on an app that already has another replaces it,
        as in flask-login (Flask-Security-Too makes a new manager each time it
        is initialised on an app); the earlier manager is no longer used by
        that app, and a debug message is logged. Registering the same manager
        again does nothing.

        :raises ValueError: A config value the app set is not valid.
        :raises TypeError: A duration config value is neither a timedelta nor
            a number of seconds.

        .. versionchanged:: 0.2.0
            Replaces a manager registered earlier instead of raising a
            :exc:`RuntimeError`.
        """
        registered = app.extensions.get(EXTENSION_KEY)

        if registered is self:
            return

        validate(app.config)
        check_store_lifetime(app)

        if registered is not None:
            logger.debug(
                "Replaced the LoginManager registered on app %r with another;"
                " the earlier one is no longer used by this app.",
                app.name,
            )

        app.extensions[EXTENSION_KEY] = self
        # Code written for flask-login finds the manager here.
        app.login_manager = self  # type: ignore[attr-defined]

        # The hook finds the app's manager when it runs, so it serves
        # whichever manager is registered; it is added to an app once, and
        # early, so that it runs after the app's own hooks.
        if pipeline.after_request not in app.after_request_funcs.get(None, ()):
            app.after_request(pipeline.after_request)

        if (
            add_context_processor
            and user_context_processor not in app.template_context_processors[None]
        ):
            app.context_processor(user_context_processor)

    # Callback registration

    def user_loader(self, callback: C) -> C:
        """Register the function that loads a user from the id stored in the
        session or the remember cookie. It takes the id as it was stored (a
        :class:`str`, or the int or UUID a ``get_id()`` returned; always a
        :class:`str` from the remember cookie) and returns the user, or None
        when there is no such user. It may be ``async``.
        """
        self._user_callback = callback
        return callback

    @property
    def user_callback(self) -> t.Callable[[str], t.Any] | None:
        """The function registered with :meth:`user_loader`."""
        return self._user_callback

    def request_loader(self, callback: C) -> C:
        """Register a function that loads a user from the request (an API key
        in a header, say) when the session and the remember cookie name
        nobody. It takes :data:`flask.request` and returns the user or None.
        It may be ``async``.
        """
        self._request_callback = callback
        return callback

    @property
    def request_callback(self) -> t.Callable[[t.Any], t.Any] | None:
        """The function registered with :meth:`request_loader`."""
        return self._request_callback

    def header_loader(self, callback: C) -> C:
        """Register a function that loads a user from the value of the
        ``AUTH_HEADER_NAME`` header (``Authorization`` by default). It runs
        after the request loader and the basic auth loader, and returns the
        user or None. It may be ``async``.

        .. versionchanged:: 0.1.0
            Not deprecated, unlike in flask-login, and it runs even when a
            request loader is registered but found nobody.
        """
        self._header_callback = callback
        return callback

    @property
    def header_callback(self) -> t.Callable[[str], t.Any] | None:
        """The function registered with :meth:`header_loader`.

        .. versionadded:: 0.2.0
        """
        return self._header_callback

    def basic_auth_loader(self, callback: C) -> C:
        """Register a function that checks HTTP Basic credentials. It takes
        the username and the password and returns the user, or None when they
        are wrong. It may be ``async``.

        A user found this way is sent with :data:`user_loaded_from_request`
        and, unless ``BASIC_AUTH_LOGIN`` is false, logged in through
        :func:`login_user` (a fresh login, sending :data:`user_logged_in`), so
        the response sets the session cookie and the client need not send its
        password again. With a basic auth loader registered, 401 responses to
        API requests carry ``WWW-Authenticate: Basic realm="..."``, the realm
        being ``BASIC_AUTH_REALM``.

        .. versionadded:: 0.1.0
        """
        self._basic_auth_callback = callback
        return callback

    @property
    def basic_auth_callback(self) -> t.Callable[[str, str], t.Any] | None:
        """The function registered with :meth:`basic_auth_loader`.

        .. versionadded:: 0.2.0
        """
        return self._basic_auth_callback

    def unauthorized_handler(self, callback: C) -> C:
        """Register the function :meth:`unauthorized` calls instead of its
        default behaviour. It takes no arguments and returns a response.
        """
        self.unauthorized_callback = callback
        return callback

    def needs_refresh_handler(self, callback: C) -> C:
        """Register the function :meth:`needs_refresh` calls instead of its
        default behaviour. It takes no arguments and returns a response.
        """
        self.needs_refresh_callback = callback
        return callback

    # Responses for users who may not pass

    def unauthorized(self) -> ResponseReturn:
        """The response for a user who must log in. Return it from a view.

        Sends :data:`user_unauthorized`, then calls the
        :meth:`unauthorized_handler` if there is one. Otherwise an API request
        (see :func:`is_api_request`) gets a 401 JSON response, and a browser is
        redirected to the blueprint's or the app's login view with the page it
        wanted in ``next`` (or in the session, with ``USE_SESSION_FOR_NEXT``)
        and :attr:`login_message` flashed. Without a login view: 401.

        .. versionchanged:: 0.1.0
            API requests get a 401 JSON response instead of a redirect.

        .. versionchanged:: 0.2.0
            When the request's login just ended under a session timeout,
            :attr:`session_expired_message` is flashed instead, and an API
            request gets ``{"error": "session_expired", ...}``.
        """
        user_unauthorized.send(current_app._get_current_object())  # type: ignore[attr-defined,unused-ignore]

        if self.unauthorized_callback is not None:
            return current_app.ensure_sync(self.unauthorized_callback)()

        expired = expired_reason() is not None

        if is_api_request():
            if expired:
                return self._api_response("session_expired", SESSION_EXPIRED_MESSAGE)

            return self._api_response("unauthorized", "Authentication required.")

        login_view: str | None

        if request.blueprint in self.blueprint_login_views:
            login_view = self.blueprint_login_views[request.blueprint]
        else:
            login_view = self.login_view

        if not login_view:
            abort(401)

        if expired:
            self._flash(
                self.session_expired_message,
                self.session_expired_message_category or self.login_message_category,
            )
        else:
            self._flash(self.login_message, self.login_message_category)

        return redirect_to_view(login_view)

    def needs_refresh(self) -> ResponseReturn:
        """The response for a user whose login is not fresh enough. Return it
        from a view.

        Sends :data:`user_needs_refresh`, then calls the
        :meth:`needs_refresh_handler` if there is one. Otherwise an API
        request gets a 401 JSON response, and a browser is redirected to
        :attr:`refresh_view` with :attr:`needs_refresh_message` flashed.
        Without a refresh view: 401.

        .. versionchanged:: 0.1.0
            API requests get a 401 JSON response,
            ``{"error": "needs_refresh", ...}``, instead of a redirect.
        """
        user_needs_refresh.send(current_app._get_current_object())  # type: ignore[attr-defined,unused-ignore]

        if self.needs_refresh_callback is not None:
            return current_app.ensure_sync(self.needs_refresh_callback)()

        if is_api_request():
            return self._api_response("needs_refresh", "Please log in again.")

        if not self.refresh_view:
            abort(401)

        self._flash(self.needs_refresh_message, self.needs_refresh_message_category)
        return redirect_to_view(self.refresh_view)

    def _flash(self, message: str | None, category: str) -> None:
        if not message:
            return

        if self.localize_callback is not None:
            message = self.localize_callback(message)

        flash(message, category=category)

    def _api_response(self, error: str, message: str) -> BaseResponse:
        return json_401(
            error, message, basic_realm=self._basic_auth_callback is not None
        )

    # Finding the user

    def find_user(self) -> UserProtocol:
        """Run the pipeline that finds the user of the current request (see
        ``flask_sessionauth.pipeline``), make it the current user and
        return it. :data:`current_user` calls this on its first use in a
        request; call it yourself only to find the user again.

        .. versionadded:: 0.2.0
        """
        return pipeline.run(self)  # type: ignore[no-any-return]
