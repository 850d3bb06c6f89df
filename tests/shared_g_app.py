"""A small app that pushes an app context when it is imported, served by
gunicorn in ``tests/test_request_isolation.py``.

Pushing an app context at import time (or in a test fixture) is a common
mistake: up to Flask 3.1, a request finds that context already pushed and
uses it rather than pushing its own, so every request the process serves
shares one :data:`flask.g`. The login of one request must still never leak
into another one (review finding N1).

Never import this module in the test process: the import pushes a context
that would stay pushed for every later test. gunicorn imports it as
``shared_g_app:app``.
"""

from __future__ import annotations

from flask import Flask

from flask_sessionauth import current_user
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import UserMixin


class Member(UserMixin):
    def __init__(self, id: str) -> None:
        self.id = id


MEMBERS = {"1": Member("1")}

app = Flask(__name__)
app.config["SECRET_KEY"] = "shared-g-app-test-key"
login_manager = LoginManager(app)


@login_manager.user_loader
def load_member(member_id: str) -> Member | None:
    return MEMBERS.get(member_id)


@app.route("/ping")
def ping() -> str:
    # Touches neither the session nor current_user: the test polls it until
    # the worker is up.
    return "pong"


@app.route("/login")
def login() -> str:
    login_user(MEMBERS["1"])
    return "ok"


@app.route("/")
def index() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"

    return "anonymous"


@app.route("/protected")
@login_required
def protected() -> str:
    return f"secret:{current_user.get_id()}"


# The mistake under test: an app context pushed for the life of the process.
app.app_context().push()
