"""Revocable logins: a user class with ``get_session_token()`` binds every
session and remember cookie to its current token, and changing the token
logs out every client but the one that calls :func:`rebind_session`.
"""

from __future__ import annotations

import json
import typing as t
from contextlib import contextmanager
from datetime import datetime
from datetime import timezone

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from werkzeug.http import parse_date
from werkzeug.test import TestResponse

from flask_sessionauth import encode_cookie
from flask_sessionauth import login_required
from flask_sessionauth import rebind_session
from flask_sessionauth import session_revoked
from flask_sessionauth import user_loaded_from_cookie
from flask_sessionauth.session_login import LOGIN_SESSION_KEYS
from helpers import cookie_value
from helpers import read_remember_cookie
from helpers import session_data
from helpers import TokenUser
from helpers import User

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from blinker import Signal

REMEMBER = "remember_token"
SESSION = "session"
#: Distinctive enough that finding it anywhere means it was stored.
TOKEN = "raw-session-token-3f9a1c7e"
NEW_TOKEN = "raw-session-token-after-change-b82d40"


class OddTokenUser(User):
    """A user whose ``get_session_token`` breaks its contract."""

    def __init__(self, id: str, name: str, odd: object) -> None:
        super().__init__(id, name)
        self.odd = odd

    def get_session_token(self) -> object:
        return self.odd


@pytest.fixture
def tina_token() -> str:
    return TOKEN


@pytest.fixture
def app(token_app: Flask) -> Flask:
    @token_app.route("/rebind-nobody")
    def rebind_nobody() -> str:
        rebind_session()
        return "unreachable"

    @token_app.route("/rebind-other")
    def rebind_other() -> str:
        rebind_session(TokenUser("8", "other", token="x"))
        return "unreachable"

    return token_app


@contextmanager
def captured(signal: Signal, app: Flask) -> Iterator[list[dict[str, t.Any]]]:
    calls: list[dict[str, t.Any]] = []

    def receiver(sender: Flask, **kwargs: t.Any) -> None:
        calls.append(kwargs)

    with signal.connected_to(receiver, app):
        yield calls


def set_cookies(response: TestResponse, name: str) -> list[dict[str, str]]:
    """The ``Set-Cookie`` headers for ``name``, as ``{"value": ..., attr: ...}``."""
    found = []

    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        key, _, value = first.partition("=")

        if key != name:
            continue

        parsed = {"value": value}

        for attribute in attributes:
            attr, _, attr_value = attribute.partition("=")
            parsed[attr.lower()] = attr_value

        found.append(parsed)

    return found


def is_live(cookie: dict[str, str]) -> bool:
    """Whether a browser keeps the cookie: ``Max-Age`` wins over ``Expires``
    (RFC 6265), and ``Expires`` is in the past only for deletions here.
    """
    if "max-age" in cookie:
        return int(cookie["max-age"]) > 0

    expires = parse_date(cookie.get("expires"))
    return expires is None or expires > datetime.now(timezone.utc)


def deletes_cookie(response: TestResponse, name: str) -> bool:
    """Whether the response tells the browser to drop ``name``: an empty
    value whose expiry is in the past.
    """
    for cookie in set_cookies(response, name):
        expires = parse_date(cookie.get("expires"))

        if (
            cookie["value"] == ""
            and expires is not None
            and expires < datetime.now(timezone.utc)
            and not is_live(cookie)
        ):
            return True

    return False


def sets_cookie(response: TestResponse, name: str) -> str | None:
    """The new value of ``name`` if the response sets it to a live cookie."""
    for cookie in set_cookies(response, name):
        if cookie["value"] and is_live(cookie):
            return cookie["value"]

    return None


def decoded_session_cookie(app: Flask, client: FlaskClient) -> dict[str, t.Any]:
    """What the signed session cookie the client holds really contains."""
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    serializer = interface.get_signing_serializer(app)
    assert serializer is not None
    value = cookie_value(client, app.config["SESSION_COOKIE_NAME"])
    assert value is not None
    data = serializer.loads(value)
    assert isinstance(data, dict)
    return data


def login_keys(data: t.Mapping[str, t.Any]) -> set[str]:
    return set(data) & LOGIN_SESSION_KEYS


def login(client: FlaskClient, user_id: str, *, remember: bool = False) -> None:
    url = f"/login/{user_id}" + ("?remember=1" if remember else "")
    assert client.get(url).text == "ok"


# Revocation by changing the token


@pytest.mark.parametrize("remember", [False, True])
def test_changed_token_revokes_session(
    app: Flask, client: FlaskClient, tina: TokenUser, remember: bool
) -> None:
    login(client, "7", remember=remember)

    with client.session_transaction() as sess:
        sess["cart"] = "apples"

    assert client.get("/").text == "user:7"
    assert "_token_sig" in session_data(client)

    tina.token = NEW_TOKEN

    with captured(session_revoked, app) as revoked:
        response = client.get("/")

    assert response.text == "anonymous"
    assert revoked == [{"user": tina}]
    data = session_data(client)
    assert login_keys(data) == set()
    # Only the login goes; what the app keeps in the session stays.
    assert data["cart"] == "apples"

    if remember:
        assert deletes_cookie(response, REMEMBER)

    assert cookie_value(client, REMEMBER) is None

    with captured(session_revoked, app) as revoked:
        assert client.get("/").text == "anonymous"
        assert client.get("/protected").status_code == 401

    # Nothing left to revoke.
    assert revoked == []


def test_unchanged_token_keeps_session(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    login(client, "7", remember=True)

    with captured(session_revoked, app) as revoked:
        for _ in range(3):
            response = client.get("/protected")
            assert response.text == "secret:7"
            assert not deletes_cookie(response, REMEMBER)

    assert revoked == []
    assert cookie_value(client, REMEMBER) is not None


def test_revoked_with_only_remember_cookie(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    login(client, "7", remember=True)
    client.delete_cookie("session")
    tina.token = NEW_TOKEN

    with captured(session_revoked, app) as revoked:
        response = client.get("/")

    assert response.text == "anonymous"
    assert revoked == [{"user": tina}]
    assert deletes_cookie(response, REMEMBER)
    assert cookie_value(client, REMEMBER) is None
    assert login_keys(session_data(client)) == set()


def test_remember_cookie_restores_while_token_unchanged(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    login(client, "7", remember=True)
    client.delete_cookie("session")

    with captured(user_loaded_from_cookie, app) as loaded:
        assert client.get("/").text == "user:7"

    assert loaded == [{"user": tina}]
    # The restored session is bound too: a change now revokes it.
    assert "_token_sig" in session_data(client)
    tina.token = NEW_TOKEN
    assert client.get("/").text == "anonymous"


# The raw token is never stored


def test_raw_token_not_in_session_or_cookie(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    login(client, "7", remember=True)

    def assert_token_hidden(token: str) -> None:
        session_cookie = cookie_value(client, "session")
        assert session_cookie is not None
        assert token not in session_cookie
        data = decoded_session_cookie(app, client)
        assert data["_user_id"] == "7"
        assert data["_token_sig"]
        assert token not in json.dumps(data)

        remember_cookie = cookie_value(client, REMEMBER)
        assert remember_cookie is not None
        assert token not in remember_cookie
        # Read the payload without checking the signature: it is plain text
        # and base64, so anything in it is readable by whoever holds the
        # cookie.
        payload = read_remember_cookie(remember_cookie)
        assert payload.user_id == "7"
        assert payload.token_signature
        assert all(token not in str(field) for field in payload)

    assert_token_hidden(TOKEN)

    assert client.get(f"/change-token/{NEW_TOKEN}").text == "rebound"
    assert_token_hidden(NEW_TOKEN)

    # And a session rebuilt from the cookie.
    client.delete_cookie("session")
    assert client.get("/").text == "user:7"
    assert_token_hidden(NEW_TOKEN)


def test_signature_differs_per_token(client: FlaskClient, tina: TokenUser) -> None:
    login(client, "7")
    first = session_data(client)["_token_sig"]
    assert client.get(f"/change-token/{NEW_TOKEN}").text == "rebound"
    second = session_data(client)["_token_sig"]
    assert first != second
    assert TOKEN not in first
    assert NEW_TOKEN not in second


# rebind_session(): keep this session, refuse every other


@pytest.mark.parametrize("a_remember", [False, True])
def test_rebind_keeps_caller_and_refuses_others(
    app: Flask, tina: TokenUser, a_remember: bool
) -> None:
    a = app.test_client()
    b = app.test_client()
    login(a, "7", remember=a_remember)
    login(b, "7", remember=True)
    a_old_cookie = cookie_value(a, REMEMBER)
    b_cookie = cookie_value(b, REMEMBER)
    assert b_cookie is not None
    assert b.get("/").text == "user:7"

    with captured(session_revoked, app) as revoked:
        response = a.get(f"/change-token/{NEW_TOKEN}")

    assert response.text == "rebound"
    assert revoked == []
    assert tina.token == NEW_TOKEN
    assert a.get("/").text == "user:7"
    assert a.get("/protected").text == "secret:7"

    if a_remember:
        assert a_old_cookie is not None
        reissued = sets_cookie(response, REMEMBER)
        assert reissued is not None
        assert reissued != a_old_cookie
        assert cookie_value(a, REMEMBER) == reissued

        # The new cookie alone logs A back in.
        a.delete_cookie("session")

        with captured(user_loaded_from_cookie, app) as loaded:
            assert a.get("/").text == "user:7"

        assert loaded == [{"user": tina}]

        # A's cookie from before the change is dead.
        stale = app.test_client()
        stale.set_cookie(REMEMBER, a_old_cookie)
        assert stale.get("/").text == "anonymous"
    else:
        assert sets_cookie(response, REMEMBER) is None
        assert cookie_value(a, REMEMBER) is None

    # B: refused by its session...
    with captured(session_revoked, app) as revoked:
        response = b.get("/")

    assert response.text == "anonymous"
    assert revoked == [{"user": tina}]
    assert deletes_cookie(response, REMEMBER)
    assert login_keys(session_data(b)) == set()

    # ...and by its remember cookie on its own.
    c = app.test_client()
    c.set_cookie(REMEMBER, b_cookie)

    with captured(session_revoked, app) as revoked:
        response = c.get("/")

    assert response.text == "anonymous"
    assert revoked == [{"user": tina}]
    assert deletes_cookie(response, REMEMBER)
    assert c.get("/protected").status_code == 401

    # A is untouched by all that.
    assert a.get("/").text == "user:7"


def test_rebind_with_explicit_user(app: Flask, tina: TokenUser) -> None:
    @app.route("/change-explicit")
    @login_required
    def change_explicit() -> str:
        tina.token = NEW_TOKEN
        rebind_session(tina)
        return "rebound"

    a = app.test_client()
    b = app.test_client()
    login(a, "7")
    login(b, "7")
    assert a.get("/change-explicit").text == "rebound"
    assert a.get("/").text == "user:7"
    assert b.get("/").text == "anonymous"


def test_rebind_after_an_unchecked_token_change_says_how_to_fix_it(
    app: Flask, tina: TokenUser
) -> None:
    # The token changed before the session's login was ever checked, so the
    # check finds it revoked: rebinding it anyway could revive a stolen,
    # revoked session. The app must load the user before changing the token.
    @app.route("/change-unchecked")
    def change_unchecked() -> str:
        tina.token = NEW_TOKEN
        rebind_session(tina)
        return "rebound"

    a = app.test_client()
    login(a, "7")

    with pytest.raises(RuntimeError, match="before changing the token"):
        a.get("/change-unchecked")

    assert a.get("/").text == "anonymous"


def test_rebind_needs_logged_in_user(client: FlaskClient) -> None:
    with pytest.raises(RuntimeError, match=r"rebind_session\(\) needs"):
        client.get("/rebind-nobody")


def test_rebind_refuses_another_user(client: FlaskClient, tina: TokenUser) -> None:
    login(client, "7")

    with pytest.raises(RuntimeError, match="not the one logged in"):
        client.get("/rebind-other")

    # The session was not touched.
    assert client.get("/").text == "user:7"


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


# Users that do not take part


@pytest.mark.parametrize("accept_unbound", [True, False])
def test_user_without_token_method_unchanged(
    app: Flask, client: FlaskClient, accept_unbound: bool
) -> None:
    app.config["SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS"] = accept_unbound
    login(client, "1", remember=True)
    assert "_token_sig" not in session_data(client)
    assert decoded_session_cookie(app, client)["_user_id"] == "1"

    with captured(session_revoked, app) as revoked:
        assert client.get("/protected").text == "secret:1"
        client.delete_cookie("session")
        assert client.get("/").text == "user:1"

    assert revoked == []
    assert "_token_sig" not in session_data(client)


def test_none_token_means_no_binding(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    tina.token = None
    login(client, "7", remember=True)
    assert "_token_sig" not in session_data(client)

    with captured(session_revoked, app) as revoked:
        assert client.get("/protected").text == "secret:7"
        client.delete_cookie("session")
        assert client.get("/").text == "user:7"

    assert revoked == []
    assert "_token_sig" not in session_data(client)


def test_token_appearing_later_binds_unbound_cookie(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    # A remember cookie issued while the user had no token...
    tina.token = None
    login(client, "7", remember=True)
    unbound_cookie = cookie_value(client, REMEMBER)
    client.delete_cookie("session")

    # ...is accepted once the user has one, and re-issued bound to it.
    tina.token = TOKEN
    response = client.get("/")
    assert response.text == "user:7"
    bound_cookie = sets_cookie(response, REMEMBER)
    assert bound_cookie is not None
    assert bound_cookie != unbound_cookie
    assert "_token_sig" in session_data(client)

    tina.token = NEW_TOKEN
    client.delete_cookie("session")
    response = client.get("/")
    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)


# Sessions and cookies from before revocation existed


def plant_unbound_session(client: FlaskClient, user_id: str) -> None:
    # What flask-login, or this extension before the user had a token, wrote.
    with client.session_transaction() as sess:
        sess["_user_id"] = user_id
        sess["_fresh"] = False


def test_unbound_session_accepted_and_bound(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    plant_unbound_session(client, "7")
    assert "_token_sig" not in session_data(client)

    assert client.get("/").text == "user:7"
    assert "_token_sig" in session_data(client)
    assert client.get("/").text == "user:7"

    # Bound on first use, so it is revocable from now on.
    tina.token = NEW_TOKEN

    with captured(session_revoked, app) as revoked:
        assert client.get("/").text == "anonymous"

    assert revoked == [{"user": tina}]


def test_unbound_session_refused_when_not_accepted(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    app.config["SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS"] = False
    plant_unbound_session(client, "7")

    assert client.get("/").text == "anonymous"
    assert login_keys(session_data(client)) == set()
    assert client.get("/protected").status_code == 401

    # A fresh login is bound, and works with the setting off.
    login(client, "7")
    assert client.get("/").text == "user:7"


def legacy_cookie(app: Flask, user_id: str) -> str:
    with app.app_context():
        return encode_cookie(user_id)


def test_legacy_remember_cookie_accepted_and_bound(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    legacy = legacy_cookie(app, "7")
    client.set_cookie(REMEMBER, legacy)

    response = client.get("/")
    assert response.text == "user:7"
    upgraded = sets_cookie(response, REMEMBER)
    assert upgraded is not None
    assert upgraded != legacy
    assert TOKEN not in upgraded
    assert "_token_sig" in session_data(client)

    # The upgraded cookie alone still logs in...
    client.delete_cookie("session")
    assert client.get("/").text == "user:7"

    # ...until the token changes.
    tina.token = NEW_TOKEN
    client.delete_cookie("session")

    with captured(session_revoked, app) as revoked:
        response = client.get("/")

    assert response.text == "anonymous"
    assert revoked == [{"user": tina}]
    assert deletes_cookie(response, REMEMBER)


def test_legacy_remember_cookie_refused_when_not_accepted(
    app: Flask, client: FlaskClient, tina: TokenUser
) -> None:
    app.config["SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS"] = False
    client.set_cookie(REMEMBER, legacy_cookie(app, "7"))

    response = client.get("/")
    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)
    assert cookie_value(client, REMEMBER) is None
    assert "_user_id" not in session_data(client)


def test_legacy_cookie_of_user_without_token_still_works(
    app: Flask, client: FlaskClient
) -> None:
    # SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS is about binding; a user with no token has
    # nothing to bind to.
    app.config["SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS"] = False
    client.set_cookie(REMEMBER, legacy_cookie(app, "1"))
    assert client.get("/").text == "user:1"


# Misuse


@pytest.mark.parametrize("odd", [b"bytes-token", 12345, ["token"]])
def test_non_str_token_at_login_is_type_error(
    app: Flask, client: FlaskClient, users: dict[str, User], odd: object
) -> None:
    users["9"] = OddTokenUser("9", "odd", odd)

    with pytest.raises(TypeError) as info:
        client.get("/login/9")

    message = str(info.value)
    assert "OddTokenUser.get_session_token()" in message
    assert "must return a str or None" in message
    assert type(odd).__name__ in message


def test_non_str_token_on_later_request_is_type_error(
    app: Flask, client: FlaskClient, users: dict[str, User]
) -> None:
    odd = OddTokenUser("9", "odd", "fine-for-now")
    users["9"] = odd
    login(client, "9")
    odd.odd = 42

    with pytest.raises(TypeError, match=r"must return a str or None, not int"):
        client.get("/")


# Key rotation


@pytest.mark.parametrize(
    ("fallbacks", "expected"),
    [(["old-secret"], "user:7"), ([], "anonymous")],
)
def test_token_signature_under_rotated_key(
    app: Flask,
    client: FlaskClient,
    tina: TokenUser,
    fallbacks: list[str],
    expected: str,
) -> None:
    app.config["SECRET_KEY"] = "old-secret"
    login(client, "7")
    data = session_data(client)
    assert "_token_sig" in data

    app.config["SECRET_KEY"] = "new-secret"
    app.config["SECRET_KEY_FALLBACKS"] = fallbacks

    # Re-sign the same contents under the new key, so that only the token
    # signature inside still depends on the old key.
    with client.session_transaction() as sess:
        sess.clear()
        sess.update(data)

    with captured(session_revoked, app) as revoked:
        assert client.get("/").text == expected

    assert revoked == ([] if fallbacks else [{"user": tina}])


def test_session_and_cookie_survive_key_rotation(app: Flask, tina: TokenUser) -> None:
    app.config["SECRET_KEY"] = "old-secret"
    client = app.test_client()
    login(client, "7", remember=True)

    app.config["SECRET_KEY"] = "new-secret"
    app.config["SECRET_KEY_FALLBACKS"] = ["old-secret"]
    assert client.get("/").text == "user:7"

    client.delete_cookie("session")
    assert client.get("/").text == "user:7"

    # Rotation does not weaken revocation.
    tina.token = NEW_TOKEN
    client.delete_cookie("session")
    assert client.get("/").text == "anonymous"


def test_rebind_of_a_login_protection_ended_is_a_no_op(
    app: Flask, tina: TokenUser
) -> None:
    # Strong protection ends a copied login before rebind_session() sees it:
    # that is no misuse by the app, so nothing raises and nothing is bound.
    app.config["SESSION_PROTECTION"] = "strong"

    @app.route("/rebind-explicit")
    def rebind_explicit() -> str:
        rebind_session(tina)
        return "done"

    owner = app.test_client()
    login(owner, "7")
    thief = app.test_client()
    thief.set_cookie("session", cookie_value(owner, "session") or "")

    response = thief.get("/rebind-explicit", headers={"User-Agent": "other"})

    assert response.text == "done"
    assert thief.get("/", headers={"User-Agent": "other"}).text == "anonymous"


# F2, a flaw found in a security review: a remember cookie revoked by a
# token change was brought back, bound to the new token, by
# ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST`` and by ``rebind_session()``.


def visit(app: Flask, path: str, cookies: t.Mapping[str, str]) -> TestResponse:
    """A request from a new client that sends exactly ``cookies``."""
    client = app.test_client(use_cookies=False)
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return client.get(path, headers={"Cookie": header} if header else {})


def live_cookie(response: TestResponse, name: str = REMEMBER) -> str | None:
    """The value the response gives ``name`` if it sets it to a cookie that a
    browser keeps (non-empty, not expired by ``Max-Age``), else None.
    """
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        key, _, value = first.partition("=")

        if key != name or value in ("", '""'):
            continue

        max_ages = [
            attribute.partition("=")[2]
            for attribute in attributes
            if attribute.lower().startswith("max-age=")
        ]

        if not max_ages or int(max_ages[0]) > 0:
            return value

    return None


def token_change_with_remember(app: Flask) -> tuple[FlaskClient, str, str]:
    """A client of tina's with a remember cookie, after a token change it
    made with ``rebind_session()``. Returns the client, the cookie from before
    the change (bound to the old token, so revoked) and the re-issued one.
    """
    client = app.test_client()
    assert client.get("/login/7?remember=1").text == "ok"
    before = cookie_value(client, REMEMBER)
    assert before is not None

    response = client.get("/change-token/tina-token-1")
    assert response.text == "rebound"
    after = live_cookie(response)
    assert after is not None and after != before

    # The revoked cookie is revoked on its own; the re-issued one works.
    assert visit(app, "/", {REMEMBER: before}).text == "anonymous"
    assert visit(app, "/", {REMEMBER: after}).text == "user:7"
    return client, before, after


def assert_cookies_dead(app: Flask, client: FlaskClient, *values: str) -> None:
    """None of ``values``, nor the remember cookie the client holds now, logs
    anybody in without a session.
    """
    held = cookie_value(client, REMEMBER)

    for value in (*values, *([held] if held else [])):
        assert visit(app, "/", {REMEMBER: value}).text == "anonymous"
        assert visit(app, "/protected", {REMEMBER: value}).status_code == 401

    client.delete_cookie(SESSION)
    assert client.get("/").text == "anonymous"


@pytest.mark.parametrize("replayed", ["revoked", "current"])
def test_refresh_each_request_reissues_only_a_valid_cookie(
    app: Flask, tina: TokenUser, replayed: str
) -> None:
    """F2: with ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST``, a request with a
    valid session and a remember cookie that a token change revoked must not
    get that cookie back bound to the current token; it is deleted.
    """
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    client, revoked, current = token_change_with_remember(app)
    client.set_cookie(REMEMBER, revoked if replayed == "revoked" else current)

    response = client.get("/")

    # The session itself is bound to the current token and stays valid.
    assert response.text == "user:7"

    if replayed == "current":
        refreshed = live_cookie(response)
        assert refreshed is not None
        assert visit(app, "/", {REMEMBER: refreshed}).text == "user:7"
        return

    assert live_cookie(response) is None, "a cookie that must not log in was re-issued"
    assert deletes_cookie(response, REMEMBER)
    assert cookie_value(client, REMEMBER) is None
    assert_cookies_dead(app, client, revoked)


@pytest.mark.parametrize("in_jar", ["previous-token", "older-token"])
def test_rebind_reissues_only_cookie_of_previous_token(
    app: Flask, tina: TokenUser, in_jar: str
) -> None:
    """F2: ``rebind_session()`` re-issues the remember cookie bound to the
    token the session was bound to before the change; a cookie bound to an
    older, already revoked, token is deleted, not brought back.
    """
    client, older, previous = token_change_with_remember(app)

    if in_jar == "older-token":
        client.set_cookie(REMEMBER, older)

    response = client.get("/change-token/tina-token-2")
    assert response.text == "rebound"
    assert client.get("/").text == "user:7"

    if in_jar == "previous-token":
        reissued = live_cookie(response)
        assert reissued is not None
        assert visit(app, "/", {REMEMBER: reissued}).text == "user:7"
        # The cookie from before this change is revoked by it.
        assert visit(app, "/", {REMEMBER: previous}).text == "anonymous"
        return

    assert live_cookie(response) is None, "a cookie that must not log in was re-issued"
    assert deletes_cookie(response, REMEMBER)
    assert cookie_value(client, REMEMBER) is None
    assert_cookies_dead(app, client, older, previous)


def unbound_cookie_in_bound_session(
    app: Flask, tina: TokenUser, accept_unbound: bool
) -> tuple[FlaskClient, str]:
    """A client of tina's with a session bound to her token and a remember
    cookie issued while she had none (so bound to nothing).
    """
    app.config["SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS"] = accept_unbound
    tina.token = None
    unbound = live_cookie(visit(app, "/login/7?remember=1", {}))
    assert unbound is not None

    tina.token = "tina-token-1"
    client = app.test_client()
    assert client.get("/login/7").text == "ok"
    client.set_cookie(REMEMBER, unbound)
    return client, unbound


@pytest.mark.parametrize("accept_unbound", [True, False])
@pytest.mark.parametrize("via", ["refresh", "rebind"])
def test_unbound_cookie_reissued_only_when_unbound_accepted(
    app: Flask, tina: TokenUser, via: str, accept_unbound: bool
) -> None:
    """F2: an unbound remember cookie is re-issued (by the refresh or by
    ``rebind_session()``) only while ``SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS`` is true;
    otherwise it is refused, so it is deleted rather than bound anew.
    """
    client, unbound = unbound_cookie_in_bound_session(app, tina, accept_unbound)

    if via == "refresh":
        app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
        response = client.get("/")
        assert response.text == "user:7"
    else:
        response = client.get("/change-token/tina-token-2")
        assert response.text == "rebound"

    if accept_unbound:
        reissued = live_cookie(response)
        assert reissued is not None
        assert visit(app, "/", {REMEMBER: reissued}).text == "user:7"
        return

    assert live_cookie(response) is None, "a cookie that must not log in was re-issued"
    assert deletes_cookie(response, REMEMBER)
    assert_cookies_dead(app, client, unbound)
