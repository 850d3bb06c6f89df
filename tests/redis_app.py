"""A small app that keeps its sessions in Redis, served by Werkzeug.

``tests/test_redis_sessions.py`` runs two of these as separate processes on
one Redis, to show that a login made through one server is seen by the other,
as it is behind a load balancer. Run as::

    python redis_app.py REDIS_URL SECRET_KEY

The server listens on a free loopback port of its own choosing and prints the
port number on a line of its own, then serves until it is terminated.
"""

from __future__ import annotations

import os
import sys

import redis
from flask import Flask
from flask_session import Session
from werkzeug.serving import make_server

from flask_sessionauth import current_user
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import UserMixin


class User(UserMixin):
    def __init__(self, id: str) -> None:
        self.id = id


USERS = {"1": User("1"), "2": User("2")}


def create_app(redis_url: str, secret_key: str) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.Redis.from_url(redis_url),
    )
    Session(app)
    manager = LoginManager(app)

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return USERS.get(user_id)

    # Every answer names the process, so the test can tell the servers apart.
    pid = os.getpid()

    @app.route("/")
    def index() -> str:
        if current_user.is_authenticated:
            return f"user:{current_user.get_id()} pid:{pid}"

        return f"anonymous pid:{pid}"

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(USERS[user_id])
        return f"ok pid:{pid}"

    @app.route("/logout")
    def logout() -> str:
        logout_user()
        return f"bye pid:{pid}"

    @app.route("/protected")
    @login_required
    def protected() -> str:
        return f"secret:{current_user.get_id()} pid:{pid}"

    return app


def main(argv: list[str]) -> None:
    redis_url, secret_key = argv
    app = create_app(redis_url, secret_key)
    # Port 0: the kernel picks a free port, so two servers never race for one.
    server = make_server("127.0.0.1", 0, app)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
