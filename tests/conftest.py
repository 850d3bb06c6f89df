from __future__ import annotations

import contextlib
import sys
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask import redirect
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_sessionauth import current_user
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import UserMixin

if t.TYPE_CHECKING:
    from blinker import Signal

#: What ``recording`` collects: ``(sender, kwargs)`` for each signal sent.
Calls = list[tuple[object, dict[str, t.Any]]]

# The example app is not installed; its folder is appended, not prepended, so
# that flask_sessionauth still comes from the installed package under tox.
sys.path.append(str(Path(__file__).resolve().parents[1]))


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


@pytest.fixture
def users() -> dict[str, User]:
    return {
        "1": User("1", "alice"),
        "2": User("2", "bob"),
        "3": User("3", "carol", active=False),
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def login_manager(users: dict[str, User], clock: Clock) -> LoginManager:
    manager = LoginManager()
    manager.clock = clock

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

    return manager


@pytest.fixture
def app(login_manager: LoginManager, users: dict[str, User]) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test-secret", TESTING=True)
    login_manager.init_app(app)

    @app.route("/")
    def index() -> str:
        if current_user.is_authenticated:
            return f"user:{current_user.get_id()}"
        return "anonymous"

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        from flask import request

        remember = request.args.get("remember") == "1"
        ok = login_user(users[user_id], remember=remember)
        return "ok" if ok else "inactive"

    @app.route("/logout")
    def logout() -> str:
        logout_user()
        return "bye"

    @app.route("/protected")
    @login_required
    def protected() -> str:
        return f"secret:{current_user.get_id()}"

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def cookie_value(client: FlaskClient, name: str) -> str | None:
    """The value of a cookie the client holds for the default domain, or None."""
    cookie = client.get_cookie(name)
    return None if cookie is None else cookie.value


@pytest.fixture
def tina_token() -> str:
    """The session token of ``tina``; a module overrides it to pick another."""
    return "tina-token"


@pytest.fixture
def tina(users: dict[str, User], tina_token: str) -> TokenUser:
    """User 7, a ``TokenUser`` (so her sessions can be revoked), in ``users``."""
    user = TokenUser("7", "tina", token=tina_token)
    users["7"] = user
    return user


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


__all__: t.Sequence[str] = [
    "User",
    "TokenUser",
    "Clock",
    "Calls",
    "cookie_value",
    "session_data",
    "recording",
    "deletes_cookie",
    "FLASK_REDIRECT_CODE",
    "is_redirect",
    "empties_cookie",
]
