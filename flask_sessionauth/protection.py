"""Session protection: the identifier that ties a login to a client, the
verdict on a session whose identifier is not the client's, and the pipeline
step that acts on it (:func:`protect`).
"""

from __future__ import annotations

import enum
import functools
import hmac
import re
import typing as t
from base64 import urlsafe_b64encode
from hashlib import sha256
from hashlib import sha512

from flask import request

from .config import session_protection_mode
from .realms import realms
from .request_login import CookieWork
from .request_login import current_login
from .session_login import is_server_side
from .signals import session_protected

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request
    from flask.sessions import SessionMixin

    from .request_login import RequestLogin

#: How many characters of the identifier a session written by this extension
#: stores: the first 128 bits of its digest in URL-safe base64. 128 bits tell
#: clients apart as well as 512 do, and short text that looks random keeps
#: the session cookie small enough, and random enough, that Flask need not
#: compress it, which is most of what a request costs this extension.
SHORT_IDENTIFIER_LENGTH = 22
#: The length of the short form 0.1.0 stored: the first 32 hex digits.
_HEX_SHORT_LENGTH = 32
#: User-Agent values longer than this are hashed every time rather than
#: remembered, so that no client can fill the cache with large keys.
_CACHED_AGENT_LENGTH = 512
#: The longest stored ``_id`` whose verdict is remembered: flask-login's.
_CACHED_STORED_LENGTH = 128


def _hash_identifier(address: str | None, agent: str | None) -> str:
    # flask-login formats the byte strings themselves (b'...') into the text
    # it hashes; doing the same keeps its identifiers valid.
    base = (
        f"{None if address is None else address.encode()!r}"
        f"|{None if agent is None else agent.encode()!r}"
    )
    return sha512(base.encode("utf-8")).hexdigest()


# The same few clients come back request after request; the identifier is a
# pure function of its two inputs, so remembering it changes no result.
_cached_identifier = functools.lru_cache(maxsize=1024)(_hash_identifier)


def identifier_for(address: str | None, agent: str | None) -> str:
    """The identifier of a client with this address and User-Agent: a SHA-512,
    formatted as flask-login 0.6.3 formats it so that sessions flask-login
    wrote keep validating.
    """
    if agent is not None and len(agent) > _CACHED_AGENT_LENGTH:
        return _hash_identifier(address, agent)

    return _cached_identifier(address, agent)


def client_identifier(req: Request) -> str:
    """The identifier of the client that sent ``req``: its
    :attr:`~flask.Request.remote_addr` and its ``User-Agent`` header.

    ``remote_addr`` is read from the request, not from the WSGI environ, so a
    request class that overrides it (to take the address from a CDN's
    header, say) is obeyed. Unlike flask-login, ``X-Forwarded-For`` is never
    read, because any client can send it; behind a proxy, apply
    :class:`werkzeug.middleware.proxy_fix.ProxyFix`.

    .. versionchanged:: 0.2.0
        Reads ``request.remote_addr`` rather than ``REMOTE_ADDR`` from the
        WSGI environ.
    """
    # The environ entry is the header (what req.headers reads), without the
    # cost of the headers view; remote_addr goes through the request class.
    return identifier_for(req.remote_addr, req.environ.get("HTTP_USER_AGENT"))


def create_identifier() -> str:
    """The identifier of the client making the current request; see
    :func:`client_identifier`.
    """
    return client_identifier(request)


def identify(req: Request, generator: t.Callable[[], str]) -> str:
    """The identifier of the client that sent ``req``, made by ``generator``
    (a manager's :attr:`~flask_sessionauth.LoginManager.identifier_generator`).
    The default generator is given ``req`` rather than looking it up again.
    """
    if generator is create_identifier:
        return client_identifier(req)

    return generator()


#: A SHA-512 hex digest, as the default generator makes: exactly this, so
#: that no text a client shapes (``0x``, signs, spaces, underscores, which
#: ``int(..., 16)`` and ``bytes.fromhex`` let through) passes for one.
_DIGEST = re.compile(r"[0-9a-f]{128}")


def _is_digest(identifier: str) -> bool:
    return _DIGEST.fullmatch(identifier) is not None


def short_identifier(identifier: str) -> str:
    """What sessions this extension writes store of ``identifier``: the
    first 128 bits of a digest, or of the SHA-256 of anything else, so that
    the whole of a plain-text identifier counts (a User-Agent shares its
    first 32 characters with other browsers'), in URL-safe base64.

    .. versionchanged:: 0.2.0
        Hashes an identifier that is not a SHA-512 digest rather than
        cutting it (review finding N4), and stores base64 rather than hex.
    """
    if _is_digest(identifier):
        raw = bytes.fromhex(identifier[:_HEX_SHORT_LENGTH])
    else:
        raw = sha256(identifier.encode("utf-8", "surrogatepass")).digest()[:16]

    return urlsafe_b64encode(raw)[:SHORT_IDENTIFIER_LENGTH].decode("ascii")


class Verdict(enum.Enum):
    """What session protection decides about a login."""

    #: The login belongs to this client, or protection is off.
    KEEP = enum.auto()
    #: Another client's login, kept but no longer fresh ("basic" protection,
    #: or a permanent session under "strong").
    NOT_FRESH = enum.auto()
    #: Another client's login, ended ("strong" protection).
    END = enum.auto()


#: :attr:`Verdict.KEEP`, the verdict on nearly every request, as a module
#: global: reading an enum member through its class costs several times more.
KEEP: t.Final = Verdict.KEEP


def verdict(
    mode: object,
    stored: object,
    req: Request,
    generator: t.Callable[[], str],
    session: SessionMixin,
    *,
    app: Flask | None = None,
) -> Verdict:
    """Judge the login in ``session``, whose ``_id`` is ``stored``, for the
    client that sent ``req``, identified by ``generator`` (see
    :func:`identify`).

    :param mode: ``"basic"``, ``"strong"`` or None.
    :param session: The session; "strong" only marks a permanent signed
        cookie session not fresh, as flask-login does.
    :param app: The app, whose session interface tells whether sessions
        are kept on the server (Flask-Session). "strong" ends a copied login
        there even when the session is permanent: Flask-Session makes every
        session permanent, and a copied session id is all a thief needs.
    :raises ValueError: ``mode`` is not one of the allowed values.
    """
    if mode is None:
        return KEEP

    if mode != "basic" and mode != "strong":
        session_protection_mode(mode)  # raises, naming the allowed values

    same = None

    if (
        generator is create_identifier
        and type(stored) is str
        and len(stored) <= _CACHED_STORED_LENGTH
    ):
        # The same few clients come back with the same session request
        # after request: their answer is remembered, keyed by all it
        # depends on, so that one lookup replaces hashing and comparing.
        agent = req.environ.get("HTTP_USER_AGENT")

        if agent is None or len(agent) <= _CACHED_AGENT_LENGTH:
            same = _cached_same_client(stored, req.remote_addr, agent)

    if same is None:
        same = identifiers_match(stored, identify(req, generator))

    if same:
        return KEEP

    if mode == "basic" or (
        session.permanent and (app is None or not is_server_side(app))
    ):
        return Verdict.NOT_FRESH

    return Verdict.END


def identifiers_match(stored: object, identifier: str) -> bool:
    """Whether the ``_id`` a session holds belongs to ``identifier``: either
    all of it, as flask-login stored it, or the short form this extension
    writes (:func:`short_identifier`).
    """
    if type(stored) is not str:
        return False

    given = stored.encode("utf-8", "surrogatepass")

    if len(stored) == SHORT_IDENTIFIER_LENGTH:
        expected = short_identifier(identifier)
    elif len(stored) == _HEX_SHORT_LENGTH and _is_digest(identifier):
        # A session 0.1.0 wrote, with the default generator.
        expected = identifier[:_HEX_SHORT_LENGTH]
    else:
        # All of it, as flask-login stored it.
        expected = identifier

    return hmac.compare_digest(given, expected.encode("utf-8", "surrogatepass"))


def protection_failed(login: RequestLogin) -> bool:
    """Whether session protection ends the login ``login``'s session holds
    (flask-login's ``_session_protection_failed``). A session without a
    login has nothing to protect.
    """
    return login.stored.exists and not protect(login)


def protect(login: RequestLogin) -> bool:
    """The pipeline's session-protection step: compare the identifier the
    session's login was made with to the client's.

    Protection covers the whole session: a mismatch found by one realm's
    login has every realm's login in the session judged at once, each by
    its own identifier, so that none outlives the suspect session until a
    request reads it. A login this client made or confirmed holds.

    :return: Whether the login survives. In "basic" mode, or for a permanent
        signed cookie session under "strong", a mismatch only marks the
        session's logins not fresh; otherwise "strong" ends them and deletes
        their remember cookies.
    """
    manager = login.manager
    mode = login.app.config.get("SESSION_PROTECTION", manager.session_protection)

    if mode is None:
        return True

    found = verdict(
        mode,
        login.stored.identifier,
        login.request,
        manager.identifier_generator,
        login.session,
        app=login.app,
    )

    if found is KEEP:
        return True

    _apply(login, found)

    # The whole session is suspect: every other realm's login is judged now,
    # each by its own identifier, rather than when a request next reads it.
    # A login this client made or confirmed (in this request, say) holds.
    for realm in realms(login.app):
        if realm != login.realm:
            other = current_login(realm)

            if other.stored.exists:
                other_found = verdict(
                    mode,
                    other.stored.identifier,
                    other.request,
                    other.manager.identifier_generator,
                    other.session,
                    app=other.app,
                )

                if other_found is not KEEP:
                    _apply(other, other_found)

    session_protected.send(login.app, **login.extra)
    return found is Verdict.NOT_FRESH


def _apply(login: RequestLogin, found: Verdict) -> None:
    """Mark ``login`` not fresh, or end it and its remember cookie."""
    if found is Verdict.NOT_FRESH:
        login.stored.fresh = False
    else:
        login.end("protection")
        login.owe_cookie(CookieWork.CLEAR)


@functools.lru_cache(maxsize=1024)
def _cached_same_client(stored: str, address: str | None, agent: str | None) -> bool:
    return identifiers_match(stored, _cached_identifier(address, agent))
