"""The :func:`login_required` and :func:`fresh_login_required` decorators."""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
from flask import Flask
from flask import request
from flask.testing import FlaskClient
from flask.views import MethodView
from werkzeug.exceptions import Unauthorized

from flask_sessionauth import current_user
from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from helpers import Clock
from helpers import is_redirect
from helpers import User

Decorator = t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]
DECORATORS = pytest.mark.parametrize(
    "decorator",
    [login_required, fresh_login_required],
    ids=["login_required", "fresh_login_required"],
)


class GuardedView(MethodView):
    decorators = [login_required]

    def get(self) -> str:
        return f"list:{current_user.get_id()}"

    def post(self) -> str:
        return "created"


class MixedView(MethodView):
    @login_required
    def get(self) -> str:
        return f"mine:{current_user.get_id()}"

    def post(self) -> str:
        return "public post"


class FreshMethodView(MethodView):
    @fresh_login_required
    def delete(self, item_id: int) -> str:
        return f"deleted:{item_id}"


@pytest.fixture
def site(app: Flask, users: dict[str, User]) -> Flask:
    """The shared app with a view per decorator and calling convention."""

    @app.route("/stale/<user_id>")
    def stale(user_id: str) -> str:
        login_user(users[user_id], fresh=False)
        return "stale"

    @app.route("/lr", methods=["GET", "POST", "OPTIONS", "PUT"])
    @login_required
    def lr() -> str:
        return f"lr:{request.method}:{current_user.get_id()}"

    @app.route("/flr", methods=["GET", "POST", "OPTIONS", "PUT"])
    @fresh_login_required
    def flr() -> str:
        return f"flr:{request.method}:{current_user.get_id()}"

    @app.route("/async-lr")
    @login_required
    async def async_lr() -> str:
        return f"async-lr:{current_user.get_id()}"

    @app.route("/async-flr")
    @fresh_login_required
    async def async_flr() -> str:
        return f"async-flr:{current_user.get_id()}"

    @app.route("/items/<int:item_id>/<slug>")
    @login_required
    def item(item_id: int, slug: str) -> str:
        return f"{item_id}:{type(item_id).__name__}:{slug}"

    @app.route("/fresh-items/<int:item_id>")
    @fresh_login_required
    async def fresh_item(item_id: int) -> str:
        return f"fresh-item:{item_id + 1}"

    app.add_url_rule("/guarded", view_func=GuardedView.as_view("guarded"))
    app.add_url_rule("/mixed", view_func=MixedView.as_view("mixed"))
    app.add_url_rule(
        "/fresh-method/<int:item_id>", view_func=FreshMethodView.as_view("fm")
    )
    return app


@pytest.fixture
def site_client(site: Flask) -> FlaskClient:
    return site.test_client()


# who gets through ----------------------------------------------------------


@pytest.mark.parametrize("url", ["/lr", "/flr", "/async-lr", "/async-flr"])
def test_anonymous_gets_unauthorized(site_client: FlaskClient, url: str) -> None:
    response = site_client.get(url)

    assert response.status_code == 401
    assert not response.text.startswith(("lr:", "flr:", "async-"))


@pytest.mark.parametrize("url", ["/lr", "/flr", "/async-lr", "/async-flr"])
def test_anonymous_is_redirected_to_login_view(
    site_client: FlaskClient, login_manager: LoginManager, url: str
) -> None:
    login_manager.login_view = "/login/1"
    login_manager.refresh_view = "/elsewhere"

    response = site_client.get(url)

    assert is_redirect(response)
    assert response.headers["Location"].startswith("/login/1?next=")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/lr", "lr:GET:1"),
        ("/flr", "flr:GET:1"),
        ("/async-lr", "async-lr:1"),
        ("/async-flr", "async-flr:1"),
    ],
)
def test_fresh_login_runs_the_view(
    site_client: FlaskClient, url: str, expected: str
) -> None:
    site_client.get("/login/1")

    response = site_client.get(url)

    assert response.status_code == 200
    assert response.text == expected


@pytest.mark.parametrize(
    ("url", "expected"), [("/lr", "lr:GET:2"), ("/async-lr", "async-lr:2")]
)
def test_login_required_accepts_a_stale_login(
    site_client: FlaskClient, url: str, expected: str
) -> None:
    site_client.get("/stale/2")

    assert site_client.get(url).text == expected


@pytest.mark.parametrize("url", ["/flr", "/async-flr"])
def test_fresh_login_required_refuses_a_stale_login(
    site_client: FlaskClient, url: str
) -> None:
    site_client.get("/stale/2")

    assert site_client.get(url).status_code == 401


@pytest.mark.parametrize("url", ["/flr", "/async-flr"])
def test_fresh_login_required_sends_stale_login_to_refresh_view(
    site_client: FlaskClient, login_manager: LoginManager, url: str
) -> None:
    login_manager.login_view = "/login/1"
    login_manager.refresh_view = "/reauth"
    site_client.get("/stale/2")

    response = site_client.get(url)

    assert is_redirect(response)
    assert response.headers["Location"].startswith("/reauth?next=")


def test_fresh_login_required_calls_needs_refresh_handler(
    site_client: FlaskClient, login_manager: LoginManager
) -> None:
    calls: list[str] = []

    @login_manager.needs_refresh_handler
    def refresh() -> tuple[str, int]:
        calls.append("refresh")
        return "refresh please", 409

    site_client.get("/stale/1")
    response = site_client.get("/flr")

    assert (response.status_code, response.text) == (409, "refresh please")
    assert calls == ["refresh"]


def test_inactive_user_forced_in_is_refused(
    site: Flask, users: dict[str, User]
) -> None:
    @login_required
    def view() -> str:
        return "in"

    with site.test_request_context():
        login_user(users["3"], force=True)

        # UserMixin: an inactive user is not authenticated.
        with pytest.raises(Unauthorized):
            view()


# exemptions ----------------------------------------------------------------


@DECORATORS
@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_other_methods_are_guarded(
    site_client: FlaskClient, decorator: Decorator, method: str
) -> None:
    url = "/lr" if decorator is login_required else "/flr"

    assert site_client.open(url, method=method).status_code == 401


@pytest.mark.parametrize(("url", "expected"), [("/lr", "lr"), ("/flr", "flr")])
def test_options_is_exempt(site_client: FlaskClient, url: str, expected: str) -> None:
    response = site_client.options(url)

    assert response.status_code == 200
    assert response.text == f"{expected}:OPTIONS:None"


@pytest.mark.parametrize("url", ["/lr", "/flr", "/async-lr", "/async-flr"])
def test_login_disabled_set_after_setup(
    site: Flask, site_client: FlaskClient, url: str
) -> None:
    assert site_client.get(url).status_code == 401

    site.config["LOGIN_DISABLED"] = True

    response = site_client.get(url)
    assert response.status_code == 200
    assert response.text.endswith(":None")

    site.config["LOGIN_DISABLED"] = False

    assert site_client.get(url).status_code == 401


def test_login_disabled_lets_a_stale_login_through(
    site: Flask, site_client: FlaskClient
) -> None:
    site_client.get("/stale/1")
    site.config["LOGIN_DISABLED"] = True

    assert site_client.get("/flr").text == "flr:GET:1"


# freshness window ----------------------------------------------------------


@pytest.mark.parametrize("max_age", [timedelta(minutes=10), 600])
def test_fresh_login_expires_after_fresh_login_max_age(
    site: Flask, site_client: FlaskClient, clock: Clock, max_age: timedelta | int
) -> None:
    site.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = max_age
    site_client.get("/login/1")

    clock.advance(599)
    assert site_client.get("/flr").status_code == 200

    clock.advance(2)
    assert site_client.get("/flr").status_code == 401
    assert site_client.get("/lr").text == "lr:GET:1"


def test_fresh_login_max_age_restarts_on_a_new_login(
    site: Flask, site_client: FlaskClient, clock: Clock
) -> None:
    site.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = 60
    site_client.get("/login/1")
    clock.advance(61)
    assert site_client.get("/flr").status_code == 401

    site_client.get("/login/1")

    assert site_client.get("/flr").text == "flr:GET:1"


def test_fresh_login_max_age_set_after_login_fails_safe(
    site: Flask, site_client: FlaskClient
) -> None:
    # A login from before the window was configured has no timestamp: it
    # cannot be shown to be recent, so it is treated as not fresh.
    site_client.get("/login/1")
    assert site_client.get("/flr").status_code == 200

    site.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = timedelta(hours=1)

    assert site_client.get("/flr").status_code == 401
    assert site_client.get("/lr").text == "lr:GET:1"


def test_fresh_login_has_no_window_by_default(
    site_client: FlaskClient, clock: Clock
) -> None:
    site_client.get("/login/1")
    clock.advance(10 * 365 * 86400)

    assert site_client.get("/flr").status_code == 200


# arguments and wrapping ----------------------------------------------------


def test_view_args_are_passed_through(site_client: FlaskClient) -> None:
    site_client.get("/login/1")

    assert site_client.get("/items/41/blue").text == "41:int:blue"
    assert site_client.get("/fresh-items/41").text == "fresh-item:42"


@DECORATORS
def test_direct_call_passes_args_and_kwargs(
    app: Flask, users: dict[str, User], decorator: Decorator
) -> None:
    def add(a: int, b: int, *, scale: int = 1) -> tuple[int, int]:
        return a + b, scale

    guarded = decorator(add)

    with app.test_request_context():
        login_user(users["1"])
        assert guarded(2, b=3, scale=10) == (5, 10)
        assert guarded(1, 1) == (2, 1)


@DECORATORS
def test_wraps_preserves_metadata(decorator: Decorator) -> None:
    def show_profile(user_id: int) -> str:
        """Show one profile."""
        return str(user_id)

    guarded = decorator(show_profile)

    assert guarded is not show_profile
    assert guarded.__name__ == "show_profile"
    assert guarded.__qualname__ == show_profile.__qualname__
    assert guarded.__doc__ == "Show one profile."
    assert guarded.__module__ == __name__
    assert guarded.__wrapped__ is show_profile  # type: ignore[attr-defined]


@DECORATORS
def test_wraps_preserves_metadata_of_async_views(decorator: Decorator) -> None:
    async def feed() -> str:
        """The feed."""
        return "feed"

    guarded = decorator(feed)

    assert guarded.__name__ == "feed"
    assert guarded.__doc__ == "The feed."
    assert guarded.__wrapped__ is feed  # type: ignore[attr-defined]


@DECORATORS
def test_decorated_views_keep_distinct_endpoints(decorator: Decorator) -> None:
    app = Flask(__name__)

    def first() -> str:
        return "1"

    def second() -> str:
        return "2"

    # Endpoints come from __name__: both must register without a clash.
    app.route("/first")(decorator(first))
    app.route("/second")(decorator(second))

    assert {"first", "second"} <= set(app.view_functions)


# MethodView ----------------------------------------------------------------


def test_method_view_decorators_list(site_client: FlaskClient) -> None:
    assert site_client.get("/guarded").status_code == 401
    assert site_client.post("/guarded").status_code == 401

    site_client.get("/login/2")

    assert site_client.get("/guarded").text == "list:2"
    assert site_client.post("/guarded").text == "created"


def test_method_view_single_decorated_method(site_client: FlaskClient) -> None:
    assert site_client.get("/mixed").status_code == 401
    assert site_client.post("/mixed").text == "public post"

    site_client.get("/login/1")

    assert site_client.get("/mixed").text == "mine:1"


def test_method_view_fresh_method_gets_url_args(site_client: FlaskClient) -> None:
    site_client.get("/stale/1")
    assert site_client.delete("/fresh-method/5").status_code == 401

    site_client.get("/login/1")
    assert site_client.delete("/fresh-method/5").text == "deleted:5"
