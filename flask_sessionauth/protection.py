"""Session protection: the identifier that ties a session to a client."""

from __future__ import annotations

from hashlib import sha512

from flask import request


def create_identifier() -> str:
    """The identifier of the client making the current request: a SHA-512 of
    its address and User-Agent, formatted as flask-login 0.6.3 formats it so
    that sessions flask-login wrote keep validating.

    The address is ``request.remote_addr``. Unlike flask-login, the
    ``X-Forwarded-For`` header is never read, because any client can send it.
    Behind a proxy, apply :class:`werkzeug.middleware.proxy_fix.ProxyFix` so
    that ``remote_addr`` is the client's address.
    """
    address = request.remote_addr
    agent = request.headers.get("User-Agent")
    # flask-login formats the byte strings themselves (b'...') into the text
    # it hashes; doing the same keeps its identifiers valid.
    base = (
        f"{None if address is None else address.encode()!r}"
        f"|{None if agent is None else agent.encode()!r}"
    )
    return sha512(base.encode("utf-8")).hexdigest()
