"""API clients: HTTP Basic credentials through ``basic_auth_loader``, and the
401 JSON responses that API requests get instead of redirects.
"""

from __future__ import annotations

import base64
import typing as t
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Blueprint
from flask import Flask
from flask import jsonify
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_sessionauth import api_view
from flask_sessionauth import current_user
from flask_sessionauth import fresh_login_required
from flask_sessionauth import LOGIN_MESSAGE
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import user_loaded_from_request
from helpers import cookie_value
from helpers import is_redirect
from helpers import session_data
from helpers import User

if t.TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

#: username -> (user id, password)
ACCOUNTS = {
    "alice": ("1", "wonderland"),
    "bob": ("2", "builder"),
    "zoë": ("4", "pässwörd"),
}
JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def basic(credentials: str | bytes, scheme: str = "Basic") -> dict[str, str]:
    if isinstance(credentials, str):
        credentials = credentials.encode("utf-8")

    return {"Authorization": f"{scheme} {base64.b64encode(credentials).decode()}"}


ALICE = basic("alice:wonderland")
BOB = basic("bob:builder")


@pytest.fixture
def app(app: Flask, users: dict[str, User]) -> Flask:
    users["4"] = User("4", "zoë")

    @app.route("/signin")
    def signin() -> str:
        return "sign in here"

    @app.route("/login-stale/<user_id>")
    def login_stale(user_id: str) -> str:
        login_user(users[user_id], fresh=False)
        return "ok"

    @app.route("/fresh-only")
    @fresh_login_required
    def fresh_only() -> str:
        return f"fresh:{current_user.get_id()}"

    @app.route("/api/outer")
    @api_view
    @login_required
    def api_outer() -> ResponseReturnValue:
        return jsonify(id=current_user.get_id())

    @app.route("/api/inner")
    @login_required
    @api_view
    def api_inner() -> ResponseReturnValue:
        return jsonify(id=current_user.get_id())

    @app.route("/api/fresh")
    @api_view
    @fresh_login_required
    def api_fresh() -> ResponseReturnValue:
        return jsonify(id=current_user.get_id())

    api = Blueprint("api", __name__, url_prefix="/bp-api")
    web = Blueprint("web", __name__, url_prefix="/bp-web")

    @api.route("/thing")
    @login_required
    def api_thing() -> str:
        return "api thing"

    @web.route("/thing")
    @login_required
    def web_thing() -> str:
        return "web thing"

    app.register_blueprint(api)
    app.register_blueprint(web)
    return app


@pytest.fixture
def checked() -> list[tuple[str, str]]:
    """The credentials the Basic loader was asked about."""
    return []


@pytest.fixture
def basic_app(
    request: pytest.FixtureRequest,
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    checked: list[tuple[str, str]],
) -> Flask:
    def check(username: str, password: str) -> User | None:
        checked.append((username, password))
        account = ACCOUNTS.get(username)

        if account is None or account[1] != password:
            return None

        return users[account[0]]

    if getattr(request, "param", "sync") == "async":

        async def check_async(username: str, password: str) -> User | None:
            return check(username, password)

        login_manager.basic_auth_loader(check_async)
    else:
        login_manager.basic_auth_loader(check)

    return app


@pytest.fixture
def basic_client(basic_app: Flask) -> FlaskClient:
    return basic_app.test_client()


def sets_session_cookie(response: TestResponse) -> bool:
    return any(
        header.startswith("session=") and not header.startswith("session=;")
        for header in response.headers.getlist("Set-Cookie")
    )


def assert_json_401(response: TestResponse, error: str = "unauthorized") -> None:
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict)
    assert body["error"] == error
    assert isinstance(body["message"], str)
    assert body["message"]


# Basic credentials


@pytest.mark.parametrize("basic_app", ["sync", "async"], indirect=True)
def test_basic_credentials_log_in(
    basic_app: Flask, basic_client: FlaskClient, users: dict[str, User]
) -> None:
    loaded: list[t.Any] = []

    def receiver(sender: Flask, **kwargs: t.Any) -> None:
        loaded.append(kwargs["user"])

    with user_loaded_from_request.connected_to(receiver, basic_app):
        response = basic_client.get("/protected", headers=ALICE)

    assert response.status_code == 200
    assert response.text == "secret:1"
    assert loaded == [users["1"]]
    assert sets_session_cookie(response)
    assert session_data(basic_client)["_user_id"] == "1"

    # The cookie alone is enough now, without the password.
    with user_loaded_from_request.connected_to(receiver, basic_app):
        assert basic_client.get("/protected").text == "secret:1"

    assert loaded == [users["1"]]


@pytest.mark.parametrize("basic_app", ["sync", "async"], indirect=True)
def test_wrong_password_is_401(
    basic_client: FlaskClient, checked: list[tuple[str, str]]
) -> None:
    response = basic_client.get("/protected", headers=basic("alice:guess"))
    assert response.status_code == 401
    assert checked == [("alice", "guess")]
    assert not sets_session_cookie(response)
    assert basic_client.get("/").text == "anonymous"


def test_unknown_user_is_401(basic_client: FlaskClient) -> None:
    assert basic_client.get("/protected", headers=basic("mallory:x")).status_code == 401


def test_basic_auth_login_off_writes_no_session(
    basic_app: Flask, basic_client: FlaskClient, users: dict[str, User]
) -> None:
    basic_app.config["SESSIONAUTH_BASIC_AUTH_LOGIN"] = False
    loaded: list[t.Any] = []

    def receiver(sender: Flask, **kwargs: t.Any) -> None:
        loaded.append(kwargs["user"])

    with user_loaded_from_request.connected_to(receiver, basic_app):
        response = basic_client.get("/protected", headers=ALICE)

    assert response.text == "secret:1"
    assert loaded == [users["1"]]
    assert not sets_session_cookie(response)
    assert cookie_value(basic_client, "session") is None
    assert "_user_id" not in session_data(basic_client)

    # Every request must carry the credentials.
    assert basic_client.get("/").text == "anonymous"
    assert basic_client.get("/", headers=ALICE).text == "user:1"


def test_unicode_username(basic_client: FlaskClient) -> None:
    response = basic_client.get("/protected", headers=basic("zoë:pässwörd"))
    assert response.text == "secret:4"


HUGE = 100 * 1024


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        pytest.param("Basic !!!not*base64", None, id="bad-base64"),
        pytest.param("Basic YWxpY2U6d29uZGVybGFuZA", None, id="missing-padding"),
        pytest.param(basic("alicewonderland")["Authorization"], None, id="no-colon"),
        pytest.param(
            basic(b"\xff\xfe:wonderland")["Authorization"], None, id="non-utf8"
        ),
        pytest.param(
            basic("zoë:pässwörd".encode("latin-1"))["Authorization"],
            None,
            id="latin-1",
        ),
        pytest.param(basic(":wonderland")["Authorization"], None, id="empty-username"),
        pytest.param(basic(":")["Authorization"], None, id="only-colon"),
        pytest.param("", None, id="empty-header"),
        pytest.param("Basic", None, id="scheme-alone"),
        pytest.param("Basic    ", None, id="scheme-and-spaces"),
        pytest.param("Basic café", None, id="non-ascii-header"),
        pytest.param(
            basic("alice:" + "x" * HUGE)["Authorization"], None, id="huge-password"
        ),
        pytest.param("Basic " + "A" * HUGE, None, id="huge-junk"),
        pytest.param("Bearer x", None, id="bearer"),
        pytest.param('Digest username="alice", realm="x"', None, id="digest"),
        pytest.param(
            basic("alice:wonderland", scheme="basic")["Authorization"],
            "1",
            id="lowercase-scheme",
        ),
        pytest.param(
            basic("alice:wonderland", scheme="BASIC")["Authorization"],
            "1",
            id="uppercase-scheme",
        ),
        pytest.param(
            "Basic   " + basic("alice:wonderland")["Authorization"][6:],
            "1",
            id="extra-spaces",
        ),
        pytest.param(basic("zoë:pässwörd")["Authorization"], "4", id="unicode-user"),
    ],
)
def test_authorization_header_variants(
    basic_client: FlaskClient, authorization: str, expected: str | None
) -> None:
    headers = {"Authorization": authorization}
    response = basic_client.get("/protected", headers=headers)

    if expected is None:
        # Malformed credentials are no credentials: anonymous, never a 500.
        assert response.status_code == 401
        assert basic_client.get("/", headers=headers).text == "anonymous"
        assert "_user_id" not in session_data(basic_client)
    else:
        # The scheme is case-insensitive (RFC 9110) and Werkzeug agrees.
        assert response.status_code == 200
        assert response.text == f"secret:{expected}"


def test_malformed_header_as_json_is_401_json(basic_client: FlaskClient) -> None:
    response = basic_client.get(
        "/protected", headers={**JSON, "Authorization": "Basic café"}
    )
    assert_json_401(response)


def test_valid_session_wins_over_basic_credentials(
    basic_client: FlaskClient, checked: list[tuple[str, str]]
) -> None:
    assert basic_client.get("/login/1").text == "ok"

    response = basic_client.get("/protected", headers=BOB)

    assert response.text == "secret:1"
    # Bob's password was not even checked, and Alice's session is untouched.
    assert checked == []
    assert session_data(basic_client)["_user_id"] == "1"
    assert basic_client.get("/").text == "user:1"


def test_basic_credentials_used_once_session_gone(
    basic_client: FlaskClient,
) -> None:
    basic_client.get("/login/1")
    basic_client.get("/logout")
    assert basic_client.get("/protected", headers=BOB).text == "secret:2"
    assert basic_client.get("/").text == "user:2"


# 401 JSON for API requests


@pytest.mark.parametrize(
    ("realm", "header"),
    [
        (None, 'Basic realm="Login required"'),
        ("Staff area", 'Basic realm="Staff area"'),
        ('The "Vault"', 'Basic realm="The \\"Vault\\""'),
        ("back\\slash", 'Basic realm="back\\\\slash"'),
    ],
)
def test_api_401_offers_basic(
    basic_app: Flask, basic_client: FlaskClient, realm: str | None, header: str
) -> None:
    if realm is not None:
        basic_app.config["SESSIONAUTH_BASIC_AUTH_REALM"] = realm

    response = basic_client.get("/protected", headers=JSON)

    assert_json_401(response)
    assert response.headers["WWW-Authenticate"] == header
    # A client parses the realm back to what was configured.
    assert response.www_authenticate.type == "basic"
    assert response.www_authenticate.parameters["realm"] == (realm or "Login required")


def test_wrong_password_json_offers_basic(basic_client: FlaskClient) -> None:
    response = basic_client.get("/protected", headers={**JSON, **basic("alice:guess")})
    assert_json_401(response)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_api_401_without_basic_loader(client: FlaskClient) -> None:
    response = client.get("/protected", headers=JSON)
    assert_json_401(response)
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "text/html;q=0.5, application/json",
        "application/json, text/plain",
    ],
)
def test_json_preferred_gets_json(
    client: FlaskClient, login_manager: LoginManager, accept: str
) -> None:
    login_manager.login_view = "signin"
    assert_json_401(client.get("/protected", headers={"Accept": accept}))


@pytest.mark.parametrize(
    "accept",
    [
        None,
        BROWSER["Accept"],
        "*/*",
        "text/html",
        "application/json;q=0.5, text/html",
    ],
)
def test_html_requests_redirect_with_flash(
    client: FlaskClient, login_manager: LoginManager, accept: str | None
) -> None:
    login_manager.login_view = "signin"
    headers = {} if accept is None else {"Accept": accept}

    response = client.get("/protected", headers=headers)

    assert is_redirect(response)
    assert response.location is not None
    location = urlsplit(response.location)
    assert location.path == "/signin"
    assert parse_qs(location.query)["next"] == ["/protected"]

    with client.session_transaction() as sess:
        assert sess["_flashes"] == [("message", LOGIN_MESSAGE)]


def test_html_request_redirects_with_basic_loader(
    basic_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"
    response = basic_client.get("/protected", headers=BROWSER)
    assert is_redirect(response)
    assert "WWW-Authenticate" not in response.headers


def test_api_blueprint_gets_json_even_for_html(
    client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"
    login_manager.api_blueprints.add("api")

    assert_json_401(client.get("/bp-api/thing", headers=BROWSER))
    assert_json_401(client.get("/bp-api/thing"))

    # A blueprint not listed is a browser's.
    response = client.get("/bp-web/thing", headers=BROWSER)
    assert is_redirect(response)


def test_api_blueprint_served_when_logged_in(
    client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.api_blueprints.add("api")
    client.get("/login/1")
    assert client.get("/bp-api/thing", headers=BROWSER).text == "api thing"


@pytest.mark.parametrize("path", ["/api/outer", "/api/inner"])
@pytest.mark.parametrize("accept", [None, BROWSER["Accept"]])
def test_api_view_gets_json(
    client: FlaskClient, login_manager: LoginManager, path: str, accept: str | None
) -> None:
    login_manager.login_view = "signin"
    headers = {} if accept is None else {"Accept": accept}
    assert_json_401(client.get(path, headers=headers))

    client.get("/login/2")
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"id": "2"}


@pytest.mark.parametrize("path", ["/fresh-only", "/api/fresh"])
def test_needs_refresh_for_api_request(
    client: FlaskClient, login_manager: LoginManager, path: str
) -> None:
    login_manager.refresh_view = "signin"
    client.get("/login-stale/1")
    headers = JSON if path == "/fresh-only" else BROWSER

    response = client.get(path, headers=headers)

    assert_json_401(response, "needs_refresh")

    # A browser on a page that is not an API is sent to log in again.
    response = client.get("/fresh-only", headers=BROWSER)
    assert is_redirect(response)
