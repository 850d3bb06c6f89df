"""Session protection: the identifier that ties a session to a client."""

from __future__ import annotations

import hmac
from hashlib import sha512

from flask import request

#: How many hex digits of the identifier a session written by this extension
#: stores. 128 bits tell clients apart as well as 512 do, and the shorter
#: value keeps the session cookie small enough that Flask need not compress
#: it, which is most of what a request costs this extension.
SHORT_IDENTIFIER_LENGTH = 32


def identifier_for(address: str | None, agent: str | None) -> str:
    """The identifier of a client with this address and User-Agent: a SHA-512,
    formatted as flask-login 0.6.3 formats it so that sessions flask-login
    wrote keep validating.
    """
    # flask-login formats the byte strings themselves (b'...') into the text
    # it hashes; doing the same keeps its identifiers valid.
    base = (
        f"{None if address is None else address.encode()!r}"
        f"|{None if agent is None else agent.encode()!r}"
    )
    return sha512(base.encode("utf-8")).hexdigest()


def create_identifier() -> str:
    """The identifier of the client making the current request.

    The address is ``request.remote_addr``. Unlike flask-login, the
    ``X-Forwarded-For`` header is never read, because any client can send it.
    Behind a proxy, apply :class:`werkzeug.middleware.proxy_fix.ProxyFix` so
    that ``remote_addr`` is the client's address.
    """
    return identifier_for(request.remote_addr, request.headers.get("User-Agent"))


def short_identifier(identifier: str) -> str:
    """The part of ``identifier`` stored in sessions this extension writes."""
    return identifier[:SHORT_IDENTIFIER_LENGTH]


def identifiers_match(stored: object, identifier: str) -> bool:
    """Whether the ``_id`` a session holds belongs to ``identifier``: either
    all of it, as flask-login stored it, or its short form.
    """
    if type(stored) is not str or not stored.isascii():
        return False

    if len(stored) == len(identifier):
        return hmac.compare_digest(stored, identifier)

    return len(stored) == SHORT_IDENTIFIER_LENGTH and hmac.compare_digest(
        stored, identifier[:SHORT_IDENTIFIER_LENGTH]
    )
