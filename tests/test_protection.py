"""Session protection: the client identifier, compatibility with sessions
and cookies written by flask-login, and the basic and strong modes.
"""

from __future__ import annotations

import typing as t

import flask_login
import flask_login.utils
import pytest
from flask import Flask
from flask import Request
from flask import request
from flask import session
from flask.testing import FlaskClient

from flask_sessionauth import current_user
from flask_sessionauth import login_fresh
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import session_protected
from flask_sessionauth.protection import create_identifier
from flask_sessionauth.protection import SHORT_IDENTIFIER_LENGTH
from helpers import cookie_value
from helpers import empties_cookie
from helpers import make_app
from helpers import recording
from helpers import session_data
from helpers import short_identifier_of
from helpers import User

Mode = t.Literal["basic", "strong"] | None

COOKIE = "remember_token"
SESSION = "session"
HOME = {"REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "HomeBrowser/1.0"}
CHANGES = {
    "user-agent": {"HTTP_USER_AGENT": "Thief/6.6"},
    "remote-addr": {"REMOTE_ADDR": "10.9.9.9"},
    "both": {"REMOTE_ADDR": "10.9.9.9", "HTTP_USER_AGENT": "Thief/6.6"},
}


def logged_in_client(app: Flask, *, remember: bool = False) -> FlaskClient:
    client = app.test_client()
    query = "?remember=1" if remember else ""
    assert client.get(f"/login/1{query}", environ_base=HOME).text == "ok"
    return client


@pytest.fixture(autouse=True)
def extra_routes(app: Flask, users: dict[str, User]) -> None:
    @app.route("/fresh")
    def fresh() -> str:
        return f"{current_user.get_id()}:{login_fresh()}"

    @app.route("/login-permanent/<user_id>")
    def login_permanent(user_id: str) -> str:
        session.permanent = True
        login_user(users[user_id], remember=request.args.get("remember") == "1")
        return "ok"


@pytest.fixture
def fl_app(users: dict[str, User]) -> Flask:
    """An app that logs users in with flask-login itself, sharing our key."""
    fl_app = Flask("flask_login_app")
    fl_app.config.update(SECRET_KEY="test-secret", TESTING=True)
    manager = flask_login.LoginManager(fl_app)

    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

    manager.user_loader(load_user)

    @fl_app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        remember = request.args.get("remember") == "1"
        flask_login.login_user(users[user_id], remember=remember)
        return "ok"

    @fl_app.route("/fresh")
    def fresh() -> str:
        return f"{flask_login.current_user.get_id()}:{flask_login.login_fresh()}"

    return fl_app


# The identifier


@pytest.mark.parametrize(
    ("remote_addr", "user_agent"),
    [
        ("127.0.0.1", "Werkzeug/3"),
        ("10.1.2.3", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"),
        ("::1", "curl/8.5.0"),
        ("192.168.0.1", ""),
        ("10.0.0.1", "\xdcn\xefc\xf6d\xe9/1.0"),
        ("10.0.0.2", None),
    ],
)
def test_identifier_matches_flask_login(
    app: Flask, remote_addr: str, user_agent: str | None
) -> None:
    client = app.test_client()
    environ = {"REMOTE_ADDR": remote_addr}

    if user_agent is None:
        client.environ_base.pop("HTTP_USER_AGENT", None)
    else:
        environ["HTTP_USER_AGENT"] = user_agent

    client.get("/login/1", environ_base=environ)

    with client.session_transaction() as sess:
        ours = sess["_id"]

    with app.test_request_context(environ_base=environ):
        theirs = flask_login.utils._create_identifier()
        full = create_identifier()

    # The same SHA-512 as flask-login; sessions store its first 128 bits, in
    # 22 characters of URL-safe base64.
    assert full == theirs
    assert ours == short_identifier_of(theirs)
    assert len(ours) == SHORT_IDENTIFIER_LENGTH == 22


def test_identifier_ignores_x_forwarded_for(app: Flask) -> None:
    # A deliberate difference: flask-login trusts X-Forwarded-For, which any
    # client can send.
    forwarded = {"X-Forwarded-For": "203.0.113.9, 10.0.0.1"}
    client = app.test_client()
    client.get("/login/1", environ_base=HOME, headers=forwarded)

    with client.session_transaction() as sess:
        ours = sess["_id"]

    with app.test_request_context(environ_base=HOME):
        plain = flask_login.utils._create_identifier()

    with app.test_request_context(environ_base=HOME, headers=forwarded):
        trusting = flask_login.utils._create_identifier()

    assert ours == short_identifier_of(plain)
    assert ours != short_identifier_of(trusting)

    app.config["SESSION_PROTECTION"] = "strong"
    spoofed = {"X-Forwarded-For": "198.51.100.7"}
    response = client.get("/fresh", environ_base=HOME, headers=spoofed)
    assert response.text == "1:True"

    # Claiming the old address from a new one does not help.
    moved = {**HOME, "REMOTE_ADDR": "10.9.9.9"}
    response = client.get(
        "/fresh", environ_base=moved, headers={"X-Forwarded-For": "10.0.0.1"}
    )
    assert response.text == "None:False"


@pytest.mark.parametrize("user_agent", ["agent/1.0", None])
def test_session_identifier_uses_flask_login_formula(
    app: Flask, users: dict[str, User], user_agent: str | None
) -> None:
    headers = {} if user_agent is None else {"User-Agent": user_agent}
    environ = {"REMOTE_ADDR": "203.0.113.5"}

    with app.test_request_context(headers=headers, environ_base=environ):
        expected = flask_login.utils._create_identifier()
        login_user(users["1"])
        # flask-login's SHA-512, of which sessions keep the first 128 bits.
        assert session["_id"] == short_identifier_of(expected)


def test_session_identifier_ignores_x_forwarded_for(
    app: Flask, users: dict[str, User]
) -> None:
    headers = {"User-Agent": "agent/1.0"}
    spoofed = {**headers, "X-Forwarded-For": "198.51.100.7, 10.0.0.1"}
    identifiers: dict[tuple[str, bool], str] = {}

    for address in ("203.0.113.5", "203.0.113.6"):
        for forwarded in (False, True):
            with app.test_request_context(
                headers=spoofed if forwarded else headers,
                environ_base={"REMOTE_ADDR": address},
            ):
                login_user(users["1"])
                identifiers[address, forwarded] = session["_id"]

    assert identifiers["203.0.113.5", True] == identifiers["203.0.113.5", False]
    assert identifiers["203.0.113.6", True] == identifiers["203.0.113.6", False]
    assert identifiers["203.0.113.5", False] != identifiers["203.0.113.6", False]


# Moving from flask-login


@pytest.mark.parametrize("mode", ["basic", "strong", None])
def test_flask_login_session_is_accepted(app: Flask, fl_app: Flask, mode: Mode) -> None:
    app.config["SESSION_PROTECTION"] = mode
    fl_client = fl_app.test_client()
    fl_client.get("/login/1")
    session_cookie = cookie_value(fl_client, "session")
    assert session_cookie is not None

    client = app.test_client()
    client.set_cookie("session", session_cookie)

    with recording(session_protected) as calls:
        assert client.get("/fresh").text == "1:True"
        assert client.get("/fresh").text == "1:True"

    assert calls == []


@pytest.mark.parametrize("mode", ["basic", "strong", None])
def test_flask_login_remember_cookie_is_accepted(
    app: Flask, fl_app: Flask, mode: Mode
) -> None:
    app.config["SESSION_PROTECTION"] = mode
    fl_client = fl_app.test_client()
    fl_client.get("/login/1?remember=1")
    legacy = cookie_value(fl_client, COOKIE)
    assert legacy is not None

    client = app.test_client()
    client.set_cookie(COOKIE, legacy)

    assert client.get("/fresh").text == "1:False"
    upgraded = cookie_value(client, COOKIE)
    assert upgraded is not None and upgraded != legacy

    assert client.get("/fresh").text == "1:False"
    client.delete_cookie("session")
    assert client.get("/fresh").text == "1:False"


@pytest.mark.parametrize("mode", ["basic", "strong"])
def test_hex_identifier_of_0_1_0_is_accepted(app: Flask, mode: Mode) -> None:
    # Sessions 0.1.0 wrote store the identifier's first 32 hex digits: they
    # still match this client, and no other.
    app.config["SESSION_PROTECTION"] = mode
    client = logged_in_client(app)

    with app.test_request_context(environ_base=HOME):
        digest = flask_login.utils._create_identifier()

    with client.session_transaction() as sess:
        assert sess["_id"] == short_identifier_of(digest)
        sess["_id"] = digest[:32]

    with recording(session_protected) as calls:
        assert client.get("/fresh", environ_base=HOME).text == "1:True"
        assert calls == []
        response = client.get("/fresh", environ_base={**HOME, **CHANGES["both"]})

    assert response.text == ("1:False" if mode == "basic" else "None:False")
    assert calls == [(app, {})]


@pytest.mark.parametrize(
    ("mode", "expected"), [("basic", "1:False"), ("strong", "None:False")]
)
def test_rollback_to_flask_login_is_a_protection_mismatch(
    app: Flask, fl_app: Flask, mode: Mode, expected: str
) -> None:
    # A documented cost of the short _id: flask-login compares all 128 digits,
    # so after a rollback it treats our sessions as coming from another client.
    fl_app.config["SESSION_PROTECTION"] = mode
    client = app.test_client()
    client.get("/login/1")
    session_cookie = cookie_value(client, "session")
    assert session_cookie is not None

    fl_client = fl_app.test_client()
    fl_client.set_cookie("session", session_cookie)

    assert fl_client.get("/fresh").text == expected


def test_flask_login_session_from_other_client_is_protected(
    app: Flask, fl_app: Flask
) -> None:
    app.config["SESSION_PROTECTION"] = "strong"
    fl_client = fl_app.test_client()
    fl_client.get("/login/1", environ_base=HOME)
    session_cookie = cookie_value(fl_client, "session")
    assert session_cookie is not None

    client = app.test_client()
    client.set_cookie("session", session_cookie)
    thief = {**HOME, **CHANGES["user-agent"]}

    assert client.get("/fresh", environ_base=thief).text == "None:False"


# The modes


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("remember", [False, True])
def test_basic_marks_changed_client_not_fresh(
    app: Flask, change: str, remember: bool
) -> None:
    app.config["SESSION_PROTECTION"] = "basic"
    client = logged_in_client(app, remember=remember)

    with recording(session_protected) as calls:
        assert client.get("/fresh", environ_base=HOME).text == "1:True"
        assert calls == []

        response = client.get("/fresh", environ_base={**HOME, **CHANGES[change]})

    assert response.text == "1:False"
    assert calls == [(app, {})]
    assert not empties_cookie(response, COOKIE)
    # Not fresh any more, even back home.
    assert client.get("/fresh", environ_base=HOME).text == "1:False"


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("remember", [False, True])
def test_strong_logs_changed_client_out(
    app: Flask, change: str, remember: bool
) -> None:
    app.config["SESSION_PROTECTION"] = "strong"
    client = logged_in_client(app, remember=remember)

    with recording(session_protected) as calls:
        assert client.get("/fresh", environ_base=HOME).text == "1:True"
        assert calls == []

        response = client.get("/fresh", environ_base={**HOME, **CHANGES[change]})

    assert response.text == "None:False"
    assert calls == [(app, {})]
    if remember:
        assert empties_cookie(response, COOKIE)
    assert cookie_value(client, COOKIE) is None
    # The login is gone for good, not only for the other client.
    assert client.get("/fresh", environ_base=HOME).text == "None:False"


def test_strong_with_permanent_session_behaves_like_basic(app: Flask) -> None:
    app.config["SESSION_PROTECTION"] = "strong"
    client = app.test_client()
    client.get("/login-permanent/1?remember=1", environ_base=HOME)

    with recording(session_protected) as calls:
        response = client.get("/fresh", environ_base={**HOME, **CHANGES["both"]})

    assert response.text == "1:False"
    assert calls == [(app, {})]
    assert not empties_cookie(response, COOKIE)
    assert cookie_value(client, COOKIE) is not None


@pytest.mark.parametrize("change", CHANGES)
def test_protection_disabled(app: Flask, change: str) -> None:
    app.config["SESSION_PROTECTION"] = None
    client = logged_in_client(app, remember=True)

    with recording(session_protected) as calls:
        response = client.get("/fresh", environ_base={**HOME, **CHANGES[change]})

    assert response.text == "1:True"
    assert calls == []
    assert not empties_cookie(response, COOKIE)


MISSING = "missing"


@pytest.mark.parametrize(
    ("attribute", "config", "expected"),
    [
        pytest.param("strong", "basic", "basic", id="config-basic-wins"),
        pytest.param("basic", "strong", "strong", id="config-strong-wins"),
        pytest.param(None, "strong", "strong", id="config-strong-over-none"),
        pytest.param("strong", None, None, id="config-none-wins"),
        pytest.param("strong", MISSING, "strong", id="attribute-strong"),
        pytest.param(None, MISSING, None, id="attribute-none"),
        pytest.param("basic", MISSING, "basic", id="attribute-basic"),
    ],
)
def test_config_takes_precedence_over_attribute(
    app: Flask,
    login_manager: LoginManager,
    attribute: Mode,
    config: str | None,
    expected: Mode,
) -> None:
    login_manager.session_protection = attribute

    if config == MISSING:
        app.config.pop("SESSION_PROTECTION", None)
    else:
        app.config["SESSION_PROTECTION"] = config

    client = logged_in_client(app)
    response = client.get("/fresh", environ_base={**HOME, **CHANGES["user-agent"]})
    outcome = {"1:True": None, "1:False": "basic", "None:False": "strong"}

    assert outcome[response.text] == expected


def test_default_mode_is_basic(app: Flask, login_manager: LoginManager) -> None:
    assert login_manager.session_protection == "basic"
    assert "SESSION_PROTECTION" not in app.config

    client = logged_in_client(app)
    response = client.get("/fresh", environ_base={**HOME, **CHANGES["user-agent"]})

    assert response.text == "1:False"


@pytest.mark.parametrize("value", ["paranoid", "Strong", "none", "", 1])
def test_invalid_session_protection_config(app: Flask, value: object) -> None:
    client = logged_in_client(app)
    app.config["SESSION_PROTECTION"] = value

    with pytest.raises(ValueError) as info:
        client.get("/fresh", environ_base=HOME)

    assert "basic" in str(info.value)
    assert "strong" in str(info.value)


def test_invalid_session_protection_attribute(
    app: Flask, login_manager: LoginManager
) -> None:
    client = logged_in_client(app)

    with pytest.raises(ValueError) as info:
        login_manager.session_protection = "paranoid"  # type: ignore[assignment]
        client.get("/fresh", environ_base=HOME)

    assert "basic" in str(info.value)
    assert "strong" in str(info.value)


def test_invalid_session_protection_at_setup(users: dict[str, User]) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True, SESSION_PROTECTION="paranoid")

    with pytest.raises(ValueError, match="strong"):
        manager = LoginManager(app)
        manager.user_loader(users.get)

        @app.route("/")
        def index() -> str:
            return str(current_user.is_authenticated)

        app.test_client().get("/")


@pytest.mark.parametrize("mode", ["basic", "strong"])
@pytest.mark.parametrize("history", ["new-client", "after-logout"])
def test_empty_session_skips_protection(app: Flask, mode: str, history: str) -> None:
    app.config["SESSION_PROTECTION"] = mode

    if history == "after-logout":
        client = logged_in_client(app, remember=True)
        client.get("/logout", environ_base=HOME)
    else:
        client = app.test_client()

    with recording(session_protected) as calls:
        response = client.get("/fresh", environ_base={**HOME, **CHANGES["both"]})

    assert response.text == "None:False"
    assert calls == []
    assert response.headers.getlist("Set-Cookie") == []


@pytest.mark.parametrize("mode", ["basic", "strong"])
def test_same_client_keeps_fresh_login(app: Flask, mode: str) -> None:
    app.config["SESSION_PROTECTION"] = mode
    client = logged_in_client(app, remember=True)

    with recording(session_protected) as calls:
        for _ in range(3):
            assert client.get("/fresh", environ_base=HOME).text == "1:True"

    assert calls == []


# The remembered verdict: a client judged once keeps its verdict on later
# requests, and a copy of its cookie on another client is judged anew


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


# A refusal before anything loads the user


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


# F3, a flaw found in a security review: session protection fingerprinted
# ``environ["REMOTE_ADDR"]`` rather than ``request.remote_addr``, so an app
# whose Request class derives the client address (from a CDN header, say) got
# the proxy's address for everybody.

#: The session keys of a login, as docs/security.rst lists them.
LOGIN_KEYS = frozenset(
    {"_user_id", "_fresh", "_id", "_remember_seconds", "_fresh_at", "_token_sig"}
)


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
