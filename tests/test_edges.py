"""Edge cases where a flask-login app, or a careless client, once went wrong:
async loaders inside async views, templates outside requests, odd user ids,
odd config values, and the paths that must not re-tie or re-issue a login.
"""

from __future__ import annotations

import dataclasses
import typing as t
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from flask import render_template_string
from flask import request
from flask import Response
from flask.testing import FlaskClient

from conftest import cookie_value
from conftest import User
from flask_sessionauth import current_user
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import rebind_session
from flask_sessionauth import UserMixin

REMEMBER = "remember_token"


def make_app(manager: LoginManager, **config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="edge-secret", TESTING=True, **config)
    manager.init_app(app)

    @app.route("/")
    def index() -> str:
        return f"user:{current_user.get_id()}"

    return app


# Async loaders inside async views


@pytest.fixture
def async_app(users: dict[str, User]) -> Flask:
    manager = LoginManager()

    @manager.user_loader
    async def load(user_id: str) -> User | None:
        return users.get(user_id)

    app = make_app(manager)

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(users[user_id])
        return "ok"

    @app.route("/guarded", methods=["GET", "OPTIONS"])
    @login_required
    async def guarded() -> str:
        return f"guarded:{current_user.get_id()}"

    @app.route("/bare")
    async def bare() -> str:
        return f"bare:{current_user.get_id()}"

    return app


def test_async_view_with_async_loader(async_app: Flask) -> None:
    client = async_app.test_client()

    assert client.get("/guarded").status_code == 401
    client.get("/login/1")
    assert client.get("/guarded").text == "guarded:1"


@pytest.mark.parametrize("exempt", ["options", "login-disabled"])
def test_async_view_with_async_loader_lets_exempt_requests_read_the_user(
    async_app: Flask, exempt: str
) -> None:
    # The decorator lets these through unchecked, but still loads the user
    # outside the event loop, so the body can read current_user.
    client = async_app.test_client()
    client.get("/login/1")

    if exempt == "options":
        response = client.options("/guarded")
    else:
        async_app.config["LOGIN_DISABLED"] = True
        response = client.get("/guarded")

    assert response.status_code == 200
    assert response.text == "guarded:1"


def test_async_loader_read_inside_event_loop_says_what_to_do(
    async_app: Flask,
) -> None:
    client = async_app.test_client()
    client.get("/login/1")

    with pytest.raises(RuntimeError, match="login_required"):
        client.get("/bare")


# Templates


def test_template_outside_a_request_renders(app: Flask) -> None:
    # flask-login gave None here; a CLI command or an email job renders
    # templates with only an app context.
    with app.app_context():
        assert render_template_string("Hello x") == "Hello x"
        assert render_template_string("{{ current_user }}") == "None"


def test_template_does_not_load_an_unused_user(
    users: dict[str, User],
) -> None:
    loads: list[str] = []
    manager = LoginManager()

    @manager.user_loader
    def load(user_id: str) -> User | None:
        loads.append(user_id)
        return users.get(user_id)

    app = make_app(manager)

    @app.route("/page")
    def page() -> str:
        return render_template_string("plain {{ 1 + 1 }}")

    @app.route("/greet")
    def greet() -> str:
        return render_template_string("hi {{ current_user.get_id() }}")

    client = app.test_client()

    with client.session_transaction() as sess:
        sess["_user_id"] = "1"

    assert client.get("/page").text == "plain 2"
    assert loads == []
    assert client.get("/greet").text == "hi 1"
    assert loads == ["1"]


# User ids of other types


class IntUser(UserMixin):
    def __init__(self, id: int | uuid.UUID) -> None:
        self.id = id

    def get_id(self) -> t.Any:
        return self.id


@pytest.mark.parametrize("user_id", [5, uuid.UUID(int=5)], ids=["int", "uuid"])
def test_non_str_ids_reach_the_loader_unchanged(user_id: int | uuid.UUID) -> None:
    # flask-login stored what get_id() returned and handed it back as it was.
    seen: list[object] = []
    manager = LoginManager()

    @manager.user_loader
    def load(value: t.Any) -> IntUser | None:
        seen.append(value)
        return IntUser(value) if value == user_id else None

    app = make_app(manager)

    @app.route("/login")
    def login() -> str:
        login_user(IntUser(user_id))
        return "ok"

    @app.route("/rebind")
    def rebind() -> str:
        rebind_session()
        return "rebound"

    client = app.test_client()
    client.get("/login")

    assert client.get("/").text == f"user:{user_id}"
    assert seen == [user_id]
    assert client.get("/rebind").text == "rebound"


@pytest.mark.parametrize("value", [[1], {"a": 1}, 1.5, True, b"1"])
def test_other_id_types_are_anonymous(app: Flask, value: object) -> None:
    client = app.test_client()

    with client.session_transaction() as sess:
        sess["_user_id"] = value

    assert client.get("/").text == "anonymous"


# Callbacks and config that flask-login accepted


@dataclasses.dataclass
class Loader:
    users: dict[str, User]

    def __call__(self, user_id: str) -> User | None:
        return self.users.get(user_id)


def test_unhashable_callable_loader(users: dict[str, User]) -> None:
    manager = LoginManager()
    manager.user_loader(Loader(users))
    app = make_app(manager)
    client = app.test_client()

    with client.session_transaction() as sess:
        sess["_user_id"] = "2"

    assert client.get("/").text == "user:2"


@pytest.mark.parametrize("value", ["lax", "Strict", "none"])
def test_samesite_in_any_case(login_manager: LoginManager, value: str) -> None:
    app = make_app(login_manager, REMEMBER_COOKIE_SAMESITE=value)

    @app.route("/in")
    def log_in() -> str:
        login_user(User("1", "alice"), remember=True)
        return "in"

    response = app.test_client().get("/in")
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(REMEMBER)
    )

    assert f"SameSite={value.title()}" in header


def test_samesite_nonsense_fails_at_init(login_manager: LoginManager) -> None:
    with pytest.raises(ValueError, match="REMEMBER_COOKIE_SAMESITE"):
        make_app(login_manager, REMEMBER_COOKIE_SAMESITE="sometimes")


def test_secret_key_fallbacks_as_one_string_fails_at_init(
    login_manager: LoginManager,
) -> None:
    with pytest.raises(TypeError, match="list of keys"):
        make_app(login_manager, SECRET_KEY_FALLBACKS="old")


def test_remember_cookie_without_a_secret_key_is_ignored(
    users: dict[str, User],
) -> None:
    manager = LoginManager()

    @manager.request_loader
    def from_request(request: t.Any) -> User | None:
        return users.get(request.headers.get("X-User", ""))

    app = Flask(__name__)
    manager.init_app(app)

    @app.route("/")
    def index() -> str:
        return f"user:{current_user.get_id()}"

    client = app.test_client()
    client.set_cookie(REMEMBER, "whatever")

    assert client.get("/").text == "user:None"
    assert client.get("/", headers={"X-User": "1"}).text == "user:1"


def test_setup_app_still_works_and_warns(login_manager: LoginManager) -> None:
    app = Flask(__name__)

    with pytest.warns(DeprecationWarning, match="init_app"):
        login_manager.setup_app(app)

    assert app.extensions["sessionauth"] is login_manager


def test_duration_is_ignored_without_remember(app: Flask) -> None:
    @app.route("/plain")
    def plain() -> str:
        login_user(User("1", "alice"), duration="not a timedelta")  # type: ignore[arg-type]
        return "in"

    client = app.test_client()

    assert client.get("/plain").text == "in"
    assert cookie_value(client, REMEMBER) is None


def test_duration_is_checked_with_remember(app: Flask) -> None:
    @app.route("/long")
    def long() -> str:
        login_user(User("1", "alice"), remember=True, duration=timedelta(days=40000))
        return "in"

    with pytest.raises(ValueError, match="100 years"):
        app.test_client().get("/long")


# Paths that must not re-tie a session or re-issue a cookie


def test_unauthorized_with_session_next_does_not_retie_a_stolen_session(
    users: dict[str, User],
) -> None:
    manager = LoginManager()
    manager.login_view = "login"

    @manager.user_loader
    def load(user_id: str) -> User | None:
        return users.get(user_id)

    app = make_app(manager, USE_SESSION_FOR_NEXT=True, SESSION_PROTECTION="strong")

    @app.route("/login")
    def login() -> str:
        login_user(users["1"])
        return "in"

    @app.route("/reports")
    def reports() -> t.Any:
        # A view that refuses before anything loads the user.
        return manager.unauthorized()

    victim = app.test_client()
    victim.get("/login", headers={"User-Agent": "victim"})
    stolen = cookie_value(victim, "session")
    assert stolen is not None

    thief = app.test_client()
    thief.set_cookie("session", stolen)
    thief.get("/reports", headers={"User-Agent": "thief"})

    assert thief.get("/", headers={"User-Agent": "thief"}).text == "user:None"


@pytest.mark.parametrize("cookie", ["garbage", "other-user"])
def test_rebind_does_not_turn_a_foreign_cookie_into_a_login(
    app: Flask, users: dict[str, User], cookie: str
) -> None:
    @app.route("/rebind")
    def rebind() -> str:
        rebind_session()
        return "rebound"

    other = app.test_client()
    other.get("/login/2?remember=1")
    value = "garbage" if cookie == "garbage" else cookie_value(other, REMEMBER)
    assert value is not None

    client = app.test_client()
    client.get("/login/1")
    client.set_cookie(REMEMBER, value)
    response = client.get("/rebind")

    assert response.text == "rebound"
    assert not any(
        h.startswith(f"{REMEMBER}=") and "Expires=Thu, 01 Jan 1970" not in h
        for h in response.headers.getlist("Set-Cookie")
    )

    client.delete_cookie("session")
    assert client.get("/").text != "user:1"


def test_rebind_reissues_the_users_own_cookie(app: Flask) -> None:
    @app.route("/rebind")
    def rebind() -> str:
        rebind_session()
        return "rebound"

    client = app.test_client()
    client.get("/login/1?remember=1")
    before = cookie_value(client, REMEMBER)
    response = client.get("/rebind")

    assert any(
        h.startswith(f"{REMEMBER}=") for h in response.headers.getlist("Set-Cookie")
    )
    assert before is not None
    client.delete_cookie("session")
    assert client.get("/").text == "user:1"


def test_requests_in_one_app_context_each_do_their_cookie_work(
    app: Flask,
) -> None:
    # Up to Flask 3.1 an app context pushed around several requests (as a
    # test fixture or a CLI command may do) shares one g between them; each
    # request must still set and delete its own remember cookie.
    with app.app_context():
        first = app.test_client()
        second = app.test_client()

        for client in (first, second):
            response = client.get("/login/1?remember=1")
            assert any(
                h.startswith(f"{REMEMBER}=") and "Max-Age=0" not in h
                for h in response.headers.getlist("Set-Cookie")
            )

        for client in (first, second):
            response = client.get("/logout")
            assert any(
                h.startswith(f"{REMEMBER}=") and "Max-Age=0" in h
                for h in response.headers.getlist("Set-Cookie")
            )


def test_an_anonymous_user_of_none_is_loaded_once(app: Flask) -> None:
    # Flask-Security-Too makes anonymous_user return None when anonymous
    # users are disabled; None must count as loaded, not as "not yet".
    manager = app.extensions["sessionauth"]
    manager.anonymous_user = lambda: None
    loads = []
    manager.request_loader(lambda request: loads.append(1))

    with app.test_request_context():
        assert current_user._get_current_object() is None
        assert current_user._get_current_object() is None

    assert loads == [1]


def test_logout_in_an_after_request_hook_deletes_the_remember_cookie(
    app: Flask, client: FlaskClient
) -> None:
    # An app hook may end a login (an account locked mid-request, say); the
    # extension's own hook runs after the app's, so the cookie still goes.
    @app.after_request
    def lock_out(response: Response) -> Response:
        if request.args.get("lock"):
            logout_user()
        return response

    client.get("/login/1?remember=1")
    response = client.get("/?lock=1")

    assert any(
        h.startswith(f"{REMEMBER}=") and "Max-Age=0" in h
        for h in response.headers.getlist("Set-Cookie")
    )
    assert client.get("/").text == "anonymous"


def test_cookie_work_lands_on_a_response_an_app_hook_replaced(
    app: Flask, client: FlaskClient
) -> None:
    @app.after_request
    def wrap(response: Response) -> Response:
        return app.response_class(response.get_data(), status=response.status)

    response = client.get("/login/1?remember=1")
    assert any(
        h.startswith(f"{REMEMBER}=") and "Max-Age=0" not in h
        for h in response.headers.getlist("Set-Cookie")
    )

    response = client.get("/logout")
    assert any(
        h.startswith(f"{REMEMBER}=") and "Max-Age=0" in h
        for h in response.headers.getlist("Set-Cookie")
    )
    client.delete_cookie("session")
    assert client.get("/").text == "anonymous"


def test_refresh_never_renews_a_cookie_for_another_user() -> None:
    # A stale session login of user 1 and user 1's remember cookie, but the
    # user of the request comes from the request loader: user 2. Refreshing
    # must not judge user 1's cookie by user 2's session token.
    manager = LoginManager()
    manager.request_loader(lambda request: User("2", "bob"))
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="test-secret", REMEMBER_COOKIE_REFRESH_EACH_REQUEST=True
    )
    manager.init_app(app)

    @app.route("/")
    def index() -> str:
        return f"user:{current_user.get_id()}"

    @app.route("/plant")
    def plant() -> str:
        login_user(User("1", "alice"), remember=True)
        return "ok"

    client = app.test_client()
    client.get("/plant")
    response = client.get("/")

    assert response.text == "user:2"
    assert not any(
        h.startswith(f"{REMEMBER}=") for h in response.headers.getlist("Set-Cookie")
    )
