"""The Apache Airflow example of docs/downstream.rst, and its tests. The
downstream-airflow tox env runs them, with Airflow 3.3.2 and
apache-airflow-providers-fab 3.10.2 (Flask-AppBuilder 5.2.2) installed from
requirements/downstream-airflow.txt, which lists no flask-login.
"""

from __future__ import annotations

# [app]
# The first lines of the process, before anything imports flask_login. For
# the `airflow api-server` command, put these two lines in a
# sitecustomize.py on the server's Python path instead.
import flask_sessionauth

flask_sessionauth.install_as_flask_login()

import os  # noqa: E402
import typing as t  # noqa: E402
from pathlib import Path  # noqa: E402

if t.TYPE_CHECKING:
    from fastapi import FastAPI

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def create_api_server(home: Path) -> FastAPI:
    """Airflow's API server, with the FAB auth manager and a SQLite metadata
    database in ``home``. Airflow reads its configuration when it is first
    imported, so it is imported here, after the environment is set.
    """
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__AUTH_MANAGER=FAB_AUTH_MANAGER,
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__API__SECRET_KEY="replace with a long random value",
        AIRFLOW__API_AUTH__JWT_SECRET="replace with another long random value",
    )
    from airflow.api_fastapi.app import create_app
    from airflow.utils.db import initdb

    # `airflow db migrate`, in process: Airflow's tables and the FAB
    # provider's (users, roles, sessions).
    initdb()
    # The API server mounts the FAB auth manager's Flask app at /auth; its
    # security manager creates the LoginManager: flask-sessionauth's.
    return create_app("core")


# [end app]

import importlib  # noqa: E402
import importlib.metadata  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

LOGIN = "/auth/login/"
USERS = "/auth/users/list/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    app = create_api_server(tmp_path_factory.mktemp("airflow"))
    from airflow.api_fastapi.app import get_auth_manager

    flask_app = get_auth_manager().flask_app

    # `airflow users create --role Admin`, in process.
    with flask_app.app_context():
        security = flask_app.appbuilder.sm
        security.add_user(
            "ada",
            "Ada",
            "Lovelace",
            "ada@example.com",
            security.find_role("Admin"),
            password="analytical-engine",
        )

    return app


def _csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found is not None, "no csrf_token in the login form"
    return found.group(1)


def test_flask_login_is_flask_sessionauth(server: FastAPI) -> None:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.providers.fab.auth_manager.security_manager import override

    compat = importlib.import_module("flask_sessionauth.compat.flask_login")

    # The real flask-login is not installed: nothing but the call provides it.
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("flask-login")

    assert sys.modules["flask_login"] is compat
    assert override.LoginManager is flask_sessionauth.LoginManager

    flask_app = get_auth_manager().flask_app
    manager = flask_app.appbuilder.sm.lm
    assert type(manager) is flask_sessionauth.LoginManager
    assert flask_app.extensions["sessionauth"] is manager


def test_log_in_and_out_through_the_fab_auth_manager(server: FastAPI) -> None:
    client = TestClient(server, base_url="http://localhost")
    response = client.get(USERS, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"].startswith(LOGIN)

    # The FAB login view, with the CSRF token of its form.
    page = client.get(LOGIN)
    assert page.status_code == 200
    response = client.post(
        LOGIN,
        data={
            "username": "ada",
            "password": "analytical-engine",
            "csrf_token": _csrf_token(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 302
    # Airflow hands the logged-in user a JWT for its REST API and UI.
    assert client.cookies.get("_token")

    # A FAB view behind flask_login's session, and the REST API behind the
    # token minted from flask_login's current user.
    assert client.get(USERS, follow_redirects=False).status_code == 200
    assert client.get("/api/v2/dags", follow_redirects=False).status_code == 200

    response = client.get("/auth/logout/", follow_redirects=False)
    assert response.status_code == 302
    response = client.get(USERS, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"].startswith(LOGIN)


def test_wrong_password_is_refused(server: FastAPI) -> None:
    client = TestClient(server, base_url="http://localhost")
    page = client.get(LOGIN)
    client.post(
        LOGIN,
        data={
            "username": "ada",
            "password": "wrong",
            "csrf_token": _csrf_token(page.text),
        },
        follow_redirects=False,
    )
    assert not client.cookies.get("_token")
    assert client.get(USERS, follow_redirects=False).status_code == 302
