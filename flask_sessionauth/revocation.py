"""Revocation: binding logins and remember cookies to the user's session
token, so that changing the token ends them, and :func:`rebind_session`,
which keeps the current session through such a change.
"""

from __future__ import annotations

import hmac
import logging
import typing as t

from flask import current_app
from flask import request
from flask import session

from . import remember
from .config import setting
from .current import get_user
from .extension import cookie_action
from .extension import get_manager
from .extension import set_cookie_action
from .mixins import session_token
from .remember import CookieAction
from .remember import KeyMatch
from .session_state import drop_login_keys
from .session_state import write_login
from .signals import session_revoked

if t.TYPE_CHECKING:
    from flask.sansio.app import App
    from flask.sessions import SessionMixin

    from .remember import Keyring

logger = logging.getLogger("flask_sessionauth")


def binding(app: App, keyring: Keyring, token: str, signature: object) -> str | None:
    """The token signature that a login or cookie bound by ``signature``
    carries from now on, or None when it is revoked.

    - A signature of ``token`` made with the current key holds as it is.
    - One made with a key in ``SECRET_KEY_FALLBACKS`` holds, signed again
      with the current key so that it outlives the old key.
    - No signature at all (a login from before the user had a token, or from
      flask-login) is bound now when ``ACCEPT_UNBOUND_SESSIONS`` is true, so
      the next change of the token revokes it.
    - Anything else is revoked.
    """
    if signature is None:
        if setting(app.config, "ACCEPT_UNBOUND_SESSIONS"):
            return keyring.sign_token(token)

        return None

    match = keyring.verify_token(token, signature)

    if match is KeyMatch.CURRENT:
        return signature  # type: ignore[return-value]

    if match is KeyMatch.FALLBACK:
        return keyring.sign_token(token)

    return None


def revoke(app: App, sess: SessionMixin, user: t.Any) -> None:
    """End a revoked login: remove it from the session, delete the remember
    cookie and send :data:`~flask_sessionauth.session_revoked`.
    """
    logger.debug("Refused a revoked login of user %r.", user)
    drop_login_keys(sess)
    set_cookie_action(CookieAction.CLEAR)
    session_revoked.send(app, user=user)


def rebind_session(user: t.Any = None) -> None:
    """Bind the current session to ``user``'s current session token, by
    default the current user's. Call it after changing the token (after a
    password change, say) so that this session stays logged in while every
    other session and remember cookie of the user is refused. Without a login
    in the session (a user from a request loader, say) it does nothing.

    The session's login is checked first, as on any request: call it in a
    view that has loaded the user (any view under
    :func:`~flask_sessionauth.login_required` has) before the token changed,
    or the change itself revokes the login it was meant to keep.

    The remember cookie the request carries is re-issued, bound to the new
    token and with the duration it was issued for, only when it belongs to
    the same login: a cookie of this user bound to the token the session was
    bound to, or to the new one, or an unbound cookie while
    ``ACCEPT_UNBOUND_SESSIONS`` is true. A cookie of this user bound to an
    older, revoked token is deleted; another user's cookie is left alone. A
    server-side session gets a new id.

    :raises RuntimeError: Nobody is logged in, or ``user`` is not the user
        logged in to this session.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.2.0
        A remember cookie bound to a revoked token is deleted rather than
        re-issued.
    """
    manager = get_manager()
    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    sess = session._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    claimed = sess.get("_user_id")
    claimed_binding = sess.get("_token_sig")
    # Loads the user if the view has not: the session's login is checked
    # (protection, revocation) before it is bound to anything new.
    current = get_user()

    if user is None:
        user = current

    if not user.is_authenticated:
        raise RuntimeError(
            "rebind_session() needs a logged-in user. Call it after"
            " login_user(), or pass the user."
        )

    user_id = str(getattr(user, manager.id_attribute)())
    bound_id = sess.get("_user_id")

    if bound_id is None:
        if (
            claimed is not None
            and str(claimed) == user_id
            and _token_changed(app, manager.clock, user, claimed_binding)
        ):
            raise RuntimeError(
                "rebind_session() found the session's login already revoked:"
                " the user's session token changed before the login was"
                " checked. Read current_user (or decorate the view with"
                " login_required) before changing the token, then call"
                " rebind_session()."
            )

        # The user came from a request loader or Basic credentials without
        # a login session: there is no session to bind.
        return

    if str(bound_id) != user_id:
        raise RuntimeError(
            "rebind_session() was given a user who is not the one logged in"
            " to this session. Use login_user() to log a user in."
        )

    keyring = remember.keyring(app.config, manager.clock)
    token = session_token(user)
    previous = sess.get("_token_sig")
    keys: dict[str, object] = {
        "_token_sig": None if token is None else keyring.sign_token(token)
    }
    cookie = None

    if cookie_action() is not CookieAction.CLEAR:
        value = request.cookies.get(setting(app.config, "REMEMBER_COOKIE_NAME"))
        cookie = remember.read(app.config, manager.clock, value)

    if cookie is not None and cookie.user_id != str(bound_id):
        cookie = None  # another user's cookie: not this login's to renew

    follows = cookie is not None and _follows(
        app, keyring, cookie.token_signature, previous, token
    )

    if follows:
        assert cookie is not None

        if cookie.seconds is not None:
            keys["_remember_seconds"] = cookie.seconds

    # A credential change is a new login as far as fixation goes.
    write_login(app, sess, keys, replace=False)

    if follows:
        set_cookie_action(CookieAction.SET)
    elif cookie is not None:
        set_cookie_action(CookieAction.CLEAR)


def _token_changed(
    app: App, clock: t.Callable[[], float], user: t.Any, signature: object
) -> bool:
    """Whether a login bound by ``signature`` ended because ``user``'s token
    changed, rather than for another reason (protection, its age).
    """
    token = session_token(user)

    if token is None or not isinstance(signature, str):
        return False

    keyring = remember.keyring(app.config, clock)
    return keyring.verify_token(token, signature) is KeyMatch.NONE


def _follows(
    app: App,
    keyring: Keyring,
    signature: str | None,
    previous: object,
    token: str | None,
) -> bool:
    """Whether a remember cookie bound by ``signature`` belongs to the login
    being rebound: the session's login was bound by ``previous`` and the
    user's token is now ``token``.
    """
    if token is None:
        return True  # nothing to revoke it by

    if signature is None:
        return bool(setting(app.config, "ACCEPT_UNBOUND_SESSIONS"))

    if isinstance(previous, str) and hmac.compare_digest(
        signature.encode(), previous.encode()
    ):
        return True

    return keyring.verify_token(token, signature) is not KeyMatch.NONE
