"""What the test modules share besides fixtures: the user classes, a clock
the tests move, an app builder, and readers of cookies, sessions, signals
and redirects. The fixtures are in conftest.py.

Test modules import these by name (``from helpers import User``). tests/ has
no ``__init__.py``, so pytest puts it at the front of ``sys.path`` before it
imports a test module, and mypy reads it as a root of its own: this works the
same from the source tree and under tox, where the project root is not on
``sys.path``.
"""

from __future__ import annotations

import contextlib
import typing as t

from flask import Flask
from flask import redirect
from flask.testing import FlaskClient
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
