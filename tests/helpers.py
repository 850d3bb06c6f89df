"""What the test modules share besides fixtures: the user classes, a clock
the tests move, an app builder, readers of cookies, sessions, signals and
redirects, and the stored formats (the remember cookie, the session's
``_id`` and ``_lifetime``) built and read independently of the package. The
fixtures are in conftest.py.

Test modules import these by name (``from helpers import User``). tests/ has
no ``__init__.py``, so pytest puts it at the front of ``sys.path`` before it
imports a test module, and mypy reads it as a root of its own: this works the
same from the source tree and under tox, where the project root is not on
``sys.path``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shutil
import socket
import typing as t

import pytest
from flask import Flask
from flask import redirect
from flask.testing import FlaskClient
from itsdangerous import Signer
from werkzeug.test import TestResponse

from flask_sessionauth import current_user
from flask_sessionauth import LoginManager
from flask_sessionauth import UserMixin

if t.TYPE_CHECKING:
    from blinker import Signal

#: What ``recording`` collects: ``(sender, kwargs)`` for each signal sent.
Calls = list[tuple[object, dict[str, t.Any]]]


class User(UserMixin):
    """A user kept in memory; ``token`` is its session token (None: no revocation)."""

    def __init__(
        self,
        id: str,
        name: str,
        *,
        active: bool = True,
        token: str | None = None,
    ) -> None:
        self.id = id
        self.name = name
        self.active = active
        self.token = token

    @property
    def is_active(self) -> bool:
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class TokenUser(User):
    """A user class that offers a session token, so sessions can be revoked."""

    def get_session_token(self) -> str | None:
        return self.token


class Clock:
    """A clock the tests own: ``manager.clock = clock``; move it with ``advance``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_app(manager: LoginManager, **config: t.Any) -> Flask:
    """A new app with ``manager`` and ``config``, and one view, ``/``, that
    answers ``user:<id of current_user>``.
    """
    app = Flask(__name__)
    app.config.update(SECRET_KEY="edge-secret", TESTING=True, **config)
    manager.init_app(app)

    @app.route("/")
    def index() -> str:
        return f"user:{current_user.get_id()}"

    return app


def cookie_value(client: FlaskClient, name: str) -> str | None:
    """The value of a cookie the client holds for the default domain, or None."""
    cookie = client.get_cookie(name)
    return None if cookie is None else cookie.value


def session_data(client: FlaskClient) -> dict[str, t.Any]:
    """A copy of the session the client holds."""
    with client.session_transaction() as sess:
        return dict(sess)


@contextlib.contextmanager
def recording(signal: Signal) -> t.Iterator[Calls]:
    """Collect ``(sender, kwargs)`` for each time ``signal`` is sent inside."""
    calls: Calls = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        calls.append((sender, kwargs))

    with signal.connected_to(receiver):
        yield calls


#: The status ``flask.redirect()`` gives when no code is passed: 302 up to
#: Flask 3.1, 303 from Flask 3.2. Every redirect the package, the test apps
#: and the example app send is such a call, so Flask picks the code.
FLASK_REDIRECT_CODE: int = redirect("/").status_code


def is_redirect(response: TestResponse) -> bool:
    """Whether ``response`` is a redirect with the status Flask picks by default.

    Stricter than "any 3xx": on a given Flask exactly one code passes (302
    before Flask 3.2, 303 from 3.2). The ``Location`` header is for the
    caller to check.
    """
    return response.status_code == FLASK_REDIRECT_CODE


def deletes_cookie(response: TestResponse, name: str) -> bool:
    """Whether a ``Set-Cookie`` header drops ``name`` (empty, Max-Age=0)."""
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))

        if first == f"{name}=" and "Max-Age=0" in attributes:
            return True

    return False


def empties_cookie(response: TestResponse, name: str) -> bool:
    """Whether a ``Set-Cookie`` header sets ``name`` to an empty value
    (``name=;`` or ``name="";``).
    """
    return any(
        header.startswith(f"{name}=;") or header.startswith(f'{name}="";')
        for header in response.headers.getlist("Set-Cookie")
    )


# The stored formats, written out here from their description rather than
# taken from the package, so that the tests compare the package with the
# format and not with itself.

#: The itsdangerous salt of remember cookies. The salt and the digest are
#: part of the cookie's format: changing them would log every user out.
REMEMBER_SALT = "flask-sessionauth.remember"


class RememberFields(t.NamedTuple):
    """What a remember cookie says: ``expires~seconds~token signature~user id``."""

    #: When the cookie stops being valid, in Unix seconds.
    expires_at: int
    #: The duration of the login, in seconds.
    seconds: float
    #: The signature of the session token the login is bound to, if any.
    token_signature: str | None
    user_id: str


def remember_signer(key: str | bytes) -> Signer:
    """The remember cookie's signer for ``key`` alone."""
    return Signer(key, salt=REMEMBER_SALT, digest_method=hashlib.sha256)


def encode_user_id(user_id: str) -> str:
    """A user id as the remember cookie holds it: URL-safe base64 of its
    UTF-8, without ``=`` padding.
    """
    return base64.urlsafe_b64encode(user_id.encode("utf-8")).decode().rstrip("=")


def remember_payload(
    user_id: str,
    expires_at: int,
    seconds: float,
    token_signature: str | None = None,
) -> str:
    """The signed text of a remember cookie: ``seconds`` as an int when it
    is whole, an absent token signature empty.
    """
    duration = int(seconds) if float(seconds).is_integer() else seconds
    signature = token_signature or ""
    return f"{expires_at}~{duration}~{signature}~{encode_user_id(user_id)}"


def signed_remember_cookie(key: str | bytes, payload: str) -> str:
    """A remember cookie holding ``payload``, signed with ``key`` as a holder
    of the key could make it, whatever the payload says. What is signed is
    the UTF-8 of the text, as the app reads the cookie back.
    """
    return remember_signer(key).sign(payload.encode("utf-8")).decode("utf-8")


def read_remember_cookie(value: str, key: str | bytes | None = None) -> RememberFields:
    """What the remember cookie ``value`` says, in the format this extension
    writes (a ``ValueError`` for anything else).

    :param key: Verify the signature with this key alone (itsdangerous'
        ``BadSignature`` if it was not made with it). Without it the
        signature is not checked: anyone who holds the cookie can read it.
    """
    if key is None:
        payload, sep, _ = value.rpartition(".")

        if not sep:
            raise ValueError(f"no signature: {value!r}")
    else:
        payload = remember_signer(key).unsign(value).decode("ascii")

    expires, seconds, signature, uid = payload.split("~")

    if not re.fullmatch(r"[0-9]{1,12}", expires):
        raise ValueError(f"not an expiry time: {expires!r}")

    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?(e[+-][0-9]+)?", seconds):
        raise ValueError(f"not a duration: {seconds!r}")

    if not re.fullmatch(r"[A-Za-z0-9_-]+", uid):
        raise ValueError(f"not unpadded URL-safe base64: {uid!r}")

    padded = uid + "=" * (-len(uid) % 4)
    raw = base64.b64decode(padded, altchars=b"-_", validate=True)
    return RememberFields(
        int(expires), float(seconds), signature or None, raw.decode("utf-8")
    )


def short_identifier_of(digest: str) -> str:
    """What a session this extension writes stores as ``_id`` for the
    session protection identifier ``digest`` (flask-login's SHA-512, in
    hex): the first 16 bytes of the digest in URL-safe base64 without
    padding, 22 characters.
    """
    if not re.fullmatch(r"[0-9a-f]{128}", digest):
        raise ValueError(f"not a SHA-512 hex digest: {digest!r}")

    raw = bytes.fromhex(digest)[:16]
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def lifetime_stamp(login_at: int, seen_at: int) -> str:
    """The session's ``_lifetime`` for a login made at ``login_at`` and last
    seen at ``seen_at`` (Unix seconds): the two as unsigned big-endian
    32-bit numbers, in standard base64 without its one ``=``, 11 characters.
    """
    packed = login_at.to_bytes(4, "big") + seen_at.to_bytes(4, "big")
    encoded = base64.b64encode(packed).decode("ascii")
    assert encoded.endswith("=") and not encoded.endswith("==")
    return encoded[:-1]


def read_lifetime(value: object) -> tuple[int, int]:
    """The ``(login_at, seen_at)`` of a ``_lifetime`` stamp, which must be in
    the format :func:`lifetime_stamp` writes (a ``ValueError`` otherwise).
    """
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9+/]{11}", value):
        raise ValueError(f"not a lifetime stamp: {value!r}")

    packed = base64.b64decode(value + "=", validate=True)
    return int.from_bytes(packed[:4], "big"), int.from_bytes(packed[4:], "big")


# A private redis-server


def redis_server_binary() -> str:
    """The path of the redis-server to run; skip, or fail in CI, without one."""
    name = os.environ.get("REDIS_SERVER", "redis-server")
    path = shutil.which(name)

    if path is not None:
        return path

    message = (
        f"redis-server not found: {name!r} is not an executable on PATH"
        " (REDIS_SERVER may name the binary)"
    )

    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{message}. In CI a missing service is an error, not a skip:"
            " install redis-server (.ci/run does, with apt-get).",
            pytrace=False,
        )

    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
