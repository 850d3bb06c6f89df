"""Logging in and out: :func:`login_user`, :func:`logout_user` and
:func:`confirm_login`, what they write to the session and the signals they
send.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
from flask import Flask
from flask import session
from flask.testing import FlaskClient

from flask_sessionauth import confirm_login
from flask_sessionauth import current_user
from flask_sessionauth import login_fresh
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import user_logged_in
from flask_sessionauth import user_logged_out
from flask_sessionauth import user_login_confirmed
from flask_sessionauth import UserMixin
from helpers import cookie_value
from helpers import User

REMEMBER = "remember_token"

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


def test_duration_is_ignored_without_remember(app: Flask) -> None:
    @app.route("/plain")
    def plain() -> str:
        login_user(User("1", "alice"), duration="not a timedelta")  # type: ignore[arg-type]
        return "in"

    client = app.test_client()

    assert client.get("/plain").text == "in"
    assert cookie_value(client, REMEMBER) is None


def test_duration_is_checked_with_remember(app: Flask) -> None:
    @app.route("/long")
    def long() -> str:
        login_user(User("1", "alice"), remember=True, duration=timedelta(days=40000))
        return "in"

    with pytest.raises(ValueError, match="100 years"):
        app.test_client().get("/long")


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
    site.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = True
    site_client.get("/cart/apple")
    site_client.get("/login/1")

    site_client.get("/logout")

    assert session_dict(site_client) == {}
    assert site_client.get("/").text == "anonymous"


def test_logout_when_nobody_is_logged_in(app: Flask) -> None:
    with app.test_request_context():
        assert logout_user() is True
        assert current_user.is_anonymous


# confirm_login -------------------------------------------------------------


def test_confirm_login_makes_a_stale_login_fresh(site_client: FlaskClient) -> None:
    site_client.get("/stale/1")
    assert session_dict(site_client)["_fresh"] is False

    assert site_client.get("/confirm").text == "fresh=True"
    assert session_dict(site_client)["_fresh"] is True
    assert site_client.get("/state").text.startswith("fresh=True")


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
