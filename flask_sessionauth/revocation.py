"""Revocation: binding logins and remember cookies to the user's session
token, so that changing the token ends them. Keeping the current session
through such a change is :func:`~flask_sessionauth.rebind_session`'s work
(in ``login``).
"""

from __future__ import annotations

import logging
import typing as t

from .config import setting
from .extension import set_cookie_action
from .remember import CookieAction
from .remember import KeyMatch
from .session_state import drop_login_keys
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
