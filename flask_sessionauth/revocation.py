"""Revocation: logins and remember cookies are bound to the user's session
token (a signature of it, :meth:`~.signing.Keyring.binding`), so that
changing the token ends them. :func:`check_binding` is the pipeline's step;
:func:`rebind_session` keeps the current session through such a change.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import typing as t

from . import registry
from .config import setting
from .mixins import session_token
from .remember import sent
from .request_login import CookieWork
from .request_login import current_login
from .signals import session_revoked
from .signing import binding
from .signing import KeyMatch
from .signing import keyring
from .stores import StoreUnavailable

if t.TYPE_CHECKING:
    from .remember import RememberCookie
    from .request_login import RequestLogin
    from .signing import Keyring

logger = logging.getLogger("flask_sessionauth")


def check_binding(
    login: RequestLogin, user: t.Any, cookie: RememberCookie | None = None
) -> bool:
    """The pipeline's revocation step: whether the session's login, or the
    login ``cookie`` would restore, is still bound to ``user``'s session
    token. A revoked login is ended (see :func:`revoke`). A session login
    that was unbound, or bound with a retiring key, is bound anew; a login
    from the remember cookie writes its binding when it is restored.
    """
    token = session_token(user)

    if token is None:
        return True

    signature = (
        login.stored.token_signature if cookie is None else cookie.token_signature
    )

    bound = binding(login.config, token, signature)

    if bound is None:
        revoke(login, user)
        return False

    if bound != signature and cookie is None:
        login.stored.write(login.app, {"token_signature": bound}, replace=False)
        registry.rebind(login, bound)

    return True


def revoke(login: RequestLogin, user: t.Any) -> None:
    """End a revoked login: remove it from the session, end its login
    record, delete the remember cookie and send
    :data:`~flask_sessionauth.session_revoked`.
    """
    logger.debug("Refused a revoked login of user %r.", user)
    record = login.record
    token = session_token(user)

    if (
        record is not None
        and token is not None
        and record.token_signature is not None
        and binding(login.config, token, record.token_signature) is not None
    ):
        # The record itself was bound anew (rebind_session on the device):
        # only this copy of the session is stale, and the device goes on.
        login.record = None
    else:
        registry.end_current(login, "revoked", user)

    login.end("revoked")
    login.owe_cookie(CookieWork.CLEAR)
    session_revoked.send(login.app, user=user, **login.extra)


def revoke_all(login: RequestLogin, user: t.Any, *, strict: bool = True) -> int:
    """End every login of ``user`` in ``login``'s realm: each record in the
    login registry, and the request's own login if it is the user's. Used
    when the user is disabled, and by
    :meth:`~flask_sessionauth.LoginManager.revoke_all_sessions`.

    :param strict: Raise when the store cannot be reached; otherwise the
        outage is logged, and the request's own login still ends.
    :return: How many records were ended.
    :raises StoreUnavailable: The store cannot be reached, and ``strict``.
    """
    manager = login.manager
    count = 0

    if manager.registry is not None:
        try:
            count = registry.revoke_records(login.app, manager, user)
        except StoreUnavailable as error:
            if strict:
                raise

            manager.registry_health.failed(error)

    user_id = str(getattr(user, manager.id_attribute)())

    if login.record is not None and login.record.user_id == user_id:
        login.record = None

    if login.stored.exists and str(login.stored.user_id) == user_id:
        login.end("revoked")
        login.owe_cookie(CookieWork.CLEAR)

    current = login.g.__dict__.get(login.user_key)

    if current is not None and getattr(current, "is_authenticated", False):
        if str(getattr(current, manager.id_attribute)()) == user_id:
            login.set_user(manager.anonymous_user())

    return count


def rebind_session(user: t.Any = None, *, realm: str | None = None) -> None:
    """Bind the current session's login of ``realm`` (by default the default
    realm) to ``user``'s current session token, by default the current
    user's; other realms' logins are left as they are. Call it after
    changing the token (after a password change, say) so that this session
    stays logged in while every other session and remember cookie of the
    user is refused. Without a login
    in the session (a user from a request loader, say) it does nothing.

    The session's login is checked first, as on any request: call it in a
    view that has loaded the user (any view under
    :func:`~flask_sessionauth.login_required` has) before the token changed,
    or the change itself revokes the login it was meant to keep.

    The remember cookie the request carries is re-issued, bound to the new
    token and keeping its expiry, only when it belongs to the same login: a
    cookie of this user bound to the token the session was bound to, or to
    the new one, or an unbound cookie while
    ``SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS`` is true, and with a login
    registry, a cookie of the session's own record. Any other cookie of this
    user is deleted; another user's cookie is left alone. A server-side
    session gets a new id.

    :raises RuntimeError: Nobody is logged in, or ``user`` is not the user
        logged in to this session.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.2.0
        A remember cookie bound to a revoked token is deleted rather than
        re-issued, and a re-issued one keeps its expiry.

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """
    login = current_login(realm)
    app = login.app
    manager = login.manager
    stored = login.stored
    claimed = stored.user_id
    claimed_binding = stored.token_signature
    # Loads the user if the view has not: the session's login is checked
    # (protection, revocation) before it is bound to anything new.
    current = login.user

    if user is None:
        user = current

    if not user.is_authenticated:
        raise RuntimeError(
            "rebind_session() needs a logged-in user. Call it after"
            " login_user(), or pass the user."
        )

    user_id = str(getattr(user, manager.id_attribute)())
    bound_id = stored.user_id
    keys = keyring(login.config)

    if bound_id is None:
        if (
            claimed is not None
            and str(claimed) == user_id
            and login.ended == "revoked"
            and _token_changed(keys, user, claimed_binding)
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

    token = session_token(user)
    previous = stored.token_signature
    cookie = sent(login)

    if cookie is not None and cookie.user_id != str(bound_id):
        cookie = None  # another user's cookie: not this login's to renew

    follows = (
        cookie is not None
        # With a registry, a cookie of another login of the user (one this
        # session replaced) ends with the user's other logins below.
        and (manager.registry is None or cookie.login_id == stored.login_id)
        and _follows(login, keys, cookie.token_signature, previous, token)
    )

    signature = None if token is None else keys.sign_token(token)

    if manager.registry is not None and login.record is not None:
        # The session's record follows the new binding, and every other
        # login of the user ends now, not when it is next used.
        bound = dataclasses.replace(login.record, token_signature=signature)
        manager.registry.update(bound)
        login.record = bound

        registry.revoke_records(
            app,
            manager,
            user,
            # A token issued with bind=False outlives password changes.
            lambda record: (
                not record.current
                and not (record.method == "token" and record.token_signature is None)
            ),
            current=bound,
        )

    # A credential change is a new login as far as fixation goes.
    stored.write(app, {"token_signature": signature}, replace=False)

    if follows:
        assert cookie is not None
        login.settle_cookie(CookieWork.REISSUE, cookie.expires_at)
    elif cookie is not None:
        login.settle_cookie(CookieWork.CLEAR)


def _token_changed(keys: Keyring, user: t.Any, signature: object) -> bool:
    """Whether a login bound by ``signature`` ended because ``user``'s token
    changed, rather than for another reason (protection, its age).
    """
    token = session_token(user)

    if token is None or not isinstance(signature, str):
        return False

    return keys.verify_token(token, signature) is KeyMatch.NONE


def _follows(
    login: RequestLogin,
    keys: Keyring,
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
        return bool(setting(login.config, "SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS"))

    if isinstance(previous, str) and hmac.compare_digest(
        signature.encode(), previous.encode()
    ):
        return True

    return keys.verify_token(token, signature) is not KeyMatch.NONE
