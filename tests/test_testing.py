"""The test helpers: the logged-in test client, :func:`login_test_client`
and the ``sessionauth_login`` pytest fixture.
"""

from __future__ import annotations

import subprocess
import sys
import typing as t
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_sessionauth import FlaskLoginClient
from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_fresh
from flask_sessionauth import SessionAuthClient
from flask_sessionauth.testing import login_test_client
from helpers import Clock
from helpers import TokenUser
from helpers import User

# The fixture lives in its own module so that importing the package never
# imports pytest; this is the module a conftest.py names.
PLUGIN = "flask_sessionauth.pytest_plugin"

pytest_plugins = [PLUGIN, "pytester"]

CLIENT_CLASSES = pytest.mark.parametrize(
    "client_class",
    [SessionAuthClient, FlaskLoginClient],
    ids=["SessionAuthClient", "FlaskLoginClient"],
)
MODES = pytest.mark.parametrize("mode", [None, "basic", "strong"])


@pytest.fixture
def site(app: Flask) -> Flask:
    """The shared app with a view that needs a fresh login."""

    @app.route("/fresh")
    @fresh_login_required
    def fresh() -> str:
        return "fresh"

    @app.route("/freshness")
    def freshness() -> str:
        return str(login_fresh())

    app.test_client_class = SessionAuthClient
    return app


def session_dict(client: FlaskClient) -> dict[str, t.Any]:
    with client.session_transaction() as sess:
        return dict(sess)


# the client class ----------------------------------------------------------


def test_flask_login_client_is_an_alias() -> None:
    assert FlaskLoginClient is SessionAuthClient
    assert issubclass(SessionAuthClient, FlaskClient)


@CLIENT_CLASSES
def test_client_starts_logged_in_as_user(
    site: Flask, users: dict[str, User], client_class: type[FlaskClient]
) -> None:
    site.test_client_class = client_class
    client = site.test_client(user=users["2"])

    assert site.test_client().get("/").text == "anonymous"
    assert client.get("/").text == "user:2"
    assert client.get("/protected").text == "secret:2"


def test_client_without_user_is_anonymous(site: Flask) -> None:
    client = site.test_client()

    assert client.get("/").text == "anonymous"
    assert "_user_id" not in session_dict(client)


def test_client_writes_flask_login_session_keys(
    site: Flask, users: dict[str, User]
) -> None:
    client = site.test_client(user=users["1"])
    sess = session_dict(client)

    assert sess["_user_id"] == "1"
    assert sess["_fresh"] is True
    assert isinstance(sess["_id"], str)


@CLIENT_CLASSES
@pytest.mark.parametrize(("fresh", "status"), [(True, 200), (False, 401)])
def test_client_fresh_login(
    site: Flask,
    users: dict[str, User],
    client_class: type[FlaskClient],
    fresh: bool,
    status: int,
) -> None:
    site.test_client_class = client_class
    client = site.test_client(user=users["1"], fresh_login=fresh)

    assert client.get("/freshness").text == str(fresh)
    assert client.get("/fresh").status_code == status
    assert client.get("/protected").status_code == 200


def test_client_fresh_login_defaults_to_true(
    site: Flask, users: dict[str, User]
) -> None:
    client = site.test_client(user=users["1"])

    assert client.get("/fresh").status_code == 200


@MODES
def test_client_login_holds_under_session_protection(
    site: Flask, users: dict[str, User], mode: str | None
) -> None:
    site.config["SESSION_PROTECTION"] = mode
    client = site.test_client(user=users["1"])

    for _ in range(3):
        assert client.get("/").text == "user:1"
        assert client.get("/fresh").status_code == 200


def test_strong_protection_is_really_on_for_the_client(
    site: Flask, users: dict[str, User]
) -> None:
    site.config["SESSION_PROTECTION"] = "strong"
    client = site.test_client(user=users["1"])

    assert client.get("/", headers={"User-Agent": "thief/1.0"}).text == "anonymous"
    assert client.get("/").text == "anonymous"


def test_client_login_is_bound_to_a_session_token(
    site: Flask, users: dict[str, User]
) -> None:
    users["7"] = TokenUser("7", "tokened", token="token-one")
    site.config["SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS"] = False
    client = site.test_client(user=users["7"])

    assert client.get("/").text == "user:7"

    users["7"].token = "token-two"

    assert client.get("/").text == "anonymous"


def test_client_fresh_login_respects_fresh_login_max_age(
    site: Flask, users: dict[str, User], clock: Clock
) -> None:
    site.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = timedelta(minutes=5)
    client = site.test_client(user=users["1"])

    assert client.get("/fresh").status_code == 200

    clock.advance(301)

    assert client.get("/fresh").status_code == 401
    assert client.get("/").text == "user:1"


# login_test_client ---------------------------------------------------------


def test_login_test_client_on_a_plain_client(
    app: Flask, client: FlaskClient, users: dict[str, User]
) -> None:
    assert type(client) is FlaskClient
    assert client.get("/protected").status_code == 401

    login_test_client(client, users["2"])

    assert client.get("/protected").text == "secret:2"


@pytest.mark.parametrize(("fresh", "status"), [(True, 200), (False, 401)])
def test_login_test_client_fresh(
    site: Flask, users: dict[str, User], fresh: bool, status: int
) -> None:
    client = site.test_client()
    login_test_client(client, users["1"], fresh=fresh)

    assert client.get("/fresh").status_code == status
    assert client.get("/").text == "user:1"


@MODES
def test_login_test_client_holds_under_session_protection(
    site: Flask, users: dict[str, User], mode: str | None
) -> None:
    site.config["SESSION_PROTECTION"] = mode
    client = site.test_client()
    login_test_client(client, users["1"])

    for _ in range(3):
        assert client.get("/fresh").text == "fresh"


def test_login_test_client_replaces_a_previous_login(
    site: Flask, users: dict[str, User]
) -> None:
    client = site.test_client()
    client.get("/login/1?remember=1")
    client.get("/")

    login_test_client(client, users["2"], fresh=False)

    assert client.get("/").text == "user:2"
    assert client.get("/freshness").text == "False"


def test_login_test_client_keeps_unrelated_session_data(
    site: Flask, users: dict[str, User]
) -> None:
    client = site.test_client()

    with client.session_transaction() as sess:
        sess["cart"] = ["apple"]

    login_test_client(client, users["1"])

    assert session_dict(client)["cart"] == ["apple"]
    assert client.get("/").text == "user:1"


# the sessionauth_login fixture ---------------------------------------------


def test_sessionauth_login_fixture(
    client: FlaskClient,
    users: dict[str, User],
    sessionauth_login: t.Callable[..., None],
) -> None:
    assert client.get("/").text == "anonymous"

    sessionauth_login(users["1"])

    assert client.get("/protected").text == "secret:1"


def test_sessionauth_login_fixture_not_fresh(
    app: Flask,
    client: FlaskClient,
    users: dict[str, User],
    sessionauth_login: t.Callable[..., None],
) -> None:
    app.config["SESSION_PROTECTION"] = "strong"

    sessionauth_login(users["2"], fresh=False)

    with client.session_transaction() as sess:
        assert sess["_fresh"] is False

    assert client.get("/").text == "user:2"
    assert client.get("/").text == "user:2"


def test_plugin_works_from_a_users_conftest(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        f"""
        import pytest
        from flask import Flask

        from flask_sessionauth import LoginManager
        from flask_sessionauth import UserMixin
        from flask_sessionauth import current_user
        from flask_sessionauth import login_required

        pytest_plugins = [{PLUGIN!r}]


        class Person(UserMixin):
            def __init__(self, id):
                self.id = id


        @pytest.fixture
        def client():
            app = Flask(__name__)
            app.secret_key = "k"
            manager = LoginManager(app)
            manager.user_loader(Person)

            @app.route("/me")
            @login_required
            def me():
                return current_user.get_id()

            return app.test_client()
        """
    )
    pytester.makepyfile(
        """
        from conftest import Person

        def test_me(client, sessionauth_login):
            assert client.get("/me").status_code == 401
            sessionauth_login(Person("9"))
            assert client.get("/me").text == "9"
        """
    )

    result = pytester.runpytest_subprocess("-W", "error")

    result.assert_outcomes(passed=1)


def test_importing_the_package_does_not_import_pytest() -> None:
    code = (
        "import sys, flask_sessionauth, flask_sessionauth.testing;"
        " sys.exit('pytest' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False)

    assert result.returncode == 0
