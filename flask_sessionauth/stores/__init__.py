"""Login registries: where every device's login is recorded, behind one small
protocol, :class:`LoginStore`.

The extension keeps a :class:`LoginRecord` per login (per browser, device or
API client) while a registry is configured for the realm. A store only keeps
records: it never decides whether a login is valid, and it sees record ids
only hashed (:attr:`LoginRecord.id` is a SHA-256 of the secret the session
and the remember cookie carry), so a leaked store holds nothing a client
could log in with.

Three stores come with the extension: :class:`~.memory.MemoryLoginStore`
(tests and one process), :class:`~.redis.RedisLoginStore` (``pip install
flask-sessionauth[redis]``) and :class:`~.sqlalchemy.SQLAlchemyLoginStore`
(``pip install flask-sessionauth[sqlalchemy]``). Another store implements
:class:`LoginStore`.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterable

#: Why a login ended, as :data:`~flask_sessionauth.session_ended` reports it.
EndReason = t.Literal["logout", "revoked", "expired", "evicted", "replaced"]


class StoreUnavailable(Exception):
    """The store cannot be reached (its server is down, say). A store raises
    it, with the underlying error as its cause, for every failure that is
    the store's rather than the caller's; the extension then fails closed.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class LoginRecord:
    """One login of one user on one device: a browser session, a device
    remembered by its remember cookie, or an API client.

    Times are Unix seconds.
    """

    #: The record's id: the SHA-256 (URL-safe base64, unpadded) of the
    #: secret the login's session and remember cookie carry. Safe to show
    #: and to post back (:meth:`~flask_sessionauth.LoginManager.revoke_session`):
    #: it cannot be turned back into the secret.
    id: str
    #: The realm of the login (None for the default realm).
    realm: str | None
    #: The id of the user, as ``get_id()`` gave it.
    user_id: str
    #: When the login was made.
    created_at: float
    #: When the login was last used, to within the registry's granularity.
    last_seen: float
    #: When the record expires unless the login is used again: it is kept
    #: for as long as its session or its remember cookie may come back.
    expires_at: float
    #: The client's address (``request.remote_addr``), truncated.
    ip: str | None = None
    #: The client's User-Agent, truncated.
    user_agent: str | None = None
    #: How the user logged in: ``"form"`` (:func:`~flask_sessionauth.login_user`),
    #: ``"remember"``, ``"basic"``, ``"test"`` (the test client) or
    #: ``"token"`` (an API token: see
    #: :meth:`~flask_sessionauth.LoginManager.issue_token`).
    method: str = "form"
    #: Whether a remember cookie was issued for the login.
    remember: bool = False
    #: The signature of the user's session token the login was bound to,
    #: or None: a record whose binding no longer holds is not listed.
    token_signature: str | None = None
    #: Why the login ended, or None while it is active. An ended record is
    #: kept (never listed) until its remember cookie would have expired, so
    #: that the cookie can never start a new login.
    ended: str | None = None
    #: Whether this is the current request's login; set by
    #: :meth:`~flask_sessionauth.LoginManager.sessions` only.
    current: bool = False
    #: For an API token (``method="token"``): the name it was given.
    name: str | None = None
    #: For an API token: the scopes it grants.
    scopes: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        """Whether the login may still be used."""
        return self.ended is None


class LoginStore(t.Protocol):
    """What the extension asks of a store. Each method is one round trip to
    the store's server where it has one, and raises
    :exc:`StoreUnavailable` when the server cannot be reached.

    Records are keyed by :attr:`LoginRecord.id`, and indexed by
    ``(realm, user_id)``. A store may drop a record once its ``expires_at``
    has passed; it must not return one.
    """

    def get(self, record_id: str, now: float) -> LoginRecord | None:
        """The record, active or ended, or None if there is none or it has
        expired. Called on every request that carries a login: it must be
        one round trip.
        """
        ...

    def add(self, record: LoginRecord) -> bool:
        """Store a new record, index it under its user and return True; or
        return False, storing nothing, when the store holds a record under
        its id that has not expired by the new record's ``created_at``,
        active or ended. An expired one is replaced. The check and the write
        are one atomic step: of two requests adding the same id (two copies
        of a remember cookie whose record the store lost), one gets False.
        """
        ...

    def touch(self, record_id: str, last_seen: float, expires_at: float) -> None:
        """Write a newer last-seen time and expiry of an active record. Does
        nothing for an ended or missing record, in one atomic step, as
        :meth:`update`.
        """
        ...

    def update(self, record: LoginRecord) -> None:
        """Replace the record of the same id with ``record``: a new binding,
        or ending it (then ``record.ended`` is set and ``record.expires_at``
        is how long the ended record must be kept; one whose
        ``expires_at`` has passed may be deleted instead).

        An ended record stays ended, with the reason it first ended for: a
        ``record`` replacing an ended one, or a missing one, is ignored.
        Stores with a server make this check and the write one atomic step,
        so that a login revoked meanwhile is never brought back.
        """
        ...

    def user_records(
        self, realm: str | None, user_id: str, now: float
    ) -> list[LoginRecord]:
        """Every unexpired record of the user, active or ended, in any order.
        A store may drop expired ones from its index while it reads it.
        """
        ...


#: The methods of :class:`LoginStore`, which :func:`check_store` looks for.
STORE_METHODS = ("get", "add", "touch", "update", "user_records")


def check_store(store: object) -> LoginStore:
    """``store``, if it looks like a :class:`LoginStore`: an instance with
    the protocol's methods.

    :raises TypeError: It is a class, or lacks a method; the message says
        what to pass instead.
    """
    if isinstance(store, type):
        raise TypeError(
            f"registry= got the class {store.__name__}, not a store. Pass an"
            f" instance: registry={store.__name__}(...)."
        )

    missing = [
        name for name in STORE_METHODS if not callable(getattr(store, name, None))
    ]

    if missing:
        raise TypeError(
            f"registry= got {store!r} ({type(store).__name__}), which is not a"
            f" login store: it lacks the methods {', '.join(missing)}. Pass a"
            " store instance, for example registry=MemoryLoginStore(), or"
            " RedisLoginStore(redis.Redis.from_url(url)) to share the registry"
            " between servers."
        )

    return t.cast(LoginStore, store)


def users_records(
    found: Iterable[LoginRecord | None], realm: str | None, user_id: str, now: float
) -> list[LoginRecord]:
    """What :meth:`LoginStore.user_records` returns of the records a store
    read through a user's index: those that decoded, are that user's in that
    realm (an index a stale or tampered entry points elsewhere is not
    trusted), and have not expired by ``now``.
    """
    return [
        record
        for record in found
        if record is not None
        and record.realm == realm
        and record.user_id == user_id
        and record.expires_at > now
    ]


def encode_scopes(scopes: Iterable[object]) -> str:
    """A token's scopes as one string, for a store that keeps text: sorted
    and joined by single spaces. A scope must be a non-empty string without
    spaces that encodes as UTF-8: any other would come back as other
    scopes, so it is refused.

    :raises ValueError: A scope cannot be kept.
    """
    for scope in scopes:
        if not isinstance(scope, str) or not scope or " " in scope or not _utf8(scope):
            raise ValueError(f"Not a scope a store can keep: {scope!r}")

    return " ".join(sorted(t.cast("Iterable[str]", scopes)))


def decode_scopes(value: str | None) -> frozenset[str] | None:
    """The scopes :func:`encode_scopes` wrote (None: no scopes), or None
    for a value it would not have written (empty, doubled or outer spaces,
    unsorted, repeated): a corrupt record.
    """
    if value is None:
        return frozenset()

    scopes = value.split(" ")

    if not all(scopes) or scopes != sorted(set(scopes)):
        return None

    return frozenset(scopes)


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False

    return True
