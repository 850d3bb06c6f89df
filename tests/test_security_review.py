"""Regression tests for four flaws found in a security review.

F1  Session fixation with server-side sessions: a login was saved under the
    session id the client arrived with whenever the session looked empty to
    Flask-Session at the moment of the login (cleared by the view, cleared
    by ``logout_user``, or emptied by the revocation of a planted login).
F2  A remember cookie revoked by a token change was brought back, bound to
    the new token, by ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST`` and by
    ``rebind_session()``.
F3  Session protection fingerprinted ``environ["REMOTE_ADDR"]`` rather than
    ``request.remote_addr``, so an app whose Request class derives the client
    address (from a CDN header, say) got the proxy's address for everybody.
F4  A correctly signed remember cookie with odd contents (a timestamp over 8
    bytes, JSON nested deeply enough to exhaust the recursion limit) was a 500.
"""

from __future__ import annotations

import hashlib
import json
import typing as t

import flask_login
import pytest
from cachelib import SimpleCache
from flask import Flask
from flask import Request
from flask import session
from flask.testing import FlaskClient
from flask_session import Session
from itsdangerous import TimestampSigner
from itsdangerous.encoding import base64_encode
from itsdangerous.encoding import int_to_bytes
from werkzeug.test import TestResponse

from conftest import Clock
from conftest import cookie_value
from conftest import deletes_cookie
from conftest import recording
from conftest import session_data
from conftest import TokenUser
from conftest import User
from flask_sessionauth import current_user
from flask_sessionauth import login_fresh
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import rebind_session
from flask_sessionauth import session_protected
from flask_sessionauth import session_revoked

REMEMBER = "remember_token"
SESSION = "session"
#: Flask-Session's default prefix of the storage keys.
STORE_PREFIX = "session:"
#: The session keys of a login, as docs/security.rst lists them.
LOGIN_KEYS = frozenset(
    {"_user_id", "_fresh", "_id", "_remember_seconds", "_fresh_at", "_token_sig"}
)
#: The itsdangerous salt of remember cookies (see remember.py).
REMEMBER_SALT = "flask-sessionauth.remember"
#: HTTP Basic credentials the test apps accept: user name -> (id, password).
PASSWORDS = {"alice": ("1", "alice-password"), "tina": ("7", "tina-password")}
#: Redirect statuses: Flask 3.2 redirects with 303 by default, earlier with 302.
REDIRECTS = {302, 303}


@pytest.fixture
def app(app: Flask, users: dict[str, User], tina: TokenUser) -> Flask:
    @app.route("/put/<key>/<value>")
    def put(key: str, value: str) -> str:
        session[key] = value
        return "stored"

    @app.route("/signin-cleared/<user_id>")
    def signin_cleared(user_id: str) -> str:
        # Starting the login from an empty session, as some apps do.
        session.clear()
        login_user(users[user_id])
        return "ok"

    @app.route("/switch-user/<user_id>")
    def switch_user(user_id: str) -> str:
        # "Log in as someone else": end whatever login there is, then log in.
        logout_user()
        login_user(users[user_id])
        return "ok"

    @app.route("/signin-checked/<user_id>")
    def signin_checked(user_id: str) -> str:
        # A login form that first sends logged-in users elsewhere.
        if current_user.is_authenticated:
            return f"already:{current_user.get_id()}"

        login_user(users[user_id])
        return "ok"

    @app.route("/change-token/<token>")
    def change_token(token: str) -> str:
        # A password change: new token, and this session stays logged in.
        user = t.cast(TokenUser, current_user._get_current_object())
        user.token = token
        rebind_session()
        return "rebound"

    @app.route("/fresh")
    def fresh() -> str:
        return f"{current_user.get_id()}:{login_fresh()}"

    return app


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


# F1: session fixation with server-side sessions


@pytest.fixture
def store() -> t.Any:
    return SimpleCache()


@pytest.fixture
def server_app(
    app: Flask, store: t.Any, login_manager: LoginManager, users: dict[str, User]
) -> Flask:
    app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=store)
    Session(app)

    @login_manager.basic_auth_loader
    def check_password(username: str, password: str) -> User | None:
        user_id, expected = PASSWORDS.get(username, ("", None))
        return users[user_id] if password == expected else None

    return app


def sid(client: FlaskClient) -> str:
    value = cookie_value(client, SESSION)
    assert value is not None
    return value


def stored(store: t.Any, session_id: str) -> dict[str, t.Any] | None:
    data = store.get(STORE_PREFIX + session_id)
    assert data is None or isinstance(data, dict)
    return data


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
    ``LOGOUT_CLEAR_SESSION``: the logout empties the session just before the
    login.
    """
    server_app.config["LOGOUT_CLEAR_SESSION"] = True
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
    ``BASIC_AUTH_LOGIN``, the remember cookie, ``rebind_session()``), the
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


# F2: revoked remember cookies brought back


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
    app.config["ACCEPT_UNBOUND_SESSIONS"] = accept_unbound
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
    ``rebind_session()``) only while ``ACCEPT_UNBOUND_SESSIONS`` is true;
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


# F3: the protection fingerprint and request.remote_addr


class CdnRequest(Request):
    """A Request whose client address comes from the CDN in front of the app
    (Cloudflare's ``CF-Connecting-IP``); the socket peer is the CDN.
    """

    @property
    def remote_addr(self) -> str | None:
        return self.headers.get("CF-Connecting-IP", self._peer_addr)

    @remote_addr.setter
    def remote_addr(self, value: str | None) -> None:
        self._peer_addr = value


#: Every request arrives from the CDN's address, with the same browser.
CDN_EDGE = {"REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "SameBrowser/1.0"}
VICTIM = {"CF-Connecting-IP": "198.51.100.23"}
THIEF = {"CF-Connecting-IP": "203.0.113.66"}


@pytest.fixture
def cdn_app(app: Flask) -> Flask:
    app.request_class = CdnRequest
    return app


@pytest.fixture
def fl_cdn_app(users: dict[str, User]) -> Flask:
    """The same app with flask-login 0.6.3, for comparison."""
    fl_app = Flask("flask_login_cdn_app")
    fl_app.config.update(SECRET_KEY="test-secret", TESTING=True)
    fl_app.request_class = CdnRequest
    manager = flask_login.LoginManager(fl_app)

    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

    manager.user_loader(load_user)

    @fl_app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        flask_login.login_user(users[user_id])
        return "ok"

    @fl_app.route("/fresh")
    def fresh() -> str:
        return f"{flask_login.current_user.get_id()}:{flask_login.login_fresh()}"

    return fl_app


def copied_session(app: Flask) -> tuple[FlaskClient, FlaskClient]:
    """The victim's client, logged in as user 1 through the CDN, and a
    thief's client holding a copy of its session cookie.
    """
    victim = app.test_client()
    response = victim.get("/login/1", environ_base=CDN_EDGE, headers=VICTIM)
    assert response.text == "ok"
    value = cookie_value(victim, SESSION)
    assert value is not None
    thief = app.test_client()
    thief.set_cookie(SESSION, value)
    return victim, thief


@pytest.mark.parametrize(
    ("mode", "thief_sees"), [("strong", "None:False"), ("basic", "1:False")]
)
def test_protection_uses_request_remote_addr(
    cdn_app: Flask, fl_cdn_app: Flask, mode: str, thief_sees: str
) -> None:
    """F3: a session copied to a client with another address, as the app's
    Request class reports it, is refused under "strong" and not fresh under
    "basic", though the socket peer (the CDN) and User-Agent are the same.
    flask-login 0.6.3 treats the copy the same way.
    """
    for app in (fl_cdn_app, cdn_app):
        app.config["SESSION_PROTECTION"] = mode
        victim, thief = copied_session(app)

        response = thief.get("/fresh", environ_base=CDN_EDGE, headers=THIEF)
        assert (app.name, response.text) == (app.name, thief_sees)

        # The victim, from their own address, is untouched.
        response = victim.get("/fresh", environ_base=CDN_EDGE, headers=VICTIM)
        assert (app.name, response.text) == (app.name, "1:True")


def test_strong_protection_drops_copied_login(cdn_app: Flask) -> None:
    """F3: under "strong" the copied login is removed from the copy's session
    and ``session_protected`` is sent.
    """
    cdn_app.config["SESSION_PROTECTION"] = "strong"
    _, thief = copied_session(cdn_app)

    with recording(session_protected) as protected:
        response = thief.get("/protected", environ_base=CDN_EDGE, headers=THIEF)

    assert response.status_code == 401
    assert len(protected) == 1
    assert set(session_data(thief)) & LOGIN_KEYS == set()
    assert thief.get("/", environ_base=CDN_EDGE, headers=VICTIM).text == "anonymous"


# F4: correctly signed remember cookies with odd contents


def signed_cookie(app: Flask, payload: bytes, timestamp: bytes) -> str:
    """A remember cookie signed with the app's key, as a holder of the key
    could make it: ``base64(payload).base64(timestamp).signature``.
    """
    assert app.secret_key is not None
    signer = TimestampSigner(
        app.secret_key, salt=REMEMBER_SALT, digest_method=hashlib.sha256
    )
    value = base64_encode(payload) + b"." + base64_encode(timestamp)
    return (value + b"." + signer.get_signature(value)).decode("ascii")


def now_bytes(clock: Clock) -> bytes:
    return int_to_bytes(int(clock.now))


def assert_anonymous_and_deleted(app: Flask, value: str) -> None:
    """The cookie logs nobody in, is deleted, and causes no error page."""
    response = visit(app, "/", {REMEMBER: value})
    assert response.status_code == 200
    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)

    response = visit(app, "/protected", {REMEMBER: value})
    assert response.status_code == 401 or response.status_code in REDIRECTS
    assert deletes_cookie(response, REMEMBER)


def test_signed_cookie_builder_matches_the_format(app: Flask, clock: Clock) -> None:
    # The control for the F4 tests: a well-formed cookie made this way logs
    # in, so the odd ones below differ from it only in their contents.
    value = signed_cookie(app, b'["1",86400,null]', now_bytes(clock))
    assert visit(app, "/", {REMEMBER: value}).text == "user:1"


@pytest.mark.parametrize(
    "timestamp",
    [
        b"\x01" + bytes(8),
        b"\xff" * 9,
        b"\x7f" * 16,
        b"\x01" * 64,
    ],
    ids=["2**64", "9-bytes", "16-bytes", "64-bytes"],
)
def test_timestamp_longer_than_8_bytes_is_anonymous(
    app: Flask, timestamp: bytes
) -> None:
    """F4: a signed timestamp over 8 bytes raised ``struct.error``."""
    assert_anonymous_and_deleted(
        app, signed_cookie(app, b'["1",86400,null]', timestamp)
    )


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 1500 + "]" * 1500,
        '["1",86400,' + "[" * 1480 + "]" * 1480 + "]",
    ],
    ids=["bare-list", "list-in-signature-field"],
)
def test_deeply_nested_json_is_anonymous(
    app: Flask, clock: Clock, payload: str
) -> None:
    """F4: JSON nested about 1,400 deep raised ``RecursionError``; these nest
    as deep as a cookie of at most 4,096 characters allows.
    """
    value = signed_cookie(app, payload.encode(), now_bytes(clock))
    # Still short enough to be read, not refused for its length.
    assert len(value) <= 4096
    assert_anonymous_and_deleted(app, value)


def nested_dict(depth: int) -> str:
    return '{"":' * depth + "0" + "}" * depth


HOSTILE_PAYLOADS = {
    "object": b'{"id":"1","seconds":86400}',
    "string": b'"1"',
    "number": b"1",
    "null": b"null",
    "true": b"true",
    "empty-list": b"[]",
    "two-items": b'["1",86400]',
    "four-items": b'["1",86400,null,null]',
    "huge-int-duration": b'["1",' + b"9" * 1000 + b",null]",
    "nan-duration": b'["1",NaN,null]',
    "infinite-duration": b'["1",Infinity,null]',
    "minus-infinite-duration": b'["1",-Infinity,null]',
    "overflowing-float-duration": b'["1",1e400,null]',
    "negative-duration": b'["1",-86400,null]',
    "zero-duration": b'["1",0,null]',
    "bool-duration": b'["1",true,null]',
    "str-duration": b'["1","86400",null]',
    "list-duration": b'["1",[86400],null]',
    "int-user-id": b"[1,86400,null]",
    "huge-int-user-id": b"[" + b"9" * 1000 + b",86400,null]",
    "empty-user-id": b'["",86400,null]',
    "null-user-id": b"[null,86400,null]",
    "list-user-id": b'[["1"],86400,null]',
    "dict-user-id": b'[{"":"1"},86400,null]',
    "int-signature": b'["1",86400,123]',
    "dict-signature": b'["1",86400,{"sig":"x"}]',
    "list-signature": b'["1",86400,["x"]]',
    "deep-dict": nested_dict(600).encode(),
    "deep-dict-user-id": ("[" + nested_dict(580) + ",86400,null]").encode(),
    "not-json": b"not json",
    "not-utf8": b"\xff\xfe\xfd",
    "empty": b"",
}


@pytest.mark.parametrize(
    "payload", list(HOSTILE_PAYLOADS.values()), ids=list(HOSTILE_PAYLOADS)
)
def test_hostile_signed_contents_are_anonymous(
    app: Flask, clock: Clock, payload: bytes
) -> None:
    """F4: other hostile contents a key holder could sign: JSON that is not a
    list, the wrong length, huge or non-finite numbers, wrong types, nested
    dicts, not JSON at all.
    """
    value = signed_cookie(app, payload, now_bytes(clock))
    assert_anonymous_and_deleted(app, value)


@pytest.mark.parametrize(
    "timestamp",
    [b"", b"\x00", b"\xff" * 8, int_to_bytes(1)],
    ids=["0-bytes", "zero", "far-future-or-signed-negative", "epoch+1"],
)
def test_hostile_signed_timestamps_are_anonymous(app: Flask, timestamp: bytes) -> None:
    """F4: timestamps of 8 bytes or fewer that are out of range: empty, the
    epoch, or so far in the future that the age is hugely negative.
    """
    assert_anonymous_and_deleted(
        app, signed_cookie(app, b'["1",86400,null]', timestamp)
    )


def test_deep_nesting_refused_for_length(app: Flask, clock: Clock) -> None:
    # Nested deeper than fits in a browser's cookie: refused unread.
    payload = "[" * 3000 + "]" * 3000
    value = signed_cookie(app, payload.encode(), now_bytes(clock))
    assert len(value) > 4096
    assert_anonymous_and_deleted(app, value)


def test_hostile_cookie_does_not_hide_other_credentials(
    app: Flask, login_manager: LoginManager
) -> None:
    """F4: after an odd cookie, a request loader still gets its turn."""

    @login_manager.request_loader
    def from_api_key(req: Request) -> User | None:
        return User("5", "api") if req.headers.get("X-Api-Key") == "k" else None

    value = signed_cookie(app, b'["1",86400,null]', b"\x01" + bytes(8))
    client = app.test_client(use_cookies=False)
    response = client.get(
        "/", headers={"Cookie": f"{REMEMBER}={value}", "X-Api-Key": "k"}
    )
    assert response.text == "user:5"
    assert deletes_cookie(response, REMEMBER)


def test_json_helpers_are_what_we_think() -> None:
    # The nested payloads are valid JSON of the intended depth, so what the
    # tests above exercise is depth, not a syntax error.
    assert json.loads(nested_dict(3)) == {"": {"": {"": 0}}}
    assert json.loads("[" * 3 + "]" * 3) == [[[]]]
