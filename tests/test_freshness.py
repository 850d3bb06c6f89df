"""The freshness window: with ``SESSIONAUTH_FRESH_LOGIN_MAX_AGE`` a fresh login stops
being fresh once it is older than the window, and :func:`confirm_login`
opens a new one. Without it, freshness lasts as in flask-login.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_sessionauth import confirm_login
from flask_sessionauth import current_user
from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_fresh
from flask_sessionauth import LoginManager
from flask_sessionauth import REFRESH_MESSAGE
from flask_sessionauth import user_needs_refresh
from helpers import Clock
from helpers import is_redirect
from helpers import User

WINDOW = 600
WINDOWS = [
    pytest.param(timedelta(seconds=WINDOW), id="timedelta"),
    pytest.param(WINDOW, id="int"),
]
TEN_YEARS = 10 * 365 * 24 * 3600


@pytest.fixture
def app(app: Flask) -> Flask:
    @app.route("/fresh")
    def fresh() -> str:
        return "fresh" if login_fresh() else "stale"

    @app.route("/fresh-only")
    @fresh_login_required
    def fresh_only() -> str:
        return f"fresh-only:{current_user.get_id()}"

    @app.route("/confirm")
    def confirm() -> str:
        confirm_login()
        return "confirmed"

    @app.route("/reauth")
    def reauth() -> str:
        return "please log in again"

    return app


def login(client: FlaskClient, user_id: str = "1", *, remember: bool = False) -> None:
    url = f"/login/{user_id}" + ("?remember=1" if remember else "")
    assert client.get(url).text == "ok"


def freshness(client: FlaskClient) -> str:
    return client.get("/fresh").text


# With a window


@pytest.mark.parametrize("window", WINDOWS)
def test_fresh_until_window_ends(
    app: Flask, client: FlaskClient, clock: Clock, window: timedelta | int
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = window
    login(client)
    assert freshness(client) == "fresh"
    assert client.get("/fresh-only").text == "fresh-only:1"

    clock.advance(WINDOW - 1)
    assert freshness(client) == "fresh"
    assert client.get("/fresh-only").text == "fresh-only:1"

    clock.advance(2)
    assert freshness(client) == "stale"
    # Still logged in: only freshness ran out.
    assert client.get("/protected").text == "secret:1"


@pytest.mark.parametrize("window", WINDOWS)
def test_stale_login_needs_refresh_401(
    app: Flask, client: FlaskClient, clock: Clock, window: timedelta | int
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = window
    login(client)
    clock.advance(WINDOW + 1)

    calls: list[Flask] = []

    def receiver(sender: Flask, **kwargs: t.Any) -> None:
        calls.append(sender)

    with user_needs_refresh.connected_to(receiver, app):
        response = client.get("/fresh-only")

    assert response.status_code == 401
    assert calls == [app]


@pytest.mark.parametrize("window", WINDOWS)
def test_stale_login_redirects_to_refresh_view(
    app: Flask,
    client: FlaskClient,
    clock: Clock,
    login_manager: LoginManager,
    window: timedelta | int,
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = window
    login_manager.refresh_view = "reauth"
    login(client)
    clock.advance(WINDOW + 1)

    response = client.get("/fresh-only")

    assert is_redirect(response)
    assert response.location is not None
    location = urlsplit(response.location)
    assert location.path == "/reauth"
    assert parse_qs(location.query)["next"] == ["/fresh-only"]

    with client.session_transaction() as sess:
        assert sess["_flashes"] == [("message", REFRESH_MESSAGE)]


@pytest.mark.parametrize("window", WINDOWS)
def test_confirm_login_opens_new_window(
    app: Flask, client: FlaskClient, clock: Clock, window: timedelta | int
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = window
    login(client)
    clock.advance(WINDOW + 1)
    assert freshness(client) == "stale"

    assert client.get("/confirm").text == "confirmed"
    assert freshness(client) == "fresh"
    assert client.get("/fresh-only").text == "fresh-only:1"

    # The new window counts from the confirmation, not from the login.
    clock.advance(WINDOW - 1)
    assert freshness(client) == "fresh"
    clock.advance(2)
    assert freshness(client) == "stale"
    assert client.get("/fresh-only").status_code == 401


@pytest.mark.parametrize("window", WINDOWS)
def test_new_login_opens_new_window(
    app: Flask, client: FlaskClient, clock: Clock, window: timedelta | int
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = window
    login(client)
    clock.advance(WINDOW + 1)
    assert freshness(client) == "stale"

    login(client)
    assert freshness(client) == "fresh"
    clock.advance(WINDOW - 1)
    assert freshness(client) == "fresh"


def test_window_does_not_make_unfresh_login_fresh(
    app: Flask, client: FlaskClient, users: dict[str, User]
) -> None:
    from flask_sessionauth import login_user

    @app.route("/login-stale")
    def login_stale() -> str:
        login_user(users["1"], fresh=False)
        return "ok"

    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = WINDOW
    client.get("/login-stale")
    assert client.get("/").text == "user:1"
    assert freshness(client) == "stale"


def test_restored_login_is_not_fresh_with_window(
    app: Flask, client: FlaskClient
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = WINDOW
    login(client, remember=True)
    client.delete_cookie("session")

    assert client.get("/").text == "user:1"
    assert freshness(client) == "stale"
    assert client.get("/fresh-only").status_code == 401

    client.get("/confirm")
    assert freshness(client) == "fresh"


# Without a window: flask-login's behaviour


def test_default_fresh_forever(app: Flask, client: FlaskClient, clock: Clock) -> None:
    assert app.config.get("SESSIONAUTH_FRESH_LOGIN_MAX_AGE") is None
    login(client)
    clock.advance(TEN_YEARS)
    assert freshness(client) == "fresh"
    assert client.get("/fresh-only").text == "fresh-only:1"


def test_default_not_fresh_once_restored_from_cookie(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    login(client, remember=True)
    clock.advance(3600)
    client.delete_cookie("session")

    assert client.get("/").text == "user:1"
    assert freshness(client) == "stale"
    assert client.get("/fresh-only").status_code == 401

    client.get("/confirm")
    clock.advance(TEN_YEARS)
    assert freshness(client) == "fresh"


def test_explicit_none_is_the_default(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = None
    login(client)
    clock.advance(TEN_YEARS)
    assert freshness(client) == "fresh"


def test_login_fresh_is_false_for_anonymous(app: Flask) -> None:
    with app.test_request_context():
        assert login_fresh() is False


# Sessions from before the window existed


@pytest.mark.parametrize(
    ("window", "expected"),
    [(WINDOW, "stale"), (None, "fresh")],
)
def test_fresh_session_without_timestamp(
    app: Flask, client: FlaskClient, window: int | None, expected: str
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = WINDOW
    login(client)
    assert freshness(client) == "fresh"

    # What flask-login, or this extension without a window, wrote: fresh,
    # with no record of when.
    with client.session_transaction() as sess:
        assert sess["_fresh"] is True
        sess.pop("_fresh_at", None)

    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = window
    assert freshness(client) == expected


def test_window_set_after_login(app: Flask, client: FlaskClient, clock: Clock) -> None:
    # An app turns the window on while users are logged in: a login older
    # than the window must be refreshed.
    login(client)
    clock.advance(2 * 3600)
    assert freshness(client) == "fresh"
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = timedelta(hours=1)
    assert freshness(client) == "stale"
    assert client.get("/protected").text == "secret:1"

    client.get("/confirm")
    assert freshness(client) == "fresh"


@pytest.mark.parametrize("fresh_at", ["1700000000", None, True, [1]])
def test_garbage_timestamp_is_not_fresh(
    app: Flask, client: FlaskClient, fresh_at: object
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = WINDOW
    login(client)

    with client.session_transaction() as sess:
        sess["_fresh_at"] = fresh_at

    assert freshness(client) == "stale"
    assert client.get("/").text == "user:1"


# Invalid values

INVALID = ["600", "10 minutes", True, [600], object()]


@pytest.mark.parametrize("value", INVALID)
def test_invalid_window_fails_at_init_app(value: object) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test-secret", SESSIONAUTH_FRESH_LOGIN_MAX_AGE=value)

    with pytest.raises(TypeError, match="SESSIONAUTH_FRESH_LOGIN_MAX_AGE"):
        LoginManager(app)

    assert "sessionauth" not in app.extensions


@pytest.mark.parametrize("value", INVALID)
def test_invalid_window_fails_on_use(
    app: Flask, client: FlaskClient, value: object
) -> None:
    login(client)
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = value

    with pytest.raises(TypeError, match="SESSIONAUTH_FRESH_LOGIN_MAX_AGE"):
        client.get("/fresh")

    with pytest.raises(TypeError, match="SESSIONAUTH_FRESH_LOGIN_MAX_AGE"):
        client.get("/fresh-only")
