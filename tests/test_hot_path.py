"""What the per-request shortcuts must not change: the ``current_user``
proxy's own attributes, the remembered protection verdicts, the cached
lifetime settings and the cached async check of loaders.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
from flask import Flask
from werkzeug.local import LocalProxy

from conftest import Clock
from conftest import session_data
from conftest import User
from flask_sessionauth import current_user
from flask_sessionauth import LoginManager

# The current_user proxy


@pytest.mark.parametrize("logged_in", [True, False])
def test_proxy_attributes_are_the_users(app: Flask, logged_in: bool) -> None:
    client = app.test_client()

    if logged_in:
        client.get("/login/1")

    with client:
        client.get("/")
        user = current_user._get_current_object()
        assert current_user.is_authenticated is user.is_authenticated is logged_in
        assert current_user.is_active is user.is_active
        assert current_user.is_anonymous is user.is_anonymous is (not logged_in)
        assert current_user.get_id() == user.get_id() == ("1" if logged_in else None)
        # The user's own bound method, as werkzeug's generic lookup gives it.
        assert current_user.get_id == user.get_id


def test_proxy_is_still_a_werkzeug_local_proxy() -> None:
    assert isinstance(current_user, LocalProxy)


def test_proxy_reflects_a_user_class_that_lacks_an_attribute(
    app: Flask, login_manager: LoginManager
) -> None:
    class Bare:
        is_authenticated = False

    login_manager.anonymous_user = Bare  # type: ignore[assignment]

    with app.test_request_context():
        assert current_user.is_authenticated is False
        assert not hasattr(current_user, "get_id")
        assert not hasattr(current_user, "is_active")

        with pytest.raises(AttributeError):
            current_user.is_anonymous  # noqa: B018


def test_proxy_attributes_outside_a_request_say_how_to_fix_it() -> None:
    for name in ("is_authenticated", "is_active", "is_anonymous", "get_id"):
        with pytest.raises(RuntimeError, match="only available while handling"):
            getattr(current_user, name)

    assert not current_user


# Protection verdicts


@pytest.mark.parametrize("mode", ["basic", "strong"])
@pytest.mark.parametrize(
    "other",
    [
        {"REMOTE_ADDR": "10.9.9.9"},
        {"HTTP_USER_AGENT": "other-agent/2"},
        {"HTTP_USER_AGENT": "x" * 2000},
    ],
)
def test_verdicts_are_remembered_per_client(
    app: Flask, mode: str, other: dict[str, str]
) -> None:
    app.config["SESSION_PROTECTION"] = mode
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="10.0.0.1", HTTP_USER_AGENT="agent/1")
    client.get("/login/1")

    # The same client, many times: the remembered verdict keeps the login.
    for _ in range(3):
        assert client.get("/").text == "user:1"

    # Another client with a copy of the cookie gets its own verdict.
    thief = app.test_client()
    thief.environ_base.update(REMOTE_ADDR="10.0.0.1", HTTP_USER_AGENT="agent/1")
    thief.environ_base.update(other)
    thief.set_cookie("session", client.get_cookie("session").value)  # type: ignore[union-attr]
    expected = "user:1" if mode == "basic" else "anonymous"
    assert thief.get("/").text == expected

    if mode == "basic":
        assert session_data(thief)["_fresh"] is False

    # And the owner is still judged the owner.
    assert client.get("/").text == "user:1"
    assert session_data(client)["_fresh"] is True


# Lifetime settings read on every request


def test_lifetime_settings_changed_at_run_time_apply_at_once(
    app: Flask, clock: Clock
) -> None:
    app.config["SESSION_IDLE_TIMEOUT"] = timedelta(hours=1)
    client = app.test_client()
    client.get("/login/1")
    clock.advance(30 * 60)
    assert client.get("/").text == "user:1"

    # Ten minutes, and so a granularity of one: ended 11 minutes on.
    app.config["SESSION_IDLE_TIMEOUT"] = timedelta(minutes=10)
    clock.advance(11 * 60 + 1)
    assert client.get("/").text == "anonymous"


def test_two_apps_with_different_lifetimes(users: dict[str, User]) -> None:
    clock = Clock()
    apps = []

    for minutes in (5, 60):
        app = Flask(__name__)
        app.config.update(
            SECRET_KEY="k", SESSION_IDLE_TIMEOUT=timedelta(minutes=minutes)
        )
        manager = LoginManager(app)
        manager.clock = clock
        manager.user_loader(users.get)

        @app.route("/login")
        def login() -> str:
            from flask_sessionauth import login_user

            login_user(users["1"])
            return "ok"

        @app.route("/")
        def index() -> str:
            return str(current_user.get_id())

        apps.append(app)

    clients = [app.test_client() for app in apps]

    for client in clients:
        client.get("/login")

    clock.advance(10 * 60)
    # Alternating between the apps, each keeps its own settings.
    for _ in range(2):
        assert [c.get("/").text for c in clients] == ["None", "1"]


# The async check of loaders


def test_a_loader_replaced_by_an_async_one_is_run_as_async(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    client = app.test_client()
    client.get("/login/1")
    assert client.get("/").text == "user:1"
    calls: list[str] = []

    async def load_async(user_id: str) -> User | None:
        calls.append(user_id)
        return users.get(user_id)

    login_manager.user_loader(load_async)
    assert client.get("/").text == "user:1"
    assert calls == ["1"]


def test_many_distinct_loaders_do_not_grow_the_cache_without_bound(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    from flask_sessionauth import pipeline

    client = app.test_client()
    client.get("/login/1")

    for _ in range(200):
        login_manager.user_loader(lambda user_id: users.get(user_id))
        assert client.get("/").text == "user:1"

    # Sizes are an implementation detail; a bound is the point.
    assert len(vars(pipeline)["_known_async"]) <= 64


def test_an_unhashable_loader_works(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    class Loader:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, user_id: str) -> User | None:
            return users.get(user_id)

    login_manager.user_loader(t.cast("t.Callable[[str], User | None]", Loader()))
    client = app.test_client()
    client.get("/login/1")
    assert client.get("/").text == "user:1"
