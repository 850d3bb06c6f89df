"""The Apache Superset example of docs/downstream.rst, and its tests. The
downstream-superset tox env runs them, with Superset 6.1.0
(Flask-AppBuilder 5.3.0) installed from requirements/downstream-superset.txt,
which lists no flask-login.
"""

from __future__ import annotations

# [app]
# The first lines of the process, before anything imports flask_login. For
# the `superset` command or a WSGI server loading superset.app:create_app(),
# put these two lines in a sitecustomize.py on the server's Python path.
import flask_sessionauth

flask_sessionauth.install_as_flask_login()

import os  # noqa: E402
import typing as t  # noqa: E402
from pathlib import Path  # noqa: E402

if t.TYPE_CHECKING:
    from flask import Flask


def create_superset(home: Path) -> Flask:
    """Superset's app, from its own factory, with a SQLite metadata database
    in ``home``. Superset reads ``superset_config.py`` from
    ``SUPERSET_CONFIG_PATH`` when it is first imported, so it is imported
    here, after the file is written.
    """
    config = home / "superset_config.py"
    config.write_text(
        'SECRET_KEY = "replace with a long random value"\n'
        f'SQLALCHEMY_DATABASE_URI = "sqlite:///{home}/superset.db"\n'
        # Superset's own tests log in without the form's CSRF token too.
        "WTF_CSRF_ENABLED = False\n"
    )
    os.environ["SUPERSET_CONFIG_PATH"] = str(config)
    os.environ["SUPERSET_HOME"] = str(home)
    import superset
    from flask_migrate import upgrade
    from superset.app import create_app

    # Its security manager creates the LoginManager: flask-sessionauth's.
    app: Flask = create_app()

    with app.app_context():
        # `superset db upgrade`, then `superset init` (the built-in roles).
        upgrade(directory=str(Path(superset.__file__).parent / "migrations"))
        app.appbuilder.sm.sync_role_definitions()  # type: ignore[attr-defined]

    return app


# [end app]

import importlib  # noqa: E402
import importlib.metadata  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

WELCOME = "/superset/welcome/"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    app = create_superset(tmp_path_factory.mktemp("superset"))

    # `superset fab create-admin`, in process.
    with app.app_context():
        security = app.appbuilder.sm  # type: ignore[attr-defined]
        security.add_user(
            "ada",
            "Ada",
            "Lovelace",
            "ada@example.com",
            security.find_role("Admin"),
            password="analytical-engine",
        )

    return app


def test_flask_login_is_flask_sessionauth(app: Flask) -> None:
    from superset.security import manager

    compat = importlib.import_module("flask_sessionauth.compat.flask_login")

    # The real flask-login is not installed: nothing but the call provides it.
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("flask-login")

    assert sys.modules["flask_login"] is compat
    assert manager.LoginManager is flask_sessionauth.LoginManager

    login_manager = app.appbuilder.sm.lm  # type: ignore[attr-defined]
    assert type(login_manager) is flask_sessionauth.LoginManager
    assert app.extensions["sessionauth"] is login_manager


def test_log_in_and_out_through_the_security_manager(app: Flask) -> None:
    client = app.test_client()
    response = client.get(WELCOME)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")
    assert client.get("/api/v1/dashboard/").status_code == 401

    # Superset's login page, then the form it posts to FAB's login view.
    assert client.get("/login/").status_code == 200
    response = client.post(
        "/login/", data={"username": "ada", "password": "analytical-engine"}
    )
    assert response.status_code == 302

    with client.session_transaction() as session:
        # The login flask-sessionauth wrote: a short client identifier.
        assert session["_user_id"] == "1"
        assert len(session["_id"]) == 22

    # A page and a REST endpoint, both on flask_login's session.
    assert client.get(WELCOME).status_code == 200
    assert client.get("/api/v1/dashboard/").status_code == 200

    assert client.get("/logout/").status_code == 302
    assert client.get(WELCOME).headers["Location"].startswith("/login/")
    assert client.get("/api/v1/dashboard/").status_code == 401


def test_wrong_password_is_refused(app: Flask) -> None:
    client = app.test_client()
    client.post("/login/", data={"username": "ada", "password": "wrong"})
    assert client.get(WELCOME).status_code == 302
