"""The ``current_user`` proxy: the user of the request, outside a request
and in templates, and its own attributes, which must answer as the user's.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask import render_template_string
from flask.testing import FlaskClient
from werkzeug.local import LocalProxy

from flask_sessionauth import AnonymousUserMixin
from flask_sessionauth import current_user
from flask_sessionauth import LoginManager
from helpers import make_app
from helpers import User

# Outside a request, and the anonymous user


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


# The proxy's own attributes, answered without werkzeug's generic lookup


@pytest.mark.parametrize("logged_in", [True, False])
def test_proxy_attributes_are_the_users(app: Flask, logged_in: bool) -> None:
    client = app.test_client()

    if logged_in:
        client.get("/login/1")

    with client:
        client.get("/")
        user = current_user._get_current_object()
        assert current_user.is_authenticated is user.is_authenticated is logged_in
        assert current_user.is_active is user.is_active
        assert current_user.is_anonymous is user.is_anonymous is (not logged_in)
        assert current_user.get_id() == user.get_id() == ("1" if logged_in else None)
        # The user's own bound method, as werkzeug's generic lookup gives it.
        assert current_user.get_id == user.get_id


def test_proxy_is_still_a_werkzeug_local_proxy() -> None:
    assert isinstance(current_user, LocalProxy)


def test_proxy_reflects_a_user_class_that_lacks_an_attribute(
    app: Flask, login_manager: LoginManager
) -> None:
    class Bare:
        is_authenticated = False

    login_manager.anonymous_user = Bare  # type: ignore[assignment]

    with app.test_request_context():
        assert current_user.is_authenticated is False
        assert not hasattr(current_user, "get_id")
        assert not hasattr(current_user, "is_active")

        with pytest.raises(AttributeError):
            current_user.is_anonymous  # noqa: B018


def test_proxy_attributes_outside_a_request_say_how_to_fix_it() -> None:
    for name in ("is_authenticated", "is_active", "is_anonymous", "get_id"):
        with pytest.raises(RuntimeError, match="only available while handling"):
            getattr(current_user, name)

    assert not current_user


# Templates


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


def test_template_outside_a_request_renders(app: Flask) -> None:
    # flask-login gave None here; a CLI command or an email job renders
    # templates with only an app context.
    with app.app_context():
        assert render_template_string("Hello x") == "Hello x"
        assert render_template_string("{{ current_user }}") == "None"


def test_template_does_not_load_an_unused_user(
    users: dict[str, User],
) -> None:
    loads: list[str] = []
    manager = LoginManager()

    @manager.user_loader
    def load(user_id: str) -> User | None:
        loads.append(user_id)
        return users.get(user_id)

    app = make_app(manager)

    @app.route("/page")
    def page() -> str:
        return render_template_string("plain {{ 1 + 1 }}")

    @app.route("/greet")
    def greet() -> str:
        return render_template_string("hi {{ current_user.get_id() }}")

    client = app.test_client()

    with client.session_transaction() as sess:
        sess["_user_id"] = "1"

    assert client.get("/page").text == "plain 2"
    assert loads == []
    assert client.get("/greet").text == "hi 1"
    assert loads == ["1"]
