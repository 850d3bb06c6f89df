"""A small app that shows flask-sessionauth at work: registration, login with
"remember me", fresh logins for sensitive pages, revoking other sessions on a
password change, a JSON API that also takes HTTP Basic credentials and API
tokens, a staff area whose users log in through a realm of their own, a
"Your devices" page, from the login registry, that signs out any one device,
and an "API tokens" page that makes and revokes tokens.

Run it with ``flask --app example_app run``, or under gunicorn with
``FLASK_REDIS_URL=redis://localhost:6379/0 gunicorn -w 3 'example_app:create_app()'``
(several workers need the login registry in Redis). See
``example_app/README.md``.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
import typing as t
from datetime import timedelta

from flask import Flask
from flask import render_template
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import CSRFProtect

from flask_sessionauth import LoginManager
from flask_sessionauth.stores import StoreUnavailable

from . import api
from . import api_tokens
from . import auth
from . import cli
from . import db
from . import devices
from . import models
from . import registry
from . import staff
from . import views

if t.TYPE_CHECKING:
    from collections.abc import Mapping

logger = logging.getLogger(__name__)

#: The name of the file in the instance folder that keeps a generated key.
SECRET_KEY_FILE = "secret_key"


def create_app(
    test_config: Mapping[str, t.Any] | None = None,
    *,
    instance_path: str | os.PathLike[str] | None = None,
) -> Flask:
    """Create and configure the app.

    Configuration comes from three places, each overriding the one before:
    the defaults below, ``FLASK_*`` environment variables (``FLASK_SECRET_KEY``,
    ``FLASK_DATABASE``, ``FLASK_REDIS_URL``, ...), and ``test_config``.

    :param test_config: Config values that win over everything else.
    :param instance_path: Where the instance folder is, instead of Flask's
        default. Tests use it to keep the generated secret key and the
        database out of the source tree.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=None if instance_path is None else os.path.abspath(instance_path),
    )
    app.config.from_mapping(
        DATABASE=os.path.join(app.instance_path, "example_app.sqlite"),
        # Lax keeps both cookies off cross-site POSTs: a first line of defence
        # against CSRF, behind the tokens in every form.
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_DURATION=timedelta(days=30),
        SESSION_PROTECTION="basic",
        # A password typed more than 15 minutes ago no longer opens the
        # settings page; the user types it again on the reauthenticate page.
        SESSIONAUTH_FRESH_LOGIN_MAX_AGE=timedelta(minutes=15),
        # A login nobody has used for 30 minutes ends (within the 3-minute
        # granularity the timeout implies), and every login ends after 12
        # hours; "remember me" still logs the user in again, not fresh.
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(minutes=30),
        SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=timedelta(hours=12),
        SESSIONAUTH_BASIC_AUTH_REALM="example_app",
        # The staff realm (staff.py) inherits every setting above, except
        # these: a staff login opens the customer list, so "remember me"
        # lasts a working day, and 15 minutes without a request end it.
        SESSIONAUTH_REALMS={
            "staff": {
                "REMEMBER_COOKIE_DURATION": timedelta(hours=8),
                "SESSIONAUTH_SESSION_IDLE_TIMEOUT": timedelta(minutes=15),
            },
        },
        # The login registry behind "Your devices" (see registry.py): "redis"
        # on REDIS_URL, "memory" (one process only) or "off". None: "redis"
        # when REDIS_URL is set, else "memory".
        LOGIN_REGISTRY=None,
        # A Redis shared by every worker and server, such as
        # redis://localhost:6379/0, for the registry; with SESSION_TYPE =
        # "redis" it keeps the sessions too (Flask-Session).
        REDIS_URL=None,
    )
    app.config.from_prefixed_env()

    if test_config is not None:
        app.config.from_mapping(test_config)

    os.makedirs(app.instance_path, exist_ok=True)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app.instance_path)

    db.init_app(app)
    cli.init_app(app)
    _init_extensions(app)

    app.register_blueprint(views.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(devices.bp)
    app.register_blueprint(api_tokens.bp)
    app.register_blueprint(api.bp)
    return app


def _init_extensions(app: Flask) -> None:
    registry.init_sessions(app)
    # Every login of a customer or a staff member is recorded in the login
    # registry, which "Your devices" lists; both realms keep their records in
    # one store, each record naming its realm. One store per app: several
    # apps in one process (the tests make many) share no records.
    store = registry.login_registry(app)

    # One manager per app rather than one per module: several apps in one
    # process (the tests make many) then share no state.
    login_manager = LoginManager(app, registry=store)
    login_manager.user_loader(models.load_user)
    login_manager.basic_auth_loader(models.authenticate)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.refresh_view = "auth.reauthenticate"
    login_manager.needs_refresh_message = (
        "Please enter your password again to open this page."
    )
    login_manager.needs_refresh_message_category = "info"
    # Flashed on the login page instead of login_message when the login just
    # ended under the session timeouts (in login_message_category, "info").
    login_manager.session_expired_message = (
        "Your session has expired: 30 minutes without activity, or 12 hours"
        " since you logged in. Please log in again."
    )

    # The staff area: a second realm, with its own users, login page, session
    # keys and remember cookie. It registers its blueprint too.
    staff_manager = staff.init_app(app, registry=store)

    if app.config.get("TEST_CLOCK_FILE"):
        clock = _FileClock(app.config["TEST_CLOCK_FILE"])
        login_manager.clock = clock
        staff_manager.clock = clock

    # Unauthorized API requests get a 401 JSON answer, with a Basic and a
    # Bearer challenge (the registry makes API tokens possible), instead of
    # a redirect to the login page.
    login_manager.api_blueprints.add(api.bp.name)

    csrf = CSRFProtect(app)
    # The API takes JSON bodies only, which no cross-site form can send; see
    # the docstring of example_app.api.
    csrf.exempt(api.bp)
    app.register_error_handler(CSRFError, _csrf_error)
    # A view that reads the registry (the devices page) while it is down.
    # The login checks themselves never get here: they fail closed, and the
    # request is served as anonymous.
    app.register_error_handler(StoreUnavailable, _registry_unavailable)


class _FileClock:
    """For the tests only (``FLASK_TEST_CLOCK_FILE``: the browser tests and
    ``tests/test_registry_redis.py``): the real time plus the number of
    seconds written in a file, so that a test in another process can move
    the app's clock forward instead of sleeping.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self) -> float:
        try:
            with open(self.path, encoding="ascii") as f:
                offset = float(f.read().strip() or 0)
        except FileNotFoundError:
            offset = 0.0

        return time.time() + offset


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_template("csrf_error.html", reason=error.description), 400


def _registry_unavailable(error: StoreUnavailable) -> tuple[str, int]:
    logger.warning("A page could not read the login registry: %s", error)
    return render_template("unavailable.html"), 503


def _instance_secret_key(instance_path: str) -> str:
    """Return the secret key kept in the instance folder, creating it first
    if there is none.

    Every process started from the same instance folder gets the same key, so
    any gunicorn worker can read the cookies another one set, and logins
    survive a restart.
    """
    path = os.path.join(instance_path, SECRET_KEY_FILE)
    logger.warning(
        "SECRET_KEY is not set, so the key stored in %s is used. In production"
        " set FLASK_SECRET_KEY (for example to the output of"
        " `python -c 'import secrets; print(secrets.token_hex(32))'`).",
        path,
    )

    if not os.path.exists(path):
        _write_new_key(path)

    with open(path, encoding="ascii") as f:
        key = f.read().strip()

    if not key:
        raise RuntimeError(
            f"The secret key file {path} is empty. Delete it to have a new key"
            " generated, or set FLASK_SECRET_KEY."
        )

    return key


def _write_new_key(path: str) -> None:
    """Write a new random key to ``path`` unless another process got there
    first, in which case its key is kept.

    gunicorn workers start at the same moment, so the key is written in full
    to a private temporary file (mode 0600) and then linked into place. The
    link fails if the file exists, so no process can ever read a half-written
    key or replace a key that another worker already uses.
    """
    fd, tmp_path = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".secret_key-")

    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())

        try:
            os.link(tmp_path, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp_path)
