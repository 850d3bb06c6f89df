"""The :class:`LoginManager`: its settings, its callbacks, its registration
on an app, and the responses for users who may not pass.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
import typing as t
import warnings
from datetime import timedelta

from flask import abort
from flask import current_app
from flask import flash
from flask import has_app_context
from flask import has_request_context
from flask import request

from . import decorators
from . import login as logins
from . import pipeline
from . import registry
from . import remember
from . import tokens
from .api import is_api_request
from .api import json_401
from .config import ID_ATTRIBUTE
from .config import LOGIN_MESSAGE
from .config import LOGIN_MESSAGE_CATEGORY
from .config import realm_config
from .config import REFRESH_MESSAGE
from .config import REFRESH_MESSAGE_CATEGORY
from .config import SESSION_EXPIRED_MESSAGE
from .config import SessionProtection
from .config import setting
from .config import validate
from .config import validate_realm
from .current import user_context_processor
from .current import user_of
from .lifetime import check_settings
from .mixins import AnonymousUserMixin
from .protection import create_identifier
from .protection import protection_failed
from .realms import check_realm_name
from .realms import EXTENSION_KEY
from .realms import realms
from .realms import register
from .realms import signal_extra
from .registry import Health
from .request_login import CookieWork
from .request_login import current_login
from .revocation import rebind_session
from .revocation import revoke_all
from .signals import user_needs_refresh
from .signals import user_unauthorized
from .stores import check_store
from .urls import redirect_to_view

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response as BaseResponse

    from .current import UserProxy
    from .mixins import UserProtocol
    from .request_login import RequestLogin
    from .stores import LoginRecord
    from .stores import LoginStore

logger = logging.getLogger("flask_sessionauth")

#: A callable that may be a coroutine function; it is run through
#: :meth:`flask.Flask.ensure_sync`.
C = t.TypeVar("C", bound=t.Callable[..., t.Any])
P = t.ParamSpec("P")
R = t.TypeVar("R")
ResponseReturn = t.Any


class Callback(t.NamedTuple):
    """A registered loader, and whether it is ``async`` (asked once, when it
    is registered, rather than on every call).
    """

    function: t.Callable[..., t.Any]
    is_async: bool


def _callback(function: t.Callable[..., t.Any] | None) -> Callback | None:
    if function is None:
        return None

    return Callback(function, inspect.iscoroutinefunction(function))


@dataclasses.dataclass(slots=True)
class Loaders:
    """The loaders registered on a manager."""

    #: :meth:`LoginManager.user_loader`'s.
    user: Callback | None = None
    #: :meth:`LoginManager.request_loader`'s.
    request: Callback | None = None
    #: :meth:`LoginManager.header_loader`'s.
    header: Callback | None = None
    #: :meth:`LoginManager.basic_auth_loader`'s.
    basic_auth: Callback | None = None

    @property
    def any_async(self) -> bool:
        """Whether any of them is ``async``."""
        return any(
            callback is not None and callback.is_async
            for callback in (self.user, self.request, self.header, self.basic_auth)
        )


#: flask-login's private :class:`LoginManager` methods that the core never
#: calls: a subclass that overrides one would be silently ignored, so
#: :meth:`LoginManager.init_app` refuses it, saying what to override instead.
_UNCALLED_OVERRIDES = {
    "_load_user": (
        "Override find_user() instead (flask-sessionauth calls it on the first"
        " use of current_user in a request), or register a request_loader."
    ),
    "_session_protection_failed": (
        "Replace identifier_generator to identify clients another way, set"
        " SESSION_PROTECTION, or connect to the session_protected signal."
    ),
}


class LoginManager:
    """Holds the login settings and callbacks for one or more apps.

    A manager is not bound to an app: create it at import time and call
    :meth:`init_app` in the app factory, or pass the app right away.

    :param app: The app to register with now.
    :param add_context_processor: Make ``current_user`` available in
        templates (and ``current_<realm>`` for a named realm).
    :param realm: The name of the realm this manager logs users in to, for
        an app with several kinds of users (see :doc:`howto-realms`). None,
        the default, is the default realm, with flask-login's session keys
        and remember cookie.
    :param registry: A store for the realm's login registry (see
        :doc:`howto-devices`): every login is recorded, so that users can
        see where they are logged in and end any one login. None, the
        default, keeps no records.
    :raises ValueError: ``realm`` is not a valid realm name.
    :raises TypeError: ``registry`` is not a store instance.

    .. versionchanged:: 0.2.0
        Registering a manager on an app that already has one replaces it, as
        in flask-login (0.1.0 raised a :exc:`RuntimeError`).

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        add_context_processor: bool = True,
        *,
        realm: str | None = None,
        registry: LoginStore | None = None,
    ) -> None:
        #: The name of the manager's realm, None for the default realm.
        #:
        #: .. versionadded:: 0.2.0
        self.realm: str | None = check_realm_name(realm)
        #: The user of the realm in the current request, as a proxy: for
        #: the default realm, :data:`~flask_sessionauth.current_user`.
        #:
        #: .. versionadded:: 0.2.0
        self.current_user: UserProxy = user_of(self.realm)
        #: The store of the realm's login registry, or None for none. Set it
        #: before the app serves requests.
        #:
        #: .. versionadded:: 0.2.0
        self.registry: LoginStore | None = (
            None if registry is None else check_store(registry)
        )
        #: Whether :attr:`registry` is reachable, for logging an outage
        #: once.
        #:
        #: .. versionadded:: 0.2.0
        self.registry_health = Health()
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
        #: user's login just ended under ``SESSIONAUTH_SESSION_IDLE_TIMEOUT`` or
        #: ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT``, or None for no message.
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
        #: ``SESSIONAUTH_FRESH_LOGIN_MAX_AGE`` is measured with it. Tests may
        #: replace it.
        #:
        #: .. versionadded:: 0.1.0
        self.clock: t.Callable[[], float] = time.time

        #: The registered loaders.
        #:
        #: .. versionadded:: 0.2.0
        self.loaders = Loaders()
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

        :raises ValueError: A config value the app set is not valid, or an
            old spelling of a ``SESSIONAUTH_`` key is set.
        :raises TypeError: A config value has the wrong type, or a subclass
            overrides a flask-login method that is never called.

        .. versionchanged:: 0.2.0
            Replaces a manager registered earlier instead of raising a
            :exc:`RuntimeError`.
        """
        realm = self.realm

        if self.registry is not None:
            check_store(self.registry)  # set after __init__, say

        if realm is None:
            registered = app.extensions.get(EXTENSION_KEY)
        else:
            registered = realms(app).get(realm)

        if registered is self:
            return

        for name, instead in _UNCALLED_OVERRIDES.items():
            if getattr(type(self), name) is not getattr(LoginManager, name):
                raise TypeError(
                    f"{type(self).__name__} overrides flask-login's {name}(),"
                    f" which flask-sessionauth never calls. {instead}"
                )

        validate(app.config)

        if realm is not None:
            validate_realm(app.config, realm)

        check_settings(app, realm_config(app.config, realm))

        if register(app, self) is not None:
            logger.debug(
                "Replaced the LoginManager registered on app %r with another;"
                " the earlier one is no longer used by this app.",
                app.name,
            )

        if realm is None:
            # Code written for flask-login finds the manager here.
            app.login_manager = self  # type: ignore[attr-defined]

        # The hook finds the request's logins when it runs, so it serves
        # whichever managers are registered; it is added to an app once, and
        # early, so that it runs after the app's own hooks.
        if remember.after_request not in app.after_request_funcs.get(None, ()):
            app.after_request(remember.after_request)

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
        self.loaders.user = _callback(callback)
        return callback

    @property
    def user_callback(self) -> t.Callable[[str], t.Any] | None:
        """The function registered with :meth:`user_loader`."""
        return None if self.loaders.user is None else self.loaders.user.function

    def request_loader(self, callback: C) -> C:
        """Register a function that loads a user from the request (an API key
        in a header, say) when the session and the remember cookie name
        nobody. It takes :data:`flask.request` and returns the user or None.
        It may be ``async``.
        """
        self.loaders.request = _callback(callback)
        return callback

    @property
    def request_callback(self) -> t.Callable[[t.Any], t.Any] | None:
        """The function registered with :meth:`request_loader`."""
        loader = self.loaders.request
        return None if loader is None else loader.function

    def header_loader(self, callback: C) -> C:
        """Register a function that loads a user from the value of the
        ``AUTH_HEADER_NAME`` header (``Authorization`` by default). It runs
        after the request loader and the basic auth loader, and returns the
        user or None. It may be ``async``.

        .. versionchanged:: 0.1.0
            Not deprecated, unlike in flask-login, and it runs even when a
            request loader is registered but found nobody.
        """
        self.loaders.header = _callback(callback)
        return callback

    @property
    def header_callback(self) -> t.Callable[[str], t.Any] | None:
        """The function registered with :meth:`header_loader`.

        .. versionadded:: 0.2.0
        """
        loader = self.loaders.header
        return None if loader is None else loader.function

    def basic_auth_loader(self, callback: C) -> C:
        """Register a function that checks HTTP Basic credentials. It takes
        the username and the password and returns the user, or None when they
        are wrong. It may be ``async``.

        A user found this way is sent with :data:`user_loaded_from_request`
        and, unless ``SESSIONAUTH_BASIC_AUTH_LOGIN`` is false, logged in through
        :func:`login_user` (a fresh login, sending :data:`user_logged_in`), so
        the response sets the session cookie and the client need not send its
        password again. With a basic auth loader registered, 401 responses to
        API requests carry ``WWW-Authenticate: Basic realm="..."``, the realm
        being ``SESSIONAUTH_BASIC_AUTH_REALM``.

        .. versionadded:: 0.1.0
        """
        self.loaders.basic_auth = _callback(callback)
        return callback

    @property
    def basic_auth_callback(self) -> t.Callable[[str, str], t.Any] | None:
        """The function registered with :meth:`basic_auth_loader`.

        .. versionadded:: 0.2.0
        """
        loader = self.loaders.basic_auth
        return None if loader is None else loader.function

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
        user_unauthorized.send(
            current_app._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
            **signal_extra(self.realm),
        )

        if self.unauthorized_callback is not None:
            return current_app.ensure_sync(self.unauthorized_callback)()

        ended = current_login(self.realm).ended
        expired = ended in ("idle", "absolute")

        # A request that sent an API token is an API client.
        if (
            ended == "invalid_token"
            or tokens.bearer(request.environ.get("HTTP_AUTHORIZATION")) is not None
            or is_api_request()
        ):
            if ended == "unavailable":
                response = self._api_response(
                    "registry_unavailable",
                    "Logins cannot be checked right now. Please try again soon.",
                )
                response.status_code = 503
                return response

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
        user_needs_refresh.send(
            current_app._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
            **signal_extra(self.realm),
        )

        if self.needs_refresh_callback is not None:
            return current_app.ensure_sync(self.needs_refresh_callback)()

        record = current_login(self.realm).record

        if (record is not None and record.method == "token") or is_api_request():
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

    def _api_response(
        self,
        error: str,
        message: str,
        *,
        status: int = 401,
        scope: str | None = None,
    ) -> BaseResponse:
        login = current_login(self.realm)
        realm = str(setting(login.config, "SESSIONAUTH_BASIC_AUTH_REALM"))
        bearer_error = None

        if scope is not None:
            bearer_error = "insufficient_scope"
        elif login.ended == "invalid_token":
            bearer_error = error = "invalid_token"
            message = "The API token is not valid: unknown, expired or revoked."

        return json_401(
            error,
            message,
            basic_realm=realm if self.loaders.basic_auth is not None else None,
            # An app that takes API tokens says so, as RFC 6750 asks.
            bearer_realm=realm if self.registry is not None else None,
            bearer_error=bearer_error,
            status=status,
            scope=scope,
        )

    def insufficient_scope(self, scopes: t.Iterable[str]) -> BaseResponse:
        """The response for a request whose API token lacks ``scopes``: 403,
        ``{"error": "insufficient_scope", ...}`` with the scopes, and an
        RFC 6750 challenge naming them.

        .. versionadded:: 0.2.0
        """
        needed = " ".join(sorted(scopes))
        return self._api_response(
            "insufficient_scope",
            f"The API token lacks the scope this needs: {needed}.",
            status=403,
            scope=needed,
        )

    # The realm's login, for code that holds the manager

    def login_user(
        self,
        user: t.Any,
        remember: bool = False,
        duration: timedelta | None = None,
        force: bool = False,
        fresh: bool = True,
    ) -> bool:
        """:func:`~flask_sessionauth.login_user` in this manager's realm.

        .. versionadded:: 0.2.0
        """
        return logins.login_user(
            user, remember, duration, force, fresh, realm=self.realm
        )

    def logout_user(self) -> bool:
        """:func:`~flask_sessionauth.logout_user` in this manager's realm.

        .. versionadded:: 0.2.0
        """
        return logins.logout_user(realm=self.realm)

    def confirm_login(self) -> None:
        """:func:`~flask_sessionauth.confirm_login` in this manager's realm.

        .. versionadded:: 0.2.0
        """
        logins.confirm_login(realm=self.realm)

    def login_fresh(self) -> bool:
        """:func:`~flask_sessionauth.login_fresh` in this manager's realm.

        .. versionadded:: 0.2.0
        """
        return logins.login_fresh(realm=self.realm)

    def rebind_session(self, user: t.Any = None) -> None:
        """:func:`~flask_sessionauth.rebind_session` in this manager's realm.

        .. versionadded:: 0.2.0
        """
        rebind_session(user, realm=self.realm)

    def login_required(self, func: t.Callable[P, R]) -> t.Callable[P, R]:
        """:func:`~flask_sessionauth.login_required` for this manager's
        realm: only the realm's logged-in users reach the view, and others
        get this manager's :meth:`unauthorized`.

        .. versionadded:: 0.2.0
        """
        return decorators.guard(func, fresh=False, realm=self.realm)

    def fresh_login_required(self, func: t.Callable[P, R]) -> t.Callable[P, R]:
        """:func:`~flask_sessionauth.fresh_login_required` for this
        manager's realm.

        .. versionadded:: 0.2.0
        """
        return decorators.guard(func, fresh=True, realm=self.realm)

    # The login registry

    def _need_registry(self, name: str) -> LoginStore:
        if self.registry is None:
            raise RuntimeError(
                f"{name}() needs a login registry, and this LoginManager has"
                " none. Pass one: LoginManager(app, registry=MemoryLoginStore()),"
                " or RedisLoginStore(...) to share it between servers."
            )

        return self.registry

    def _request_login(self) -> RequestLogin | None:
        # The realm's login in the current request, if there is one and it
        # is this manager's.
        if not has_request_context():
            return None

        login = current_login(self.realm)
        return login if login.manager is self else None

    def sessions(self, user: t.Any) -> list[LoginRecord]:
        """Where ``user`` is logged in, in this manager's realm: the active
        records of the login registry, newest first, the current request's
        login marked :attr:`~flask_sessionauth.stores.LoginRecord.current`.
        Records bound to a session token the user no longer has are ended
        on the way. API tokens are listed by :meth:`tokens`.

        :raises RuntimeError: The manager has no :attr:`registry`.
        :raises StoreUnavailable: The registry cannot be reached.

        .. versionadded:: 0.2.0
        """
        self._need_registry("sessions")
        login = self._request_login()
        current = None

        if login is not None:
            login.user  # noqa: B018 -- checks the current login and its record
            current = login.record

        found = registry.records(
            current_app._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
            self,
            user,
            current=current,
        )
        return [record for record in found if record.method != "token"]

    def revoke_session(self, user: t.Any, session_id: str) -> bool:
        """End one of ``user``'s logins: the record whose
        :attr:`~flask_sessionauth.stores.LoginRecord.id` is ``session_id``
        (as :meth:`sessions` lists it). Its session is anonymous on its next
        request, and its remember cookie never logs in again.

        :return: Whether an active login of the user was ended.
        :raises RuntimeError: The manager has no :attr:`registry`.
        :raises StoreUnavailable: The registry cannot be reached.

        .. versionadded:: 0.2.0
        """
        self._need_registry("revoke_session")
        login = self._request_login()
        app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]

        for record in registry.records(app, self, user):
            # Record ids are public (hashes of the secrets), so a plain
            # comparison leaks nothing; session_id comes from a form.
            if record.id == session_id:
                registry.end(app, self, record, "revoked", user=user)

                if (
                    login is not None
                    and login.record is not None
                    and login.record.id == record.id
                ):
                    login.record = None
                    login.end("revoked")
                    login.owe_cookie(CookieWork.CLEAR)
                    login.set_user(self.anonymous_user())

                return True

        return False

    def revoke_other_sessions(self) -> int:
        """End every login of the current user but this one, in this
        manager's realm: after a password change, say. API tokens are left
        alone (:meth:`revoke_token`, :meth:`revoke_all_sessions`).

        :return: How many logins were ended.
        :raises RuntimeError: The manager has no :attr:`registry`, or nobody
            is logged in to this realm's session.
        :raises StoreUnavailable: The registry cannot be reached.

        .. versionadded:: 0.2.0
        """
        self._need_registry("revoke_other_sessions")
        login = current_login(self.realm)
        user = login.user

        if not user.is_authenticated or login.record is None:
            raise RuntimeError(
                "revoke_other_sessions() needs a user logged in to this"
                " session. Call it from a view under login_required."
            )

        return registry.revoke_records(
            login.app,
            self,
            user,
            # API tokens are not devices: they end with revoke_token() or
            # revoke_all_sessions().
            lambda record: not record.current and record.method != "token",
            current=login.record,
        )

    def issue_token(
        self,
        user: t.Any,
        name: str,
        scopes: t.Iterable[str] = (),
        expires_in: timedelta | None = None,
        *,
        bind: bool = True,
    ) -> str:
        """Issue an API token for ``user`` in this manager's realm, and
        return it: the only time it exists in plain text, so show it once.
        A request sending it as ``Authorization: Bearer <token>`` is
        ``user``'s. Only its SHA-256 is stored.

        :param name: What the user calls it (``"ci deploy"``).
        :param scopes: What it may do, for :func:`scope_required`. A session
            login may do everything.
        :param expires_in: How long it lasts; None for no expiry.
        :param bind: End the token when the user's session token changes (a
            new password), with the user's other logins. False keeps it.
        :raises RuntimeError: The manager has no :attr:`registry`.
        :raises ValueError: A name or scope is not valid.
        :raises StoreUnavailable: The registry cannot be reached.

        .. versionadded:: 0.2.0
        """
        self._need_registry("issue_token")

        if expires_in is not None and (
            not isinstance(expires_in, timedelta) or expires_in <= timedelta()
        ):
            raise ValueError(
                f"expires_in must be a positive datetime.timedelta or None, not"
                f" {expires_in!r}. For example: expires_in=timedelta(days=30)."
            )

        token, _ = tokens.issue(
            current_app._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
            self,
            user,
            name=name,
            scopes=scopes,
            expires_in=None if expires_in is None else expires_in.total_seconds(),
            bind=bind,
        )
        return token

    def tokens(self, user: t.Any) -> list[LoginRecord]:
        """``user``'s API tokens in this manager's realm, newest first:
        their records (id, name, scopes, created, expiry, last used), never
        the tokens themselves.

        :raises RuntimeError: The manager has no :attr:`registry`.
        :raises StoreUnavailable: The registry cannot be reached.

        .. versionadded:: 0.2.0
        """
        self._need_registry("tokens")
        found = registry.records(
            current_app._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
            self,
            user,
        )
        return [record for record in found if record.method == "token"]

    def revoke_token(self, user: t.Any, token_id: str) -> bool:
        """End one of ``user``'s API tokens: the one whose record id is
        ``token_id`` (as :meth:`tokens` lists it).

        :return: Whether an active token of the user was ended.
        :raises RuntimeError: The manager has no :attr:`registry`.
        :raises StoreUnavailable: The registry cannot be reached.

        .. versionadded:: 0.2.0
        """
        self._need_registry("revoke_token")
        app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
        ended = registry.revoke_records(
            app,
            self,
            user,
            lambda record: record.method == "token" and record.id == token_id,
        )
        return ended > 0

    def revoke_all_sessions(self, user: t.Any) -> int:
        """End every login of ``user`` in this manager's realm, API tokens
        included, this request's too if it is the user's: when the account is
        disabled, say. Works outside a request too (in a CLI command, with
        an app context).

        :return: How many logins were ended.
        :raises RuntimeError: The manager has no :attr:`registry`.
        :raises StoreUnavailable: The registry cannot be reached.

        .. versionadded:: 0.2.0
        """
        self._need_registry("revoke_all_sessions")
        login = self._request_login()

        if login is not None:
            return revoke_all(login, user)

        return registry.revoke_records(
            current_app._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
            self,
            user,
        )

    # Finding the user

    def find_user(self, login: RequestLogin | None = None) -> UserProtocol:
        """Find the user of the current request (see
        ``flask_sessionauth.pipeline``), make it the request's user and
        return it. :data:`current_user` calls this on its first use in a
        request; call it yourself only to find the user again. A subclass may
        override it to find users another way.

        :param login: The request's login, if the caller has it.

        .. versionadded:: 0.2.0
        """
        return pipeline.run(current_login() if login is None else login)

    # --- flask-login 0.6.3's private and deprecated names -------------------
    # Code written for flask-login calls these; the core never does. Each
    # delegates to the public core in one line.

    def setup_app(self, app: Flask, add_context_processor: bool = True) -> None:
        """Deprecated name of :meth:`init_app`.

        .. deprecated:: 0.1.0
            Use :meth:`init_app`.
        """
        _deprecated("'setup_app' is deprecated. Use 'init_app' instead.")
        self.init_app(app, add_context_processor)

    @property
    def _user_callback(self) -> t.Callable[[str], t.Any] | None:
        return self.user_callback

    @_user_callback.setter
    def _user_callback(self, callback: t.Callable[[str], t.Any] | None) -> None:
        self.loaders.user = _callback(callback)

    @property
    def _request_callback(self) -> t.Callable[[t.Any], t.Any] | None:
        return self.request_callback

    @_request_callback.setter
    def _request_callback(self, callback: t.Callable[[t.Any], t.Any] | None) -> None:
        self.loaders.request = _callback(callback)

    @property
    def _header_callback(self) -> t.Callable[[str], t.Any] | None:
        return self.header_callback

    @_header_callback.setter
    def _header_callback(self, callback: t.Callable[[str], t.Any] | None) -> None:
        self.loaders.header = _callback(callback)

    @property
    def _session_identifier_generator(self) -> t.Callable[[], str]:
        return self.identifier_generator

    @_session_identifier_generator.setter
    def _session_identifier_generator(self, generator: t.Callable[[], str]) -> None:
        self.identifier_generator = generator

    def _load_user(self) -> UserProtocol:
        return self.find_user()

    def _update_request_context_with_user(
        self, user: UserProtocol | None = None
    ) -> None:
        current_login().set_user(self.anonymous_user() if user is None else user)

    def _session_protection_failed(self) -> bool:
        return protection_failed(current_login())

    def _set_cookie(self, response: BaseResponse) -> None:
        remember.issue_for_checked_login(current_login(), response)

    def _clear_cookie(self, response: BaseResponse) -> None:
        remember.clear_cookie(response, current_app.config)

    @property
    def _login_disabled(self) -> bool:
        _deprecated(_LOGIN_DISABLED_WARNING)
        return has_app_context() and bool(current_app.config.get("LOGIN_DISABLED"))

    @_login_disabled.setter
    def _login_disabled(self, value: bool) -> None:
        _deprecated(_LOGIN_DISABLED_WARNING)

        if has_app_context():
            current_app.config["LOGIN_DISABLED"] = value

    # --- end of flask-login's names -------------------------------------------


_LOGIN_DISABLED_WARNING = (
    "'_login_disabled' is deprecated. Use 'LOGIN_DISABLED' in 'app.config' instead."
)


def _deprecated(message: str) -> None:
    warnings.warn(message, DeprecationWarning, stacklevel=3)
