"""The Flask-AppBuilder example of docs/downstream.rst, and its tests. The
downstream tox env runs them, with Flask-AppBuilder 5.3.0 installed.
"""

# [app]
# app.py: the first lines, before anything imports flask_login.
import flask_sessionauth

flask_sessionauth.install_as_flask_login()

from flask import Flask  # noqa: E402
from flask_appbuilder import AppBuilder  # noqa: E402
from flask_appbuilder.utils.legacy import get_sqla_class  # noqa: E402

db = get_sqla_class()()


def create_app(config: dict[str, object] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="replace with a long random value",
        SQLALCHEMY_DATABASE_URI="sqlite://",
    )
    app.config.update(config or {})
    db.init_app(app)

    with app.app_context():
        # Its security manager creates the LoginManager: flask-sessionauth's.
        AppBuilder(app, db.session)

    return app


# [end app]

import flask_login  # noqa: E402
import pytest  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

# Flask-AppBuilder 5.3.0's own deprecation warnings, raised in its code and
# in WTForms' (datetime.utcnow(), WTForms 3.3's DateTimeField and choices).
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:flask_appbuilder"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:wtforms"),
]


def _client() -> FlaskClient:
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})

    with app.app_context():
        security = app.extensions["appbuilder"].sm
        security.add_user(
            "ada",
            "Ada",
            "Lovelace",
            "ada@example.com",
            security.find_role("Admin"),
            password="analytical-engine",
        )

    return app.test_client()


def test_flask_login_is_flask_sessionauth() -> None:
    app = create_app()

    assert flask_login.LoginManager is flask_sessionauth.LoginManager
    assert app.extensions["sessionauth"] is app.extensions["appbuilder"].sm.lm


def test_log_in_and_out_through_flask_appbuilder() -> None:
    client = _client()
    assert client.get("/users/list/").headers["Location"].startswith("/login/")

    client.post("/login/", data={"username": "ada", "password": "analytical-engine"})
    assert client.get("/users/list/").status_code == 200

    with client.session_transaction() as session:
        # The login flask-sessionauth wrote: a short client identifier.
        assert len(session["_id"]) == 22

    client.get("/logout/")
    assert client.get("/users/list/").headers["Location"].startswith("/login/")
