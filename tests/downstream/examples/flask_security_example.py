"""The Flask-Security-Too example of docs/downstream.rst, and its tests. The
downstream tox env runs them, with Flask-Security-Too 5.9.2 installed.
"""

# [app]
# app.py: the first lines, before anything imports flask_login.
import flask_sessionauth

flask_sessionauth.install_as_flask_login()

from flask import Flask  # noqa: E402
from flask_security import auth_required  # noqa: E402
from flask_security import current_user  # noqa: E402
from flask_security import hash_password  # noqa: E402
from flask_security import Security  # noqa: E402
from flask_security import SQLAlchemyUserDatastore  # noqa: E402
from flask_security.models import fsqla_v3 as fsqla  # noqa: E402
from flask_sqlalchemy import SQLAlchemy  # noqa: E402

db = SQLAlchemy()
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[name-defined]
    pass


class User(db.Model, fsqla.FsUserMixin):  # type: ignore[name-defined]
    pass


class WebAuthn(db.Model, fsqla.FsWebAuthnMixin):  # type: ignore[name-defined]
    pass


def create_app(config: dict[str, object] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="replace with a long random value",
        SECURITY_PASSWORD_SALT="replace with another long random value",
        SQLALCHEMY_DATABASE_URI="sqlite://",
    )
    app.config.update(config or {})
    db.init_app(app)
    # Security creates its LoginManager, which is flask-sessionauth's.
    Security(app, SQLAlchemyUserDatastore(db, User, Role))

    @app.route("/")
    @auth_required()
    def home() -> str:
        return f"Hello {current_user.email}"

    return app


# [end app]

import flask_login  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402


def _client() -> FlaskClient:
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})

    with app.app_context():
        db.create_all()
        app.extensions["security"].datastore.create_user(
            email="ada@example.com", password=hash_password("analytical-engine")
        )
        db.session.commit()

    return app.test_client()


def test_flask_login_is_flask_sessionauth() -> None:
    app = create_app()

    assert flask_login.LoginManager is flask_sessionauth.LoginManager
    assert app.extensions["sessionauth"] is app.extensions["security"].login_manager


def test_log_in_and_out_through_flask_security() -> None:
    client = _client()
    assert client.get("/", headers={"Accept": "application/json"}).status_code == 401

    response = client.post(
        "/login",
        json={"email": "ada@example.com", "password": "analytical-engine"},
    )
    assert response.status_code == 200
    assert client.get("/").text == "Hello ada@example.com"

    with client.session_transaction() as session:
        # The login flask-sessionauth wrote: a short client identifier.
        assert len(session["_id"]) == 22

    client.post("/logout", json={})
    assert client.get("/", headers={"Accept": "application/json"}).status_code == 401


def test_remember_cookie_is_flask_sessionauth_s() -> None:
    client = _client()
    client.post(
        "/login",
        json={
            "email": "ada@example.com",
            "password": "analytical-engine",
            "remember": True,
        },
    )
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    # Signed, with its expiry inside, not flask-login's "id|digest".
    assert "|" not in cookie.value

    # A new browser with only the cookie is logged back in.
    other = client.application.test_client()
    other.set_cookie("remember_token", cookie.value)
    assert other.get("/").text == "Hello ada@example.com"
