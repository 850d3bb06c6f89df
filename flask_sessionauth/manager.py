"""The :class:`LoginManager`: its settings, callbacks and the per-request
pipeline that finds the current user.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import typing as t
import warnings
from uuid import UUID

from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import jsonify
from flask import redirect
from flask import request
from flask import session

from . import _ctx
from . import remember
from .config import ID_ATTRIBUTE
from .config import LOGIN_MESSAGE
from .config import LOGIN_MESSAGE_CATEGORY
from .config import LOGIN_SESSION_KEYS
from .config import REFRESH_MESSAGE
from .config import REFRESH_MESSAGE_CATEGORY
from .config import session_protection_mode
from .config import SessionProtection
from .config import setting
from .config import validate
from .mixins import AnonymousUserMixin
from .protection import create_identifier
from .protection import identifier_for
from .protection import identifiers_match
from .protection import short_identifier
from .remember import CookieAction
from .remember import KeyMatch
from .remember import Keyring
from .signals import session_protected
from .signals import session_revoked
from .signals import user_accessed
from .signals import user_loaded_from_cookie
from .signals import user_loaded_from_header
from .signals import user_loaded_from_request
from .signals import user_needs_refresh
from .signals import user_unauthorized
from .urls import expand_login_view
from .urls import login_url as make_login_url
from .urls import make_next_param

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request
    from flask.ctx import AppContext
    from flask.ctx import RequestContext
    from flask.sansio.app import App
    from flask.sessions import SessionMixin
    from werkzeug.wrappers import Response as BaseResponse

    from .mixins import UserProtocol

logger = logging.getLogger("flask_sessionauth")

#: The key of the manager in ``app.extensions``.
EXTENSION_KEY = "sessionauth"
#: Where the current user is kept on :data:`flask.g` (flask-login's name).
USER_KEY = "_login_user"
#: Where pending remember-cookie work is kept on :data:`flask.g`.
ACTION_KEY = "_sessionauth_cookie_action"

#: A callable that may be a coroutine function; it is run through
#: :meth:`flask.Flask.ensure_sync`.
C = t.TypeVar("C", bound=t.Callable[..., t.Any])
ResponseReturn = t.Any

#: User ids longer than this in a session are refused unread.
MAX_USER_ID_LENGTH = 1024


class LoginManager:
    """Holds the login settings and callbacks for one or more apps.

    A manager is not bound to an app: create it at import time and call
    :meth:`init_app` in the app factory, or pass the app right away.

    :param app: The app to register with now.
    :param add_context_processor: Make ``current_user`` available in
        templates.

    .. versionchanged:: 0.1.0
        Registering a manager on an app that already has one raises a
        :exc:`RuntimeError`.
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
        self._session_identifier_generator: t.Callable[[], str] = create_identifier
        self._keyrings: dict[tuple[t.Any, ...], Keyring] = {}
        self._identifiers: dict[tuple[str | None, str | None], str] = {}
        self._async_callbacks: set[int] = set()

        if app is not None:
            self.init_app(app, add_context_processor)

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

    def init_app(self, app: Flask, add_context_processor: bool = True) -> None:
        """Register the manager with ``app``: the ``after_request`` hook that
        writes the remember cookie and, unless told not to, a context processor
        that puts ``current_user`` into templates.

        :raises RuntimeError: A manager is already registered on ``app``.
        :raises ValueError: A config value the app set is not valid.
        :raises TypeError: A duration config value is neither a timedelta nor
            a number of seconds.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "A LoginManager is already registered on this app. Call"
                " init_app() once per app, or use the registered manager:"
                " app.extensions['sessionauth']."
            )

        validate(app.config)
        app.extensions[EXTENSION_KEY] = self
        # Code written for flask-login finds the manager here.
        app.login_manager = self  # type: ignore[attr-defined]
        app.after_request(self._after_request)

        if add_context_processor:
            from .login import _user_context_processor

            app.context_processor(_user_context_processor)

    # Callback registration

    def user_loader(self, callback: C) -> C:
        """Register the function that loads a user from the id stored in the
        session or the remember cookie. It takes the id as it was stored (a
        :class:`str`, or the int or UUID a ``get_id()`` returned; always a
        :class:`str` from the remember cookie) and returns the user, or None
        when there is no such user. It may be ``async``.
        """
        self._user_callback = callback
        self._note_async(callback)
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
        self._note_async(callback)
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
        self._note_async(callback)
        return callback

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
        self._note_async(callback)
        return callback

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
        """
        user_unauthorized.send(current_app._get_current_object())  # type: ignore[attr-defined]

        if self.unauthorized_callback is not None:
            return current_app.ensure_sync(self.unauthorized_callback)()

        if is_api_request():
            return self._api_response("unauthorized", "Authentication required.")

        login_view: str | None

        if request.blueprint in self.blueprint_login_views:
            login_view = self.blueprint_login_views[request.blueprint]
        else:
            login_view = self.login_view

        if not login_view:
            abort(401)

        self._flash(self.login_message, self.login_message_category)
        return self._redirect_to(login_view)

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
        user_needs_refresh.send(current_app._get_current_object())  # type: ignore[attr-defined]

        if self.needs_refresh_callback is not None:
            return current_app.ensure_sync(self.needs_refresh_callback)()

        if is_api_request():
            return self._api_response("needs_refresh", "Please log in again.")

        if not self.refresh_view:
            abort(401)

        self._flash(self.needs_refresh_message, self.needs_refresh_message_category)
        return self._redirect_to(self.refresh_view)

    def _flash(self, message: str | None, category: str) -> None:
        if not message:
            return

        if self.localize_callback is not None:
            message = self.localize_callback(message)

        flash(message, category=category)

    def _redirect_to(self, view: str) -> BaseResponse:
        if setting(current_app.config, "USE_SESSION_FOR_NEXT"):
            # flask-login also wrote _id here, which re-tied a stolen session
            # to the thief's client; protection only looks at logins anyway.
            session["next"] = make_next_param(expand_login_view(view), request.url)
            return redirect(make_login_url(view))

        return redirect(make_login_url(view, next_url=request.url))

    def _api_response(self, error: str, message: str) -> BaseResponse:
        response = jsonify(error=error, message=message)
        response.status_code = 401

        if self._basic_auth_callback is not None:
            realm = str(setting(current_app.config, "BASIC_AUTH_REALM"))
            realm = realm.replace("\\", "\\\\").replace('"', '\\"')
            response.headers["WWW-Authenticate"] = f'Basic realm="{realm}"'

        return response

    # The per-request pipeline

    def _update_request_context_with_user(
        self, user: UserProtocol | None = None
    ) -> None:
        """Make ``user``, or an anonymous user, the current user."""
        g._login_user = self.anonymous_user() if user is None else user

    def _keyring(self, app: App) -> Keyring:
        keys = remember.secret_keys(app.config)
        cache_key = (*keys, self.clock)
        keyring = self._keyrings.get(cache_key)

        if keyring is None:
            if len(self._keyrings) > 16:
                self._keyrings.clear()

            keyring = self._keyrings[cache_key] = Keyring(keys, self.clock)

        return keyring

    def _identifier(self, request: Request) -> str:
        """The session-protection identifier of the client, cached by address
        and User-Agent: the same clients come back request after request.
        """
        if self._session_identifier_generator is not create_identifier:
            # An app that replaced the generator gets exactly what it set.
            return self._session_identifier_generator()

        environ = request.environ
        key = (environ.get("REMOTE_ADDR"), environ.get("HTTP_USER_AGENT"))

        try:
            return self._identifiers[key]
        except KeyError:
            pass

        identifier = identifier_for(*key)

        if key[1] is None or len(key[1]) <= 512:
            if len(self._identifiers) >= 1024:
                self._identifiers.clear()

            self._identifiers[key] = identifier

        return identifier

    def _load_user(self, app_ctx: AppContext, ctx: RequestContext) -> t.Any:
        """Find the current user, put it on :data:`flask.g` and return it.

        The sources are tried in order until one gives a user: the session,
        the remember cookie, the request loader, HTTP Basic credentials, the
        header loader.
        """
        if (
            self._user_callback is None
            and self._request_callback is None
            and self._header_callback is None
            and self._basic_auth_callback is None
        ):
            raise RuntimeError(
                "No way to load a user is registered. Decorate a function with"
                " @login_manager.user_loader that takes a user id and returns"
                " the user, or None (or register a request_loader)."
            )

        app: Flask = ctx.app

        if user_accessed.receivers:
            user_accessed.send(app)

        sess = ctx.session
        request = ctx.request
        g = app_ctx.g
        user = None
        skip_cookie = False

        # Protection guards logins; a session that holds none (only flashed
        # messages, say) has nothing to protect.
        if "_user_id" in sess:
            if self._session_protection_failed(app, sess, request, g):
                # Strong protection ended the login: the remember cookie must
                # not bring it back.
                skip_cookie = True
            else:
                user, skip_cookie = self._load_from_session(app, sess, g)

        if user is None and not skip_cookie and self._user_callback is not None:
            user = self._load_from_remember_cookie(app, sess, request, g)

        if user is None and self._request_callback is not None:
            user = self._call(self._request_callback, request)

            if user is not None and user_loaded_from_request.receivers:
                user_loaded_from_request.send(app, user=user)

        if user is None and self._basic_auth_callback is not None:
            user = self._load_from_basic_auth(app, request)

        if user is None and self._header_callback is not None:
            header = request.headers.get(setting(app.config, "AUTH_HEADER_NAME"))

            if header is not None:
                user = self._call(self._header_callback, header)

                if user is not None and user_loaded_from_header.receivers:
                    user_loaded_from_header.send(app, user=user)

        if user is None:
            user = self.anonymous_user()

        g._login_user = user
        return user

    def _note_async(self, callback: t.Callable[..., t.Any]) -> None:
        # Checked once here, so that calling a plain function on every
        # request costs no inspection. Ids, not the callbacks, are kept:
        # a callable object need not be hashable.
        if inspect.iscoroutinefunction(callback):
            self._async_callbacks.add(id(callback))

    def _call(self, callback: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        if id(callback) in self._async_callbacks:
            _refuse_inside_event_loop()
            return current_app.ensure_sync(callback)(*args)

        return callback(*args)

    def _has_async_callbacks(self) -> bool:
        return bool(self._async_callbacks) or any(
            inspect.iscoroutinefunction(handler)
            for handler in (self.unauthorized_callback, self.needs_refresh_callback)
        )

    def _session_protection_failed(
        self, app: Flask, sess: SessionMixin, request: Request, g: t.Any
    ) -> bool:
        """Compare the session's identifier with the client's.

        :return: Whether strong protection ended the login. In basic mode, or
            for a permanent session, a mismatch only marks the login not fresh.
        """
        mode = app.config.get("SESSION_PROTECTION", self.session_protection)

        if mode is None:
            return False

        if mode != "basic" and mode != "strong":
            session_protection_mode(mode)  # raises, naming the allowed values

        if identifiers_match(sess.get("_id"), self._identifier(request)):
            return False

        if mode == "basic" or sess.permanent:
            if sess.get("_fresh") is not False:
                sess["_fresh"] = False

            session_protected.send(app)
            return False

        drop_login_keys(sess)
        setattr(g, ACTION_KEY, CookieAction.CLEAR)
        session_protected.send(app)
        return True

    def _load_from_session(
        self, app: Flask, sess: SessionMixin, g: t.Any
    ) -> tuple[t.Any, bool]:
        """Load the user the session names.

        :return: The user or None, and whether the remember cookie must be
            skipped because the login was revoked.
        """
        user_id = sess["_user_id"]

        if self._user_callback is None:
            return None, False

        if type(user_id) is str:
            if not user_id or len(user_id) > MAX_USER_ID_LENGTH:
                return None, False
        elif isinstance(user_id, bool) or not isinstance(user_id, int | UUID):
            logger.debug("Ignored a session user id of %s.", type(user_id))
            return None, False

        # Like flask-login, an int or UUID id that get_id() returned reaches
        # the loader as it was stored.

        user = self._call(self._user_callback, user_id)

        if user is None:
            return None, False

        token = session_token(user)

        if token is None:
            return user, False

        signature = sess.get("_token_sig")
        bound = self._binding(app, token, signature)

        if bound is None:
            self._revoke(app, sess, g, user)
            return None, True

        if bound != signature:
            sess["_token_sig"] = bound

        return user, False

    def _binding(self, app: Flask, token: str, signature: object) -> str | None:
        """The token signature a login bound by ``signature`` carries from now
        on, or None when the login is revoked.
        """
        keyring = self._keyring(app)

        if signature is None and setting(app.config, "ACCEPT_UNBOUND_SESSIONS"):
            # A login from before the user had a token, or from flask-login:
            # bind it now, so that the next change revokes it.
            return keyring.sign_token(token)

        match = keyring.verify_token(token, signature)

        if match is KeyMatch.CURRENT:
            return signature  # type: ignore[return-value]

        if match is KeyMatch.FALLBACK:
            # Signed with a key being retired: sign it again, so that the
            # login outlives the key.
            return keyring.sign_token(token)

        return None

    def _revoke(self, app: Flask, sess: SessionMixin, g: t.Any, user: t.Any) -> None:
        logger.debug("Refused a revoked login of user %r.", user)
        drop_login_keys(sess)
        setattr(g, ACTION_KEY, CookieAction.CLEAR)
        session_revoked.send(app, user=user)

    def _read_remember_cookie(
        self, app: App, value: str | None
    ) -> remember.RememberCookie | None:
        """What a remember cookie value says, or None if there is none, it is
        not valid, or the app has no secret key to check it with.
        """
        if value is None:
            return None

        if not app.config.get("SECRET_KEY"):
            # A cookie is client input: without a key to check it, it is
            # ignored rather than allowed to raise.
            logger.debug("Ignored a remember cookie: SECRET_KEY is not set.")
            return None

        cookie = remember.load(value, app.config, self._keyring(app), self.clock())

        if cookie is None or len(cookie.user_id) > MAX_USER_ID_LENGTH:
            return None

        return cookie

    def _load_from_remember_cookie(
        self, app: Flask, sess: SessionMixin, request: Request, g: t.Any
    ) -> t.Any:
        config = app.config
        value = request.cookies.get(setting(config, "REMEMBER_COOKIE_NAME"))

        if value is None or g.get(ACTION_KEY) is CookieAction.CLEAR:
            return None

        cookie = self._read_remember_cookie(app, value)

        if cookie is None:
            setattr(g, ACTION_KEY, CookieAction.CLEAR)
            return None

        assert self._user_callback is not None
        user = self._call(self._user_callback, cookie.user_id)

        if user is None:
            setattr(g, ACTION_KEY, CookieAction.CLEAR)
            return None

        token = session_token(user)
        token_signature: str | None = None

        if token is not None:
            token_signature = self._binding(app, token, cookie.token_signature)

            if token_signature is None:
                self._revoke(app, sess, g, user)
                return None

        if sess:
            # Restoring from the cookie is a login too: a session id planted
            # before it must not carry it.
            regenerate_session(app, sess)
            drop_login_keys(sess)

        sess["_user_id"] = cookie.user_id
        sess["_fresh"] = False
        # flask-login leaves _id unset here, so strong protection logged the
        # user out again on the next request (flask-login #241, #569).
        sess["_id"] = short_identifier(self._identifier(request))

        if cookie.seconds is not None and cookie.seconds != remember.duration(
            config, None
        ):
            # Re-issued cookies (rebind, refresh) keep the login's duration.
            sess["_remember_seconds"] = cookie.seconds

        if token_signature is not None:
            sess["_token_sig"] = token_signature

        if cookie.legacy or cookie.stale or token_signature != cookie.token_signature:
            # Replace a flask-login cookie or one signed with a retiring key,
            # or bind an unbound one.
            setattr(g, ACTION_KEY, CookieAction.SET)

        if user_loaded_from_cookie.receivers:
            user_loaded_from_cookie.send(app, user=user)

        return user

    def _load_from_basic_auth(self, app: Flask, request: Request) -> t.Any:
        assert self._basic_auth_callback is not None

        try:
            auth = request.authorization
        except Exception:  # a malformed header is no header
            logger.debug("Ignored a malformed Authorization header.")
            return None

        if auth is None or auth.type != "basic":
            return None

        username = auth.username
        password = auth.password

        if not username or password is None:
            return None

        if len(username) > 1024 or len(password) > 4096:
            logger.debug("Ignored over-long Basic credentials.")
            return None

        user = self._call(self._basic_auth_callback, username, password)

        # The password of a disabled account opens nothing, with or without
        # a login session.
        if user is None or not user.is_active:
            return None

        if user_loaded_from_request.receivers:
            user_loaded_from_request.send(app, user=user)

        if setting(app.config, "BASIC_AUTH_LOGIN"):
            from .login import login_user

            login_user(user)

        return user

    def _after_request(self, response: BaseResponse) -> BaseResponse:
        """Do the remember-cookie work the request asked for."""
        contexts = _ctx.contexts()
        assert contexts is not None
        app_ctx, ctx = contexts
        action = app_ctx.g.__dict__.pop(ACTION_KEY, None)
        config = ctx.app.config

        if action is None:
            if config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST"):
                self._refresh_cookie(ctx, response)

            return response

        if action is CookieAction.CLEAR:
            remember.clear_cookie(response, config)
            return response

        sess = ctx.session
        user_id = sess.get("_user_id")

        if user_id is not None:
            remember.set_cookie(
                response,
                config,
                self._keyring(ctx.app),
                self.clock(),
                str(user_id),
                remember.duration(config, sess.get("_remember_seconds")),
                sess.get("_token_sig"),
            )

        return response

    def _refresh_cookie(self, ctx: RequestContext, response: BaseResponse) -> None:
        """Re-issue the remember cookie the client sent, so that it lasts
        another full duration from now, if it is valid and names the user who
        is logged in.

        flask-login sets a remember cookie for every logged-in user under
        ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST`` (flask-login #424); this
        refreshes only cookies that exist.
        """
        config = ctx.app.config
        sess = ctx.session
        user_id = sess.get("_user_id")

        if user_id is None:
            return

        value = ctx.request.cookies.get(setting(config, "REMEMBER_COOKIE_NAME"))
        cookie = self._read_remember_cookie(ctx.app, value)

        if cookie is None or cookie.user_id != str(user_id):
            return

        keyring = self._keyring(ctx.app)
        remember.set_cookie(
            response,
            config,
            keyring,
            self.clock(),
            cookie.user_id,
            remember.duration(config, cookie.seconds),
            sess.get("_token_sig", cookie.token_signature),
        )


def session_token(user: t.Any) -> str | None:
    getter = getattr(user, "get_session_token", None)

    if getter is None:
        return None

    token = getter()

    if token is None:
        return None

    if not isinstance(token, str):
        raise TypeError(
            f"{type(user).__name__}.get_session_token() must return a str or"
            f" None, not {type(token).__name__}."
        )

    return token


def regenerate_session(app: Flask, sess: SessionMixin) -> None:
    """Give a server-side session a new id, where the session interface can
    (Flask-Session 0.7 and later), so an id known before a login is useless
    after it. Signed cookie sessions have no id to renew.
    """
    regenerate = getattr(app.session_interface, "regenerate", None)

    if callable(regenerate):
        regenerate(sess)


def drop_login_keys(sess: SessionMixin) -> None:
    for key in LOGIN_SESSION_KEYS:
        sess.pop(key, None)


def _refuse_inside_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return

    raise RuntimeError(
        "An async loader cannot run inside a running event loop, such as the"
        " body of an async view. Decorate the view with login_required or"
        " fresh_login_required, which load the user before the view runs, or"
        " read current_user in a before_request function."
    )


def get_manager(app: App | None = None) -> LoginManager:
    """The :class:`LoginManager` registered on ``app``, by default the
    current app.

    :raises RuntimeError: No manager is registered on the app.
    """
    if app is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]

    try:
        return app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError(
            "No LoginManager is registered on this app. Create one and call"
            " login_manager.init_app(app) in your app factory."
        ) from None


def is_api_request() -> bool:
    """Whether the current request should get JSON errors rather than
    redirects: its view was marked with :func:`api_view`, its blueprint is in
    :attr:`LoginManager.api_blueprints`, or it prefers JSON to HTML.

    .. versionadded:: 0.1.0
    """
    view = current_app.view_functions.get(request.endpoint or "")

    if view is not None and getattr(view, "_sessionauth_api", False):
        return True

    manager = get_manager()
    blueprints = request.blueprints

    if manager.api_blueprints and any(
        name in manager.api_blueprints for name in blueprints
    ):
        return True

    accept = request.accept_mimetypes

    if not accept.provided:
        return False

    return accept.quality("application/json") > accept.quality("text/html")


def api_view(view: C) -> C:
    """Mark a view as an API view: when its user must log in, it answers 401
    with a JSON body rather than redirecting to the login page.

    .. versionadded:: 0.1.0
    """
    view._sessionauth_api = True  # type: ignore[attr-defined]
    return view
