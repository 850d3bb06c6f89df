"""Helpers for testing apps that use the extension."""

from __future__ import annotations

import typing as t
from datetime import timedelta

from flask.testing import FlaskClient

from .lifetime import stamp
from .login import new_login
from .realms import get_manager
from .registry import end
from .registry import record_id
from .request_login import current_login
from .session_login import SessionKeys
from .session_login import SessionLogin

if t.TYPE_CHECKING:
    from .session_login import Field


def login_test_client(
    client: FlaskClient,
    user: t.Any,
    *,
    fresh: bool = True,
    age: timedelta | None = None,
    idle: timedelta | None = None,
    realm: str | None = None,
) -> None:
    """Log ``user`` in to ``realm`` (by default the default realm) on a test
    client's session, writing what
    :func:`login_user` would write, without going through a login view and
    without sending :data:`user_logged_in`.

    The session gets the client's own session-protection identifier, so the
    login holds under ``SESSION_PROTECTION = "strong"``, and is bound to the
    user's session token, if it has one. Like any login, it gives a
    server-side session a new id. With a login registry, the login gets a
    record (``method="test"``), and the record of a login it replaces ends.

    :param fresh: Whether the login is fresh.
    :param age: Make a login this old, as if it was made that long ago by
        :attr:`LoginManager.clock`: for
        ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT`` and
        ``SESSIONAUTH_FRESH_LOGIN_MAX_AGE``. Defaults to ``idle``, or to a login
        made now.
    :param idle: Make a login last used this long ago, for
        ``SESSIONAUTH_SESSION_IDLE_TIMEOUT``. Defaults to a login used now.
    :param realm: The realm to log the user in to.
    :raises ValueError: ``age`` or ``idle`` is negative, or ``idle`` is longer
        than ``age``.
    :raises UnknownRealmError: ``realm`` is not registered on the app.

    .. versionchanged:: 0.2.0
        Added ``age`` and ``idle``.

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """
    app = client.application
    manager = get_manager(app, realm)

    with app.test_request_context(environ_base=client.environ_base):
        fields = new_login(current_login(realm), user, fresh=fresh, method="test")

    if fields is None:
        raise RuntimeError(
            "The login registry refused the test login: the user has"
            " SESSIONAUTH_MAX_SESSIONS logins and SESSIONAUTH_MAX_SESSIONS_POLICY"
            " is 'refuse'. End some first (revoke_all_sessions), or raise the limit."
        )

    if age is not None or idle is not None:
        _age_login(fields, manager.clock(), age, idle)

    with client.session_transaction() as sess:
        stored = SessionLogin(sess, SessionKeys.for_realm(realm))
        replaced = stored.login_id

        if manager.registry is not None and replaced is not None:
            # As login_user() does: the login this one replaces ends.
            record = manager.registry.get(record_id(replaced), manager.clock())

            if record is not None and record.active:
                end(app, manager, record, "replaced")

        stored.write(app, fields)


def _age_login(
    fields: dict[Field, object],
    now: float,
    age: timedelta | None,
    idle: timedelta | None,
) -> None:
    zero = timedelta()
    idle = zero if idle is None else idle
    age = idle if age is None else age

    if age < zero or idle < zero:
        raise ValueError(
            f"age and idle must not be negative, not age={age!r}, idle={idle!r}."
        )

    if idle > age:
        raise ValueError(
            f"A login cannot have been idle ({idle!r}) for longer than it is old"
            f" ({age!r}). Pass an age at least as long as idle."
        )

    # Written whether or not the timeouts are on, so that a test may turn
    # them on afterwards.
    login_at = int(now - age.total_seconds())
    fields["lifetime"] = stamp(login_at, int(now - idle.total_seconds()))

    if fields.get("fresh_at") is not None:
        fields["fresh_at"] = login_at


class SessionAuthClient(FlaskClient):
    """A test client that starts logged in as ``user``.

    .. code-block:: python

        app.test_client_class = SessionAuthClient
        client = app.test_client(user=user, fresh_login=False)

    :param user: The user to log in, or None for no one.
    :param fresh_login: Whether the login is fresh.
    :param login_age: Passed to :func:`login_test_client` as ``age``.
    :param login_idle: Passed to :func:`login_test_client` as ``idle``.
    :param realm: Passed to :func:`login_test_client`.

    .. versionchanged:: 0.2.0
        Added ``login_age`` and ``login_idle``.

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        user = kwargs.pop("user", None)
        fresh = kwargs.pop("fresh_login", True)
        age = kwargs.pop("login_age", None)
        idle = kwargs.pop("login_idle", None)
        realm = kwargs.pop("realm", None)
        super().__init__(*args, **kwargs)

        if user is not None:
            login_test_client(self, user, fresh=fresh, age=age, idle=idle, realm=realm)


#: flask-login's name for :class:`SessionAuthClient`.
FlaskLoginClient = SessionAuthClient
