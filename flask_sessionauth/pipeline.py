"""Who the user of a request is.

The first use of :data:`~flask_sessionauth.current_user` in a request runs
:func:`run` on the request's :class:`~.request_login.RequestLogin`. It tries
the sources in this order and stops at the first that gives a user:

1. :func:`from_session`: the login the session holds, after the steps that
   may end it: session protection (:func:`~.protection.protect`), session
   lifetime (:func:`~.lifetime.check`) and revocation
   (:func:`~.revocation.check_binding`);
2. :func:`from_remember_cookie`: a valid remember cookie, after
   :func:`~.revocation.check_binding`; the login it restores is written to
   the session, which renews the session id;
3. :func:`from_request_loader`: the app's request loader;
4. :func:`from_basic_auth`: HTTP Basic credentials, which log the user in
   unless ``SESSIONAUTH_BASIC_AUTH_LOGIN`` is false;
5. :func:`from_header`: the app's header loader;

and otherwise makes the anonymous user. With a login registry, a request
with an ``Authorization: Bearer`` header is decided by that API token alone
(:func:`.tokens.from_bearer`), before any of these.

A step that ends a login asks for the remember cookie to be deleted, which
also keeps source 2 from bringing it back; the lifetime step alone leaves
the cookie be, so that "remember me" can start a new login.
"""

from __future__ import annotations

import typing as t

from . import registry
from . import remember
from . import tokens
from .api import basic_credentials
from .config import setting
from .lifetime import check as check_lifetime
from .login import new_login
from .login import start_login
from .protection import protect
from .request_login import CookieWork
from .revocation import check_binding
from .revocation import revoke_all
from .signals import user_accessed
from .signals import user_loaded_from_cookie
from .signals import user_loaded_from_header
from .signals import user_loaded_from_request

if t.TYPE_CHECKING:
    from .mixins import UserProtocol
    from .remember import RememberCookie
    from .request_login import RequestLogin
    from .stores import LoginRecord


def run(login: RequestLogin) -> UserProtocol:
    """Find the user of ``login``'s request, make it the request's user and
    return it.

    :raises RuntimeError: No loader is registered.
    """
    manager = login.manager
    loaders = manager.loaders

    if loaders.user is None and loaders.request is None:
        raise RuntimeError(
            "Missing user_loader or request_loader. Decorate a function with"
            " @login_manager.user_loader that takes a user id and returns"
            " the user, or None (or register a request_loader)."
        )

    if user_accessed.receivers:
        user_accessed.send(login.app, **login.extra)

    if manager.registry is not None:
        # With a registry, API tokens: a Bearer token decides the request on
        # its own, and nothing of it reaches the session or a cookie.
        value = tokens.bearer(login.request.environ.get("HTTP_AUTHORIZATION"))

        if value is not None:
            user = tokens.from_bearer(login, value) if value else None

            if user is None:
                if not value:
                    login.ended = "invalid_token"

                user = manager.anonymous_user()

            login.set_user(user)
            return user

    user = None

    # Protection guards logins; a session that holds none (only flashed
    # messages, say) has nothing to protect.
    if login.stored.exists:
        user = from_session(login)

    if user is None and loaders.user is not None:
        user = from_remember_cookie(login)

    if user is None and loaders.request is not None:
        user = from_request_loader(login)

    if user is None and loaders.basic_auth is not None:
        user = from_basic_auth(login)

    if user is None and loaders.header is not None:
        user = from_header(login)

    if user is None:
        user = manager.anonymous_user()
    elif (
        login.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST") and login.stored.exists
    ):
        login.owe_cookie(CookieWork.REFRESH)

    login.set_user(user)
    return user


# The sources


def from_session(login: RequestLogin) -> t.Any:
    """The user of the login the session holds, if it survives protection,
    has not outlived the session timeouts and is still bound to the user's
    session token.
    """
    if login.manager.loaders.user is None:
        return None

    if not protect(login):
        return None

    with_registry = login.manager.registry is not None
    secret = login.stored.login_id if with_registry else None

    if not check_lifetime(login):
        if secret is not None:
            registry.end_expired(login, secret)

        return None

    if with_registry and not registry.check(login):
        return None

    user = login.load_user(login.stored.user_id)

    if user is None:
        login.record = None  # not this request's login after all
        return None

    if not check_binding(login, user):
        return None

    if login.manager.registry is not None and not user.is_active:
        # A disabled account keeps no login anywhere.
        revoke_all(login, user, strict=False)
        return None

    return user


def from_remember_cookie(login: RequestLogin) -> t.Any:
    """The user a valid remember cookie names, logged in to the session as a
    login that is not fresh.
    """
    config = login.config
    value = login.request.cookies.get(setting(config, "REMEMBER_COOKIE_NAME"))

    # A cookie another step has just condemned must not bring its login back.
    if value is None or login.cookie is CookieWork.CLEAR:
        return None

    cookie = remember.read(config, login.manager.clock, value, login.realm)
    user = None if cookie is None else login.load_user(cookie.user_id)

    if user is None:
        login.owe_cookie(CookieWork.CLEAR)
        return None

    assert cookie is not None

    if not check_binding(login, user, cookie):
        return None

    record = None

    if login.manager.registry is not None:
        if not user.is_active:
            revoke_all(login, user, strict=False)
            login.owe_cookie(CookieWork.CLEAR)  # its record has just ended
            return None

        found = registry.for_cookie(login, cookie)

        if found is False:
            if login.ended != "unavailable":
                login.owe_cookie(CookieWork.CLEAR)

            return None

        if found is not True:
            record = found

    if not restore(login, user, cookie, record):
        return None

    return user


def from_request_loader(login: RequestLogin) -> t.Any:
    """The user the app's request loader finds in the request."""
    loader = login.manager.loaders.request
    assert loader is not None
    user = login.call(loader, login.request)

    if user is not None and user_loaded_from_request.receivers:
        user_loaded_from_request.send(login.app, user=user, **login.extra)

    return user


def from_basic_auth(login: RequestLogin) -> t.Any:
    """The active user whose HTTP Basic credentials the request carries,
    logged in to the session unless ``SESSIONAUTH_BASIC_AUTH_LOGIN`` is
    false.
    """
    loader = login.manager.loaders.basic_auth
    assert loader is not None
    credentials = basic_credentials(login.request)

    if credentials is None:
        return None

    user = login.call(loader, *credentials)

    # The password of a disabled account opens nothing, with or without a
    # login session.
    if user is None or not user.is_active:
        return None

    if user_loaded_from_request.receivers:
        user_loaded_from_request.send(login.app, user=user, **login.extra)

    if setting(login.config, "SESSIONAUTH_BASIC_AUTH_LOGIN") and not start_login(
        login, user, method="basic"
    ):
        return None

    return user


def from_header(login: RequestLogin) -> t.Any:
    """The user the app's header loader finds in ``AUTH_HEADER_NAME``."""
    loader = login.manager.loaders.header
    assert loader is not None
    header = login.request.headers.get(setting(login.config, "AUTH_HEADER_NAME"))

    if header is None:
        return None

    user = login.call(loader, header)

    if user is not None and user_loaded_from_header.receivers:
        user_loaded_from_header.send(login.app, user=user, **login.extra)

    return user


def restore(
    login: RequestLogin,
    user: t.Any,
    cookie: RememberCookie,
    record: LoginRecord | None = None,
) -> bool:
    """Log the user a remember cookie names in to the session: a login that
    is not fresh, keeping the duration the cookie was issued for. A cookie
    in flask-login's format, signed with a retiring key, not yet bound, or
    bound to a login record other than the login's is re-issued, keeping
    its expiry.

    :param record: The active login record the cookie is bound to, which
        the login goes on with; with a registry and none (the store lost or
        expired it), a new record is made under the cookie's own secret, so
        that revoking it still ends every copy of the cookie.
    :return: False when the registry refuses a new login
        (``SESSIONAUTH_MAX_SESSIONS``).
    """
    app = login.app
    seconds = cookie.seconds

    if seconds == remember.duration(login.config, None):
        seconds = None  # the default needs no key in every session

    fields = new_login(
        login,
        user,
        fresh=False,
        remember_seconds=seconds,
        method="remember",
        remember_for=(
            remember.duration(login.config, cookie.seconds)
            if cookie.expires_at is None
            else cookie.expires_at - login.manager.clock()
        ),
        login_id=cookie.login_id,
        resume=record is not None,
    )

    if fields is None:
        login.owe_cookie(CookieWork.CLEAR)
        return False

    signature = fields["token_signature"]

    if record is not None:
        login.record = record

        if signature != record.token_signature:
            # Bound with a key in SECRET_KEY_FALLBACKS (the cookie's binding
            # was checked before): bound anew, as the session will be.
            registry.rebind(login, t.cast("str | None", signature))

    login.stored.write(app, fields)

    if (
        cookie.legacy
        or cookie.stale
        or signature != cookie.token_signature
        or fields["login_id"] != cookie.login_id
    ):
        login.owe_cookie(CookieWork.REISSUE, cookie.expires_at)

    if user_loaded_from_cookie.receivers:
        user_loaded_from_cookie.send(app, user=user, **login.extra)

    return True
