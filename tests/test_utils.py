"""Logging in and out, freshness, the ``current_user`` proxy, URL helpers,
the user mixins and the exported constants.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import flask_login
import flask_login.config
import flask_login.utils
import pytest
from flask import Flask
from flask import render_template_string
from flask import session
from flask.testing import FlaskClient

import flask_sessionauth
from conftest import cookie_value
from conftest import User
from flask_sessionauth import AnonymousUserMixin
from flask_sessionauth import confirm_login
from flask_sessionauth import current_user
from flask_sessionauth import expand_login_view
from flask_sessionauth import login_fresh
from flask_sessionauth import login_remembered
from flask_sessionauth import login_url
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import make_next_param
from flask_sessionauth import user_logged_in
from flask_sessionauth import user_logged_out
from flask_sessionauth import user_login_confirmed
from flask_sessionauth import UserMixin
from flask_sessionauth import UserProtocol

#: Every session key a login may write; none may survive a logout.
LOGIN_KEYS = (
    "_user_id",
    "_fresh",
    "_id",
    "_remember",
    "_remember_seconds",
    "_fresh_at",
    "_token_sig",
)


@pytest.fixture
def site(app: Flask, users: dict[str, User]) -> Flask:
    """The shared app plus a few views that report login state."""

    @app.route("/signin")
    def signin() -> str:
        return "sign in here"

    @app.route("/state")
    def state() -> str:
        return f"fresh={login_fresh()} remembered={login_remembered()}"

    @app.route("/stale/<user_id>")
    def stale(user_id: str) -> str:
        login_user(users[user_id], fresh=False)
        return "stale"

    @app.route("/confirm")
    def confirm() -> str:
        confirm_login()
        return f"fresh={login_fresh()}"

    @app.route("/cart/<item>")
    def cart(item: str) -> str:
        session["cart"] = item
        return "added"

    @app.route("/whoami-after-logout")
    def whoami_after_logout() -> str:
        before = current_user.get_id()
        logout_user()
        return f"{before}->{current_user.get_id()}"

    return app


@pytest.fixture
def site_client(site: Flask) -> FlaskClient:
    return site.test_client()


def session_dict(client: FlaskClient) -> dict[str, t.Any]:
    with client.session_transaction() as sess:
        return dict(sess)


# login_user ----------------------------------------------------------------


def test_login_user_returns_true_and_writes_flask_login_keys(
    site_client: FlaskClient,
) -> None:
    assert site_client.get("/login/1").text == "ok"
    sess = session_dict(site_client)

    assert sess["_user_id"] == "1"
    assert sess["_fresh"] is True
    assert isinstance(sess["_id"], str)
    assert "_remember_seconds" not in sess
    assert site_client.get("/").text == "user:1"


def test_login_user_keeps_pending_cookie_work_out_of_the_session(
    site_client: FlaskClient,
) -> None:
    site_client.get("/login/1?remember=1")

    assert "_remember" not in session_dict(site_client)
    assert cookie_value(site_client, "remember_token")


def test_login_user_refuses_an_inactive_user(site_client: FlaskClient) -> None:
    assert site_client.get("/login/3").text == "inactive"

    assert "_user_id" not in session_dict(site_client)
    assert site_client.get("/").text == "anonymous"


def test_login_user_force_logs_in_an_inactive_user(
    app: Flask, users: dict[str, User]
) -> None:
    with app.test_request_context():
        assert login_user(users["3"], force=True) is True
        assert current_user.get_id() == "3"
        assert session["_user_id"] == "3"


def test_login_user_refused_leaves_current_user_anonymous(
    app: Flask, users: dict[str, User]
) -> None:
    with app.test_request_context():
        assert login_user(users["3"]) is False
        assert current_user.is_anonymous
        assert "_user_id" not in session


def test_login_user_sets_current_user_in_the_same_request(
    app: Flask, users: dict[str, User]
) -> None:
    with app.test_request_context():
        assert current_user.is_anonymous
        login_user(users["2"])
        assert current_user.is_authenticated
        assert current_user.get_id() == "2"


@pytest.mark.parametrize("fresh", [True, False])
def test_login_user_fresh_flag(app: Flask, users: dict[str, User], fresh: bool) -> None:
    with app.test_request_context():
        login_user(users["1"], fresh=fresh)
        assert session["_fresh"] is fresh
        assert login_fresh() is fresh


def test_stale_login_is_reported_on_later_requests(
    site_client: FlaskClient,
) -> None:
    site_client.get("/stale/1")

    assert site_client.get("/").text == "user:1"
    assert site_client.get("/state").text == "fresh=False remembered=False"


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        (timedelta(hours=1), 3600.0),
        (timedelta(days=2, seconds=1, microseconds=500_000), 172_801.5),
    ],
)
def test_login_user_duration_is_stored_as_remember_seconds(
    app: Flask, users: dict[str, User], duration: timedelta, seconds: float
) -> None:
    with app.test_request_context():
        login_user(users["1"], remember=True, duration=duration)
        assert session["_remember_seconds"] == seconds


def test_login_user_without_duration_stores_no_remember_seconds(
    app: Flask, users: dict[str, User]
) -> None:
    with app.test_request_context():
        login_user(users["1"], remember=True)
        assert "_remember_seconds" not in session


@pytest.mark.parametrize("duration", ["1 day", [3600], object()])
def test_login_user_rejects_a_duration_that_is_not_a_timedelta(
    app: Flask, users: dict[str, User], duration: object
) -> None:
    with app.test_request_context():
        with pytest.raises(TypeError, match="duration") as exc_info:
            login_user(
                users["1"],
                remember=True,
                duration=duration,  # type: ignore[arg-type]
            )

        assert "timedelta" in str(exc_info.value)


def test_login_user_uses_the_managers_id_attribute(
    app: Flask, login_manager: LoginManager
) -> None:
    class Member(UserMixin):
        def __init__(self, number: int) -> None:
            self.id = number
            self.number = number

        def member_number(self) -> str:
            return f"m{self.number}"

    login_manager.id_attribute = "member_number"

    with app.test_request_context():
        login_user(Member(7))
        assert session["_user_id"] == "m7"


def test_logging_in_another_user_drops_the_previous_login_keys(
    app: Flask, users: dict[str, User]
) -> None:
    with app.test_request_context():
        login_user(users["1"], remember=True, duration=timedelta(hours=1))
        login_user(users["2"])

        assert session["_user_id"] == "2"
        assert "_remember_seconds" not in session
        assert current_user.get_id() == "2"


@pytest.mark.parametrize("user_agent", ["agent/1.0", None])
def test_session_identifier_uses_flask_login_formula(
    app: Flask, users: dict[str, User], user_agent: str | None
) -> None:
    headers = {} if user_agent is None else {"User-Agent": user_agent}
    environ = {"REMOTE_ADDR": "203.0.113.5"}

    with app.test_request_context(headers=headers, environ_base=environ):
        expected = flask_login.utils._create_identifier()
        login_user(users["1"])
        # flask-login's SHA-512, of which sessions keep the first 32 digits.
        assert session["_id"] == expected[:32]


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


# logout_user ---------------------------------------------------------------


def test_logout_user_returns_true_and_leaves_current_user_anonymous(
    app: Flask, users: dict[str, User]
) -> None:
    with app.test_request_context():
        login_user(users["1"])
        assert logout_user() is True
        assert current_user.is_anonymous
        assert current_user.get_id() is None


def test_logout_user_in_a_later_request(site_client: FlaskClient) -> None:
    site_client.get("/login/1")

    assert site_client.get("/whoami-after-logout").text == "1->None"
    assert site_client.get("/").text == "anonymous"


def test_logout_user_removes_login_keys_and_keeps_app_data(
    site_client: FlaskClient,
) -> None:
    site_client.get("/cart/apple")
    site_client.get("/login/1?remember=1")
    assert cookie_value(site_client, "remember_token")

    site_client.get("/logout")
    sess = session_dict(site_client)

    assert sess.get("cart") == "apple"
    assert [key for key in LOGIN_KEYS if key in sess] == []
    assert cookie_value(site_client, "remember_token") is None
    assert site_client.get("/").text == "anonymous"


def test_logout_user_removes_remember_seconds(
    app: Flask, users: dict[str, User]
) -> None:
    with app.test_request_context():
        login_user(users["1"], remember=True, duration=timedelta(minutes=5))
        logout_user()
        assert "_remember_seconds" not in session
        assert "_user_id" not in session


def test_logout_clear_session_clears_everything(
    site: Flask, site_client: FlaskClient
) -> None:
    site.config["LOGOUT_CLEAR_SESSION"] = True
    site_client.get("/cart/apple")
    site_client.get("/login/1")

    site_client.get("/logout")

    assert session_dict(site_client) == {}
    assert site_client.get("/").text == "anonymous"


def test_logout_when_nobody_is_logged_in(app: Flask) -> None:
    with app.test_request_context():
        assert logout_user() is True
        assert current_user.is_anonymous


# confirm_login, login_fresh, login_remembered -------------------------------


def test_confirm_login_makes_a_stale_login_fresh(site_client: FlaskClient) -> None:
    site_client.get("/stale/1")
    assert session_dict(site_client)["_fresh"] is False

    assert site_client.get("/confirm").text == "fresh=True"
    assert session_dict(site_client)["_fresh"] is True
    assert site_client.get("/state").text.startswith("fresh=True")


def test_login_fresh_is_false_for_anonymous(app: Flask) -> None:
    with app.test_request_context():
        assert login_fresh() is False


def test_login_remembered_true_when_request_has_remember_cookie(
    site_client: FlaskClient,
) -> None:
    site_client.get("/login/1?remember=1")

    assert site_client.get("/state").text == "fresh=True remembered=True"


def test_login_remembered_false_without_remember_cookie(
    site_client: FlaskClient,
) -> None:
    site_client.get("/login/1")

    assert site_client.get("/state").text == "fresh=True remembered=False"


def test_login_remembered_false_for_a_forged_cookie(
    site_client: FlaskClient,
) -> None:
    site_client.set_cookie("remember_token", "1|not-a-valid-signature")

    assert site_client.get("/state").text == "fresh=False remembered=False"


# signals -------------------------------------------------------------------


def test_user_logged_in_signal_carries_the_user(
    app: Flask, users: dict[str, User]
) -> None:
    received: list[tuple[object, object]] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        received.append((sender, kwargs.get("user")))

    with user_logged_in.connected_to(receiver, app):
        with app.test_request_context():
            login_user(users["2"])

    assert received == [(app, users["2"])]


def test_user_logged_in_not_sent_when_login_refused(
    app: Flask, users: dict[str, User]
) -> None:
    received: list[object] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        received.append(sender)

    with user_logged_in.connected_to(receiver, app):
        with app.test_request_context():
            login_user(users["3"])

    assert received == []


def test_user_logged_out_signal_carries_the_user(
    app: Flask, users: dict[str, User]
) -> None:
    received: list[tuple[object, object]] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        received.append((sender, kwargs.get("user")))

    with user_logged_out.connected_to(receiver, app):
        with app.test_request_context():
            login_user(users["1"])
            logout_user()

    assert received == [(app, users["1"])]


def test_user_logged_out_signal_from_a_later_request(
    site: Flask, site_client: FlaskClient, users: dict[str, User]
) -> None:
    received: list[object] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        received.append(kwargs.get("user"))

    site_client.get("/login/2")

    with user_logged_out.connected_to(receiver, site):
        site_client.get("/logout")

    assert received == [users["2"]]


def test_user_login_confirmed_signal(app: Flask, users: dict[str, User]) -> None:
    received: list[object] = []

    def receiver(sender: object, **kwargs: t.Any) -> None:
        received.append(sender)

    with user_login_confirmed.connected_to(receiver, app):
        with app.test_request_context():
            login_user(users["1"], fresh=False)
            assert received == []
            confirm_login()

    assert received == [app]


# current_user --------------------------------------------------------------


def test_current_user_outside_a_request_raises() -> None:
    with pytest.raises(RuntimeError):
        current_user.get_id()

    assert bool(current_user) is False


def test_current_user_in_an_app_context_without_request_raises(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(RuntimeError):
            current_user.get_id()

        assert bool(current_user) is False


def test_current_user_is_anonymous_mixin_by_default(app: Flask) -> None:
    with app.test_request_context():
        assert isinstance(current_user._get_current_object(), AnonymousUserMixin)
        assert current_user.is_authenticated is False


def test_current_user_uses_the_managers_anonymous_user(
    app: Flask, login_manager: LoginManager
) -> None:
    class Guest(AnonymousUserMixin):
        name = "guest"

    login_manager.anonymous_user = Guest

    with app.test_request_context():
        assert isinstance(current_user._get_current_object(), Guest)


def test_current_user_in_templates(
    site: Flask, site_client: FlaskClient, users: dict[str, User]
) -> None:
    @site.route("/template")
    def template() -> str:
        return render_template_string(
            "{{ current_user.is_authenticated }}:{{ current_user.name or '-' }}"
        )

    assert site_client.get("/template").text == "False:-"

    site_client.get("/login/1")

    assert site_client.get("/template").text == "True:alice"


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


# UserMixin and AnonymousUserMixin ------------------------------------------


class NumberedUser(UserMixin):
    def __init__(self, id: int) -> None:
        self.id = id


class NoIdUser(UserMixin):
    pass


@pytest.mark.parametrize(("active", "expected"), [(True, True), (False, False)])
def test_user_mixin_is_authenticated_follows_is_active(
    active: bool, expected: bool
) -> None:
    user = User("1", "alice", active=active)

    assert user.is_active is expected
    assert user.is_authenticated is expected
    assert user.is_anonymous is False


def test_user_mixin_defaults() -> None:
    user = NumberedUser(5)

    assert user.is_active is True
    assert user.is_authenticated is True
    assert user.is_anonymous is False


def test_user_mixin_get_id_is_str_of_id() -> None:
    assert NumberedUser(42).get_id() == "42"


def test_user_mixin_get_id_without_id_raises() -> None:
    with pytest.raises(NotImplementedError, match="get_id"):
        NoIdUser().get_id()


def test_user_mixin_equality_uses_get_id() -> None:
    assert User("1", "alice") == User("1", "someone else")
    assert User("1", "alice") != User("2", "alice")
    assert not (User("1", "a") != User("1", "b"))
    assert NumberedUser(1) == User("1", "alice")


def test_user_mixin_is_not_equal_to_other_types() -> None:
    user = User("1", "alice")

    assert user != "1"
    assert not (user == "1")
    assert user.__eq__("1") is NotImplemented
    assert user.__ne__("1") is NotImplemented


def test_user_mixin_is_hashable() -> None:
    user = User("1", "alice")

    assert hash(user) == hash(user)
    assert user in {user}
    assert {user: "x"}[user] == "x"


def test_anonymous_user_mixin() -> None:
    anonymous: UserProtocol = AnonymousUserMixin()

    assert anonymous.is_authenticated is False
    assert anonymous.is_active is False
    assert anonymous.is_anonymous is True
    assert anonymous.get_id() is None


# constants -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "COOKIE_NAME",
        "COOKIE_DURATION",
        "COOKIE_SECURE",
        "COOKIE_HTTPONLY",
        "COOKIE_SAMESITE",
        "LOGIN_MESSAGE",
        "LOGIN_MESSAGE_CATEGORY",
        "REFRESH_MESSAGE",
        "REFRESH_MESSAGE_CATEGORY",
        "ID_ATTRIBUTE",
        "AUTH_HEADER_NAME",
        "EXEMPT_METHODS",
    ],
)
def test_constant_equals_flask_login(name: str) -> None:
    assert getattr(flask_sessionauth, name) == getattr(flask_login.config, name)


def test_session_keys_extend_flask_logins() -> None:
    ours = set(flask_sessionauth.SESSION_KEYS)
    theirs = set(flask_login.config.SESSION_KEYS)

    assert theirs <= ours
    assert ours - theirs == {"_fresh_at", "_token_sig", "_lifetime"}
