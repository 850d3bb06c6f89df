"""The login a session holds: its keys, named once here, and the one way a
login is written into a session.

:class:`SessionLogin` is a typed view over the session, each key a property
(as Flask's :attr:`~flask.sessions.SessionMixin.permanent` is a property over
``"_permanent"``). Every login reaches the session through
:meth:`SessionLogin.write`: a login with a password
(:func:`~flask_sessionauth.login_user`, HTTP Basic), a login restored from the
remember cookie, :func:`~flask_sessionauth.rebind_session` and the test
client. It writes the keys first and then renews the session id, in that
order, so that a session id a client held before the login never carries it.
"""

from __future__ import annotations

import typing as t

from .lifetime import check_store_lifetime

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.sessions import SessionMixin


#: Record secrets longer than this, in a session or a remember cookie, are
#: refused unread.
MAX_LOGIN_ID_LENGTH = 128


class SessionKeys(t.NamedTuple):
    """The session keys of a login. The defaults are flask-login's names (and
    this extension's own ``_fresh_at``, ``_token_sig`` and ``_lifetime``), so
    that sessions written by either are read by the other.
    """

    #: The id the user loader takes.
    user_id: str = "_user_id"
    #: True for a fresh login (made with a password, or confirmed).
    fresh: str = "_fresh"
    #: The session-protection identifier of the client that logged in.
    identifier: str = "_id"
    #: flask-login's pending remember-cookie work; never written here, only
    #: removed with the rest of a login.
    remember: str = "_remember"
    #: The duration asked of :func:`~flask_sessionauth.login_user` for the
    #: remember cookie, in seconds, when it is not the default.
    remember_seconds: str = "_remember_seconds"
    #: When the login was last made fresh, in Unix seconds, while
    #: ``SESSIONAUTH_FRESH_LOGIN_MAX_AGE`` is set.
    fresh_at: str = "_fresh_at"
    #: The signature of the user's session token the login is bound to.
    token_signature: str = "_token_sig"
    #: When the login was made and last seen, while a session timeout is on
    #: (see :func:`flask_sessionauth.lifetime.stamp`).
    lifetime: str = "_lifetime"
    #: The secret of the login's record, while the realm has a login
    #: registry (see :mod:`flask_sessionauth.registry`).
    login_id: str = "_login_id"

    def all(self) -> frozenset[str]:
        """Every key of a login."""
        return frozenset(self)

    @classmethod
    def for_realm(cls, realm: str | None) -> SessionKeys:
        """The keys of a realm's login: flask-login's names for the default
        realm (None), and for a named realm the same names with ``.<realm>``
        appended (``_user_id.staff``). A realm name is an identifier, so no
        key of one realm is a key of another.
        """
        if realm is None:
            return DEFAULT_KEYS

        return cls(*(f"{key}.{realm}" for key in DEFAULT_KEYS))


#: The keys of the login of the app's users.
DEFAULT_KEYS = SessionKeys()
#: The session keys that carry a login. :func:`logout_user` removes them all,
#: ``next`` excepted (it belongs to the login flow, not to the login).
LOGIN_SESSION_KEYS = DEFAULT_KEYS.all()
#: Every session key this extension may write, as flask-login's
#: ``SESSION_KEYS`` plus this extension's own ``_fresh_at``, ``_token_sig``,
#: ``_lifetime`` and ``_login_id``.
SESSION_KEYS = LOGIN_SESSION_KEYS | {"next"}

#: What :meth:`SessionLogin.write` may be given, by field of
#: :class:`SessionKeys`.
Field = t.Literal[
    "user_id",
    "fresh",
    "identifier",
    "remember_seconds",
    "fresh_at",
    "token_signature",
    "lifetime",
    "login_id",
]


class SessionLogin:
    """The login that ``session`` holds, one property per key. The values
    are what the session holds, unchecked: they come from the client (a
    signed cookie session is only as trustworthy as ``SECRET_KEY``), and the
    steps that read them check their types.
    """

    __slots__ = ("keys", "session")

    def __init__(self, session: SessionMixin, keys: SessionKeys = DEFAULT_KEYS) -> None:
        #: The session this is a view of.
        self.session = session
        #: The session keys of the login.
        self.keys = keys

    @property
    def exists(self) -> bool:
        """Whether the session holds a login at all."""
        return self.keys.user_id in self.session

    @property
    def user_id(self) -> object:
        """The stored user id, or None."""
        return self.session.get(self.keys.user_id)

    @property
    def fresh(self) -> bool:
        """Whether the login is fresh. A missing key means not fresh, as in
        flask-login.
        """
        return self.session.get(self.keys.fresh) is True

    @fresh.setter
    def fresh(self, value: bool) -> None:
        if self.session.get(self.keys.fresh) is not value:
            self.session[self.keys.fresh] = value

    @property
    def identifier(self) -> object:
        """The stored session-protection identifier, or None."""
        return self.session.get(self.keys.identifier)

    @identifier.setter
    def identifier(self, value: str) -> None:
        self.session[self.keys.identifier] = value

    @property
    def fresh_at(self) -> object:
        """When the login was last made fresh, or None."""
        return self.session.get(self.keys.fresh_at)

    @fresh_at.setter
    def fresh_at(self, value: int | None) -> None:
        self._put(self.keys.fresh_at, value)

    @property
    def token_signature(self) -> object:
        """The signature of the session token the login is bound to, or
        None for a login that is not bound.
        """
        return self.session.get(self.keys.token_signature)

    @property
    def remember_seconds(self) -> object:
        """The remember cookie's duration asked for at login, or None."""
        return self.session.get(self.keys.remember_seconds)

    @property
    def lifetime(self) -> object:
        """The login's times (see :mod:`~flask_sessionauth.lifetime`), or
        None.
        """
        return self.session.get(self.keys.lifetime)

    @lifetime.setter
    def lifetime(self, value: str) -> None:
        self.session[self.keys.lifetime] = value

    @property
    def login_id(self) -> str | None:
        """The secret of the login's record, or None when the session holds
        none, or something that cannot be one.
        """
        value = self.session.get(self.keys.login_id)

        if type(value) is not str or not 0 < len(value) <= MAX_LOGIN_ID_LENGTH:
            return None

        return value

    def _put(self, key: str, value: object) -> None:
        if value is not None:
            self.session[key] = value
        elif key in self.session:
            del self.session[key]

    def write(
        self,
        app: Flask,
        fields: t.Mapping[Field, object],
        *,
        replace: bool = True,
    ) -> None:
        """Write a login, then give a server-side session a new id.

        :param fields: The login's values by field of :class:`SessionKeys`. A
            field whose value is None is removed.
        :param replace: Drop what the session held of an earlier login first.
            False only when changing the login in place (rebinding it).

        The order matters: Flask-Session does not renew the id of a session
        it counts as empty, and a session is empty just before a login more
        often than not (after :meth:`~dict.clear`, after a logout, after a
        revoked login was dropped). Written first, the login makes it
        non-empty.
        """
        session = self.session

        if replace:
            self.drop()
            # Flask-Session may have been set up after init_app checked this.
            check_store_lifetime(app)

        keys = self.keys
        values = {getattr(keys, field): value for field, value in fields.items()}

        # One update, and deletions only of keys that are there: each call on
        # a Flask session runs Python code of its own.
        for key, value in values.items():
            if value is None and key in session:
                del session[key]

        session.update(
            {key: value for key, value in values.items() if value is not None}
        )
        regenerate_session(app, session)

    def drop(self) -> None:
        """Remove every key of the login; other keys stay."""
        session = self.session

        for key in self.keys.all().intersection(session):
            del session[key]


def regenerate_session(app: Flask, session: SessionMixin) -> None:
    """Give a server-side session a new id, where the session interface can
    (Flask-Session 0.7 and later): the old id's stored data is deleted, so an
    id known before a login is useless after it. Signed cookie sessions have
    no id to renew.
    """
    regenerate = getattr(app.session_interface, "regenerate", None)

    if callable(regenerate):
        regenerate(session)


def is_server_side(app: Flask) -> bool:
    """Whether the app keeps sessions on the server, under an id the client
    holds (Flask-Session 0.7 and later), rather than in a signed cookie.
    """
    return callable(getattr(app.session_interface, "regenerate", None))
