"""The login registry, on the request's side: a record of every login, so
that a user can see where they are logged in and end any one login.

A realm has a registry when its manager has a store
(:attr:`LoginManager.registry <flask_sessionauth.LoginManager.registry>`, see
:mod:`flask_sessionauth.stores`). Then every login starts a
:class:`~flask_sessionauth.stores.LoginRecord` (:func:`start`), and its
session and remember cookie carry the record's secret. A record's id is a
hash of that secret: the store never sees what a client logs in with.

- :func:`check` is the pipeline's step for a session login: the record must
  exist and be active, or the login ends, and its remember cookie with it.
- :func:`for_cookie` finds the record a remember cookie is bound to: an
  active record restores the login on the same record, an ended one refuses
  the cookie forever, and a missing (expired) one lets a valid cookie start
  a new record.
- :func:`end` ends a record, keeping an ended record that had a remember
  cookie until that cookie would have expired.

A store that cannot be reached fails closed: the request is anonymous (its
session is left as it is, for when the store is back), and the outage is
logged once.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets
import typing as t
from base64 import urlsafe_b64encode
from hashlib import sha256

from flask import abort

from .config import seconds
from .config import setting
from .mixins import session_token
from .realms import signal_extra
from .request_login import CookieWork
from .signals import session_ended
from .signals import session_started
from .signing import KeyMatch
from .signing import keyring
from .stores import LoginRecord
from .stores import StoreUnavailable

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request

    from .config import Config
    from .manager import LoginManager
    from .remember import RememberCookie
    from .request_login import RequestLogin
    from .stores import LoginStore

logger = logging.getLogger("flask_sessionauth")

#: Random bytes in a record's secret (256 bits).
SECRET_BYTES = 32
#: How much of the client's address and User-Agent a record keeps.
MAX_IP_LENGTH = 64
#: How long the record of an HTTP Basic login lasts at first, at least: a
#: client that comes back within it keeps it as any login does.
MIN_BASIC_SECONDS = 600.0
MAX_AGENT_LENGTH = 256


def record_id(secret: str) -> str:
    """The id of the record whose secret is ``secret``: its SHA-256, in
    unpadded URL-safe base64. The secret has 256 random bits, so a fast hash
    is enough to make the id useless to a thief.
    """
    digest = sha256(secret.encode("utf-8", "surrogatepass")).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Health:
    """Whether a manager's store is reachable, so that an outage is logged
    once when it starts and once when it ends, not on every request.
    """

    __slots__ = ("down",)

    def __init__(self) -> None:
        self.down = False

    def failed(self, error: StoreUnavailable) -> None:
        if not self.down:
            self.down = True
            logger.warning(
                "The login registry is unavailable; logins it cannot check are"
                " refused until it is back: %s",
                error.__cause__ or error,
            )

    def recovered(self) -> None:
        if self.down:
            self.down = False
            logger.info("The login registry is available again.")


def lifetime(app: Flask, config: Config) -> float:
    """How long a record is kept after its login was last used (unless its
    remember cookie lasts longer): ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT``,
    or else the app's ``PERMANENT_SESSION_LIFETIME``.
    """
    absolute = seconds(
        setting(config, "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT"),
        "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT",
    )
    return absolute or app.permanent_session_lifetime.total_seconds()


def granularity(config: Config) -> float:
    """``SESSIONAUTH_LAST_SEEN_GRANULARITY`` in seconds (0 when None)."""
    found = seconds(
        setting(config, "SESSIONAUTH_LAST_SEEN_GRANULARITY"),
        "SESSIONAUTH_LAST_SEEN_GRANULARITY",
    )
    return found or 0.0


def _store(manager: LoginManager) -> LoginStore:
    store = manager.registry
    assert store is not None
    return store


def _unavailable(manager: LoginManager, error: StoreUnavailable) -> None:
    manager.registry_health.failed(error)


# Starting and checking a login's record


def start(
    login: RequestLogin,
    user: t.Any,
    *,
    method: str,
    token_signature: str | None,
    remember_seconds: float | None,
    secret: str | None = None,
) -> str | None:
    """Record a new login of ``user`` and return the record's secret, for
    the session (and the remember cookie), or None when
    ``SESSIONAUTH_MAX_SESSIONS`` refuses it. At the limit, the oldest
    records are ended instead, unless ``SESSIONAUTH_MAX_SESSIONS_POLICY`` is
    ``"refuse"``.

    :param remember_seconds: How long the remember cookie issued for the
        login lasts, or None when none is.
    :param secret: The secret to record the login under: a remember
        cookie's, whose record the store no longer has. None makes a new one.
    :return: The secret; None also when ``secret``'s record was made by
        another request meanwhile and has ended.
    :raises werkzeug.exceptions.ServiceUnavailable: The store cannot be
        reached: a login that cannot be recorded is not made.
    """
    manager = login.manager
    store = _store(manager)
    config = login.config
    now = manager.clock()
    user_id = str(getattr(user, manager.id_attribute)())

    try:
        limit = setting(config, "SESSIONAUTH_MAX_SESSIONS")

        if limit is not None:
            active = sorted(
                (
                    r
                    for r in store.user_records(login.realm, user_id, now)
                    # API tokens are not device logins: they are not counted.
                    if r.active and r.method != "token"
                ),
                key=lambda record: record.created_at,
            )

            if len(active) >= limit:
                if setting(config, "SESSIONAUTH_MAX_SESSIONS_POLICY") == "refuse":
                    logger.debug("Refused a login over SESSIONAUTH_MAX_SESSIONS.")
                    return None

                for oldest in active[: len(active) - limit + 1]:
                    end(login.app, manager, oldest, "evicted", user=user, now=now)

        if secret is None:
            secret = secrets.token_urlsafe(SECRET_BYTES)

        if method == "basic":
            # An API client that keeps no cookies logs in with every
            # request: its records must not pile up. A client that comes
            # back extends its record as any login does.
            expires_at = now + max(2 * granularity(config), MIN_BASIC_SECONDS)
        else:
            expires_at = now + lifetime(login.app, config)

        if remember_seconds is not None:
            # A granularity beyond the cookie, so that renewing it
            # (REMEMBER_COOKIE_REFRESH_EACH_REQUEST) needs no write before
            # a last-seen write is due anyway.
            expires_at = max(expires_at, now + remember_seconds + granularity(config))

        ip, agent = client(login.request)
        record = LoginRecord(
            id=record_id(secret),
            realm=login.realm,
            user_id=user_id,
            created_at=now,
            last_seen=now,
            expires_at=expires_at,
            ip=ip,
            user_agent=agent,
            method=method,
            remember=remember_seconds is not None,
            token_signature=token_signature,
        )
        # ``is not False``: a store written before add() returned a bool
        # returns None, and stored the record.
        added = store.add(record) is not False
        held = None if added else store.get(record.id, now)
    except StoreUnavailable as error:
        _unavailable(manager, error)
        abort(503, "The login registry is unavailable. Please try again soon.")

    manager.registry_health.recovered()

    if not added:
        # Only a remember cookie's own secret can be taken: another copy of
        # the cookie recorded it first, and the login goes on with that
        # record while it is active and the user's; if it has ended since,
        # the cookie is refused.
        if (
            held is None
            or not held.active
            or held.realm != login.realm
            or held.user_id != user_id
        ):
            return None

        login.record = held
        return secret

    login.record = record

    if session_started.receivers:
        session_started.send(login.app, user=user, record=record, **login.extra)

    return secret


def check(login: RequestLogin) -> bool:
    """The pipeline's registry step for the login the session holds: its
    record must exist, be active, and be this user's in this realm. A login
    without one ends, and its remember cookie is deleted. The record's
    last-seen time is written once it is a granularity old.

    :return: Whether the login survives. False, with the session left alone,
        when the store cannot be reached.
    """
    manager = login.manager
    store = _store(manager)
    stored = login.stored
    secret = stored.login_id

    if secret is None:
        # Made before the registry was turned on, or not by this extension:
        # it has no record to end, so it is not honoured. A valid remember
        # cookie starts a new login, with a record.
        logger.debug("Refused a session login without a login record.")
        login.end("expired")
        return False

    now = manager.clock()

    try:
        record = store.get(record_id(secret), now)
    except StoreUnavailable as error:
        _unavailable(manager, error)
        login.ended = "unavailable"
        return False

    if record is None:
        # Expired, or lost with the store: the login ends, and a valid
        # remember cookie may start a new one in this very request.
        logger.debug("Refused a session login whose record is gone.")
        login.end("expired")
        return False

    if (
        not record.active
        or record.realm != login.realm
        or record.user_id != str(stored.user_id)
    ):
        logger.debug("Refused a session login whose record has ended.")
        login.end("revoked")
        login.owe_cookie(CookieWork.CLEAR)
        return False

    manager.registry_health.recovered()
    login.record = record

    if now - record.last_seen >= granularity(login.config):
        expires_at = max(record.expires_at, now + lifetime(login.app, login.config))

        try:
            store.touch(record.id, now, expires_at)
        except StoreUnavailable as error:
            # The login was checked; only its last-seen time is late.
            _unavailable(manager, error)
        else:
            login.record = dataclasses.replace(
                record, last_seen=now, expires_at=expires_at
            )

    return True


def for_cookie(login: RequestLogin, cookie: RememberCookie) -> LoginRecord | bool:
    """What the registry says of a remember cookie: the active record it
    restores its login on; True when it may start a new record (it names
    none, or its record has expired and is gone); False when it is refused
    (its record ended, belongs to someone else, or the store cannot be
    reached).
    """
    if cookie.login_id is None:
        # Issued before the registry was turned on: bound to no record, so
        # no revocation could ever reach it. Refused, as a session login
        # without a record is.
        return False

    manager = login.manager

    try:
        record = _store(manager).get(record_id(cookie.login_id), manager.clock())
    except StoreUnavailable as error:
        _unavailable(manager, error)
        login.ended = "unavailable"
        return False

    if record is not None and (
        record.realm != login.realm or record.user_id != cookie.user_id
    ):
        return False

    if record is None:
        # The record expired (or the store lost it): the cookie, still
        # valid, starts a new login.
        return True

    if not record.active:
        return False

    return record


# Ending records


def end(
    app: Flask,
    manager: LoginManager,
    record: LoginRecord,
    reason: str,
    *,
    user: t.Any = None,
    now: float | None = None,
) -> LoginRecord:
    """End ``record`` for ``reason`` and send
    :data:`~flask_sessionauth.session_ended`. A record that had a remember
    cookie is kept, ended, until the cookie would have expired, so that the
    cookie never logs in again; any other is dropped.

    :raises StoreUnavailable: The store cannot be reached.
    """
    now = manager.clock() if now is None else now
    ended = dataclasses.replace(
        record,
        ended=reason,
        expires_at=record.expires_at if record.remember else now,
        current=False,
    )
    _store(manager).update(ended)

    if session_ended.receivers:
        session_ended.send(
            app, user=user, record=ended, reason=reason, **signal_extra(record.realm)
        )

    return ended


def end_current(login: RequestLogin, reason: str, user: t.Any = None) -> None:
    """End the record of the request's login, if it has one. An unreachable
    store is logged: the login still ends in this session.
    """
    record = login.record
    login.record = None

    if record is None or login.manager.registry is None:
        return

    try:
        end(login.app, login.manager, record, reason, user=user)
    except StoreUnavailable as error:
        _unavailable(login.manager, error)


def end_session_record(login: RequestLogin, reason: str, user: t.Any = None) -> None:
    """End the record of the login the session holds (a logout, or a new
    login replacing it), whether or not this request checked it.

    :raises werkzeug.exceptions.ServiceUnavailable: The store cannot be
        reached: a logout that could not end the record would leave copies
        of the session and the remember cookie working, so it is not made.
    """
    manager = login.manager

    if manager.registry is None:
        return

    secret = login.stored.login_id
    record = login.record

    try:
        if record is None and secret is not None:
            record = _store(manager).get(record_id(secret), manager.clock())

        login.record = None

        if record is not None and record.active:
            end(login.app, manager, record, reason, user=user)
    except StoreUnavailable as error:
        _unavailable(manager, error)
        abort(503, "The login registry is unavailable. Please try again soon.")


def end_expired(login: RequestLogin, secret: str) -> None:
    """End, as ``"expired"``, the record of a login the session timeouts
    just ended. A login with a remember cookie keeps its record: the device
    is still logged in, and its cookie restores the login on the same
    record, so that ending that record later ends the cookie too. An
    unreachable store is logged; the record then expires by itself.
    """
    manager = login.manager

    try:
        record = _store(manager).get(record_id(secret), manager.clock())

        if (
            record is not None
            and record.active
            and not record.remember
            and record.realm == login.realm
        ):
            end(login.app, manager, record, "expired")
    except StoreUnavailable as error:
        _unavailable(manager, error)


def extend(login: RequestLogin, expires_at: float) -> bool:
    """Keep the request's record at least until ``expires_at``: a remember
    cookie renewed for another full duration must never outlive its record,
    or, once the record was ended and dropped, it would start a new one.

    :return: Whether the record lasts that long (False when the store could
        not be reached: then the cookie must not be renewed).
    """
    record = login.record
    manager = login.manager

    if record is None or manager.registry is None or record.expires_at >= expires_at:
        return True

    # A granularity ahead, so that a cookie renewed on every request
    # (REMEMBER_COOKIE_REFRESH_EACH_REQUEST) costs a write per granularity.
    expires_at += granularity(login.config)

    try:
        _store(manager).touch(record.id, manager.clock(), expires_at)
    except StoreUnavailable as error:
        _unavailable(manager, error)
        return False

    login.record = dataclasses.replace(record, expires_at=expires_at)
    return True


def rebind(login: RequestLogin, signature: str | None) -> None:
    """Bind the request's record to ``signature`` as its session was (a
    login bound anew with the current key), so that listing it does not
    end it once the old key is dropped. An unreachable store is logged.
    """
    record = login.record
    manager = login.manager

    if record is None or manager.registry is None:
        return

    bound = dataclasses.replace(record, token_signature=signature)

    try:
        _store(manager).update(bound)
    except StoreUnavailable as error:
        _unavailable(manager, error)
    else:
        login.record = bound


def revoke_records(
    app: Flask,
    manager: LoginManager,
    user: t.Any,
    which: t.Callable[[LoginRecord], bool] = lambda record: True,
    *,
    current: LoginRecord | None = None,
) -> int:
    """End, as ``"revoked"``, each of ``user``'s active records (listed by
    :func:`records`, ``current`` marked) that ``which`` picks.

    :return: How many were ended.
    :raises StoreUnavailable: The store cannot be reached.
    """
    count = 0

    for record in records(app, manager, user, current=current):
        if which(record):
            end(app, manager, record, "revoked", user=user)
            count += 1

    return count


def client(req: Request) -> tuple[str | None, str | None]:
    """What a record keeps of the client: its address and User-Agent,
    truncated, or None for each it did not send.
    """
    return (
        (req.remote_addr or "")[:MAX_IP_LENGTH] or None,
        req.user_agent.string[:MAX_AGENT_LENGTH] or None,
    )


def user_id_of(manager: LoginManager, user: t.Any) -> str:
    """The id ``user``'s records are kept under in ``manager``'s realm.

    :raises TypeError: ``user`` is anonymous, or has no id.
    """
    # Not is_authenticated: flask-login's UserMixin answers it with
    # is_active, and a disabled user's logins must still be found.
    user_id = (
        None
        if getattr(user, "is_anonymous", False)
        else getattr(user, manager.id_attribute)()
    )

    if user_id is None:
        raise TypeError(
            f"The login registry needs a user with an id, not {user!r}: an"
            " anonymous user has no logins or tokens. Pass a logged-in user"
            " (current_user in a view under login_required) or one your"
            " user_loader returns."
        )

    return str(user_id)


def records(
    app: Flask,
    manager: LoginManager,
    user: t.Any,
    *,
    current: LoginRecord | None = None,
) -> list[LoginRecord]:
    """The active records of ``user`` in ``manager``'s realm, newest first,
    ``current`` marked. Records bound to a session token the user no longer
    has are ended on the way (``"revoked"``).

    :raises TypeError: ``user`` is anonymous, or has no id.
    """
    store = _store(manager)
    now = manager.clock()
    user_id = user_id_of(manager, user)
    found = []
    token = session_token(user)
    keys = None if token is None else keyring(app.config)

    for record in store.user_records(manager.realm, user_id, now):
        if not record.active:
            continue

        if (
            keys is not None
            and token is not None
            and record.token_signature is not None
            and keys.verify_token(token, record.token_signature) is KeyMatch.NONE
        ):
            end(app, manager, record, "revoked", user=user, now=now)
            continue

        if current is not None and hmac.compare_digest(record.id, current.id):
            record = dataclasses.replace(record, current=True)

        found.append(record)

    found.sort(key=lambda record: record.created_at, reverse=True)
    return found
