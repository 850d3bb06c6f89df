"""The "remember me" cookie, its whole life: reading it, issuing it for a
login, re-issuing it, renewing it and deleting it, and the ``after_request``
hook that does the cookie work a request owes (see
:class:`~flask_sessionauth.request_login.CookieWork`).

Two formats are read:

-   The current one: ``<expires>~<seconds>~<token signature>~<user id>``,
    signed by an itsdangerous :class:`~itsdangerous.Signer` under a salt of
    this extension. ``expires`` is when the cookie stops being valid (Unix
    seconds), checked on the server, so a cookie a browser keeps too long is
    still refused; ``seconds`` is the duration the login asked for; the user
    id is URL-safe base64 of its UTF-8. A re-issued cookie keeps its
    ``expires``: only a new login or ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST``
    extends one.
-   flask-login's ``user_id|hmac-sha512`` (:func:`encode_cookie`). It is
    accepted unless ``SESSIONAUTH_REMEMBER_COOKIE_ACCEPT_LEGACY`` is false, and
    replaced by the current format when it is used.
"""

from __future__ import annotations

import hmac
import logging
import typing as t
from base64 import urlsafe_b64decode
from base64 import urlsafe_b64encode
from datetime import datetime
from datetime import timezone
from hashlib import sha512

from flask import current_app
from flask import g
from flask import request
from itsdangerous import BadData

from . import registry
from .config import MAX_REMEMBER_SECONDS
from .config import MAX_USER_ID_LENGTH
from .config import remember_seconds
from .config import setting
from .mixins import session_token
from .request_login import CookieWork
from .request_login import LOGIN_KEY
from .request_login import REALM_LOGINS_KEY
from .request_login import USER_KEY
from .signing import binding
from .signing import KeyMatch
from .signing import Keyring
from .signing import keyring
from .signing import secret_keys

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from .config import Config
    from .request_login import RequestLogin

logger = logging.getLogger("flask_sessionauth")

#: Cookies longer than this are refused unread. Browsers cap a cookie at 4096
#: bytes, so a longer one was not set by this extension.
MAX_COOKIE_LENGTH = 4096
#: A cookie signed this many seconds in the future is still accepted, to
#: allow for clocks that differ a little between app servers.
CLOCK_SKEW = 60.0


class RememberCookie(t.NamedTuple):
    """What a valid remember cookie says. A named tuple, as cheap to make
    as a value can be: one is made on every request that sends the cookie.
    """

    #: The user id, as the user's id attribute returned it.
    user_id: str
    #: How long the cookie was issued for, or None for a legacy cookie.
    seconds: float | None
    #: The signature of the session token the login was bound to, if any.
    token_signature: str | None
    #: Whether the cookie is in flask-login's format.
    legacy: bool = False
    #: Whether it was signed with a key that is now a fallback.
    stale: bool = False
    #: When it stops being valid, in Unix seconds; None for a legacy cookie,
    #: whose format carries no time.
    expires_at: float | None = None
    #: The secret of the login record the cookie belongs to, when the realm
    #: has a login registry (see :mod:`~flask_sessionauth.registry`).
    login_id: str | None = None


def _legacy_key(key: str | bytes) -> bytes:
    if isinstance(key, bytes):
        return key

    # flask-login encodes a str key as latin-1; keys it could not encode
    # never produced a cookie, so utf-8 is only a fallback.
    try:
        return key.encode("latin-1")
    except UnicodeEncodeError:
        return key.encode("utf-8")


def _legacy_digest(payload: str, key: str | bytes) -> str:
    return hmac.new(_legacy_key(key), payload.encode("utf-8"), sha512).hexdigest()


def encode_cookie(payload: str, key: str | bytes | None = None) -> str:
    """Sign ``payload`` in flask-login's remember-cookie format,
    ``payload|hmac-sha512-hex``, with ``key`` or the app's ``SECRET_KEY``.

    This extension writes its own, timestamped format; this function exists
    for code that used flask-login's.
    """
    signing_key = secret_keys(current_app.config)[-1] if key is None else key
    return f"{payload}|{_legacy_digest(payload, signing_key)}"


def decode_cookie(cookie: str, key: str | bytes | None = None) -> str | None:
    """Return the payload of a cookie made by :func:`encode_cookie`, or None
    if it is malformed or its signature does not match.

    Without ``key`` the app's ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` are
    tried.
    """
    try:
        payload, digest = cookie.rsplit("|", 1)
    except (AttributeError, ValueError):
        return None

    keys = [key] if key is not None else secret_keys(current_app.config)

    try:
        for candidate in keys:
            if hmac.compare_digest(_legacy_digest(payload, candidate), digest):
                return payload
    except (TypeError, UnicodeError):
        # compare_digest refuses non-ASCII str; no digest is non-ASCII.
        return None

    return None


def _is_legacy(value: str) -> bool:
    _, sep, digest = value.rpartition("|")
    return bool(sep) and len(digest) == 128


def load(
    value: str,
    config: Config,
    keyring: Keyring,
    now: float,
    realm: str | None = None,
) -> RememberCookie | None:
    """Check a remember cookie of ``realm`` (by default the default realm)
    and return what it says, or None if it is malformed, tampered with,
    expired or in a format that is refused. flask-login's format is only
    ever the default realm's.
    """
    if not value or len(value) > MAX_COOKIE_LENGTH:
        logger.debug("Refused a remember cookie: empty or too long.")
        return None

    if _is_legacy(value):
        if realm is not None or not setting(
            config, "SESSIONAUTH_REMEMBER_COOKIE_ACCEPT_LEGACY"
        ):
            logger.debug("Refused a flask-login remember cookie (legacy off).")
            return None

        user_id = decode_cookie(value)

        if not user_id or len(user_id) > MAX_USER_ID_LENGTH:
            logger.debug("Refused a flask-login remember cookie: bad digest.")
            return None

        return RememberCookie(user_id, None, None, legacy=True)

    try:
        payload, match = keyring.unsign_remember(value, realm)
    except BadData as exc:
        logger.debug("Refused a remember cookie: %s", exc)
        return None

    fields = _parse(payload)

    if fields is None:
        logger.debug("Refused a remember cookie: unexpected contents.")
        return None

    expires_at, seconds, signature, user_id, login_id = fields

    # Issued (expires_at - seconds) no later than now, give or take the
    # clocks of two servers.
    if now > expires_at or expires_at - seconds > now + CLOCK_SKEW:
        logger.debug("Refused a remember cookie: expired, or issued ahead.")
        return None

    return RememberCookie(
        user_id,
        seconds,
        signature,
        stale=match is KeyMatch.FALLBACK,
        expires_at=expires_at,
        login_id=login_id,
    )


def _payload(
    user_id: str,
    expires_at: int,
    seconds: float,
    signature: str | None,
    login_id: str | None = None,
) -> str:
    uid = urlsafe_b64encode(user_id.encode("utf-8")).rstrip(b"=").decode("ascii")
    payload = f"{expires_at}~{_compact(seconds)}~{signature or ''}~{uid}"
    # A cookie of a login with a record names it in a fifth field; without
    # one, the cookie is byte for byte what it was before registries.
    return payload if login_id is None else f"{payload}~{login_id}"


def _parse(
    payload: bytes,
) -> tuple[int, float, str | None, str, str | None] | None:
    """The ``(expires_at, seconds, token_signature, user_id, login_id)`` of a
    signed payload, or None when it does not have that shape. Only a holder
    of the key can sign one, but it is still parsed as untrusted input.
    """
    try:
        expires, seconds, signature, uid, *rest = payload.decode("ascii").split("~")

        if len(rest) > 1 or (rest and not 0 < len(rest[0]) <= 128):
            return None

        if not (expires.isdigit() and len(expires) <= 12 and len(seconds) <= 32):
            return None

        expires_at = int(expires)
        duration = float(seconds)
        user_id = urlsafe_b64decode(uid + "=" * (-len(uid) % 4)).decode("utf-8")
    except ValueError:  # also UnicodeError and binascii.Error
        return None

    if (
        not 0 < duration <= MAX_REMEMBER_SECONDS
        or not 0 < len(user_id) <= MAX_USER_ID_LENGTH
        or len(signature) > 256
    ):
        return None

    return expires_at, duration, signature or None, user_id, rest[0] if rest else None


def read(
    config: Config,
    clock: t.Callable[[], float],
    value: str | None,
    realm: str | None = None,
) -> RememberCookie | None:
    """What the remember cookie ``value`` of ``realm`` says, or None if there
    is none, it is not valid, or the app has no secret key to check it with.
    """
    if value is None:
        return None

    if not config.get("SECRET_KEY"):
        # A cookie is client input: without a key to check it, it is ignored
        # rather than allowed to raise.
        logger.debug("Ignored a remember cookie: SECRET_KEY is not set.")
        return None

    return load(value, config, keyring(config), clock(), realm)


def set_cookie(
    response: Response,
    config: Config,
    now: float,
    user_id: str,
    duration: float,
    token_signature: str | None,
    *,
    expires_at: float | None = None,
    realm: str | None = None,
    login_id: str | None = None,
) -> None:
    """Issue a remember cookie of ``realm`` (by default the default realm)
    for a login of ``duration`` seconds, valid until ``expires_at`` (by
    default ``duration`` from ``now``).
    """
    expires = int(now + duration if expires_at is None else expires_at)
    value = keyring(config).sign_remember(
        _payload(user_id, expires, duration, token_signature, login_id), realm
    )
    response.set_cookie(
        setting(config, "REMEMBER_COOKIE_NAME"),
        value=value,
        max_age=max(0, expires - int(now)),
        expires=datetime.fromtimestamp(expires, tz=timezone.utc),
        domain=setting(config, "REMEMBER_COOKIE_DOMAIN"),
        path=setting(config, "REMEMBER_COOKIE_PATH"),
        secure=setting(config, "REMEMBER_COOKIE_SECURE"),
        httponly=setting(config, "REMEMBER_COOKIE_HTTPONLY"),
        samesite=setting(config, "REMEMBER_COOKIE_SAMESITE"),
    )


def _compact(duration: float) -> float | int:
    return int(duration) if duration == int(duration) else duration


def clear_cookie(response: Response, config: Config) -> None:
    """Delete the remember cookie, with the attributes it was set with
    (its own path and domain), so that the browser matches and drops it.
    """
    response.delete_cookie(
        setting(config, "REMEMBER_COOKIE_NAME"),
        domain=setting(config, "REMEMBER_COOKIE_DOMAIN"),
        path=setting(config, "REMEMBER_COOKIE_PATH"),
        secure=setting(config, "REMEMBER_COOKIE_SECURE"),
        httponly=setting(config, "REMEMBER_COOKIE_HTTPONLY"),
        samesite=setting(config, "REMEMBER_COOKIE_SAMESITE"),
    )


def duration(config: Config, session_seconds: object) -> float:
    """How long a new remember cookie lasts: the ``duration`` given to
    :func:`login_user`, else ``REMEMBER_COOKIE_DURATION``.
    """
    if isinstance(session_seconds, int | float) and not isinstance(
        session_seconds, bool
    ):
        if 0 < session_seconds <= MAX_REMEMBER_SECONDS:
            return float(session_seconds)

    return remember_seconds(
        setting(config, "REMEMBER_COOKIE_DURATION"), "REMEMBER_COOKIE_DURATION"
    )


def sent(login: RequestLogin) -> RememberCookie | None:
    """What the remember cookie the request sent says, or None if it sent
    none, it is not valid, or this response deletes it.
    """
    if login.cookie is CookieWork.CLEAR:
        return None

    config = login.config
    value = login.request.cookies.get(setting(config, "REMEMBER_COOKIE_NAME"))
    return read(config, login.manager.clock, value, login.realm)


def issue_for_login(
    login: RequestLogin, response: Response, expires_at: float | None = None
) -> None:
    """Issue the remember cookie of the login the session holds, bound as the
    login is; nothing if it holds none.

    :param expires_at: When the cookie stops being valid; by default the
        duration the login asked for from now. A re-issue (a key rotation, a
        binding, a rebind) passes the expiry of the cookie it replaces, so
        that it never extends a cookie; a flask-login cookie has none to keep.
    """
    stored = login.stored
    user_id = stored.user_id
    now = login.manager.clock()

    if user_id is None or (expires_at is not None and expires_at <= now):
        return

    config = login.config
    signature = stored.token_signature
    set_cookie(
        response,
        config,
        now,
        str(user_id),
        duration(config, stored.remember_seconds),
        signature if isinstance(signature, str) else None,
        expires_at=expires_at,
        realm=login.realm,
        login_id=stored.login_id,
    )


def issue_for_checked_login(login: RequestLogin, response: Response) -> None:
    """:func:`issue_for_login`, once the login has been checked as any
    request's is (protection, lifetime, revocation): nothing for a login
    that ended, or for a user who is not the session's.
    """
    user = login.user
    stored = login.stored

    if (
        stored.exists
        and user.is_authenticated
        and str(getattr(user, login.manager.id_attribute)()) == str(stored.user_id)
    ):
        issue_for_login(login, response)


def refresh(login: RequestLogin, response: Response) -> None:
    """Renew the remember cookie the client sent for another full duration
    (``REMEMBER_COOKIE_REFRESH_EACH_REQUEST``), if it is valid, names the
    user logged in to the session, and its own binding to the user's session
    token still holds. A cookie of that user whose binding is revoked is
    deleted.

    flask-login sets a remember cookie for every logged-in user under
    ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST`` (flask-login #424); this
    renews only cookies that exist.
    """
    config = login.config

    if not setting(config, "REMEMBER_COOKIE_REFRESH_EACH_REQUEST"):
        return

    stored = login.stored
    user_id = stored.user_id
    cookie = sent(login)

    if (
        user_id is None
        or cookie is None
        or cookie.user_id != str(user_id)
        # With a registry, a cookie is renewed only for its own login: one
        # of another device must not be bound to this session's record.
        or cookie.login_id != stored.login_id
    ):
        return

    # The session's login must hold before its cookie is renewed: load the
    # user, which checks protection and revocation, if the view did not.
    user = login.user

    if login.cookie is CookieWork.CLEAR or not stored.exists:
        clear_cookie(response, config)
        return

    manager = login.manager

    if str(getattr(user, manager.id_attribute)()) != cookie.user_id:
        # Not the session's user (its loader found nobody, and a request
        # loader found someone else): that user's token says nothing of
        # this cookie.
        return

    token = session_token(user)
    signature = None

    if token is not None:
        signature = binding(config, token, cookie.token_signature)

        if signature is None:
            # Bound to a token that has changed since: a revoked cookie is
            # deleted, never renewed.
            clear_cookie(response, config)
            return

    now = manager.clock()
    seconds = duration(config, stored.remember_seconds)

    if not registry.extend(login, now + seconds):
        return  # the record could not be kept as long: the cookie is not renewed

    set_cookie(
        response,
        config,
        now,
        cookie.user_id,
        seconds,
        signature,
        realm=login.realm,
        login_id=stored.login_id,
    )


def apply(login: RequestLogin, response: Response) -> None:
    """Do the cookie work ``login`` owes on ``response``."""
    work = login.cookie
    expires_at = login.cookie_expires_at
    login.settle_cookie(None)

    if work is CookieWork.REFRESH:
        refresh(login, response)
    elif work is CookieWork.CLEAR:
        clear_cookie(response, login.config)
    elif work is CookieWork.SET:
        issue_for_login(login, response)
    elif work is CookieWork.REISSUE:
        issue_for_login(login, response, expires_at)


def after_request(response: Response) -> Response:
    """Do the remember-cookie work the request owes, for each realm it
    touched: set the cookie, delete it, re-issue or renew the one the client
    sent. Then forget the request's logins, and the users on ``g`` with
    them, whoever put them there: up to Flask 3.1 a ``g`` may outlive its
    request (an app context pushed around several), and the next request
    must start with nobody.

    Registered once per app as an ``after_request`` hook, before the app's
    own hooks, so that it runs after them: cookie work one of them asks for
    (a logout in a hook) is done, and on the response they return.
    """
    state = g._get_current_object().__dict__
    req = request._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    login = state.get(LOGIN_KEY)

    if login is not None and login.cookie is not None and login.request is req:
        apply(login, response)

    state.pop(LOGIN_KEY, None)
    state.pop(USER_KEY, None)

    if REALM_LOGINS_KEY in state:
        for login in state[REALM_LOGINS_KEY].values():
            if login.cookie is not None and login.request is req:
                apply(login, response)

        for login in state.pop(REALM_LOGINS_KEY).values():
            state.pop(login.user_key, None)

    return response
