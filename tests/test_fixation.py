"""Session fixation: a login starts from a clean slate. Server-side sessions
get a new id, an earlier login leaves nothing behind, and logging out removes
every key the extension owns.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
from cachelib import FileSystemCache
from flask import Flask
from flask import jsonify
from flask import request
from flask import session
from flask.testing import FlaskClient
from flask_session import Session
from werkzeug.test import TestResponse

from conftest import cookie_value
from conftest import deletes_cookie
from conftest import session_data
from conftest import TokenUser
from conftest import User
from flask_sessionauth import current_user
from flask_sessionauth import login_user
from flask_sessionauth import user_loaded_from_cookie
from flask_sessionauth.config import LOGIN_SESSION_KEYS

if t.TYPE_CHECKING:
    from pathlib import Path

    from flask.typing import ResponseReturnValue

REMEMBER = "remember_token"
SESSION = "session"
#: Flask-Session's default prefix of the storage keys.
STORE_PREFIX = "session:"


@pytest.fixture
def app(app: Flask, users: dict[str, User], tina: TokenUser) -> Flask:
    @app.route("/signin/<user_id>")
    def signin(user_id: str) -> str:
        days = request.args.get("days")
        login_user(
            users[user_id],
            remember=request.args.get("remember") == "1",
            duration=None if days is None else timedelta(days=int(days)),
            fresh=request.args.get("fresh", "1") == "1",
        )
        return "ok"

    @app.route("/put/<key>/<value>")
    def put(key: str, value: str) -> str:
        session[key] = value
        return "stored"

    @app.route("/keys")
    def keys() -> ResponseReturnValue:
        return jsonify(sorted(session.keys()))

    return app


def max_age(response: TestResponse, name: str) -> int | None:
    """The ``Max-Age`` a response gives a cookie it sets, or None."""
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))

        if first.partition("=")[0] != name:
            continue

        for attribute in attributes:
            key, _, value = attribute.partition("=")

            if key == "Max-Age":
                return int(value)

    return None


# Logging out


def test_logout_removes_every_login_key(app: Flask, client: FlaskClient) -> None:
    # With a freshness window and the session timeouts, so that the session
    # holds _fresh_at and _lifetime too.
    app.config.update(
        FRESH_LOGIN_MAX_AGE=3600,
        SESSION_IDLE_TIMEOUT=3600,
        SESSION_ABSOLUTE_TIMEOUT=7200,
    )
    assert client.get("/put/cart/apples").text == "stored"
    assert client.get("/signin/7?remember=1&days=3").text == "ok"

    with client.session_transaction() as sess:
        # flask-login's pending-cookie key, as an old session may still hold.
        sess["_remember"] = "set"
        sess["theme"] = "dark"

    assert LOGIN_SESSION_KEYS <= set(session_data(client))
    assert client.get("/logout").text == "bye"

    data = session_data(client)
    assert set(data) & LOGIN_SESSION_KEYS == set()
    assert data["cart"] == "apples"
    assert data["theme"] == "dark"
    assert client.get("/").text == "anonymous"
    assert cookie_value(client, REMEMBER) is None


def test_logout_clear_session_removes_everything(
    app: Flask, client: FlaskClient
) -> None:
    app.config["LOGOUT_CLEAR_SESSION"] = True
    client.get("/put/cart/apples")
    client.get("/signin/7?remember=1")

    response = client.get("/logout")

    assert session_data(client) == {}
    assert deletes_cookie(response, REMEMBER)
    # An empty session is no session: the cookie goes too.
    assert deletes_cookie(response, SESSION)
    assert cookie_value(client, SESSION) is None
    assert client.get("/").text == "anonymous"


def test_logout_keeps_app_keys_by_default(app: Flask, client: FlaskClient) -> None:
    assert app.config.get("LOGOUT_CLEAR_SESSION", False) is False
    client.get("/put/cart/apples")
    client.get("/signin/1")
    client.get("/logout")
    assert session_data(client) == {"cart": "apples"}


# Logging in over an earlier login


@pytest.mark.parametrize("fresh", ["1", "0"])
def test_other_user_login_carries_nothing_over(
    app: Flask, client: FlaskClient, fresh: str
) -> None:
    app.config["FRESH_LOGIN_MAX_AGE"] = 3600
    client.get("/put/cart/apples")
    client.get("/signin/7?remember=1&days=3")
    before = session_data(client)
    assert {"_remember_seconds", "_token_sig", "_fresh_at"} <= set(before)
    assert cookie_value(client, REMEMBER) is not None

    response = client.get(f"/signin/2?fresh={fresh}")

    after = session_data(client)
    assert after["_user_id"] == "2"
    assert after["_fresh"] is (fresh == "1")
    assert "_remember_seconds" not in after
    assert "_token_sig" not in after

    if fresh == "1":
        assert after["_fresh_at"] >= before["_fresh_at"]
    else:
        # Tina's fresh login must not make Bob's look fresh.
        assert "_fresh_at" not in after

    # Tina's remember cookie would log her back in: it must go.
    assert deletes_cookie(response, REMEMBER)
    assert cookie_value(client, REMEMBER) is None
    assert after["cart"] == "apples"
    assert client.get("/").text == "user:2"

    # Without the session cookie, nobody is remembered.
    client.delete_cookie(SESSION)
    assert client.get("/").text == "anonymous"


def test_other_user_remembered_gets_own_duration(
    app: Flask, client: FlaskClient
) -> None:
    client.get("/signin/7?remember=1&days=3")
    response = client.get("/signin/2?remember=1")

    # Bob's cookie lasts the default year, not Tina's three days.
    assert max_age(response, REMEMBER) == int(timedelta(days=365).total_seconds())
    assert "_remember_seconds" not in session_data(client)

    client.delete_cookie(SESSION)
    assert client.get("/").text == "user:2"


def test_same_user_login_without_remember_drops_cookie(client: FlaskClient) -> None:
    client.get("/signin/1?remember=1")
    response = client.get("/signin/1")
    assert deletes_cookie(response, REMEMBER)
    client.delete_cookie(SESSION)
    assert client.get("/").text == "anonymous"


def test_login_over_restored_session_carries_nothing_over(
    app: Flask, client: FlaskClient
) -> None:
    client.get("/signin/7?remember=1")
    client.delete_cookie(SESSION)
    assert client.get("/").text == "user:7"
    assert session_data(client)["_fresh"] is False

    client.get("/signin/2?fresh=0")
    data = session_data(client)
    assert data["_fresh"] is False
    assert "_fresh_at" not in data
    assert "_token_sig" not in data


@pytest.mark.parametrize("protection", ["basic", "strong"])
def test_session_identifier_renewed_on_login(
    app: Flask, client: FlaskClient, protection: str
) -> None:
    app.config["SESSION_PROTECTION"] = protection

    with client.session_transaction() as sess:
        sess["_id"] = "planted-by-someone-else"

    client.get("/signin/1")
    renewed = session_data(client)["_id"]
    assert renewed != "planted-by-someone-else"

    # It is this client's identifier: a second client from the same address
    # and browser gets the same one, and strong protection lets it through.
    other = app.test_client()
    other.get("/signin/2")
    assert session_data(other)["_id"] == renewed
    assert client.get("/").text == "user:1"
    assert session_data(client)["_fresh"] is True


# Server-side sessions (Flask-Session)


@pytest.fixture
def store(tmp_path: Path) -> FileSystemCache:
    return FileSystemCache(str(tmp_path / "sessions"))


@pytest.fixture
def server_app(app: Flask, store: FileSystemCache) -> Flask:
    app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=store)
    Session(app)
    return app


@pytest.fixture
def server_client(server_app: Flask) -> FlaskClient:
    return server_app.test_client()


def sid(client: FlaskClient) -> str:
    value = cookie_value(client, SESSION)
    assert value is not None
    return value


def stored(store: FileSystemCache, session_id: str) -> dict[str, t.Any] | None:
    data = store.get(STORE_PREFIX + session_id)
    assert data is None or isinstance(data, dict)
    return data


def test_server_session_is_what_we_think(
    server_client: FlaskClient, store: FileSystemCache
) -> None:
    # The other tests read the store directly; make sure that works.
    server_client.get("/put/cart/apples")
    data = stored(store, sid(server_client))
    assert data is not None
    assert data["cart"] == "apples"


def test_login_gives_server_session_a_new_id(
    server_app: Flask, server_client: FlaskClient, store: FileSystemCache
) -> None:
    server_client.get("/put/cart/apples")
    before = sid(server_client)

    assert server_client.get("/signin/1").text == "ok"
    after = sid(server_client)

    assert after != before
    assert stored(store, before) is None
    data = stored(store, after)
    assert data is not None
    assert data["_user_id"] == "1"
    # The session's contents moved to the new id.
    assert data["cart"] == "apples"
    assert server_client.get("/").text == "user:1"


def test_planted_session_id_is_useless_after_login(
    server_app: Flask, server_client: FlaskClient, store: FileSystemCache
) -> None:
    # The attacker gets a session id of their own...
    attacker = server_app.test_client()
    attacker.get("/put/cart/bait")
    planted = sid(attacker)

    # ...and makes the victim's browser use it; the victim logs in.
    server_client.set_cookie(SESSION, planted)
    assert server_client.get("/keys").json == ["_permanent", "cart"]
    server_client.get("/signin/1")
    assert sid(server_client) != planted

    # The planted id maps to nothing, so the attacker is anonymous.
    assert stored(store, planted) is None
    assert attacker.get("/").text == "anonymous"
    assert attacker.get("/protected").status_code == 401
    assert server_client.get("/").text == "user:1"


def test_each_login_gets_a_new_id(
    server_client: FlaskClient, store: FileSystemCache
) -> None:
    server_client.get("/signin/1")
    first = sid(server_client)
    server_client.get("/signin/2")
    second = sid(server_client)

    assert second != first
    assert stored(store, first) is None
    data = stored(store, second)
    assert data is not None
    assert data["_user_id"] == "2"
    assert server_client.get("/").text == "user:2"


def test_login_without_earlier_session(
    server_client: FlaskClient, store: FileSystemCache
) -> None:
    assert server_client.get("/signin/7").text == "ok"
    data = stored(store, sid(server_client))
    assert data is not None
    assert data["_user_id"] == "7"
    assert "_token_sig" in data
    assert server_client.get("/protected").text == "secret:7"


def test_logout_on_server_session(
    server_client: FlaskClient, store: FileSystemCache
) -> None:
    server_client.get("/put/cart/apples")
    server_client.get("/signin/7?remember=1")
    response = server_client.get("/logout")

    assert deletes_cookie(response, REMEMBER)
    data = stored(store, sid(server_client))
    assert data is not None
    assert set(data) & LOGIN_SESSION_KEYS == set()
    assert data["cart"] == "apples"
    assert server_client.get("/").text == "anonymous"


def test_logout_clear_session_on_server_session(
    server_app: Flask, server_client: FlaskClient, store: FileSystemCache
) -> None:
    server_app.config["LOGOUT_CLEAR_SESSION"] = True
    server_client.get("/put/cart/apples")
    server_client.get("/signin/1")
    logged_in = sid(server_client)

    response = server_client.get("/logout")

    assert deletes_cookie(response, SESSION)
    assert stored(store, logged_in) is None
    assert cookie_value(server_client, SESSION) is None
    assert server_client.get("/").text == "anonymous"


def test_remember_cookie_on_server_session(
    server_app: Flask, server_client: FlaskClient, store: FileSystemCache
) -> None:
    server_client.get("/signin/7?remember=1")
    server_client.delete_cookie(SESSION)

    loaded: list[t.Any] = []

    def receiver(sender: Flask, **kwargs: t.Any) -> None:
        loaded.append(kwargs["user"])

    with user_loaded_from_cookie.connected_to(receiver, server_app):
        assert server_client.get("/").text == "user:7"

    assert [user.get_id() for user in loaded] == ["7"]
    data = stored(store, sid(server_client))
    assert data is not None
    assert data["_user_id"] == "7"
    assert data["_fresh"] is False
    assert server_client.get("/protected").text == "secret:7"


def test_remember_restore_into_planted_session_gets_new_id(
    server_app: Flask, server_client: FlaskClient, store: FileSystemCache
) -> None:
    # The victim has a remember cookie and no session...
    server_client.get("/signin/1?remember=1")
    server_client.delete_cookie(SESSION)

    # ...and is made to use the attacker's session id.
    attacker = server_app.test_client()
    attacker.get("/put/cart/bait")
    planted = sid(attacker)
    server_client.set_cookie(SESSION, planted)

    # The cookie logs the victim back in: that is a login, so the session
    # must not stay under an id the attacker knows.
    assert server_client.get("/").text == "user:1"
    assert attacker.get("/").text == "anonymous"
    assert sid(server_client) != planted
    assert stored(store, planted) is None


def test_current_user_available_after_server_login(
    server_app: Flask, server_client: FlaskClient
) -> None:
    @server_app.route("/login-and-look")
    def login_and_look() -> str:
        login_user(User("2", "bob"))
        return f"now:{current_user.get_id()}"

    server_client.get("/put/cart/apples")
    assert server_client.get("/login-and-look").text == "now:2"
    assert server_client.get("/").text == "user:2"
