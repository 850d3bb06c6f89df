"""API tokens: personal access tokens kept in the login registry.

A token is a login without a browser. It is a
:class:`~flask_sessionauth.stores.LoginRecord` with ``method="token"``, made
by :meth:`LoginManager.issue_token
<flask_sessionauth.LoginManager.issue_token>`, whose secret is the token
itself: the store keeps only its SHA-256 (:func:`.registry.record_id`), so a
leaked store holds no usable token.

The format is ``<prefix><random><checksum>``:

- the prefix, ``SESSIONAUTH_TOKEN_PREFIX`` (``sat_`` by default), says what
  the string is, to people and to secret scanners;
- the random part is 43 base62 characters: 256 random bits;
- the checksum is the CRC32 of the prefix and the random part, as 6 base62
  characters. A scanner can tell a real token from a look-alike without
  asking anyone, and a token with a wrong checksum is refused before the
  store is asked.

A request sends it as ``Authorization: Bearer <token>`` (RFC 6750); tokens
in the query string or the body are never read.
"""

from __future__ import annotations

import dataclasses
import hmac
import re
import secrets
import string
import typing as t
import zlib

from flask import current_app
from flask import has_request_context
from flask import request

from . import registry
from .config import realm_config
from .config import setting
from .mixins import session_token
from .realms import realms
from .realms import signal_extra
from .request_login import current_login
from .revocation import revoke_all
from .signals import token_issued
from .signals import token_used
from .signing import binding
from .signing import keyring
from .stores import LoginRecord
from .stores import StoreUnavailable

if t.TYPE_CHECKING:
    from flask import Flask

    from .config import Config
    from .manager import LoginManager
    from .request_login import RequestLogin

#: The base62 alphabet of tokens.
ALPHABET = string.digits + string.ascii_letters
#: Random bytes in a token (256 bits).
RANDOM_BYTES = 32
#: Characters of the random part: enough base62 digits for 256 bits.
RANDOM_LENGTH = 43
#: Characters of the checksum: enough base62 digits for a CRC32.
CHECKSUM_LENGTH = 6
#: Tokens longer than this are refused unread.
MAX_TOKEN_LENGTH = 128
#: The longest name a token may have.
MAX_NAME_LENGTH = 100
#: What a scope may be: printable ASCII without spaces, quotes or
#: backslashes (RFC 6750's ``scope-token``).
SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}")
#: How long a token issued with ``expires_in=None`` is kept: 100 years.
NEVER = 100 * 365 * 24 * 3600.0

_BODY = re.compile(rf"[0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}}")


def _base62(number: int, width: int) -> str:
    digits = []

    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])

    return "".join(reversed(digits))


def checksum(text: str) -> str:
    """The checksum of a token's prefix and random part."""
    return _base62(zlib.crc32(text.encode("ascii")), CHECKSUM_LENGTH)


def new_token(prefix: str) -> str:
    """A new token with ``prefix``."""
    random = _base62(
        int.from_bytes(secrets.token_bytes(RANDOM_BYTES), "big"), RANDOM_LENGTH
    )
    body = f"{prefix}{random}"
    return body + checksum(body)


def well_formed(value: str, prefix: str) -> bool:
    """Whether ``value`` has a token's shape with ``prefix`` and a checksum
    that matches: what can be checked without the store.
    """
    if (
        len(value) != len(prefix) + RANDOM_LENGTH + CHECKSUM_LENGTH
        or not value.startswith(prefix)
        or not _BODY.fullmatch(value, len(prefix))
    ):
        return False

    body, given = value[:-CHECKSUM_LENGTH], value[-CHECKSUM_LENGTH:]
    return hmac.compare_digest(checksum(body), given)


def bearer(header: str | None) -> str | None:
    """The credentials of an ``Authorization: Bearer`` header: "" for a
    header that says Bearer but carries no single token (empty, several
    values, two headers folded into one), None when there is no Bearer
    header at all.
    """
    if header is None:
        return None

    # Only SP and HTAB are whitespace in HTTP: anything else around the
    # token is part of it, and makes it malformed.
    scheme, _, value = header.strip(" \t").partition(" ")

    if scheme.lower() != "bearer":
        return None

    value = value.strip(" \t")

    if not value or len(value) > MAX_TOKEN_LENGTH or any(c in value for c in " ,\t"):
        return ""

    return value


def prefix(config: Config) -> str:
    """The realm's ``SESSIONAUTH_TOKEN_PREFIX``."""
    return str(setting(config, "SESSIONAUTH_TOKEN_PREFIX"))


# Issuing, checking and listing tokens


def issue(
    app: Flask,
    manager: LoginManager,
    user: t.Any,
    *,
    name: str,
    scopes: t.Iterable[str],
    expires_in: float | None,
    bind: bool,
) -> tuple[str, LoginRecord]:
    """Make a token for ``user`` and record it; return the token (the only
    time it exists in plain text) and its record.

    :raises TypeError: ``user`` is anonymous, or a name or scopes of the
        wrong type.
    :raises ValueError: A name or scope is not valid.
    :raises StoreUnavailable: The store cannot be reached.
    """
    store = manager.registry
    assert store is not None
    user_id = registry.user_id_of(manager, user)

    if not isinstance(name, str):
        raise TypeError(
            f"A token's name is a str, not {type(name).__name__}. For example:"
            " issue_token(user, name='ci deploy')."
        )

    name = name.strip()

    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"A token's name must be 1 to {MAX_NAME_LENGTH} characters, not"
            f" {name!r}. For example: issue_token(user, name='ci deploy')."
        )

    if isinstance(scopes, str):
        raise TypeError(
            f"scopes must be a collection of scope names, not the string"
            f" {scopes!r}. For example: scopes={{{scopes!r}}}."
        )

    try:
        granted = frozenset(scopes)
    except TypeError:
        raise TypeError(
            f"scopes must be a collection of scope names (str), not"
            f" {scopes!r}. For example: scopes={{'read', 'deploy'}}, or"
            " leave it out for a token without scopes."
        ) from None

    for scope in granted:
        if not isinstance(scope, str) or not SCOPE.fullmatch(scope):
            raise ValueError(
                f"A scope is 1 to 64 printable ASCII characters without spaces,"
                f" quotes or backslashes, not {scope!r}. For example:"
                " scopes={'read', 'deploy'}."
            )

    config = realm_config(app.config, manager.realm)
    now = manager.clock()
    token = new_token(prefix(config))
    signature = None
    session_token_value = session_token(user)

    if bind and session_token_value is not None:
        signature = keyring(config).sign_token(session_token_value)

    ip = agent = None

    if has_request_context():
        ip, agent = registry.client(request)

    record = LoginRecord(
        id=registry.record_id(token),
        realm=manager.realm,
        user_id=user_id,
        created_at=now,
        last_seen=now,
        expires_at=now + (NEVER if expires_in is None else expires_in),
        ip=ip,
        user_agent=agent,
        method="token",
        token_signature=signature,
        name=name,
        scopes=granted,
    )
    if store.add(record) is False:  # 256 random bits: never, but say so
        raise RuntimeError("A new token's id is taken in the store; issue it again.")

    if token_issued.receivers:
        token_issued.send(app, user=user, record=record, **signal_extra(manager.realm))

    return token, record


def from_bearer(login: RequestLogin, value: str) -> t.Any:
    """The user of the token ``value``, if it is a valid, unexpired,
    unrevoked token of the realm whose user is still active; None
    otherwise, with ``login.ended`` saying why (``"invalid_token"`` or
    ``"unavailable"``). Nothing is written to the session.
    """
    manager = login.manager
    store = manager.registry
    assert store is not None
    login.ended = "invalid_token"

    if not well_formed(value, prefix(login.config)):
        return None  # refused without asking the store

    now = manager.clock()

    try:
        record = store.get(registry.record_id(value), now)
    except StoreUnavailable as error:
        manager.registry_health.failed(error)
        login.ended = "unavailable"
        return None

    manager.registry_health.recovered()

    if (
        record is None
        or not record.active
        or record.method != "token"
        or record.realm != login.realm
    ):
        return None

    user = login.load_user(record.user_id)

    if user is None:
        return None

    if not user.is_active:
        revoke_all(login, user, strict=False)
        login.ended = "invalid_token"
        return None

    token = session_token(user)
    signature = record.token_signature

    if token is not None and signature is not None:
        signature = binding(login.config, token, signature)

        if signature is None:
            # The user's session token changed (a new password): the token,
            # bound to the old one, ends with the user's other logins.
            try:
                registry.end(login.app, manager, record, "revoked", user=user, now=now)
            except StoreUnavailable as error:
                manager.registry_health.failed(error)

            return None

    if now - record.last_seen >= registry.granularity(login.config):
        try:
            store.touch(record.id, now, record.expires_at)
        except StoreUnavailable as error:
            manager.registry_health.failed(error)
        else:
            record = dataclasses.replace(record, last_seen=now)

    login.ended = None
    login.record = record

    if signature != record.token_signature:
        # Bound with a key in SECRET_KEY_FALLBACKS: bound anew with the
        # current key, so the token outlives the old key.
        registry.rebind(login, signature)

    if token_used.receivers:
        token_used.send(login.app, user=user, record=record, **login.extra)

    return user


def current_token(realm: str | None = None) -> LoginRecord | None:
    """The record of the API token that authenticated the current request,
    or None for a request authenticated otherwise, or not at all. A token of
    any realm is found: pages for people (changing a password, managing
    tokens) can refuse token requests with it, whichever realm guards them:

    .. code-block:: python

        if current_token() is not None:
            abort(403)

    :param realm: The realm to look in first (by default the default
        realm); the others are asked after it.
    :raises UnknownRealmError: ``realm`` is not registered on the app.

    .. versionadded:: 0.2.0
    """
    found = request_token(realm)
    return None if found is None else found.record


def request_token(first: str | None = None) -> RequestLogin | None:
    """The login of whichever realm an API token authenticated the current
    request in (its :attr:`~.RequestLogin.record` is the token's), asking
    ``first``'s realm first; None when the request sends no Bearer token or
    no realm took it. A request without an ``Authorization: Bearer`` header
    touches no realm.

    :raises UnknownRealmError: ``first`` is not registered on the app.
    """
    registered = realms(current_app)

    if first is not None and first not in registered:
        current_login(first)  # raises UnknownRealmError, naming the realms

    if bearer(request.environ.get("HTTP_AUTHORIZATION")) is None:
        return None

    # A token is recorded in one realm only: at most one realm takes it.
    for name in sorted(registered, key=lambda name: name != first):
        login = current_login(name)

        if login.manager.registry is None:
            continue

        login.user  # noqa: B018 -- finds the request's token, if any
        record = login.record

        if record is not None and record.method == "token":
            return login

    return None
