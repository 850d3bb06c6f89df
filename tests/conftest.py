"""The fixtures the test modules share: users, a clock, the login manager, an
app with login and logout views, and variants of that app. The classes and
functions the tests import are in helpers.py.
"""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask import session
from flask.testing import FlaskClient

from flask_sessionauth import confirm_login
from flask_sessionauth import current_user
from flask_sessionauth import login_fresh
from flask_sessionauth import login_remembered
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import rebind_session
from helpers import Clock
from helpers import TokenUser
from helpers import User

# The example app is not installed; its folder is appended, not prepended, so
# that flask_sessionauth still comes from the installed package under tox.
sys.path.append(str(Path(__file__).resolve().parents[1]))


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


@pytest.fixture
def token_app(app: Flask, tina: TokenUser) -> Flask:
    """``app`` with ``tina`` and a password change: ``/change-token/<token>``
    gives the user of the request the session token ``token`` and keeps this
    session logged in with :func:`rebind_session`, which answers "rebound".

    A module that needs it builds its own ``app`` on it (``def app(token_app:
    Flask)``), so that ``client`` and the module's tests get the route too.
    """

    @app.route("/change-token/<token>")
    def change_token(token: str) -> str:
        user = t.cast(TokenUser, current_user._get_current_object())
        user.token = token
        rebind_session()
        return "rebound"

    return app


@pytest.fixture
def site(app: Flask, users: dict[str, User]) -> Flask:
    """The shared app plus a few views that report login state."""

    @app.route("/signin")
    def signin() -> str:
        return "sign in here"

    @app.route("/state")
    def state() -> str:
        return f"fresh={login_fresh()} remembered={login_remembered()}"

    @app.route("/stale/<user_id>")
    def stale(user_id: str) -> str:
        login_user(users[user_id], fresh=False)
        return "stale"

    @app.route("/confirm")
    def confirm() -> str:
        confirm_login()
        return f"fresh={login_fresh()}"

    @app.route("/cart/<item>")
    def cart(item: str) -> str:
        session["cart"] = item
        return "added"

    @app.route("/whoami-after-logout")
    def whoami_after_logout() -> str:
        before = current_user.get_id()
        logout_user()
        return f"{before}->{current_user.get_id()}"

    return app


@pytest.fixture
def site_client(site: Flask) -> FlaskClient:
    return site.test_client()
