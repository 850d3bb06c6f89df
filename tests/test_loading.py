"""How the current user is found: the order of the sources, falling through
when one gives nothing, sync and async loaders, signals, and bad input.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import typing as t
import uuid

import flask_login.utils
import pytest
from flask import Flask
from flask import render_template_string
from flask import Request
from flask.testing import FlaskClient

from flask_sessionauth import AnonymousUserMixin
from flask_sessionauth import current_user
from flask_sessionauth import login_fresh
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import rebind_session
from flask_sessionauth import user_accessed
from flask_sessionauth import user_loaded_from_cookie
from flask_sessionauth import user_loaded_from_header
from flask_sessionauth import user_loaded_from_request
from flask_sessionauth import UserMixin
from helpers import Clock
from helpers import empties_cookie
from helpers import make_app
from helpers import recording
from helpers import User

P = t.ParamSpec("P")
R = t.TypeVar("R")
Kind = t.Literal["sync", "async"]

COOKIE = "remember_token"
BASIC = "Basic " + base64.b64encode(b"eve:pw").decode()


def loader(kind: Kind, func: t.Callable[P, R]) -> t.Callable[P, t.Any]:
    """``func`` itself, or an ``async def`` function that returns its result."""
    if kind == "sync":
        return func

    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return func(*args, **kwargs)

    return wrapper


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> Kind:
    return t.cast(Kind, request.param)


def remember_cookie(app: Flask, user_id: str = "1") -> str:
    """Log ``user_id`` in with "remember me" and return the cookie's value."""
    client = app.test_client()
    client.get(f"/login/{user_id}?remember=1")
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def flip(value: str, index: int) -> str:
    other = "0" if value[index] != "0" else "f"
    return value[:index] + other + value[index + 1 :]


@pytest.fixture(autouse=True)
def extra_users(users: dict[str, User]) -> None:
    users.update(
        {
            "4": User("4", "dave"),
            "5": User("5", "eve"),
            "6": User("6", "frank"),
        }
    )


@pytest.fixture
def calls() -> collections.Counter[str]:
    return collections.Counter()


@pytest.fixture
def loaded_ids() -> list[str]:
    return []


@pytest.fixture
def counting_manager(
    login_manager: LoginManager,
    users: dict[str, User],
    kind: Kind,
    loaded_ids: list[str],
) -> LoginManager:
    """The app's manager with a user loader that records the ids it gets."""

    def load_user(user_id: str) -> User | None:
        loaded_ids.append(user_id)
        return users.get(user_id)

    login_manager.user_loader(loader(kind, load_user))
    return login_manager


@pytest.fixture(autouse=True)
def extra_routes(app: Flask, users: dict[str, User]) -> None:
    @app.route("/state")
    def state() -> str:
        return (
            f"{current_user.is_authenticated}:{current_user.get_id()}:{login_fresh()!r}"
        )

    @app.route("/touch")
    @login_required
    def touch() -> str:
        ids = {current_user.get_id() for _ in range(5)}
        assert current_user.is_authenticated and current_user.is_active
        rendered = render_template_string("{{ current_user.get_id() }}")
        return f"{ids.pop()}:{rendered}"

    @app.route("/login-and-touch/<user_id>")
    def login_and_touch(user_id: str) -> str:
        login_user(users[user_id])
        return f"{current_user.get_id()}:{current_user.get_id()}"


# The order of the sources

SOURCES = ("session", "cookie", "request", "basic", "header")
WINNER_ID = {"session": "1", "cookie": "2", "request": "4", "basic": "5", "header": "6"}
AVAILABLE = [
    *[frozenset({source}) for source in SOURCES],
    *[frozenset(pair) for pair in zip(SOURCES, SOURCES[1:], strict=False)],
    frozenset(SOURCES),
    frozenset(),
]


@pytest.mark.parametrize(
    "available", AVAILABLE, ids=lambda s: "+".join(x for x in SOURCES if x in s)
)
def test_loading_order(
    app: Flask,
    counting_manager: LoginManager,
    users: dict[str, User],
    kind: Kind,
    calls: collections.Counter[str],
    loaded_ids: list[str],
    available: frozenset[str],
) -> None:
    headers_seen: list[str] = []

    def by_request(request: Request) -> User | None:
        calls["request"] += 1
        return users["4"] if "request" in available else None

    def by_basic(username: str, password: str) -> User | None:
        calls["basic"] += 1
        ok = "basic" in available and (username, password) == ("eve", "pw")
        return users["5"] if ok else None

    def by_header(value: str) -> User | None:
        calls["header"] += 1
        headers_seen.append(value)
        return users["6"] if "header" in available else None

    counting_manager.request_loader(loader(kind, by_request))
    counting_manager.basic_auth_loader(loader(kind, by_basic))
    counting_manager.header_loader(loader(kind, by_header))

    client = app.test_client()

    if "session" in available:
        client.get("/login/1")

    if "cookie" in available:
        client.set_cookie(COOKIE, remember_cookie(app, "2"))

    calls.clear()
    loaded_ids.clear()
    response = client.get("/", headers={"Authorization": BASIC})

    winner = next((s for s in SOURCES if s in available), None)
    assert response.status_code == 200
    assert response.text == (
        "anonymous" if winner is None else f"user:{WINNER_ID[winner]}"
    )

    # The winner and the loaders before it were asked once; later ones were
    # never asked.
    order = SOURCES.index(winner) if winner else len(SOURCES)
    for source in ("request", "basic", "header"):
        expected = 1 if SOURCES.index(source) <= order else 0
        assert calls[source] == expected, source

    if winner == "session":
        assert loaded_ids == ["1"]
    elif winner == "cookie":
        assert loaded_ids == ["2"]
    else:
        assert loaded_ids == []

    if winner is None:
        assert headers_seen == [BASIC]


BROKEN = [
    "garbage-cookie",
    "tampered-cookie",
    "expired-cookie",
    "unknown-user-cookie",
    "legacy-wrong-key",
    "legacy-refused",
    "stale-session",
]


@pytest.mark.parametrize("broken", BROKEN)
@pytest.mark.parametrize("fallback", ["request", "basic", "header"])
def test_fall_through_after_broken_source(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    clock: Clock,
    broken: str,
    fallback: str,
) -> None:
    # flask-login #901: a bad remember cookie kept the request loader from
    # running at all.
    if fallback == "request":

        @login_manager.request_loader
        def by_request(request: Request) -> User | None:
            ok = request.headers.get("X-Api-Key") == "k"
            return users["4"] if ok else None

    elif fallback == "basic":

        @login_manager.basic_auth_loader
        def by_basic(username: str, password: str) -> User | None:
            return users["5"] if (username, password) == ("eve", "pw") else None

    else:

        @login_manager.header_loader
        def by_header(value: str) -> User | None:
            return users["6"] if value == "Token t" else None

    app.config["REMEMBER_COOKIE_DURATION"] = 3600
    client = app.test_client()

    if broken == "garbage-cookie":
        client.set_cookie(COOKIE, "garbage")
    elif broken == "tampered-cookie":
        client.set_cookie(COOKIE, flip(remember_cookie(app), 3))
    elif broken == "expired-cookie":
        client.set_cookie(COOKIE, remember_cookie(app))
        clock.advance(3601)
    elif broken == "unknown-user-cookie":
        users["9"] = User("9", "gone")
        client.set_cookie(COOKIE, remember_cookie(app, "9"))
        del users["9"]
    elif broken == "legacy-wrong-key":
        client.set_cookie(COOKIE, flask_login.utils.encode_cookie("1", key="nope"))
    elif broken == "legacy-refused":
        app.config["SESSIONAUTH_REMEMBER_COOKIE_ACCEPT_LEGACY"] = False
        with app.app_context():
            client.set_cookie(COOKIE, flask_login.utils.encode_cookie("1"))
    else:
        users["9"] = User("9", "gone")
        client.get("/login/9")
        del users["9"]

    headers = {
        "request": {"X-Api-Key": "k"},
        "basic": {"Authorization": BASIC},
        "header": {"Authorization": "Token t"},
    }[fallback]
    response = client.get("/", headers=headers)

    assert response.status_code == 200
    assert response.text == f"user:{WINNER_ID[fallback]}"

    if broken.endswith("cookie") or broken.startswith("legacy"):
        assert empties_cookie(response, COOKIE)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Basic", id="no-credentials"),
        pytest.param("Basic !!!not-base64!!!", id="not-base64"),
        pytest.param("Basic " + b64(b"eve"), id="no-colon"),
        pytest.param("Basic " + b64(b":pw"), id="empty-username"),
        pytest.param("Basic " + b64(b"eve:"), id="empty-password"),
        pytest.param("Basic " + b64(b"\xff\xfe:\xff"), id="non-utf8"),
        pytest.param("Basic " + b64(b"eve:wrong"), id="wrong-password"),
        pytest.param("Basic " + "QUFB" * 3000, id="oversized"),
        pytest.param("Bearer " + b64(b"eve:pw"), id="other-scheme"),
        pytest.param("Basic " + b64(b"eve:pw") + " extra", id="trailing-junk"),
        pytest.param("\xff\xfe", id="non-ascii-header"),
    ],
)
def test_malformed_authorization_is_anonymous(
    app: Flask, login_manager: LoginManager, users: dict[str, User], header: str
) -> None:
    @login_manager.basic_auth_loader
    def by_basic(username: str, password: str) -> User | None:
        return users["5"] if (username, password) == ("eve", "pw") else None

    client = app.test_client()
    response = client.get("/state", headers={"Authorization": header})

    assert response.status_code == 200
    assert response.text == "False:None:False"
    # The same client with good credentials does get in.
    response = client.get("/state", headers={"Authorization": BASIC})
    assert response.text == "True:5:True"


# The user loader runs once per request


@pytest.mark.parametrize("source", ["session", "cookie", "deleted-user"])
def test_user_loader_runs_once_per_request(
    app: Flask,
    counting_manager: LoginManager,
    users: dict[str, User],
    loaded_ids: list[str],
    source: str,
) -> None:
    client = app.test_client()

    if source == "session":
        client.get("/login/1")
    elif source == "cookie":
        client.set_cookie(COOKIE, remember_cookie(app))
    else:
        client.get("/login/2")
        del users["2"]

    for request_number in (1, 2, 3):
        loaded_ids.clear()
        response = client.get("/touch")

        if source == "deleted-user":
            assert response.status_code == 401
            # The context processor did not run, but login_required did.
            assert loaded_ids == ["2"]
        else:
            assert response.text == "1:1", request_number
            assert loaded_ids == ["1"], request_number


def test_login_user_sets_current_user_without_loading(
    app: Flask, counting_manager: LoginManager, loaded_ids: list[str]
) -> None:
    response = app.test_client().get("/login-and-touch/2")

    assert response.text == "2:2"
    assert loaded_ids == []


def test_async_request_loader_gets_the_request(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    seen: list[str] = []

    @login_manager.request_loader
    async def by_key(request: Request) -> User | None:
        seen.append(request.path)
        return users["4"] if request.args.get("key") == "k" else None

    client = app.test_client()

    assert client.get("/?key=k").text == "user:4"
    assert client.get("/state").text == "False:None:False"
    assert seen == ["/", "/state"]


# Misuse and configuration


@pytest.mark.parametrize("path", ["/", "/protected"])
def test_missing_loader_raises_runtime_error(path: str) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True)
    LoginManager(app)

    @app.route("/")
    def index() -> str:
        return str(current_user.is_authenticated)

    @app.route("/protected")
    @login_required
    def protected() -> str:
        return "secret"

    with pytest.raises(RuntimeError, match="user_loader") as info:
        app.test_client().get(path)

    assert "login_manager" in str(info.value) or "LoginManager" in str(info.value)


def test_request_loader_alone_is_enough(users: dict[str, User]) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", TESTING=True)
    manager = LoginManager(app)

    @manager.request_loader
    def by_key(request: Request) -> User | None:
        return users["1"] if request.headers.get("X-Api-Key") == "k" else None

    @app.route("/")
    def index() -> str:
        return str(current_user.get_id())

    client = app.test_client()

    assert client.get("/").text == "None"
    assert client.get("/", headers={"X-Api-Key": "k"}).text == "1"


class AltIdUser(User):
    def get_auth_id(self) -> str:
        return f"alt-{self.id}"


@pytest.mark.parametrize("source", ["session", "cookie"])
def test_id_attribute(app: Flask, login_manager: LoginManager, source: str) -> None:
    gina = AltIdUser("7", "gina")
    seen: list[str] = []
    login_manager.id_attribute = "get_auth_id"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        seen.append(user_id)
        return gina if user_id == "alt-7" else None

    @app.route("/login-gina")
    def login_gina() -> str:
        login_user(gina, remember=True)
        return "ok"

    client = app.test_client()
    client.get("/login-gina")

    if source == "cookie":
        client.delete_cookie("session")

    with client.session_transaction() as sess:
        assert sess.get("_user_id") == ("alt-7" if source == "session" else None)

    assert client.get("/").text == "user:7"
    assert seen == ["alt-7"]


class Guest(AnonymousUserMixin):
    name = "guest"


def make_guest() -> Guest:
    return Guest()


@pytest.mark.parametrize("factory", [Guest, make_guest])
def test_custom_anonymous_user(
    app: Flask,
    login_manager: LoginManager,
    client: FlaskClient,
    factory: t.Callable[[], Guest],
) -> None:
    login_manager.anonymous_user = factory

    @app.route("/who")
    def who() -> str:
        name = getattr(current_user, "name", "?")
        return f"{type(current_user._get_current_object()).__name__}:{name}"

    assert client.get("/who").text == "Guest:guest"
    client.get("/login/1")
    assert client.get("/who").text == "User:alice"
    client.get("/logout")
    assert client.get("/who").text == "Guest:guest"


@pytest.mark.parametrize("decorated", ["/protected", "/touch"])
def test_login_disabled_flipped_after_setup(
    app: Flask, client: FlaskClient, decorated: str
) -> None:
    assert client.get(decorated).status_code == 401

    app.config["LOGIN_DISABLED"] = True
    response = client.get("/protected")
    assert response.status_code == 200
    assert response.text == "secret:None"

    app.config["LOGIN_DISABLED"] = False
    assert client.get(decorated).status_code == 401

    client.get("/login/1")
    app.config["LOGIN_DISABLED"] = True
    # The user is still loaded when checks are off.
    assert client.get("/protected").text == "secret:1"


# Signals


def test_user_accessed_once_per_request(app: Flask, client: FlaskClient) -> None:
    client.get("/login/1")

    with recording(user_accessed) as calls:
        assert client.get("/touch").text == "1:1"
        assert len(calls) == 1
        client.get("/")

    assert calls == [(app, {}), (app, {})]


LOADED_SIGNALS = {
    "cookie": user_loaded_from_cookie,
    "request": user_loaded_from_request,
    "header": user_loaded_from_header,
}


@pytest.mark.parametrize("source", ["session", "cookie", "request", "header"])
def test_loaded_signals(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    kind: Kind,
    source: str,
) -> None:
    def by_request(request: Request) -> User | None:
        return users["4"] if request.headers.get("X-Api-Key") == "k" else None

    def by_header(value: str) -> User | None:
        return users["6"] if value == "Token t" else None

    login_manager.request_loader(loader(kind, by_request))
    login_manager.header_loader(loader(kind, by_header))
    client = app.test_client()
    headers: dict[str, str] = {}
    expected = users["1"]

    if source == "session":
        client.get("/login/1")
    elif source == "cookie":
        client.set_cookie(COOKIE, remember_cookie(app))
    elif source == "request":
        headers = {"X-Api-Key": "k"}
        expected = users["4"]
    else:
        headers = {"Authorization": "Token t"}
        expected = users["6"]

    with contextlib.ExitStack() as stack:
        heard = {
            name: stack.enter_context(recording(signal))
            for name, signal in LOADED_SIGNALS.items()
        }
        response = client.get("/", headers=headers)

    assert response.text == f"user:{expected.id}"

    for name, signal_calls in heard.items():
        if name == source:
            assert signal_calls == [(app, {"user": expected})]
        else:
            assert signal_calls == [], name


# Bad session values


MALFORMED_SESSIONS = [
    pytest.param({"_user_id": 1}, "either", id="user-id-int"),
    pytest.param({"_user_id": 10**30}, "anonymous", id="user-id-huge-int"),
    pytest.param({"_user_id": -1}, "anonymous", id="user-id-negative"),
    pytest.param({"_user_id": 1.5}, "anonymous", id="user-id-float"),
    pytest.param({"_user_id": True}, "anonymous", id="user-id-bool"),
    pytest.param({"_user_id": [1]}, "anonymous", id="user-id-list"),
    pytest.param({"_user_id": ["1"]}, "anonymous", id="user-id-list-of-str"),
    pytest.param({"_user_id": {"id": "1"}}, "anonymous", id="user-id-dict"),
    pytest.param({"_user_id": None}, "anonymous", id="user-id-none"),
    pytest.param({"_user_id": ""}, "anonymous", id="user-id-empty"),
    pytest.param({"_user_id": b"1"}, "either", id="user-id-bytes"),
    pytest.param({"_user_id": "1" * 100_000}, "anonymous", id="user-id-huge-str"),
    pytest.param({"_user_id": "\x00\udcff"}, "anonymous", id="user-id-odd-chars"),
    pytest.param({"_user_id": "1", "_fresh": "yes"}, "user", id="fresh-str"),
    pytest.param({"_user_id": "1", "_fresh": 1}, "user", id="fresh-int"),
    pytest.param({"_user_id": "1", "_fresh": None}, "user", id="fresh-none"),
    pytest.param({"_user_id": "1", "_fresh": [True]}, "user", id="fresh-list"),
    pytest.param({"_user_id": "1", "_fresh": {"a": 1}}, "user", id="fresh-dict"),
    pytest.param({"_fresh": True}, "anonymous", id="fresh-without-user"),
    pytest.param(
        {"_user_id": "1", "_fresh": True, "_fresh_at": "yesterday"},
        "user",
        id="fresh-at-str",
    ),
    pytest.param(
        {"_user_id": "1", "_fresh": True, "_fresh_at": [1]}, "user", id="fresh-at-list"
    ),
    pytest.param(
        {"_user_id": "1", "_fresh": True, "_fresh_at": 1e300},
        "user",
        id="fresh-at-far-future",
    ),
    pytest.param(
        {"_user_id": "1", "_remember_seconds": "forever"},
        "user",
        id="remember-seconds-str",
    ),
    pytest.param({"_user_id": "1", "_token_sig": 12}, "user", id="token-sig-int"),
    pytest.param({"_user_id": "1", "_id": ["x"]}, "user", id="id-list"),
]


@pytest.mark.parametrize(("data", "expected"), MALFORMED_SESSIONS)
def test_malformed_session_values(
    app: Flask, client: FlaskClient, data: dict[str, t.Any], expected: str
) -> None:
    app.config.update(SESSION_PROTECTION=None, SESSIONAUTH_FRESH_LOGIN_MAX_AGE=3600)

    with client.session_transaction() as sess:
        sess.update(data)

    for path in ("/state", "/touch", "/state"):
        response = client.get(path)
        assert response.status_code in (200, 401), path

    authenticated, user_id, fresh = client.get("/state").text.split(":")
    assert fresh in ("True", "False")

    if expected == "anonymous":
        assert (authenticated, user_id, fresh) == ("False", "None", "False")
    elif expected == "user":
        assert (authenticated, user_id) == ("True", "1")
    else:
        assert (authenticated, user_id) in (("True", "1"), ("False", "None"))


@pytest.mark.parametrize("bad_id", [42, None, ["x"], "", "0" * 128])
@pytest.mark.parametrize("mode", ["basic", "strong"])
def test_malformed_session_identifier(
    app: Flask, client: FlaskClient, bad_id: object, mode: str
) -> None:
    app.config["SESSION_PROTECTION"] = mode
    client.get("/login/1")

    with client.session_transaction() as sess:
        sess["_id"] = bad_id

    response = client.get("/state")

    assert response.status_code == 200
    if mode == "basic":
        assert response.text == "True:1:False"
    else:
        assert response.text == "False:None:False"


# The header loader


@pytest.mark.parametrize(
    ("configured", "sent"),
    [
        pytest.param(None, "Authorization", id="default"),
        pytest.param("X-Api-Key", "X-Api-Key", id="custom"),
        pytest.param("X-API-KEY", "x-api-key", id="custom-other-case"),
    ],
)
def test_header_loader_gets_configured_header(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    kind: Kind,
    configured: str | None,
    sent: str,
) -> None:
    seen: list[str] = []

    def by_header(value: str) -> User | None:
        seen.append(value)
        return users["6"] if value == "Token s3cret" else None

    login_manager.header_loader(loader(kind, by_header))

    if configured is not None:
        app.config["AUTH_HEADER_NAME"] = configured

    client = app.test_client()

    assert client.get("/", headers={sent: "Token s3cret"}).text == "user:6"
    assert client.get("/", headers={sent: "Token wrong"}).text == "anonymous"
    assert seen == ["Token s3cret", "Token wrong"]

    if configured is not None:
        # The default header is not read when another one is configured.
        response = client.get("/", headers={"Authorization": "Token s3cret"})
        assert response.text == "anonymous"
        assert seen == ["Token s3cret", "Token wrong"]


# Async loaders inside async views


@pytest.fixture
def async_app(users: dict[str, User]) -> Flask:
    manager = LoginManager()

    @manager.user_loader
    async def load(user_id: str) -> User | None:
        return users.get(user_id)

    app = make_app(manager)

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(users[user_id])
        return "ok"

    @app.route("/guarded", methods=["GET", "OPTIONS"])
    @login_required
    async def guarded() -> str:
        return f"guarded:{current_user.get_id()}"

    @app.route("/bare")
    async def bare() -> str:
        return f"bare:{current_user.get_id()}"

    return app


def test_async_view_with_async_loader(async_app: Flask) -> None:
    client = async_app.test_client()

    assert client.get("/guarded").status_code == 401
    client.get("/login/1")
    assert client.get("/guarded").text == "guarded:1"


@pytest.mark.parametrize("exempt", ["options", "login-disabled"])
def test_async_view_with_async_loader_lets_exempt_requests_read_the_user(
    async_app: Flask, exempt: str
) -> None:
    # The decorator lets these through unchecked, but still loads the user
    # outside the event loop, so the body can read current_user.
    client = async_app.test_client()
    client.get("/login/1")

    if exempt == "options":
        response = client.options("/guarded")
    else:
        async_app.config["LOGIN_DISABLED"] = True
        response = client.get("/guarded")

    assert response.status_code == 200
    assert response.text == "guarded:1"


def test_async_loader_read_inside_event_loop_says_what_to_do(
    async_app: Flask,
) -> None:
    client = async_app.test_client()
    client.get("/login/1")

    with pytest.raises(RuntimeError, match="login_required"):
        client.get("/bare")


# The async check of loaders: cached per loader, it must still follow a
# loader that is replaced, and neither grow without bound nor need a
# hashable loader


def test_a_loader_replaced_by_an_async_one_is_run_as_async(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    client = app.test_client()
    client.get("/login/1")
    assert client.get("/").text == "user:1"
    calls: list[str] = []

    async def load_async(user_id: str) -> User | None:
        calls.append(user_id)
        return users.get(user_id)

    login_manager.user_loader(load_async)
    assert client.get("/").text == "user:1"
    assert calls == ["1"]


def test_a_loader_assigned_as_flask_login_did_is_run_as_it_is(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    """Whether a loader is async is asked when it is registered, through the
    decorator or flask-login's ``_user_callback`` alike.
    """
    client = app.test_client()
    client.get("/login/1")

    async def load_async(user_id: str) -> User | None:
        return users.get(user_id)

    login_manager._user_callback = load_async
    assert login_manager.user_callback is load_async
    assert login_manager.loaders.user is not None
    assert login_manager.loaders.user.is_async
    assert client.get("/").text == "user:1"

    login_manager._user_callback = lambda user_id: users.get(user_id)
    assert login_manager.loaders.user is not None
    assert not login_manager.loaders.user.is_async
    assert client.get("/").text == "user:1"


def test_an_unhashable_loader_works(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    class Loader:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, user_id: str) -> User | None:
            return users.get(user_id)

    login_manager.user_loader(t.cast("t.Callable[[str], User | None]", Loader()))
    client = app.test_client()
    client.get("/login/1")
    assert client.get("/").text == "user:1"


# User ids of other types


class IntUser(UserMixin):
    def __init__(self, id: int | uuid.UUID) -> None:
        self.id = id

    def get_id(self) -> t.Any:
        return self.id


@pytest.mark.parametrize("user_id", [5, uuid.UUID(int=5)], ids=["int", "uuid"])
def test_non_str_ids_reach_the_loader_unchanged(user_id: int | uuid.UUID) -> None:
    # flask-login stored what get_id() returned and handed it back as it was.
    seen: list[object] = []
    manager = LoginManager()

    @manager.user_loader
    def load(value: t.Any) -> IntUser | None:
        seen.append(value)
        return IntUser(value) if value == user_id else None

    app = make_app(manager)

    @app.route("/login")
    def login() -> str:
        login_user(IntUser(user_id))
        return "ok"

    @app.route("/rebind")
    def rebind() -> str:
        rebind_session()
        return "rebound"

    client = app.test_client()
    client.get("/login")

    assert client.get("/").text == f"user:{user_id}"
    assert seen == [user_id]
    assert client.get("/rebind").text == "rebound"


@pytest.mark.parametrize("value", [[1], {"a": 1}, 1.5, True, b"1"])
def test_other_id_types_are_anonymous(app: Flask, value: object) -> None:
    client = app.test_client()

    with client.session_transaction() as sess:
        sess["_user_id"] = value

    assert client.get("/").text == "anonymous"


# Loaders and anonymous users that flask-login accepted


@dataclasses.dataclass
class Loader:
    users: dict[str, User]

    def __call__(self, user_id: str) -> User | None:
        return self.users.get(user_id)


def test_unhashable_callable_loader(users: dict[str, User]) -> None:
    manager = LoginManager()
    manager.user_loader(Loader(users))
    app = make_app(manager)
    client = app.test_client()

    with client.session_transaction() as sess:
        sess["_user_id"] = "2"

    assert client.get("/").text == "user:2"


def test_an_anonymous_user_of_none_is_loaded_once(app: Flask) -> None:
    # Flask-Security-Too makes anonymous_user return None when anonymous
    # users are disabled; None must count as loaded, not as "not yet".
    manager = app.extensions["sessionauth"]
    manager.anonymous_user = lambda: None
    loads = []
    manager.request_loader(lambda request: loads.append(1))

    with app.test_request_context():
        assert current_user._get_current_object() is None
        assert current_user._get_current_object() is None

    assert loads == [1]
