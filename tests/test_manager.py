"""Registering the :class:`LoginManager`, and the responses it makes for users
who must log in (:meth:`~LoginManager.unauthorized`) or log in again
(:meth:`~LoginManager.needs_refresh`).
"""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import flask_login
import pytest
from flask import Blueprint
from flask import Flask
from flask import get_flashed_messages
from flask import jsonify
from flask import render_template_string
from flask.testing import FlaskClient
from jinja2 import UndefinedError
from werkzeug.wrappers import Response

from flask_sessionauth import api_view
from flask_sessionauth import current_user
from flask_sessionauth import expand_login_view
from flask_sessionauth import fresh_login_required
from flask_sessionauth import LOGIN_MESSAGE
from flask_sessionauth import login_required
from flask_sessionauth import login_url
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import make_next_param
from flask_sessionauth import REFRESH_MESSAGE
from flask_sessionauth import set_login_view
from flask_sessionauth import user_needs_refresh
from flask_sessionauth import user_unauthorized
from helpers import is_redirect
from helpers import User

JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

admin = Blueprint("admin", __name__, url_prefix="/admin")
shop = Blueprint("shop", __name__, url_prefix="/shop")
api = Blueprint("api", __name__, url_prefix="/api")
api_v2 = Blueprint("v2", __name__, url_prefix="/v2")


@admin.route("/signin", endpoint="signin")
def admin_signin() -> str:
    return "admin sign in"


@admin.route("/page")
@login_required
def admin_page() -> str:
    return "admin page"


@shop.route("/page")
@login_required
def shop_page() -> str:
    return "shop page"


@api.route("/data")
@login_required
def api_data() -> dict[str, str]:
    return {"data": "secret"}


@api.route("/fresh")
@fresh_login_required
def api_fresh() -> dict[str, str]:
    return {"data": "fresh"}


@api_v2.route("/data")
@login_required
def api_v2_data() -> dict[str, str]:
    return {"data": "v2"}


api.register_blueprint(api_v2)


def flashes_view() -> Response:
    return jsonify(get_flashed_messages(with_categories=True))


@pytest.fixture
def site(app: Flask, users: dict[str, User]) -> Flask:
    """The shared app with login pages, blueprints and API views."""
    app.add_url_rule("/signin", "signin", flashes_view)
    app.add_url_rule("/reauth", "reauth", flashes_view)
    app.add_url_rule("/flashes", "flashes", flashes_view)

    @app.route("/stale/<user_id>")
    def stale(user_id: str) -> str:
        login_user(users[user_id], fresh=False)
        return "stale"

    @app.route("/fresh")
    @fresh_login_required
    def fresh() -> str:
        return "fresh page"

    @app.route("/marked-outer")
    @api_view
    @login_required
    def marked_outer() -> dict[str, str]:
        return {"data": "outer"}

    @app.route("/marked-inner")
    @login_required
    @api_view
    def marked_inner() -> dict[str, str]:
        return {"data": "inner"}

    @app.route("/marked-fresh")
    @api_view
    @fresh_login_required
    def marked_fresh() -> dict[str, str]:
        return {"data": "fresh"}

    app.register_blueprint(admin)
    app.register_blueprint(shop)
    app.register_blueprint(api)
    return app


@pytest.fixture
def site_client(site: Flask) -> FlaskClient:
    return site.test_client()


def flashes(client: FlaskClient) -> list[list[str]]:
    """The messages flashed so far, read (and consumed) by a later request."""
    return t.cast(list[list[str]], client.get("/flashes").json)


def location(response: t.Any) -> tuple[str, str, dict[str, list[str]]]:
    """The host, path and query of a redirect."""
    parts = urlsplit(response.headers["Location"])
    return parts.netloc, parts.path, parse_qs(parts.query)


def new_app(manager: LoginManager | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="other-secret", TESTING=True)

    if manager is not None:
        manager.init_app(app)

    return app


# registration --------------------------------------------------------------


@pytest.mark.parametrize("style", ["constructor", "init_app"])
def test_manager_is_registered_on_the_app(style: str) -> None:
    app = Flask(__name__)

    if style == "constructor":
        manager = LoginManager(app)
    else:
        manager = LoginManager()
        assert "sessionauth" not in app.extensions
        manager.init_app(app)

    assert app.extensions["sessionauth"] is manager
    assert vars(app)["login_manager"] is manager


def test_manager_without_app_registers_nothing() -> None:
    app = Flask(__name__)
    LoginManager()

    assert "sessionauth" not in app.extensions
    assert "login_manager" not in vars(app)


def test_init_app_twice_with_the_same_manager_is_a_no_op() -> None:
    manager = LoginManager()
    app = new_app(manager)
    hooks = (
        list(app.after_request_funcs[None]),
        list(app.template_context_processors[None]),
    )

    manager.init_app(app)

    assert app.extensions["sessionauth"] is manager
    assert (
        list(app.after_request_funcs[None]),
        list(app.template_context_processors[None]),
    ) == hooks


@pytest.mark.parametrize("style", ["constructor", "init_app"])
def test_another_manager_replaces_the_registered_one(style: str) -> None:
    first = LoginManager()
    app = new_app(first)
    processors = list(app.template_context_processors[None])

    if style == "constructor":
        second = LoginManager(app)
    else:
        second = LoginManager()
        second.init_app(app)

    assert app.extensions["sessionauth"] is second
    assert vars(app)["login_manager"] is second
    assert app.template_context_processors[None] == processors


def test_one_manager_serves_two_apps(users: dict[str, User]) -> None:
    manager = LoginManager()
    manager.user_loader(users.get)
    first, second = new_app(manager), new_app(manager)

    for app in (first, second):

        @app.route("/login/<user_id>")
        def login(user_id: str) -> str:
            login_user(users[user_id])
            return "ok"

        @app.route("/me")
        @login_required
        def me() -> str:
            return f"user:{current_user.get_id()}"

    assert first.extensions["sessionauth"] is manager
    assert second.extensions["sessionauth"] is manager

    one, two = first.test_client(), second.test_client()
    one.get("/login/1")
    two.get("/login/2")

    assert one.get("/me").text == "user:1"
    assert two.get("/me").text == "user:2"
    assert second.test_client().get("/me").status_code == 401


def test_setup_app_still_works_and_warns(login_manager: LoginManager) -> None:
    app = Flask(__name__)

    with pytest.warns(DeprecationWarning, match="init_app"):
        login_manager.setup_app(app)

    assert app.extensions["sessionauth"] is login_manager


# context processor ---------------------------------------------------------


@pytest.mark.parametrize("style", ["constructor", "init_app"])
def test_context_processor_puts_current_user_in_templates(
    style: str, users: dict[str, User]
) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", TESTING=True)
    manager = LoginManager(app) if style == "constructor" else LoginManager()

    if style == "init_app":
        manager.init_app(app, add_context_processor=True)

    manager.user_loader(users.get)

    with app.test_request_context():
        template = "{{ current_user.is_authenticated }}"
        assert render_template_string(template) == "False"
        login_user(users["1"])
        assert render_template_string(template) == "True"


@pytest.mark.parametrize("style", ["constructor", "init_app"])
def test_context_processor_can_be_left_out(style: str, users: dict[str, User]) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", TESTING=True)

    if style == "constructor":
        manager = LoginManager(app, add_context_processor=False)
    else:
        manager = LoginManager()
        manager.init_app(app, add_context_processor=False)

    manager.user_loader(users.get)

    with app.test_request_context():
        assert render_template_string("{{ current_user is defined }}") == "False"

        with pytest.raises(UndefinedError):
            render_template_string("{{ current_user.is_authenticated }}")


# unauthorized() ------------------------------------------------------------


def test_unauthorized_without_login_view_is_401(site_client: FlaskClient) -> None:
    response = site_client.get("/protected")

    assert response.status_code == 401
    assert "secret" not in response.text


def test_unauthorized_redirects_to_login_view_with_next(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"

    response = site_client.get("/protected?a=1&b=two")

    assert is_redirect(response)
    host, path, query = location(response)
    assert host in ("", "localhost")
    assert path == "/signin"
    assert query == {"next": ["/protected?a=1&b=two"]}


def test_unauthorized_to_an_absolute_login_url_keeps_full_next(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "https://sso.example.com/login"

    response = site_client.get("/protected?a=1")

    assert is_redirect(response)
    assert location(response) == (
        "sso.example.com",
        "/login",
        {"next": ["http://localhost/protected?a=1"]},
    )


def test_unauthorized_flashes_login_message(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"

    site_client.get("/protected")
    response = site_client.get("/signin")

    assert response.json == [["message", LOGIN_MESSAGE]]


def test_unauthorized_flashes_custom_message_and_category(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"
    login_manager.login_message = "Members only."
    login_manager.login_message_category = "warning"

    site_client.get("/protected")

    assert flashes(site_client) == [["warning", "Members only."]]


def test_unauthorized_applies_localize_callback(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    seen: list[str] = []

    def localize(message: str) -> str:
        seen.append(message)
        return f"[fr] {message}"

    login_manager.login_view = "signin"
    login_manager.localize_callback = localize

    site_client.get("/protected")

    assert seen == [LOGIN_MESSAGE]
    assert flashes(site_client) == [["message", f"[fr] {LOGIN_MESSAGE}"]]


@pytest.mark.parametrize("message", [None, ""])
def test_unauthorized_without_login_message_flashes_nothing(
    site_client: FlaskClient, login_manager: LoginManager, message: str | None
) -> None:
    login_manager.login_view = "signin"
    login_manager.login_message = message

    response = site_client.get("/protected")

    assert is_redirect(response)
    assert flashes(site_client) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/admin/page", "/admin/signin"),
        ("/shop/page", "/signin"),
        ("/protected", "/signin"),
    ],
)
def test_blueprint_login_views_with_fallback(
    site_client: FlaskClient, login_manager: LoginManager, url: str, expected: str
) -> None:
    login_manager.login_view = "signin"
    login_manager.blueprint_login_views = {"admin": "admin.signin"}

    response = site_client.get(url)

    assert is_redirect(response)
    assert location(response)[1:] == (expected, {"next": [url]})


def test_blueprint_login_view_without_app_login_view(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.blueprint_login_views = {"admin": "admin.signin"}

    assert is_redirect(site_client.get("/admin/page"))
    assert site_client.get("/shop/page").status_code == 401
    assert site_client.get("/protected").status_code == 401


def test_set_login_view_for_the_app(
    site: Flask, site_client: FlaskClient, login_manager: LoginManager
) -> None:
    with site.app_context():
        set_login_view("signin")

    assert login_manager.login_view == "signin"
    assert location(site_client.get("/admin/page"))[1] == "/signin"


def test_set_login_view_for_a_blueprint_keeps_the_app_view(
    site: Flask, site_client: FlaskClient, login_manager: LoginManager
) -> None:
    with site.app_context():
        set_login_view("signin")
        set_login_view("admin.signin", blueprint=admin)

    # As flask-login: the app's view moves under the None key.
    assert login_manager.login_view is None
    assert login_manager.blueprint_login_views == {
        "admin": "admin.signin",
        None: "signin",
    }
    assert location(site_client.get("/admin/page"))[1] == "/admin/signin"
    assert location(site_client.get("/protected"))[1] == "/signin"


def test_set_login_view_blueprint_only_leaves_other_blueprints_401(
    site: Flask, site_client: FlaskClient
) -> None:
    # flask-login 0.6.3 does the same: the None key serves only views
    # outside any blueprint.
    with site.app_context():
        set_login_view("signin")
        set_login_view("admin.signin", blueprint=admin)

    assert site_client.get("/shop/page").status_code == 401


def test_set_login_view_app_level_after_a_blueprint_view(
    site: Flask, site_client: FlaskClient
) -> None:
    with site.app_context():
        set_login_view("admin.signin", blueprint=admin)
        set_login_view("signin")

    assert location(site_client.get("/admin/page"))[1] == "/admin/signin"
    assert location(site_client.get("/protected"))[1] == "/signin"


def test_use_session_for_next(
    site: Flask, site_client: FlaskClient, login_manager: LoginManager
) -> None:
    site.config["USE_SESSION_FOR_NEXT"] = True
    login_manager.login_view = "signin"

    response = site_client.get("/protected?a=1")

    assert is_redirect(response)
    assert location(response)[1:] == ("/signin", {})

    with site_client.session_transaction() as sess:
        assert sess["next"] == "/protected?a=1"


def test_use_session_for_next_flipped_back_off(
    site: Flask, site_client: FlaskClient, login_manager: LoginManager
) -> None:
    site.config["USE_SESSION_FOR_NEXT"] = True
    login_manager.login_view = "signin"
    site_client.get("/protected")
    site.config["USE_SESSION_FOR_NEXT"] = False

    response = site_client.get("/protected?z=9")

    assert location(response)[2] == {"next": ["/protected?z=9"]}


def test_force_host_for_redirects(
    site: Flask, site_client: FlaskClient, login_manager: LoginManager
) -> None:
    site.config["FORCE_HOST_FOR_REDIRECTS"] = "login.example.org"
    login_manager.login_view = "signin"

    response = site_client.get("/protected?a=1", headers={"Host": "evil.test"})

    assert is_redirect(response)
    assert location(response) == (
        "login.example.org",
        "/signin",
        {"next": ["/protected?a=1"]},
    )


def test_unauthorized_handler_replaces_the_default(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"

    def handler() -> tuple[str, int]:
        return "go away", 403

    assert login_manager.unauthorized_handler(handler) is handler

    response = site_client.get("/protected")

    assert response.status_code == 403
    assert response.text == "go away"
    assert flashes(site_client) == []


def test_unauthorized_handler_is_called_for_api_requests(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.unauthorized_handler(lambda: ("custom", 418))

    assert site_client.get("/api/data", headers=JSON).status_code == 418


def test_unauthorized_sends_signal(site: Flask, site_client: FlaskClient) -> None:
    senders: list[object] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        senders.append(sender)

    with user_unauthorized.connected_to(receiver, site):
        site_client.get("/protected")
        assert senders == [site]

        site_client.get("/login/1")
        site_client.get("/protected")

    assert senders == [site]


def test_unauthorized_called_directly_in_a_view(
    site: Flask, site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"

    @site.route("/manual")
    def manual() -> t.Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return "in"

    assert location(site_client.get("/manual"))[1:] == (
        "/signin",
        {"next": ["/manual"]},
    )


# make_next_param, login_url, expand_login_view ------------------------------


@pytest.mark.parametrize(
    ("login", "current", "expected"),
    [
        ("/login", "http://localhost/secret?a=1&b=2", "/secret?a=1&b=2"),
        ("http://localhost/login", "http://localhost/secret", "/secret"),
        ("http://localhost/login", "http://localhost/x?y=1#frag", "/x?y=1"),
        (
            "https://auth.example.com/login",
            "http://localhost/secret?a=1",
            "http://localhost/secret?a=1",
        ),
        (
            "https://localhost/login",
            "http://localhost/secret",
            "http://localhost/secret",
        ),
    ],
)
def test_make_next_param(login: str, current: str, expected: str) -> None:
    assert make_next_param(login, current) == expected


@pytest.mark.parametrize(
    ("login", "current"),
    [
        ("/login", "http://localhost/a/b?c=d"),
        ("http://other.test/login", "http://localhost/a"),
        ("//localhost/login", "https://localhost/a?x=%2F"),
        ("login", "http://localhost/"),
    ],
)
def test_make_next_param_matches_flask_login(login: str, current: str) -> None:
    assert make_next_param(login, current) == flask_login.make_next_param(
        login, current
    )


def test_login_url_for_a_view_name(site: Flask) -> None:
    with site.test_request_context():
        assert login_url("signin") == "/signin"


def test_login_url_adds_next_reduced_to_path(site: Flask) -> None:
    with site.test_request_context():
        url = login_url("signin", next_url="http://localhost/secret?a=1")

    parts = urlsplit(url)
    assert parts.path == "/signin"
    assert parse_qs(parts.query) == {"next": ["/secret?a=1"]}


def test_login_url_with_absolute_login_url(site: Flask) -> None:
    with site.test_request_context():
        url = login_url(
            "https://auth.example.com/login", next_url="http://localhost/secret"
        )

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "auth.example.com",
        "/login",
    )
    assert parse_qs(parts.query) == {"next": ["http://localhost/secret"]}


def test_login_url_custom_next_field(site: Flask) -> None:
    with site.test_request_context():
        url = login_url("/signin", next_url="/secret", next_field="return_to")

    parts = urlsplit(url)
    assert parts.path == "/signin"
    assert parse_qs(parts.query) == {"return_to": ["/secret"]}


def test_login_url_preserves_existing_query(site: Flask) -> None:
    with site.test_request_context():
        url = login_url("/signin?lang=en&empty=", next_url="/secret?x=1")

    parts = urlsplit(url)
    assert parts.path == "/signin"
    assert parse_qs(parts.query, keep_blank_values=True) == {
        "lang": ["en"],
        "empty": [""],
        "next": ["/secret?x=1"],
    }


def test_login_url_without_next_returns_base(site: Flask) -> None:
    with site.test_request_context():
        assert login_url("/signin?lang=en") == "/signin?lang=en"
        assert login_url("https://sso.test/x") == "https://sso.test/x"


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("signin", "/signin"),
        ("/already/a/path", "/already/a/path"),
        ("https://sso.example.com/login", "https://sso.example.com/login"),
        ("http://sso.example.com/login", "http://sso.example.com/login"),
    ],
)
def test_expand_login_view(site: Flask, view: str, expected: str) -> None:
    with site.test_request_context():
        assert expand_login_view(view) == expected


# needs_refresh() -----------------------------------------------------------


def test_needs_refresh_without_refresh_view_is_401(site_client: FlaskClient) -> None:
    site_client.get("/stale/1")

    assert site_client.get("/fresh").status_code == 401


def test_needs_refresh_redirects_to_refresh_view(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"
    login_manager.refresh_view = "reauth"
    site_client.get("/stale/1")

    response = site_client.get("/fresh?x=1")

    assert is_redirect(response)
    assert location(response)[1:] == ("/reauth", {"next": ["/fresh?x=1"]})
    assert flashes(site_client) == [["message", REFRESH_MESSAGE]]


def test_needs_refresh_custom_message_is_localized(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.refresh_view = "reauth"
    login_manager.needs_refresh_message = "Confirm your password."
    login_manager.needs_refresh_message_category = "info"
    login_manager.localize_callback = str.upper
    site_client.get("/stale/1")

    site_client.get("/fresh")

    assert flashes(site_client) == [["info", "CONFIRM YOUR PASSWORD."]]


def test_needs_refresh_without_message_flashes_nothing(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.refresh_view = "reauth"
    login_manager.needs_refresh_message = None
    site_client.get("/stale/1")

    assert is_redirect(site_client.get("/fresh"))
    assert flashes(site_client) == []


def test_needs_refresh_with_session_for_next(
    site: Flask, site_client: FlaskClient, login_manager: LoginManager
) -> None:
    site.config["USE_SESSION_FOR_NEXT"] = True
    login_manager.refresh_view = "reauth"
    site_client.get("/stale/1")

    response = site_client.get("/fresh?x=1")

    assert location(response)[1:] == ("/reauth", {})

    with site_client.session_transaction() as sess:
        assert sess["next"] == "/fresh?x=1"
        assert sess["_user_id"] == "1"


def test_needs_refresh_handler_replaces_the_default(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.refresh_view = "reauth"

    def handler() -> tuple[str, int]:
        return "log in again", 403

    assert login_manager.needs_refresh_handler(handler) is handler
    site_client.get("/stale/1")

    response = site_client.get("/fresh")

    assert (response.status_code, response.text) == (403, "log in again")


def test_needs_refresh_sends_signal(site: Flask, site_client: FlaskClient) -> None:
    senders: list[object] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        senders.append(sender)

    with user_needs_refresh.connected_to(receiver, site):
        site_client.get("/login/1")
        site_client.get("/fresh")
        assert senders == []

        site_client.get("/stale/1")
        site_client.get("/fresh")

    assert senders == [site]


def test_fresh_login_required_anonymous_goes_to_login_not_refresh(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"
    login_manager.refresh_view = "reauth"

    response = site_client.get("/fresh")

    assert location(response)[1] == "/signin"


# API requests --------------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    ["application/json", "application/json, text/html;q=0.5", "application/*"],
)
def test_unauthorized_api_request_gets_json_401(
    site_client: FlaskClient, login_manager: LoginManager, accept: str
) -> None:
    login_manager.login_view = "signin"

    response = site_client.get("/protected", headers={"Accept": accept})

    assert response.status_code == 401
    assert response.mimetype == "application/json"
    body = response.json
    assert isinstance(body, dict)
    assert body["error"] == "unauthorized"
    assert isinstance(body["message"], str)
    assert body["message"]
    assert "Location" not in response.headers
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        BROWSER,
        {"Accept": "text/html"},
        {"Accept": "*/*"},
        {"Accept": "application/json;q=0.5, text/html"},
        {},
    ],
)
def test_html_requests_keep_the_redirect(
    site_client: FlaskClient, login_manager: LoginManager, headers: dict[str, str]
) -> None:
    login_manager.login_view = "signin"

    response = site_client.get("/protected", headers=headers)

    assert is_redirect(response)
    assert location(response)[1] == "/signin"


def test_api_request_without_login_view_gets_json_401(
    site_client: FlaskClient,
) -> None:
    response = site_client.get("/protected", headers=JSON)

    assert response.status_code == 401
    assert response.is_json
    assert t.cast(dict[str, str], response.json)["error"] == "unauthorized"


def test_api_response_flashes_nothing(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"

    site_client.get("/protected", headers=JSON)

    assert flashes(site_client) == []


@pytest.mark.parametrize(
    ("realm", "expected"),
    [
        (None, 'Basic realm="Login required"'),
        ("Staff area", 'Basic realm="Staff area"'),
    ],
)
def test_api_401_has_www_authenticate_with_basic_auth_loader(
    site: Flask,
    site_client: FlaskClient,
    login_manager: LoginManager,
    realm: str | None,
    expected: str,
) -> None:
    if realm is not None:
        site.config["SESSIONAUTH_BASIC_AUTH_REALM"] = realm

    @login_manager.basic_auth_loader
    def check(username: str, password: str) -> User | None:
        return None

    response = site_client.get("/protected", headers=JSON)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == expected


def test_api_blueprint_gets_json_even_for_browsers(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"
    login_manager.api_blueprints.add("api")

    response = site_client.get("/api/data", headers=BROWSER)

    assert response.status_code == 401
    assert t.cast(dict[str, str], response.json)["error"] == "unauthorized"
    assert location(site_client.get("/shop/page", headers=BROWSER))[1] == "/signin"


def test_api_blueprint_covers_nested_blueprints(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"
    login_manager.api_blueprints = {"api"}

    response = site_client.get("/api/v2/data", headers=BROWSER)

    assert response.status_code == 401
    assert response.is_json


def test_api_blueprint_not_listed_keeps_redirect(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    login_manager.login_view = "signin"

    assert is_redirect(site_client.get("/api/data", headers=BROWSER))


@pytest.mark.parametrize("url", ["/marked-outer", "/marked-inner"])
def test_api_view_gets_json_even_for_browsers(
    site_client: FlaskClient, login_manager: LoginManager, url: str
) -> None:
    login_manager.login_view = "signin"

    response = site_client.get(url, headers=BROWSER)

    assert response.status_code == 401
    assert t.cast(dict[str, str], response.json)["error"] == "unauthorized"


def test_api_view_still_runs_for_logged_in_users(site_client: FlaskClient) -> None:
    site_client.get("/login/1")

    assert site_client.get("/marked-outer").json == {"data": "outer"}


def test_api_view_returns_the_same_function() -> None:
    def view() -> str:
        return "x"

    assert api_view(view) is view


@pytest.mark.parametrize(
    ("url", "headers"),
    [("/fresh", JSON), ("/marked-fresh", BROWSER), ("/api/fresh", BROWSER)],
)
def test_needs_refresh_for_api_requests_is_json_401(
    site_client: FlaskClient,
    login_manager: LoginManager,
    url: str,
    headers: dict[str, str],
) -> None:
    login_manager.refresh_view = "reauth"
    login_manager.api_blueprints.add("api")
    site_client.get("/stale/1")

    response = site_client.get(url, headers=headers)

    assert response.status_code == 401
    assert t.cast(dict[str, str], response.json)["error"] == "needs_refresh"
    assert flashes(site_client) == []


def test_api_json_401_does_not_touch_next_in_session(
    site: Flask, site_client: FlaskClient, login_manager: LoginManager
) -> None:
    site.config["USE_SESSION_FOR_NEXT"] = True
    login_manager.login_view = "signin"

    site_client.get("/protected", headers=JSON)

    with site_client.session_transaction() as sess:
        assert "next" not in sess
