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

from flask_sessionauth import current_user
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import session_revoked
from flask_sessionauth import user_loaded_from_cookie
from flask_sessionauth.session_login import LOGIN_SESSION_KEYS
from helpers import cookie_value
from helpers import deletes_cookie
from helpers import recording
from helpers import session_data
from helpers import TokenUser
from helpers import User

if t.TYPE_CHECKING:
    from pathlib import Path

    from flask.typing import ResponseReturnValue

REMEMBER = "remember_token"
SESSION = "session"
#: Flask-Session's default prefix of the storage keys.
STORE_PREFIX = "session:"
#: HTTP Basic credentials the test apps accept: user name -> (id, password).
PASSWORDS = {"alice": ("1", "alice-password"), "tina": ("7", "tina-password")}


@pytest.fixture
def app(token_app: Flask, users: dict[str, User]) -> Flask:
    @token_app.route("/signin/<user_id>")
    def signin(user_id: str) -> str:
        days = request.args.get("days")
        login_user(
            users[user_id],
            remember=request.args.get("remember") == "1",
            duration=None if days is None else timedelta(days=int(days)),
            fresh=request.args.get("fresh", "1") == "1",
        )
        return "ok"

    @token_app.route("/put/<key>/<value>")
    def put(key: str, value: str) -> str:
        session[key] = value
        return "stored"

    @token_app.route("/keys")
    def keys() -> ResponseReturnValue:
        return jsonify(sorted(session.keys()))

    @token_app.route("/signin-cleared/<user_id>")
    def signin_cleared(user_id: str) -> str:
        # Starting the login from an empty session, as some apps do.
        session.clear()
        login_user(users[user_id])
        return "ok"

    @token_app.route("/switch-user/<user_id>")
    def switch_user(user_id: str) -> str:
        # "Log in as someone else": end whatever login there is, then log in.
        logout_user()
        login_user(users[user_id])
        return "ok"

    @token_app.route("/signin-checked/<user_id>")
    def signin_checked(user_id: str) -> str:
        # A login form that first sends logged-in users elsewhere.
        if current_user.is_authenticated:
            return f"already:{current_user.get_id()}"

        login_user(users[user_id])
        return "ok"

    return token_app


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
        SESSIONAUTH_FRESH_LOGIN_MAX_AGE=3600,
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=3600,
        SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=7200,
    )
    assert client.get("/put/cart/apples").text == "stored"
    assert client.get("/signin/7?remember=1&days=3").text == "ok"

    with client.session_transaction() as sess:
        # flask-login's pending-cookie key, as an old session may still hold.
        sess["_remember"] = "set"
        sess["theme"] = "dark"

    # Every key but the login record's, which only a login registry writes.
    assert LOGIN_SESSION_KEYS - {"_login_id"} <= set(session_data(client))
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
    app.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = True
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
    assert app.config.get("SESSIONAUTH_LOGOUT_CLEAR_SESSION", False) is False
    client.get("/put/cart/apples")
    client.get("/signin/1")
    client.get("/logout")
    assert session_data(client) == {"cart": "apples"}


# Logging in over an earlier login


@pytest.mark.parametrize("fresh", ["1", "0"])
def test_other_user_login_carries_nothing_over(
    app: Flask, client: FlaskClient, fresh: str
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = 3600
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
def server_app(
    app: Flask,
    store: FileSystemCache,
    login_manager: LoginManager,
    users: dict[str, User],
) -> Flask:
    app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=store)
    Session(app)

    @login_manager.basic_auth_loader
    def check_password(username: str, password: str) -> User | None:
        user_id, expected = PASSWORDS.get(username, ("", None))
        return users[user_id] if password == expected else None

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
    server_app.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = True
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


# F1, a flaw found in a security review: session fixation with server-side
# sessions. A login was saved under the session id the client arrived with
# whenever the session looked empty to Flask-Session at the moment of the
# login (cleared by the view, cleared by ``logout_user``, or emptied by the
# revocation of a planted login).

#: The session keys of a login, as docs/security.rst lists them.
LOGIN_KEYS = frozenset(
    {"_user_id", "_fresh", "_id", "_remember_seconds", "_fresh_at", "_token_sig"}
)


def visit(app: Flask, path: str, cookies: t.Mapping[str, str]) -> TestResponse:
    """A request from a new client that sends exactly ``cookies``."""
    client = app.test_client(use_cookies=False)
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return client.get(path, headers={"Cookie": header} if header else {})


def plant(server_app: Flask, contents: str) -> tuple[FlaskClient, str]:
    """An attacker's client and the id of a session it made, holding app data
    or the attacker's own login (tina's, user 7).
    """
    attacker = server_app.test_client()

    if contents == "app-data":
        assert attacker.get("/put/cart/bait").text == "stored"
    else:
        assert attacker.get("/login/7").text == "ok"

    return attacker, sid(attacker)


def assert_id_dead(
    server_app: Flask, store: t.Any, attacker: FlaskClient, old_id: str
) -> None:
    """The session id ``old_id`` carries no login any more: its stored
    session holds none, and clients presenting it are anonymous.
    """
    assert visit(server_app, "/", {SESSION: old_id}).text == "anonymous"
    assert attacker.get("/").text == "anonymous"
    assert attacker.get("/protected").status_code == 401
    data = stored(store, old_id)
    assert data is None or "_user_id" not in data, data


@pytest.mark.parametrize("permanent", [True, False])
@pytest.mark.parametrize("contents", ["app-data", "attacker-login"])
def test_login_after_session_clear_gets_new_id(
    server_app: Flask, store: t.Any, contents: str, permanent: bool
) -> None:
    """F1 (a): ``session.clear()`` then ``login_user()`` in one view. The
    cleared session holds only ``_permanent``, which Flask-Session counts as
    empty and so would not regenerate.
    """
    server_app.config["SESSION_PERMANENT"] = permanent
    attacker, planted = plant(server_app, contents)
    victim = server_app.test_client()
    victim.set_cookie(SESSION, planted)

    assert victim.get("/signin-cleared/1").text == "ok"

    # The attacker's copy of the planted id must not be the victim's login.
    assert_id_dead(server_app, store, attacker, planted)
    assert sid(victim) != planted
    assert victim.get("/").text == "user:1"
    assert victim.get("/protected").text == "secret:1"


@pytest.mark.parametrize("contents", ["app-data", "attacker-login"])
def test_logout_then_login_with_clear_session_gets_new_id(
    server_app: Flask, store: t.Any, contents: str
) -> None:
    """F1 (b): ``logout_user()`` then ``login_user()`` in one request, with
    ``SESSIONAUTH_LOGOUT_CLEAR_SESSION``: the logout empties the session just before the
    login.
    """
    server_app.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = True
    attacker, planted = plant(server_app, contents)
    victim = server_app.test_client()
    victim.set_cookie(SESSION, planted)

    assert victim.get("/switch-user/1").text == "ok"

    # The attacker's copy of the planted id must not be the victim's login.
    assert_id_dead(server_app, store, attacker, planted)
    assert sid(victim) != planted
    assert victim.get("/").text == "user:1"


@pytest.mark.parametrize("path", ["basic", "form"])
def test_login_over_planted_revoked_login_gets_new_id(
    server_app: Flask, store: t.Any, tina: TokenUser, path: str
) -> None:
    """F1 (c), no app code involved: the attacker plants the id of a session
    holding their own login and revokes that login. The victim's request
    drops the revoked login, which leaves the session empty, and logs the
    victim in (HTTP Basic, or a form that checks ``current_user`` first): that
    login must not be saved under the planted id.
    """
    attacker, planted = plant(server_app, "attacker-login")
    victim = server_app.test_client()
    victim.set_cookie(SESSION, planted)

    # The attacker revokes their own login: a password change elsewhere.
    tina.token = "attacker-token-after-change"

    with recording(session_revoked) as revoked:
        if path == "basic":
            response = victim.get("/", auth=("alice", "alice-password"))
            assert response.text == "user:1"
        else:
            assert victim.get("/signin-checked/1").text == "ok"

    assert [kwargs["user"] for _, kwargs in revoked] == [tina]
    # The attacker's copy of the planted id must not be the victim's login.
    assert_id_dead(server_app, store, attacker, planted)
    assert sid(victim) != planted
    assert victim.get("/").text == "user:1"

    # Nothing of the revoked login is left in the victim's session.
    data = stored(store, sid(victim))
    assert data is not None
    assert data["_user_id"] == "1"
    assert "_token_sig" not in data
    assert set(data) - LOGIN_KEYS <= {"_permanent"}


@pytest.mark.parametrize("path", ["form", "basic", "remember", "rebind"])
def test_every_login_path_kills_the_previous_id(
    server_app: Flask, store: t.Any, tina: TokenUser, path: str
) -> None:
    """F1: whatever way the user logs in (``login_user``, HTTP Basic with
    ``SESSIONAUTH_BASIC_AUTH_LOGIN``, the remember cookie, ``rebind_session()``), the
    session id the client held before is dead afterwards.
    """
    victim = server_app.test_client()

    if path == "remember":
        assert victim.get("/login/7?remember=1").text == "ok"
        victim.delete_cookie(SESSION)
    elif path == "rebind":
        assert victim.get("/login/7").text == "ok"

    if path == "rebind":
        # The victim's own logged-in session; its id must not outlive the
        # credential change.
        attacker = server_app.test_client()
        before = sid(victim)
        attacker.set_cookie(SESSION, before)
    else:
        attacker, before = plant(server_app, "app-data")
        victim.set_cookie(SESSION, before)

    if path == "form":
        assert victim.get("/login/7").text == "ok"
    elif path == "basic":
        assert victim.get("/", auth=("tina", "tina-password")).text == "user:7"
    elif path == "remember":
        assert victim.get("/").text == "user:7"
    else:
        assert victim.get("/change-token/tina-token-2").text == "rebound"

    assert_id_dead(server_app, store, attacker, before)
    assert sid(victim) != before
    assert victim.get("/").text == "user:7"
