"""flask-sessionauth installed as ``flask_login``: the module tree, the
private names that libraries built on flask-login use, ``init_app`` on an app
that already has a manager, and misuse messages that begin with
flask-login's words.

The real flask-login 0.6.3 is installed next to the package in the test envs
(other tests compare behaviour with it). The ``installed`` fixture takes it
out of ``sys.modules`` for the length of a test and puts it back afterwards.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import subprocess
import sys
import typing as t
from datetime import timedelta

import flask
import flask.testing
import flask_login
import flask_login as real_flask_login
import flask_login.config
import flask_login.utils as real_utils
import pytest
from flask import Flask
from flask import g
from flask.testing import FlaskClient
from werkzeug.wrappers import Response

import flask_sessionauth
from flask_sessionauth import install_as_flask_login
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import UserMixin
from helpers import User

if t.TYPE_CHECKING:
    from types import ModuleType

SUBMODULES = (
    "__about__",
    "config",
    "login_manager",
    "mixins",
    "signals",
    "test_client",
    "utils",
)

#: LoginManager names of flask-login 0.6.3 that are not provided, each with
#: the reason (also in docs/downstream.rst).
NOT_PROVIDED = {
    # The steps of flask-login's loader, replaced by flask_sessionauth.pipeline;
    # no dependent found calls them.
    "_load_user_from_remember_cookie",
    "_load_user_from_header",
    "_load_user_from_request",
    # flask-login's after_request hook; pipeline.after_request is registered
    # instead, once per app.
    "_update_remember_cookie",
}


def _flask_login_modules() -> dict[str, ModuleType]:
    return {
        name: module
        for name, module in sys.modules.items()
        if name == "flask_login" or name.startswith("flask_login.")
    }


@pytest.fixture
def installed() -> t.Iterator[ModuleType]:
    """``flask_login`` as :func:`install_as_flask_login` makes it."""
    saved = _flask_login_modules()

    for name in saved:
        del sys.modules[name]

    try:
        install_as_flask_login()
        yield importlib.import_module("flask_login")
    finally:
        for name in _flask_login_modules():
            del sys.modules[name]

        sys.modules.update(saved)


def _sub(name: str) -> ModuleType:
    return importlib.import_module(f"flask_login.{name}")


# Installing -------------------------------------------------------------------


def test_importing_the_package_installs_nothing() -> None:
    code = (
        "import sys, flask_sessionauth, flask_sessionauth.compat;"
        " assert 'flask_login' not in sys.modules, sys.modules['flask_login']"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_flask_login_is_flask_sessionauth(installed: ModuleType) -> None:
    import flask_login

    assert flask_login is installed
    assert flask_login.__name__ == "flask_sessionauth.compat.flask_login"
    assert flask_login.LoginManager is flask_sessionauth.LoginManager
    assert flask_login.current_user is flask_sessionauth.current_user
    assert flask_login.login_user is flask_sessionauth.login_user
    assert flask_login.__version__ == "0.6.3"


@pytest.mark.parametrize("name", SUBMODULES)
def test_each_submodule_imports(installed: ModuleType, name: str) -> None:
    module = importlib.import_module(f"flask_login.{name}")

    assert module.__name__ == f"flask_sessionauth.compat.flask_login.{name}"
    assert getattr(installed, name) is module
    assert sys.modules[f"flask_login.{name}"] is module


def test_install_is_idempotent(installed: ModuleType) -> None:
    utils = _sub("utils")
    install_as_flask_login()
    install_as_flask_login()

    assert sys.modules["flask_login"] is installed
    assert sys.modules["flask_login.utils"] is utils


def test_install_after_the_real_flask_login_raises_saying_where_to_call_it() -> None:
    saved = _flask_login_modules()
    sys.modules["flask_login"] = real_flask_login

    try:
        with pytest.raises(RuntimeError, match="already imported") as exc_info:
            install_as_flask_login()
    finally:
        for name in _flask_login_modules():
            del sys.modules[name]

        sys.modules.update(saved)

    message = str(exc_info.value)
    assert "install_as_flask_login()" in message
    assert "WSGI entry point" in message
    assert "app factory" in message


def test_a_submodule_imported_alone_is_refused() -> None:
    saved = _flask_login_modules()

    for name in saved:
        del sys.modules[name]

    sys.modules["flask_login.utils"] = real_utils

    try:
        with pytest.raises(RuntimeError, match="flask_login.utils"):
            install_as_flask_login()

        assert "flask_login" not in sys.modules
    finally:
        for name in _flask_login_modules():
            del sys.modules[name]

        sys.modules.update(saved)


def test_a_subprocess_sees_flask_sessionauth_under_flask_login() -> None:
    code = (
        "import flask_sessionauth; flask_sessionauth.install_as_flask_login()\n"
        "from flask_login import LoginManager\n"
        "from flask_login.utils import _get_remote_addr, _cookie_digest\n"
        "import flask_login.config as config\n"
        "assert LoginManager is flask_sessionauth.LoginManager\n"
        "assert 'OPTIONS' in config.EXEMPT_METHODS\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "ok"


# flask-login's names ----------------------------------------------------------

# Modules whose names flask-login's modules import for their own use; those
# are not flask-login's names.
_FOREIGN = (
    flask,
    flask.testing,
    importlib.import_module("blinker"),
    importlib.import_module("datetime"),
    importlib.import_module("functools"),
    importlib.import_module("hashlib"),
    importlib.import_module("hmac"),
    importlib.import_module("urllib.parse"),
    importlib.import_module("werkzeug.local"),
)


# What every module has, or flask-login's deprecation hook.
_MODULE_DUNDERS = {
    "__name__",
    "__doc__",
    "__file__",
    "__loader__",
    "__spec__",
    "__package__",
    "__builtins__",
    "__cached__",
    "__path__",
    "__all__",
    "__getattr__",
}


def _own_names(module: ModuleType) -> list[str]:
    names = []

    for name, value in vars(module).items():
        if name in _MODULE_DUNDERS or inspect.ismodule(value):
            continue

        if not name.startswith("__") and any(
            value is getattr(source, name, object()) for source in _FOREIGN
        ):
            continue

        names.append(name)

    return names


# Taken now, while ``flask_login`` is the real one: inside a test that uses
# ``installed`` the name gives flask-sessionauth's modules.
REAL = {name: importlib.import_module(f"flask_login.{name}") for name in SUBMODULES}


def _parameters(func: t.Callable[..., t.Any]) -> list[tuple[str, t.Any, t.Any]]:
    return [
        (p.name, p.kind, p.default) for p in inspect.signature(func).parameters.values()
    ]


#: Parameters ours may add to flask-login's, each keyword-only and None by
#: default, so that every call written for flask-login still works.
_ADDED_PARAMETERS = {"realm", "registry"}


def _without_realm(func: t.Callable[..., t.Any]) -> list[tuple[str, t.Any, t.Any]]:
    """``func``'s parameters without those in :data:`_ADDED_PARAMETERS`,
    which must be keyword-only and default to None.
    """
    params = _parameters(func)

    for name, kind, default in params:
        if name in _ADDED_PARAMETERS:
            assert (kind, default) == (inspect.Parameter.KEYWORD_ONLY, None), name

    return [p for p in params if p[0] not in _ADDED_PARAMETERS]


@pytest.mark.parametrize("name", ["", *SUBMODULES])
def test_every_flask_login_name_is_provided_with_its_signature(
    installed: ModuleType, name: str
) -> None:
    real = REAL[name] if name else real_flask_login
    assert real.__name__.startswith("flask_login")
    ours = _sub(name) if name else installed
    # flask-login's private signals namespace is an implementation detail.
    expected = [n for n in _own_names(real) if n != "_signals"]
    assert expected, "found no names to compare"

    missing = [n for n in expected if not hasattr(ours, n)]
    assert not missing

    for attr in expected:
        theirs, mine = getattr(real, attr), getattr(ours, attr)

        if inspect.isfunction(theirs):
            assert _without_realm(mine) == _parameters(theirs), attr
        elif not callable(theirs) and not isinstance(theirs, (set, frozenset)):
            # Constants keep flask-login's values; __about__ describes this
            # package, but for the version of flask-login's API it provides.
            if name == "__about__" and not attr.startswith("__version"):
                continue

            if type(theirs).__module__ == "builtins" or isinstance(theirs, timedelta):
                assert mine == theirs, attr


def test_flask_login_all_is_provided(installed: ModuleType) -> None:
    assert sorted(installed.__all__) == sorted(real_flask_login.__all__)


def test_the_user_loaded_from_header_signal_needs_no_warning(
    installed: ModuleType,
) -> None:
    assert (
        installed.user_loaded_from_header is flask_sessionauth.user_loaded_from_header
    )
    assert _sub("signals")._user_loaded_from_header is installed.user_loaded_from_header


def test_the_constant_sets_hold_flask_login_s_members(installed: ModuleType) -> None:
    config = _sub("config")

    assert set(real_flask_login.config.EXEMPT_METHODS) <= config.EXEMPT_METHODS
    assert set(real_flask_login.config.SESSION_KEYS) <= config.SESSION_KEYS


def test_login_manager_methods_have_flask_login_signatures(
    installed: ModuleType,
) -> None:
    real, ours = real_flask_login.LoginManager, installed.LoginManager
    names = [n for n in vars(real) if not n.startswith("__") or n == "__init__"]
    missing = [n for n in names if not hasattr(ours, n)]

    assert sorted(missing) == sorted(NOT_PROVIDED)

    for name in names:
        theirs = vars(real)[name]

        if name in NOT_PROVIDED or not inspect.isfunction(theirs):
            continue

        assert _without_realm(getattr(ours, name)) == _parameters(theirs), name


def test_login_manager_has_flask_login_s_instance_attributes() -> None:
    theirs = vars(real_flask_login.LoginManager())

    for name in theirs:
        assert hasattr(LoginManager(), name), name


# The private names at work ----------------------------------------------------


@pytest.fixture
def compat_app(app: Flask, users: dict[str, User]) -> Flask:
    @app.route("/login-compat/<user_id>")
    def login_compat(user_id: str) -> str:
        login_user(users[user_id], remember=True)
        return "ok"

    return app


def test_get_user_is_the_current_user_and_none_outside_a_request(
    installed: ModuleType, compat_app: Flask, client: FlaskClient
) -> None:
    utils = _sub("utils")
    seen: list[t.Any] = []

    @compat_app.route("/who")
    def who() -> str:
        seen.append(utils._get_user())
        seen.append(g._login_user)
        return "ok"

    client.get("/login-compat/1")
    client.get("/who")

    assert seen[0].id == "1"
    assert seen[1] is seen[0]
    assert utils._get_user() is None


def test_get_remote_addr_is_remote_addr_never_x_forwarded_for(
    installed: ModuleType, app: Flask
) -> None:
    utils = _sub("utils")

    with app.test_request_context(
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    ):
        assert utils._get_remote_addr() == "10.0.0.7"


def test_create_identifier_is_flask_login_s_for_a_direct_client(
    installed: ModuleType, app: Flask
) -> None:
    utils = _sub("utils")

    with app.test_request_context(
        environ_base={"REMOTE_ADDR": "10.0.0.7"}, headers={"User-Agent": "Agent/1.0"}
    ):
        assert utils._create_identifier() == real_utils._create_identifier()


@pytest.mark.parametrize("key", [None, "other key", b"bytes key"])
def test_cookie_digest_and_secret_key_match_flask_login(
    installed: ModuleType, app: Flask, key: str | bytes | None
) -> None:
    utils = _sub("utils")

    with app.test_request_context():
        assert utils._secret_key(key) == real_utils._secret_key(key)
        assert utils._cookie_digest("42", key) == real_utils._cookie_digest("42", key)
        assert utils.decode_cookie(f"42|{utils._cookie_digest('42', key)}", key) == (
            "42"
        )


def test_secret_key_without_a_key_says_to_set_one(installed: ModuleType) -> None:
    utils = _sub("utils")

    with Flask(__name__).test_request_context():
        with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
            utils._secret_key()


def test_user_context_processor_gives_current_user(
    installed: ModuleType, compat_app: Flask, client: FlaskClient
) -> None:
    utils = _sub("utils")
    ids: list[str | None] = []

    @compat_app.route("/context")
    def context() -> str:
        ids.append(utils._user_context_processor()["current_user"].get_id())
        return "ok"

    client.get("/login-compat/2")
    client.get("/context")

    assert ids == ["2"]


def test_load_user_takes_no_arguments_and_sets_the_current_user(
    installed: ModuleType, compat_app: Flask, client: FlaskClient
) -> None:
    loaded: list[t.Any] = []

    @compat_app.route("/load")
    def load() -> str:
        manager = compat_app.login_manager  # type: ignore[attr-defined]
        manager._load_user()
        loaded.append(g._login_user)
        return "ok"

    client.get("/login-compat/1")
    client.get("/load")

    assert loaded[0].id == "1"


@pytest.mark.parametrize("given", [True, False])
def test_update_request_context_with_user(
    installed: ModuleType, compat_app: Flask, client: FlaskClient, given: bool
) -> None:
    @compat_app.route("/swap")
    def swap() -> str:
        manager = compat_app.login_manager  # type: ignore[attr-defined]
        user = User("7", "seven") if given else None
        manager._update_request_context_with_user(user)
        return str(installed.current_user.get_id())

    client.get("/login-compat/1")

    assert client.get("/swap").text == ("7" if given else "None")
    # Only the request changed, not the session.
    assert client.get("/swap").text == ("7" if given else "None")


@pytest.mark.parametrize("asynchronous", [False, True])
def test_loaders_assigned_to_the_private_attributes_are_used(
    installed: ModuleType, users: dict[str, User], asynchronous: bool
) -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "compat"
    manager = installed.LoginManager(app)

    async def async_load(user_id: str) -> User | None:
        return users.get(user_id)

    async def async_request(request: flask.Request) -> User | None:
        return users.get(request.headers.get("X-User", ""))

    if asynchronous:
        manager._user_callback = async_load
        manager._request_callback = async_request
    else:
        manager._user_callback = users.get
        manager._request_callback = lambda request: users.get(
            request.headers.get("X-User", "")
        )

    assert manager.user_callback is manager._user_callback
    assert manager.request_callback is manager._request_callback

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(users[user_id])
        return "ok"

    @app.route("/me")
    @flask_sessionauth.login_required
    def me() -> str:
        return str(installed.current_user.get_id())

    client = app.test_client()
    assert client.get("/me", headers={"X-User": "2"}).text == "2"
    client.get("/login/1")
    assert client.get("/me").text == "1"


def _strong_app(users: dict[str, User]) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="compat", SESSION_PROTECTION="strong")
    manager = LoginManager(app)
    manager.user_loader(users.get)

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(users[user_id])
        return "ok"

    @app.route("/failed")
    def failed() -> str:
        result = manager._session_protection_failed()
        return f"{result} {flask.session.get('_user_id')}"

    return app


@pytest.mark.parametrize(
    ("agent", "expected"), [("Agent/1.0", "False 1"), ("Other/2.0", "True None")]
)
def test_session_protection_failed_is_a_bool(
    installed: ModuleType, users: dict[str, User], agent: str, expected: str
) -> None:
    client = _strong_app(users).test_client()
    client.get("/login/1", headers={"User-Agent": "Agent/1.0"})

    assert client.get("/failed", headers={"User-Agent": agent}).text == expected


def test_session_protection_failed_without_a_login_is_false(
    installed: ModuleType, users: dict[str, User]
) -> None:
    client = _strong_app(users).test_client()

    assert client.get("/failed").text == "False None"


def test_set_cookie_and_clear_cookie(
    installed: ModuleType, users: dict[str, User]
) -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "compat"
    manager = LoginManager(app)
    manager.user_loader(users.get)

    @app.route("/login/<user_id>")
    def login(user_id: str) -> Response:
        login_user(users[user_id])
        response = flask.make_response("ok")
        manager._set_cookie(response)
        return response

    @app.route("/forget")
    def forget() -> Response:
        response = flask.make_response("ok")
        manager._clear_cookie(response)
        return response

    @app.route("/me")
    def me() -> str:
        return str(installed.current_user.get_id())

    client = app.test_client()
    client.get("/login/2")
    cookie = client.get_cookie("remember_token")
    assert cookie is not None

    # A new browser with only the cookie is logged back in.
    other = app.test_client()
    other.set_cookie("remember_token", cookie.value)
    assert other.get("/me").text == "2"

    client.get("/forget")
    assert client.get_cookie("remember_token") is None


def test_login_disabled_is_deprecated_and_reads_the_config(
    installed: ModuleType, app: Flask
) -> None:
    manager = app.login_manager  # type: ignore[attr-defined]

    with app.app_context():
        with pytest.warns(DeprecationWarning, match="LOGIN_DISABLED"):
            manager._login_disabled = True

        assert app.config["LOGIN_DISABLED"] is True

        with pytest.warns(DeprecationWarning, match="LOGIN_DISABLED"):
            assert manager._login_disabled is True


def test_session_identifier_generator_is_the_identifier_generator() -> None:
    manager = LoginManager()
    manager._session_identifier_generator = lambda: "fixed"

    assert manager.identifier_generator() == "fixed"


# init_app on an app that already has a manager --------------------------------


def _hooks(app: Flask) -> list[list[t.Any]]:
    """The functions the app runs around requests and templates."""
    registries = (
        app.before_request_funcs,
        app.after_request_funcs,
        app.teardown_request_funcs,
        app.template_context_processors,
    )
    return [list(registry.get(None, ())) for registry in registries]


def test_a_second_manager_replaces_the_first_silently(
    users: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "compat"
    first = LoginManager(app)
    first.user_loader(lambda user_id: None)
    second = LoginManager()
    second.user_loader(users.get)
    hooks = _hooks(app)

    with caplog.at_level(logging.DEBUG, logger="flask_sessionauth"):
        second.init_app(app)

    assert app.extensions["sessionauth"] is second
    assert app.login_manager is second  # type: ignore[attr-defined]
    assert any("Replaced the LoginManager" in r.message for r in caplog.records)
    assert all(r.levelno == logging.DEBUG for r in caplog.records)
    # The hooks are not doubled.
    assert _hooks(app) == hooks

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(users[user_id], remember=True)
        return "ok"

    @app.route("/me")
    def me() -> str:
        return str(flask_sessionauth.current_user.get_id())

    client = app.test_client()
    client.get("/login/1")
    # The second manager's loader finds the user; the first's would not.
    assert client.get("/me").text == "1"


def test_the_same_manager_twice_is_a_no_op(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    manager = LoginManager(app)
    hooks = _hooks(app)

    with caplog.at_level(logging.DEBUG, logger="flask_sessionauth"):
        manager.init_app(app)
        LoginManager.init_app(manager, app, add_context_processor=False)

    assert app.extensions["sessionauth"] is manager
    assert _hooks(app) == hooks
    assert not caplog.records


def test_a_context_processor_is_added_by_a_later_manager_that_wants_one() -> None:
    app = Flask(__name__)
    LoginManager(app, add_context_processor=False)
    before = len(app.template_context_processors[None])
    LoginManager(app)

    assert len(app.template_context_processors[None]) == before + 1


# Misuse messages that begin with flask-login's --------------------------------


def test_missing_loader_message_begins_with_flask_login_s() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "compat"
    LoginManager(app)

    with app.test_request_context():
        with pytest.raises(RuntimeError) as exc_info:
            flask_sessionauth.current_user.get_id()

    message = str(exc_info.value)
    assert message.startswith("Missing user_loader or request_loader.")
    assert "@login_manager.user_loader" in message


def test_duration_message_begins_with_flask_login_s(
    app: Flask, users: dict[str, User]
) -> None:
    with app.test_request_context():
        with pytest.raises(TypeError) as exc_info:
            login_user(users["1"], remember=True, duration=14)  # type: ignore[arg-type]

    message = str(exc_info.value)
    assert message.startswith("duration must be a datetime.timedelta, instead got: 14")
    assert "timedelta(days=14)" in message


def test_get_id_message_begins_with_flask_login_s() -> None:
    class NoId(UserMixin):
        pass

    with pytest.raises(NotImplementedError) as exc_info:
        NoId().get_id()

    message = str(exc_info.value)
    assert message.startswith("No `id` attribute - override `get_id`")
    assert "NoId" in message


# flask-login's constants ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "COOKIE_NAME",
        "COOKIE_DURATION",
        "COOKIE_SECURE",
        "COOKIE_HTTPONLY",
        "COOKIE_SAMESITE",
        "LOGIN_MESSAGE",
        "LOGIN_MESSAGE_CATEGORY",
        "REFRESH_MESSAGE",
        "REFRESH_MESSAGE_CATEGORY",
        "ID_ATTRIBUTE",
        "AUTH_HEADER_NAME",
        "EXEMPT_METHODS",
    ],
)
def test_constant_equals_flask_login(name: str) -> None:
    assert getattr(flask_sessionauth, name) == getattr(flask_login.config, name)


def test_session_keys_extend_flask_logins() -> None:
    ours = set(flask_sessionauth.SESSION_KEYS)
    theirs = set(flask_login.config.SESSION_KEYS)

    assert theirs <= ours
    assert ours - theirs == {"_fresh_at", "_token_sig", "_lifetime", "_login_id"}
