"""API tokens (issue 17): personal access tokens kept in the login registry,
hashed at rest, scoped, expiring and revocable one by one. A request that
sends one as ``Authorization: Bearer <token>`` is the token's user for that
request alone: nothing reaches the session or a cookie.

The token format is written out here from its description (a prefix, 43
base62 characters of randomness and a 6-character base62 CRC32 of the two),
so that the tests compare the package with the format rather than with
itself. The store is the in-memory one, wrapped so that the tests can count
the calls the extension makes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import typing as t
import zlib
from collections import Counter
from datetime import timedelta
from unittest.mock import ANY

import pytest
from cachelib import FileSystemCache
from flask import Flask
from flask import jsonify
from flask import session
from flask.testing import FlaskClient
from flask_session import Session
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from flask_sessionauth import AnonymousUserMixin
from flask_sessionauth import api_view
from flask_sessionauth import current_token
from flask_sessionauth import current_user
from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_fresh
from flask_sessionauth import login_required
from flask_sessionauth import LoginManager
from flask_sessionauth import LoginRecord
from flask_sessionauth import MemoryLoginStore
from flask_sessionauth import registry
from flask_sessionauth import scope_required
from flask_sessionauth import session_ended
from flask_sessionauth import StoreUnavailable
from flask_sessionauth import token_issued
from flask_sessionauth import token_used
from flask_sessionauth import UnknownRealmError
from helpers import Clock
from helpers import cookie_value
from helpers import make_app
from helpers import recording
from helpers import session_data
from helpers import TokenUser
from helpers import User

if t.TYPE_CHECKING:
    from pathlib import Path

    from flask.typing import ResponseReturnValue

SECRET = "test-secret"
SESSION = "session"
DAY = 24 * 3600
#: The default ``SESSIONAUTH_LAST_SEEN_GRANULARITY``: five minutes.
GRANULARITY = 300
#: The default ``SESSIONAUTH_BASIC_AUTH_REALM``, which the Bearer challenge
#: names too.
REALM = "Login required"
JSON = {"Accept": "application/json"}
LAPTOP = {"REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "Laptop/1.0"}
#: Flask-Session's default prefix of the storage keys.
STORE_PREFIX = "session:"


# The token format, from its description

#: The base62 digits, in the order the package's checksum uses them:
#: digits, then lower-case, then upper-case letters.
BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
RANDOM_LENGTH = 43
CHECKSUM_LENGTH = 6


def base62(number: int, width: int) -> str:
    """``number`` in base62, most significant digit first, zero-padded."""
    digits = []

    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])

    assert number == 0
    return "".join(reversed(digits))


def from_base62(text: str) -> int:
    number = 0

    for char in text:
        number = number * 62 + BASE62.index(char)

    return number


def checksum_of(body: str) -> str:
    """The checksum of a token's prefix and random part: their CRC32, as 6
    base62 digits.
    """
    return base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def forge(prefix: str, random: str) -> str:
    """A well-formed token (its checksum right) that nobody issued."""
    return prefix + random + checksum_of(prefix + random)


def well_formed(value: str, prefix: str = "sat_") -> bool:
    """Whether ``value`` has a token's shape and a right checksum: what can
    be known without asking the store.
    """
    if not re.fullmatch(
        rf"{re.escape(prefix)}[0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}}", value
    ):
        return False

    return checksum_of(value[:-CHECKSUM_LENGTH]) == value[-CHECKSUM_LENGTH:]


def hashed(token: str) -> str:
    """A token's record id, as the spec says: its SHA-256, in URL-safe base64
    without padding.
    """
    digest = hashlib.sha256(token.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# The store, watched


class CountingStore:
    """A :class:`~flask_sessionauth.stores.LoginStore` around a
    :class:`MemoryLoginStore` that counts the calls made to it, by method.
    """

    def __init__(self) -> None:
        self.inner = MemoryLoginStore()
        self.calls: Counter[str] = Counter()

    def get(self, record_id: str, now: float) -> LoginRecord | None:
        self.calls["get"] += 1
        return self.inner.get(record_id, now)

    def add(self, record: LoginRecord) -> bool:
        self.calls["add"] += 1
        return self.inner.add(record)

    def touch(self, record_id: str, last_seen: float, expires_at: float) -> None:
        self.calls["touch"] += 1
        self.inner.touch(record_id, last_seen, expires_at)

    def update(self, record: LoginRecord) -> None:
        self.calls["update"] += 1
        self.inner.update(record)

    def user_records(
        self, realm: str | None, user_id: str, now: float
    ) -> list[LoginRecord]:
        self.calls["user_records"] += 1
        return self.inner.user_records(realm, user_id, now)

    # For the tests, uncounted

    def record(self, record_id: str) -> LoginRecord | None:
        """The stored record, even an expired one not yet cleaned up."""
        return self.inner.get(record_id, 0.0)

    def dump(self) -> str:
        """Everything the store holds, as text."""
        return repr(vars(self.inner))


# The app


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def app(
    token_app: Flask,
    login_manager: LoginManager,
    store: CountingStore,
    users: dict[str, User],
) -> Flask:
    """conftest's app (``/``, ``/login/<id>``, ``/logout``, ``/protected``,
    ``/change-token/<token>``) with the registry on and API views.
    """
    app = token_app
    login_manager.registry = store

    @app.route("/api/me")
    @api_view
    @login_required
    def api_me() -> ResponseReturnValue:
        return jsonify(id=current_user.get_id())

    @app.route("/api/me", methods=["POST"])
    @api_view
    @login_required
    def api_me_post() -> ResponseReturnValue:
        return jsonify(id=current_user.get_id())

    @app.route("/api/deploy")
    @api_view
    @login_required
    @scope_required("deploy")
    def api_deploy() -> ResponseReturnValue:
        return jsonify(deployed=current_user.get_id())

    @app.route("/api/admin")
    @api_view
    @login_required
    @scope_required("deploy", "admin")
    def api_admin() -> ResponseReturnValue:
        return jsonify(admin=current_user.get_id())

    @app.route("/api/async-deploy")
    @api_view
    @login_required
    @scope_required("deploy")
    async def api_async_deploy() -> ResponseReturnValue:
        return jsonify(deployed=current_user.get_id())

    @app.route("/deploy-page")
    @login_required
    @scope_required("deploy")
    def deploy_page() -> str:
        return f"deployed:{current_user.get_id()}"

    @app.route("/api/fresh")
    @api_view
    @fresh_login_required
    def api_fresh() -> ResponseReturnValue:
        return jsonify(id=current_user.get_id(), fresh=login_fresh())

    @app.route("/whoami")
    def whoami() -> ResponseReturnValue:
        user = current_user.get_id() if current_user.is_authenticated else None
        return jsonify(user=user)

    @app.route("/put/<key>/<value>")
    def put(key: str, value: str) -> str:
        session[key] = value
        return "stored"

    @app.route("/revoke-all")
    @login_required
    def revoke_all() -> str:
        user = current_user._get_current_object()
        return str(login_manager.revoke_all_sessions(user))

    return app


def issue(
    app: Flask,
    manager: LoginManager,
    user: User,
    name: str = "ci deploy",
    **kwargs: t.Any,
) -> str:
    """A token issued outside any request, as a CLI command would."""
    with app.app_context():
        return manager.issue_token(user, name, **kwargs)


def tokens_of(app: Flask, manager: LoginManager, user: User) -> list[LoginRecord]:
    with app.app_context():
        return manager.tokens(user)


def revoke(app: Flask, manager: LoginManager, user: User, token_id: str) -> bool:
    with app.app_context():
        return manager.revoke_token(user, token_id)


def me(client: FlaskClient, token: str, path: str = "/api/me") -> TestResponse:
    return client.get(path, headers=bearer(token))


def challenges(response: TestResponse) -> list[str]:
    return response.headers.getlist("WWW-Authenticate")


def assert_invalid_token(response: TestResponse) -> None:
    """An RFC 6750 ``invalid_token`` answer: 401, the challenge and the body."""
    assert response.status_code == 401, (response.status_code, response.text)
    body = response.json
    assert isinstance(body, dict)
    assert body["error"] == "invalid_token"
    assert f'Bearer realm="{REALM}", error="invalid_token"' in challenges(response)


def user_of(client: FlaskClient, **kwargs: t.Any) -> str | None:
    """Who ``/whoami`` says the request is made by (None: nobody)."""
    response = client.get("/whoami", **kwargs)
    assert response.status_code == 200, response.text
    body = response.json
    assert isinstance(body, dict)
    return t.cast("str | None", body["user"])


# Issuing tokens


def test_token_has_the_documented_format(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    issued = [issue(app, login_manager, users["1"], f"t{n}") for n in range(20)]
    assert len(set(issued)) == 20

    for token in issued:
        assert re.fullmatch(r"sat_[0-9A-Za-z]{43}[0-9A-Za-z]{6}", token), token
        assert len(token) == 4 + 43 + 6
        assert token[-6:] == checksum_of(token[:-6])
        assert well_formed(token)
        # The random part holds 256 random bits.
        assert from_base62(token[4:-6]) < 2**256

    # Twenty draws of 256 bits all below 2**250 would be a broken generator.
    assert any(from_base62(token[4:-6]) >= 2**250 for token in issued)


def test_token_is_returned_once_and_only_its_hash_is_stored(
    app: Flask,
    login_manager: LoginManager,
    store: CountingStore,
    users: dict[str, User],
) -> None:
    token = issue(app, login_manager, users["1"])
    assert store.calls["add"] == 1
    (record,) = tokens_of(app, login_manager, users["1"])
    assert record.id == hashed(token) == registry.record_id(token)
    assert store.record(hashed(token)) is not None
    # Neither the token nor its random part is anywhere in the store.
    held = store.dump()
    assert record.id in held
    assert token not in held
    assert token[4:-6] not in held
    assert token[4:] not in held


@pytest.mark.parametrize("prefix", ["myapp_", "x", "A", "ghp_", "Abcdefghijklmnop"])
def test_token_prefix_is_configurable(prefix: str, users: dict[str, User]) -> None:
    manager = LoginManager(registry=MemoryLoginStore())
    manager.user_loader(users.get)
    app = make_app(manager, SESSIONAUTH_TOKEN_PREFIX=prefix)

    @app.route("/api/me")
    @api_view
    @login_required
    def api_me() -> ResponseReturnValue:
        return jsonify(id=current_user.get_id())

    token = issue(app, manager, users["1"])
    assert token.startswith(prefix)
    assert len(token) == len(prefix) + 43 + 6
    # The checksum covers the prefix.
    assert well_formed(token, prefix)
    assert token[-6:] == checksum_of(token[:-6])
    client = app.test_client()
    assert me(client, token).json == {"id": "1"}

    # The same random part under the default prefix, with a right checksum,
    # is another token: unknown.
    other = forge("sat_", token[len(prefix) : -6])
    assert_invalid_token(me(client, other))


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("", id="empty"),
        pytest.param("1abc", id="starts-with-digit"),
        pytest.param("_sat", id="starts-with-underscore"),
        pytest.param("sat-", id="hyphen"),
        pytest.param("sät_", id="non-ascii"),
        pytest.param("sat_\n", id="newline"),
        pytest.param(" sat_", id="space"),
        pytest.param("a" * 17, id="too-long"),
        pytest.param(42, id="int"),
        pytest.param(b"sat_", id="bytes"),
    ],
)
def test_bad_token_prefix_is_refused_at_init_app(prefix: object) -> None:
    with pytest.raises(ValueError, match="SESSIONAUTH_TOKEN_PREFIX"):
        make_app(
            LoginManager(registry=MemoryLoginStore()), SESSIONAUTH_TOKEN_PREFIX=prefix
        )


def test_bad_realm_token_prefix_is_refused_at_init_app() -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        SESSIONAUTH_REALMS={"staff": {"SESSIONAUTH_TOKEN_PREFIX": "staff-"}},
    )

    with pytest.raises(ValueError, match="SESSIONAUTH_TOKEN_PREFIX"):
        LoginManager(realm="staff", registry=MemoryLoginStore()).init_app(app)


def test_tokens_lists_records_never_the_secret(
    app: Flask,
    login_manager: LoginManager,
    store: CountingStore,
    users: dict[str, User],
    clock: Clock,
) -> None:
    start = clock.now

    with app.test_request_context(environ_base=LAPTOP):
        first = login_manager.issue_token(
            users["1"],
            name="ci deploy",
            scopes={"read", "deploy"},
            expires_in=timedelta(days=30),
        )

    clock.advance(10)
    second = issue(app, login_manager, users["1"], "laptop")
    listing = tokens_of(app, login_manager, users["1"])

    # Newest first.
    assert [record.name for record in listing] == ["laptop", "ci deploy"]
    newest, oldest = listing
    assert oldest == LoginRecord(
        id=hashed(first),
        realm=None,
        user_id="1",
        created_at=start,
        last_seen=start,
        expires_at=start + 30 * DAY,
        ip="10.0.0.1",
        user_agent="Laptop/1.0",
        method="token",
        remember=False,
        token_signature=None,
        ended=None,
        current=False,
        name="ci deploy",
        scopes=frozenset({"read", "deploy"}),
    )
    assert newest.id == hashed(second)
    assert newest.scopes == frozenset()
    assert newest.created_at == newest.last_seen == start + 10
    # No expiry: kept for as long as anyone will care.
    assert newest.expires_at >= start + 10 + 99 * 365 * DAY
    assert newest.ip is None and newest.user_agent is None

    for record in listing:
        assert record.active
        assert first not in repr(record) and second not in repr(record)

    # Nobody else's.
    assert tokens_of(app, login_manager, users["2"]) == []


def test_sessions_do_not_list_tokens(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    client = app.test_client()
    assert client.get("/login/1").text == "ok"
    token = issue(app, login_manager, users["1"])

    with app.test_request_context():
        sessions = login_manager.sessions(users["1"])
        tokens = login_manager.tokens(users["1"])

    assert [record.method for record in sessions] == ["form"]
    assert [record.id for record in tokens] == [hashed(token)]
    assert sessions[0].id != tokens[0].id


def test_revoke_token_ends_one_token(
    app: Flask,
    login_manager: LoginManager,
    store: CountingStore,
    users: dict[str, User],
) -> None:
    client = app.test_client()
    first = issue(app, login_manager, users["1"], "first")
    second = issue(app, login_manager, users["1"], "second")
    bobs = issue(app, login_manager, users["2"], "bob's")
    browser = app.test_client()
    assert browser.get("/login/1").text == "ok"
    session_id = hashed(session_data(browser)["_login_id"])

    assert revoke(app, login_manager, users["1"], hashed(first)) is True
    assert_invalid_token(me(client, first))
    assert me(client, second).json == {"id": "1"}
    assert me(client, bobs).json == {"id": "2"}
    assert [r.name for r in tokens_of(app, login_manager, users["1"])] == ["second"]

    # Once only; nothing else is a token of this user.
    assert revoke(app, login_manager, users["1"], hashed(first)) is False
    assert revoke(app, login_manager, users["1"], hashed("sat_unknown")) is False
    assert revoke(app, login_manager, users["1"], second) is False  # not an id
    assert revoke(app, login_manager, users["1"], hashed(bobs)) is False
    assert revoke(app, login_manager, users["1"], session_id) is False
    assert me(client, second).json == {"id": "1"}
    assert me(client, bobs).json == {"id": "2"}
    assert browser.get("/protected").text == "secret:1"


def test_async_scope_required_runs_async_loaders_off_the_event_loop(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    """An async view under ``scope_required`` alone (nothing loaded the user
    before it), with an async user loader: the loader runs on a worker
    thread, as under ``login_required``, not inside the view's event loop.
    """

    async def load_async(user_id: str) -> User | None:
        return users.get(user_id)

    login_manager.user_loader(load_async)

    @app.route("/api/async-scoped")
    @api_view
    @scope_required("deploy")
    async def async_scoped() -> ResponseReturnValue:
        return jsonify(id=current_user.get_id())

    client = app.test_client()
    deployer = issue(app, login_manager, users["1"], scopes={"deploy"})
    reader = issue(app, login_manager, users["1"], scopes={"read"})
    assert me(client, deployer, "/api/async-scoped").json == {"id": "1"}
    response = me(client, reader, "/api/async-scoped")
    assert response.status_code == 403
    assert response.json is not None
    assert response.json["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"name": ""}, ValueError, id="empty-name"),
        pytest.param({"name": "   "}, ValueError, id="blank-name"),
        pytest.param({"name": "x" * 101}, ValueError, id="long-name"),
        pytest.param({"scopes": "deploy"}, TypeError, id="scopes-string"),
        pytest.param({"scopes": None}, TypeError, id="scopes-none"),
        pytest.param({"scopes": [["deploy"]]}, TypeError, id="scopes-unhashable"),
        pytest.param({"scopes": {3}}, ValueError, id="scope-int"),
        pytest.param({"name": None}, TypeError, id="name-none"),
        pytest.param({"name": 42}, TypeError, id="name-int"),
        pytest.param({"scopes": {"de ploy"}}, ValueError, id="scope-space"),
        pytest.param({"scopes": {'de"ploy'}}, ValueError, id="scope-quote"),
        pytest.param({"scopes": {""}}, ValueError, id="scope-empty"),
        pytest.param({"scopes": {"x" * 65}}, ValueError, id="scope-long"),
        pytest.param({"expires_in": timedelta(0)}, ValueError, id="expires-zero"),
        pytest.param({"expires_in": timedelta(-1)}, ValueError, id="expires-past"),
        pytest.param({"expires_in": 3600}, ValueError, id="expires-int"),
    ],
)
def test_issue_token_refuses_bad_arguments(
    app: Flask,
    login_manager: LoginManager,
    store: CountingStore,
    users: dict[str, User],
    kwargs: dict[str, t.Any],
    error: type[Exception],
) -> None:
    arguments: dict[str, t.Any] = {"name": "ci"} | kwargs

    with app.app_context(), pytest.raises(error, match="For example"):
        login_manager.issue_token(users["1"], **arguments)

    assert store.calls["add"] == 0


def test_registry_methods_refuse_an_anonymous_user(
    app: Flask, login_manager: LoginManager, store: CountingStore
) -> None:
    """An anonymous user has no logins or tokens: ``issue_token`` must not
    record a token for the user id ``"None"``, nor the listings look one up.
    """
    anonymous = AnonymousUserMixin()

    with app.app_context():
        for call in (
            lambda: login_manager.issue_token(anonymous, "ci"),
            lambda: login_manager.tokens(anonymous),
            lambda: login_manager.sessions(anonymous),
            lambda: login_manager.revoke_token(anonymous, "x"),
            lambda: login_manager.revoke_session(anonymous, "x"),
            lambda: login_manager.revoke_all_sessions(anonymous),
        ):
            with pytest.raises(TypeError, match="needs a user with an id"):
                call()

    assert store.calls == {}


@pytest.mark.parametrize(
    ("registry_value", "match"),
    [
        pytest.param(MemoryLoginStore, r"registry=MemoryLoginStore\(", id="class"),
        pytest.param("redis://localhost", "lacks the methods", id="url"),
        pytest.param(object(), "lacks the methods get, add", id="object"),
    ],
)
def test_registry_must_be_a_store_instance(registry_value: object, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        LoginManager(registry=registry_value)  # type: ignore[arg-type]

    manager = LoginManager()
    manager.registry = registry_value  # type: ignore[assignment]

    with pytest.raises(TypeError, match=match):
        make_app(manager)


def test_token_methods_need_a_registry(users: dict[str, User]) -> None:
    manager = LoginManager()
    manager.user_loader(users.get)
    app = make_app(manager)

    with app.app_context():
        with pytest.raises(RuntimeError, match="registry"):
            manager.issue_token(users["1"], "ci")

        with pytest.raises(RuntimeError, match="registry"):
            manager.tokens(users["1"])

        with pytest.raises(RuntimeError, match="registry"):
            manager.revoke_token(users["1"], "x")


# Bearer requests


def test_bearer_request_is_the_loaders_user(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    token = issue(app, login_manager, users["1"])

    with app.test_request_context(headers=bearer(token)):
        assert current_user.is_authenticated
        assert current_user._get_current_object() is users["1"]

    client = app.test_client()
    assert me(client, token).json == {"id": "1"}
    # A login_required view that is not an API view takes it too.
    assert me(client, token, "/protected").text == "secret:1"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive(
    app: Flask, login_manager: LoginManager, users: dict[str, User], scheme: str
) -> None:
    token = issue(app, login_manager, users["1"])
    response = app.test_client().get(
        "/api/me", headers={"Authorization": f"{scheme} {token}"}
    )
    assert response.json == {"id": "1"}


def test_bearer_request_sets_no_cookie_and_writes_no_session(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    token = issue(app, login_manager, users["1"])
    client = app.test_client()

    for path in ("/api/me", "/protected", "/whoami", "/"):
        response = me(client, token, path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers.getlist("Set-Cookie") == [], path

    assert cookie_value(client, SESSION) is None
    assert session_data(client) == {}


def test_bearer_request_leaves_the_clients_session_alone(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    """A client that holds a session (with a cart and bob's login) sends
    alice's token: the request is alice's, and the session is neither read
    for the login nor written.
    """
    token = issue(app, login_manager, users["1"])
    client = app.test_client()
    assert client.get("/put/cart/apples").text == "stored"
    assert client.get("/login/2").text == "ok"
    before = session_data(client)
    cookie = cookie_value(client, SESSION)

    response = me(client, token)
    assert response.json == {"id": "1"}
    assert response.headers.getlist("Set-Cookie") == []
    assert cookie_value(client, SESSION) == cookie
    assert session_data(client) == before
    # Without the header, the client is bob again.
    assert user_of(client) == "2"


def test_token_does_not_log_the_client_in_for_later_requests(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    token = issue(app, login_manager, users["1"])
    client = app.test_client()
    assert me(client, token).json == {"id": "1"}
    assert user_of(client, headers=bearer(token)) == "1"

    assert user_of(client) is None
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "unauthorized"


@pytest.fixture
def session_store(tmp_path: Path) -> FileSystemCache:
    return FileSystemCache(str(tmp_path / "sessions"))


@pytest.fixture
def server_app(app: Flask, session_store: FileSystemCache) -> Flask:
    """``app`` with server-side sessions (Flask-Session), whose cookie is not
    re-sent on every request, so that any write shows.
    """
    app.config.update(
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=session_store,
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    Session(app)
    return app


def stored(store: FileSystemCache, session_id: str) -> dict[str, t.Any] | None:
    data = store.get(STORE_PREFIX + session_id)
    assert data is None or isinstance(data, dict)
    return data


def test_bearer_request_renews_no_server_side_session_id(
    server_app: Flask,
    session_store: FileSystemCache,
    login_manager: LoginManager,
    users: dict[str, User],
) -> None:
    token = issue(server_app, login_manager, users["1"])

    # A client without a session gets none.
    bare = server_app.test_client()
    response = me(bare, token)
    assert response.json == {"id": "1"}
    assert response.headers.getlist("Set-Cookie") == []
    assert cookie_value(bare, SESSION) is None

    # A client with one keeps it as it was: same id, same contents.
    client = server_app.test_client()
    assert client.get("/put/cart/apples").text == "stored"
    assert client.get("/login/2").text == "ok"
    session_id = cookie_value(client, SESSION)
    assert session_id is not None
    before = stored(session_store, session_id)
    assert before is not None and before["_user_id"] == "2"

    for path in ("/api/me", "/protected", "/whoami"):
        response = me(client, token, path)
        assert response.status_code == 200, path
        assert response.headers.getlist("Set-Cookie") == [], path
        assert cookie_value(client, SESSION) == session_id
        assert stored(session_store, session_id) == before

    assert user_of(client) == "2"


def test_a_token_request_is_not_a_fresh_login(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    """A token is no proof that its user just typed a password: a view that
    needs a fresh login refuses it.
    """
    token = issue(app, login_manager, users["1"])
    response = me(app.test_client(), token, "/api/fresh")
    assert response.status_code == 401, response.text

    with app.test_request_context(headers=bearer(token)):
        assert current_user.get_id() == "1"
        assert login_fresh() is False


def test_a_token_request_does_not_borrow_the_sessions_freshness(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    """The client also holds a fresh session login of bob: alice's token
    must not pass a fresh_login_required view on bob's freshness.
    """
    token = issue(app, login_manager, users["1"])
    client = app.test_client()
    assert client.get("/login/2").text == "ok"
    assert client.get("/api/fresh").json == {"id": "2", "fresh": True}
    response = me(client, token, "/api/fresh")
    assert response.status_code == 401, response.text


# scope_required


def test_session_login_passes_every_scope(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/login/1").text == "ok"
    assert client.get("/api/deploy").json == {"deployed": "1"}
    assert client.get("/api/admin").json == {"admin": "1"}
    assert client.get("/deploy-page").text == "deployed:1"
    assert client.get("/api/async-deploy").json == {"deployed": "1"}


def test_token_with_the_scope_passes(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    deploy = issue(app, login_manager, users["1"], scopes={"deploy"})
    everything = issue(app, login_manager, users["1"], scopes={"deploy", "admin", "x"})
    client = app.test_client()
    assert me(client, deploy, "/api/deploy").json == {"deployed": "1"}
    assert me(client, deploy, "/api/async-deploy").json == {"deployed": "1"}
    assert me(client, deploy, "/deploy-page").text == "deployed:1"
    assert me(client, everything, "/api/admin").json == {"admin": "1"}


@pytest.mark.parametrize(
    ("scopes", "path", "needed"),
    [
        pytest.param(set(), "/api/deploy", "deploy", id="no-scopes"),
        pytest.param({"read"}, "/api/deploy", "deploy", id="other-scope"),
        pytest.param({"Deploy"}, "/api/deploy", "deploy", id="case"),
        pytest.param({"deploy"}, "/api/admin", "admin deploy", id="one-of-two"),
        pytest.param(set(), "/api/async-deploy", "deploy", id="async"),
        pytest.param({"read"}, "/deploy-page", "deploy", id="browser-view"),
    ],
)
def test_token_without_the_scope_gets_insufficient_scope(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    scopes: set[str],
    path: str,
    needed: str,
) -> None:
    token = issue(app, login_manager, users["1"], scopes=scopes)
    response = me(app.test_client(), token, path)
    assert response.status_code == 403, response.text
    assert response.json == {
        "error": "insufficient_scope",
        "scope": needed,
        "message": ANY,
    }
    assert challenges(response) == [
        f'Bearer realm="{REALM}", error="insufficient_scope", scope="{needed}"'
    ]


def test_anonymous_request_to_a_scoped_view_must_log_in_first(app: Flask) -> None:
    response = app.test_client().get("/api/deploy")
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "unauthorized"


@pytest.mark.parametrize("scopes", [(), ("",), ("deploy", "")])
def test_scope_required_needs_scopes(scopes: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="scope_required"):
        scope_required(*scopes)


# RFC 6750 errors


def test_api_request_without_credentials_gets_a_bearer_challenge(app: Flask) -> None:
    response = app.test_client().get("/api/me")
    assert response.status_code == 401
    assert response.json == {"error": "unauthorized", "message": ANY}
    # No error code: the request sent no token (RFC 6750, 3.1).
    assert challenges(response) == [f'Bearer realm="{REALM}"']

    # A browser request to a JSON-preferring client is an API request too.
    response = app.test_client().get("/protected", headers=JSON)
    assert response.status_code == 401
    assert challenges(response) == [f'Bearer realm="{REALM}"']


def test_challenge_names_the_configured_realm(app: Flask) -> None:
    app.config["SESSIONAUTH_BASIC_AUTH_REALM"] = 'Shop "API"'
    response = app.test_client().get("/api/me")
    assert challenges(response) == ['Bearer realm="Shop \\"API\\""']


def test_basic_and_bearer_challenges_when_basic_auth_is_on(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    @login_manager.basic_auth_loader
    def check_password(username: str, password: str) -> User | None:
        user = users.get(username)
        return user if user is not None and password == "pw" else None

    client = app.test_client()
    response = client.get("/api/me")
    assert response.status_code == 401
    assert sorted(challenges(response)) == sorted(
        [f'Basic realm="{REALM}"', f'Bearer realm="{REALM}"']
    )

    token = issue(app, login_manager, users["1"])
    response = me(client, "sat_" + "0" * 49)
    assert response.status_code == 401
    assert f'Basic realm="{REALM}"' in challenges(response)
    assert_invalid_token(response)

    # The token still works, and a Basic login (a password) passes scopes.
    assert me(client, token).json == {"id": "1"}
    basic = base64.b64encode(b"2:pw").decode()
    response = app.test_client().get(
        "/api/deploy", headers={"Authorization": f"Basic {basic}"}
    )
    assert response.json == {"deployed": "2"}


@pytest.mark.parametrize("case", ["unknown", "expired", "revoked", "bad-checksum"])
def test_unusable_token_gets_invalid_token(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    clock: Clock,
    case: str,
) -> None:
    token = issue(app, login_manager, users["1"], expires_in=timedelta(hours=1))
    client = app.test_client()
    assert me(client, token).json == {"id": "1"}

    if case == "unknown":
        token = forge("sat_", token[4:-7] + ("a" if token[-7] != "a" else "b"))
    elif case == "expired":
        clock.advance(3600)
    elif case == "revoked":
        assert revoke(app, login_manager, users["1"], hashed(token))
    else:
        token = token[:-1] + ("0" if token[-1] != "0" else "1")

    response = me(client, token)
    assert_invalid_token(response)
    assert response.json == {"error": "invalid_token", "message": ANY}
    assert challenges(response) == [f'Bearer realm="{REALM}", error="invalid_token"']
    assert user_of(client, headers=bearer(token)) is None
    # Even a view that is not an API view answers an API client in JSON.
    assert_invalid_token(me(client, token, "/protected"))


def test_token_lasts_until_its_expiry(
    app: Flask, login_manager: LoginManager, users: dict[str, User], clock: Clock
) -> None:
    token = issue(app, login_manager, users["1"], expires_in=timedelta(days=30))
    client = app.test_client()

    for _ in range(29):
        clock.advance(DAY)
        assert me(client, token).json == {"id": "1"}

    # Using it does not extend it.
    clock.advance(DAY - 1)
    assert me(client, token).json == {"id": "1"}
    clock.advance(1)
    assert_invalid_token(me(client, token))


# Bad input: 401 invalid_token or 400, never a 500, never another user


class Sent(t.NamedTuple):
    """How a test request carries something: its headers, query, form."""

    headers: list[tuple[str, str]]
    query: dict[str, str] | None = None
    form: dict[str, str] | None = None


def bearer_cases(token: str, other: str) -> dict[str, list[tuple[str, str]]]:
    """Authorization headers that say Bearer but hold no one usable token.
    ``token`` is alice's, ``other`` bob's.
    """
    body = token[:-6]
    random = token[4:-6]
    wrong_checksum = token[-6:][::-1] if token[-6:][::-1] != token[-6:] else "000000"
    cases = {
        "empty": "Bearer",
        "empty-space": "Bearer ",
        "empty-spaces": "Bearer     ",
        "empty-lower": "bearer",
        "scheme-twice": f"Bearer Bearer {token}",
        "folded-two": f"Bearer {token}, Bearer {token}",
        "folded-comma": f"Bearer {token},{token}",
        "folded-other": f"Bearer {token}, Bearer {other}",
        "two-values": f"Bearer {token} {token}",
        "tab-inside": f"Bearer {token}\t{token}",
        "one-mb": "Bearer " + "A" * 1_000_000,
        "one-mb-prefixed": "Bearer sat_" + "A" * 1_000_000,
        "one-mb-after-token": f"Bearer {token}" + "A" * 1_000_000,
        "129-chars": "Bearer " + forge("sat_", random + "A" * 76),
        "non-ascii": "Bearer sat_ünïcödé",
        "non-ascii-char": f"Bearer {token[:10]}é{token[11:]}",
        "non-latin1": f"Bearer {token[:10]}€{token[11:]}",
        "fullwidth-digit": f"Bearer {token[:10]}\uff10{token[11:]}",
        "arabic-digit": f"Bearer {token[:10]}\u0663{token[11:]}",
        "nul": f"Bearer {token[:10]}\x00{token[11:]}",
        "surrogate": "Bearer sat_\udc80",
        "emoji": "Bearer \U0001f511",
        "checksum-reversed": f"Bearer {body}{wrong_checksum}",
        "checksum-other": f"Bearer {body}{other[-6:]}",
        "checksum-missing": f"Bearer {body}",
        "checksum-doubled": f"Bearer {token}{token[-6:]}",
        "prefix-only": "Bearer sat_",
        "prefix-case": f"Bearer SAT_{token[4:]}",
        "prefix-other": f"Bearer ghp_{token[4:]}",
        "prefix-missing": f"Bearer {token[4:]}",
        "random-case": f"Bearer sat_{random.swapcase()}{token[-6:]}",
        "truncated": f"Bearer {token[:-1]}",
        "extended": f"Bearer {token}0",
        "forged": "Bearer " + forge("sat_", "0" * 43),
        "forged-like": "Bearer "
        + forge("sat_", random[:-1] + ("0" if random[-1] != "0" else "1")),
    }
    found = {name: [("Authorization", value)] for name, value in cases.items()}
    found["two-headers"] = [("Authorization", f"Bearer {token}")] * 2
    found["two-headers-other"] = [
        ("Authorization", f"Bearer {token}"),
        ("Authorization", f"Bearer {other}"),
    ]
    found["two-headers-empty"] = [
        ("Authorization", f"Bearer {token}"),
        ("Authorization", "Bearer"),
    ]
    return found


BEARER_CASES = list(bearer_cases("sat_" + "a" * 49, "sat_" + "b" * 49))


@pytest.fixture
def alice_and_bob(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> tuple[str, str]:
    return (
        issue(app, login_manager, users["1"], scopes={"deploy"}),
        issue(app, login_manager, users["2"], scopes={"deploy"}),
    )


@pytest.mark.parametrize("case", BEARER_CASES)
def test_bad_bearer_value_is_invalid_token(
    app: Flask,
    store: CountingStore,
    alice_and_bob: tuple[str, str],
    case: str,
) -> None:
    token, other = alice_and_bob
    headers = bearer_cases(token, other)[case]
    client = app.test_client()
    # RFC 6750 would allow a 400 for a malformed request; every case here
    # gets the 401.
    assert_invalid_token(client.get("/api/me", headers=headers))
    assert user_of(client, headers=headers) is None
    assert client.get("/api/deploy", headers=headers).status_code == 401

    # Whatever the client's session holds: bob's login is not used either.
    assert client.get("/login/2").text == "ok"
    assert_invalid_token(client.get("/api/me", headers=headers))
    assert user_of(client, headers=headers) is None
    assert user_of(client) == "2"


@pytest.mark.parametrize(
    "space",
    [
        pytest.param("\x0b", id="vertical-tab"),
        pytest.param("\x0c", id="form-feed"),
        pytest.param("\x1c", id="file-separator"),
        pytest.param("\x1f", id="unit-separator"),
        pytest.param("\x85", id="next-line"),
        pytest.param("\xa0", id="no-break-space"),
    ],
)
def test_token_padded_with_non_http_whitespace_is_refused(
    app: Flask, store: CountingStore, alice_and_bob: tuple[str, str], space: str
) -> None:
    """Only spaces and tabs (HTTP's OWS) may surround the token: any other
    character, even one Python's str.strip() drops, makes the value another
    string than the token, and non-ASCII text is refused without a store
    lookup.
    """
    token, _ = alice_and_bob
    calls = store.calls.copy()

    for value in (space + token, token + space):
        assert_invalid_token(me(app.test_client(), value))

    assert store.calls == calls


def test_spaces_and_tabs_around_the_token_are_allowed(
    app: Flask, alice_and_bob: tuple[str, str]
) -> None:
    token, _ = alice_and_bob

    for value in (f" {token}", f"{token} ", f"\t{token}\t", f"  {token}  "):
        assert me(app.test_client(), value).json == {"id": "1"}, repr(value)


def test_two_authorization_headers_reach_the_app_as_two(
    app: Flask, alice_and_bob: tuple[str, str]
) -> None:
    # The two-headers cases above test what they say.
    token, _ = alice_and_bob

    with app.test_request_context(
        headers=[("Authorization", f"Bearer {token}")] * 2
    ) as context:
        assert context.request.environ["HTTP_AUTHORIZATION"].count(token) == 2
        assert not current_user.is_authenticated


@pytest.mark.parametrize(
    "case",
    [
        "checksum-reversed",
        "checksum-other",
        "checksum-missing",
        "prefix-case",
        "prefix-other",
        "prefix-missing",
        "random-case",
        "truncated",
        "extended",
        "non-ascii-char",
        "one-mb-prefixed",
        "empty",
        "folded-two",
    ],
)
def test_malformed_token_is_refused_without_asking_the_store(
    app: Flask,
    store: CountingStore,
    alice_and_bob: tuple[str, str],
    case: str,
) -> None:
    token, other = alice_and_bob
    headers = bearer_cases(token, other)[case]
    calls = store.calls.copy()
    assert_invalid_token(app.test_client().get("/api/me", headers=headers))
    assert store.calls == calls


def test_well_formed_unknown_token_asks_the_store_once(
    app: Flask, store: CountingStore, alice_and_bob: tuple[str, str]
) -> None:
    token, _ = alice_and_bob
    client = app.test_client()
    calls = store.calls.copy()
    assert me(client, token).json == {"id": "1"}
    assert store.calls - calls == Counter(get=1)

    calls = store.calls.copy()
    assert_invalid_token(me(client, forge("sat_", "z" * 43)))
    assert store.calls - calls == Counter(get=1)


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(Sent([], query={"access_token": "{token}"}), id="query"),
        pytest.param(Sent([], query={"token": "{token}"}), id="query-token"),
        pytest.param(Sent([], form={"access_token": "{token}"}), id="form"),
        pytest.param(Sent([("Authorization", "Token {token}")]), id="scheme-token"),
        pytest.param(Sent([("Authorization", "{token}")]), id="no-scheme"),
        pytest.param(Sent([("Authorization", "Bearer\t{token}")]), id="tab-separator"),
        pytest.param(Sent([("X-Api-Key", "{token}")]), id="other-header"),
        pytest.param(Sent([("Cookie", "access_token={token}")]), id="cookie"),
        pytest.param(Sent([("Cookie", "session={token}")]), id="session-cookie"),
    ],
)
def test_token_is_only_read_from_a_bearer_header(
    app: Flask, alice_and_bob: tuple[str, str], sent: Sent
) -> None:
    token, _ = alice_and_bob
    headers = [(name, value.format(token=token)) for name, value in sent.headers]
    query = None if sent.query is None else {k: token for k in sent.query}
    form = None if sent.form is None else {k: token for k in sent.form}
    client = app.test_client()

    if form is not None:
        response = client.post("/api/me", data=form, headers=headers)
    else:
        response = client.get("/api/me", query_string=query, headers=headers)

    assert response.status_code == 401, response.text
    assert response.json is not None and response.json["error"] == "unauthorized"
    assert user_of(client, query_string=query, headers=headers) is None


def test_json_body_token_is_never_read(
    app: Flask, alice_and_bob: tuple[str, str]
) -> None:
    token, _ = alice_and_bob
    response = app.test_client().post(
        "/api/me", json={"access_token": token, "token": token}
    )
    assert response.status_code == 401


def test_token_of_a_deleted_user_is_invalid(
    app: Flask,
    users: dict[str, User],
    alice_and_bob: tuple[str, str],
) -> None:
    token, _ = alice_and_bob
    del users["1"]
    client = app.test_client()
    assert_invalid_token(me(client, token))
    assert user_of(client, headers=bearer(token)) is None


def test_token_of_an_inactive_user_is_invalid_for_good(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    alice_and_bob: tuple[str, str],
) -> None:
    token, others = alice_and_bob
    users["1"].active = False
    client = app.test_client()

    with recording(session_ended) as ended:
        assert_invalid_token(me(client, token))

    assert [kwargs["reason"] for _, kwargs in ended] == ["revoked"]
    assert ended[0][1]["record"].id == hashed(token)
    assert user_of(client, headers=bearer(token)) is None

    # Reactivated, the user has no token left: it ended with the account.
    users["1"].active = True
    assert_invalid_token(me(client, token))
    assert tokens_of(app, login_manager, users["1"]) == []
    # Bob's is untouched.
    assert me(client, others).json == {"id": "2"}


def test_bad_input_with_an_expired_token(
    app: Flask, login_manager: LoginManager, users: dict[str, User], clock: Clock
) -> None:
    token = issue(app, login_manager, users["1"], expires_in=timedelta(seconds=1))
    clock.advance(1)
    client = app.test_client()
    assert client.get("/login/2").text == "ok"
    assert_invalid_token(me(client, token))
    assert user_of(client, headers=bearer(token)) is None
    assert user_of(client) == "2"


# Realms: each has its own tokens

CUSTOMER_TOKEN_PREFIX = "sat_"


@pytest.fixture
def customers() -> dict[str, User]:
    return {"1": TokenUser("1", "alice", token="alice-token")}


@pytest.fixture
def staff_members() -> dict[str, User]:
    # The same id as alice on purpose: a token that leaked into the other
    # realm would show as the wrong person.
    return {"1": TokenUser("1", "sam", token="sam-token")}


@pytest.fixture(
    params=[
        pytest.param(("shared", "sat_"), id="shared-store-same-prefix"),
        pytest.param(("separate", "sat_"), id="separate-stores-same-prefix"),
        pytest.param(("shared", "staff_"), id="shared-store-own-prefix"),
    ]
)
def realm_app(
    request: pytest.FixtureRequest,
    customers: dict[str, User],
    staff_members: dict[str, User],
    clock: Clock,
) -> tuple[Flask, LoginManager, LoginManager]:
    stores, staff_prefix = request.param
    shop_store = MemoryLoginStore()
    staff_store = shop_store if stores == "shared" else MemoryLoginStore()
    shop = LoginManager(registry=shop_store)
    staff = LoginManager(realm="staff", registry=staff_store)

    for manager, table in ((shop, customers), (staff, staff_members)):
        manager.clock = clock
        manager.user_loader(table.get)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        TESTING=True,
        SESSIONAUTH_REALMS={
            "staff": {
                "SESSIONAUTH_TOKEN_PREFIX": staff_prefix,
                "SESSIONAUTH_BASIC_AUTH_REALM": "Staff",
            }
        },
    )
    shop.init_app(app)
    staff.init_app(app)

    @app.route("/api/customer")
    @api_view
    @login_required
    def customer_api() -> ResponseReturnValue:
        return jsonify(customer=current_user.name)  # type: ignore[attr-defined]

    @app.route("/api/staff")
    @api_view
    @staff.login_required
    @scope_required("admin", realm="staff")
    def staff_api() -> ResponseReturnValue:
        return jsonify(staff=staff.current_user.name)  # type: ignore[attr-defined]

    @app.route("/both")
    def both() -> ResponseReturnValue:
        def name(user: t.Any) -> str | None:
            return t.cast("str", user.name) if user.is_authenticated else None

        return jsonify(customer=name(current_user), staff=name(staff.current_user))

    return app, shop, staff


def test_each_realm_takes_only_its_own_tokens(
    realm_app: tuple[Flask, LoginManager, LoginManager],
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    app, shop, staff = realm_app
    alice = issue(app, shop, customers["1"], scopes={"admin"})
    sam = issue(app, staff, staff_members["1"], scopes={"admin"})
    assert alice.startswith(CUSTOMER_TOKEN_PREFIX)
    staff_prefix = app.config["SESSIONAUTH_REALMS"]["staff"]["SESSIONAUTH_TOKEN_PREFIX"]
    assert sam.startswith(staff_prefix)
    client = app.test_client()

    assert me(client, alice, "/api/customer").json == {"customer": "alice"}
    assert me(client, sam, "/api/staff").json == {"staff": "sam"}

    # A staff token never authenticates a customer request, and vice versa.
    response = me(client, sam, "/api/customer")
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "invalid_token"
    assert 'error="invalid_token"' in challenges(response)[0]
    response = me(client, alice, "/api/staff")
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "invalid_token"
    assert challenges(response) == ['Bearer realm="Staff", error="invalid_token"']

    assert me(client, alice, "/both").json == {"customer": "alice", "staff": None}
    assert me(client, sam, "/both").json == {"customer": None, "staff": "sam"}

    # Each realm lists and revokes its own.
    with app.app_context():
        assert [r.id for r in shop.tokens(customers["1"])] == [hashed(alice)]
        assert [r.id for r in staff.tokens(staff_members["1"])] == [hashed(sam)]
        assert [r.realm for r in staff.tokens(staff_members["1"])] == ["staff"]
        assert shop.revoke_token(customers["1"], hashed(sam)) is False
        assert staff.revoke_token(staff_members["1"], hashed(alice)) is False
        # Same user id, other realm: ending all of sam's logins leaves alice's.
        assert staff.revoke_all_sessions(staff_members["1"]) == 1

    assert me(client, alice, "/api/customer").json == {"customer": "alice"}
    assert me(client, sam, "/api/staff").status_code == 401


def test_realm_scope_required_checks_the_realms_token(
    realm_app: tuple[Flask, LoginManager, LoginManager],
    staff_members: dict[str, User],
) -> None:
    app, _, staff = realm_app
    token = issue(app, staff, staff_members["1"], scopes={"read"})
    response = me(app.test_client(), token, "/api/staff")
    assert response.status_code == 403
    assert response.json == {
        "error": "insufficient_scope",
        "scope": "admin",
        "message": ANY,
    }
    assert challenges(response) == [
        'Bearer realm="Staff", error="insufficient_scope", scope="admin"'
    ]


def test_scope_required_without_realm_holds_another_realms_token(
    realm_app: tuple[Flask, LoginManager, LoginManager],
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    """``@scope_required`` without ``realm=`` under a realm's
    ``login_required``: the realm's token must still have the scope, and is
    refused by its own realm's handler.
    """
    app, shop, staff = realm_app

    @app.route("/api/staff-deploy")
    @api_view
    @staff.login_required
    @scope_required("deploy")
    def staff_deploy() -> ResponseReturnValue:
        return jsonify(staff=staff.current_user.name)  # type: ignore[attr-defined]

    @app.route("/token-of")
    def token_of() -> ResponseReturnValue:
        record = current_token()
        staff_record = current_token("staff")
        return jsonify(
            id=None if record is None else record.id,
            realm=None if record is None else record.realm,
            same=staff_record == record,
        )

    client = app.test_client()
    bare = issue(app, staff, staff_members["1"])
    response = me(client, bare, "/api/staff-deploy")
    assert response.status_code == 403
    assert response.json is not None
    assert response.json["error"] == "insufficient_scope"
    assert challenges(response) == [
        'Bearer realm="Staff", error="insufficient_scope", scope="deploy"'
    ]

    deployer = issue(app, staff, staff_members["1"], scopes={"deploy"})
    assert me(client, deployer, "/api/staff-deploy").json == {"staff": "sam"}

    # A customer token is no staff login at all, whatever its scopes.
    alice = issue(app, shop, customers["1"], scopes={"deploy"})
    assert me(client, alice, "/api/staff-deploy").status_code == 401

    # current_token() finds the token whichever realm took it.
    assert me(client, bare, "/token-of").json == {
        "id": hashed(bare),
        "realm": "staff",
        "same": True,
    }
    assert me(client, alice, "/token-of").json == {
        "id": hashed(alice),
        "realm": None,
        "same": True,
    }
    assert client.get("/token-of").json == {"id": None, "realm": None, "same": True}


def test_scope_required_names_an_unknown_realm_on_any_request(
    realm_app: tuple[Flask, LoginManager, LoginManager],
) -> None:
    """A misspelt ``realm=`` is an error on the first request, with or
    without a token, not a check that silently never happens."""
    app, _, _ = realm_app

    @app.route("/typo")
    @scope_required("deploy", realm="stafff")
    def typo() -> str:
        return "reached"

    @app.route("/typo-token")
    def typo_token() -> str:
        return str(current_token("stafff"))

    app.config["PROPAGATE_EXCEPTIONS"] = True
    client = app.test_client()

    for path in ("/typo", "/typo-token"):
        with pytest.raises(UnknownRealmError, match="stafff"):
            client.get(path)


def test_realm_token_signals_carry_the_realm(
    realm_app: tuple[Flask, LoginManager, LoginManager],
    staff_members: dict[str, User],
) -> None:
    app, _, staff = realm_app

    with recording(token_issued) as issued:
        token = issue(app, staff, staff_members["1"], scopes={"admin"})

    assert issued == [
        (app, {"user": staff_members["1"], "record": ANY, "realm": "staff"})
    ]

    with recording(token_used) as used:
        assert me(app.test_client(), token, "/api/staff").status_code == 200

    assert used == [
        (app, {"user": staff_members["1"], "record": ANY, "realm": "staff"})
    ]


# Lifecycle


def test_revoke_all_sessions_ends_tokens_too(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    bound = issue(app, login_manager, users["1"], "bound")
    unbound = issue(app, login_manager, users["1"], "unbound", bind=False)
    bobs = issue(app, login_manager, users["2"])
    client = app.test_client()

    with app.app_context():
        assert login_manager.revoke_all_sessions(users["1"]) == 2

    assert_invalid_token(me(client, bound))
    assert_invalid_token(me(client, unbound))
    assert me(client, bobs).json == {"id": "2"}
    assert tokens_of(app, login_manager, users["1"]) == []


def test_revoke_all_sessions_in_a_request_ends_tokens_too(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    token = issue(app, login_manager, users["1"])
    browser = app.test_client()
    assert browser.get("/login/1").text == "ok"
    assert browser.get("/revoke-all").text == "2"
    assert user_of(browser) is None
    assert_invalid_token(me(app.test_client(), token))


def test_new_session_token_ends_bound_tokens(
    app: Flask, login_manager: LoginManager, tina: TokenUser
) -> None:
    """A password change ends the API tokens, unless one was issued with
    ``bind=False``.
    """
    bound = issue(app, login_manager, tina, "bound")
    unbound = issue(app, login_manager, tina, "unbound", bind=False)
    client = app.test_client()
    assert me(client, bound).json == {"id": "7"}
    assert me(client, unbound).json == {"id": "7"}
    records = {r.name: r for r in tokens_of(app, login_manager, tina)}
    assert records["bound"].token_signature is not None
    assert records["unbound"].token_signature is None

    tina.token = "tina-new-password"

    with recording(session_ended) as ended:
        assert_invalid_token(me(client, bound))

    assert [(kwargs["reason"], kwargs["record"].id) for _, kwargs in ended] == [
        ("revoked", hashed(bound))
    ]
    assert me(client, unbound).json == {"id": "7"}
    assert [r.name for r in tokens_of(app, login_manager, tina)] == ["unbound"]

    # The old password back does not bring it back: it has ended.
    tina.token = "tina-token"
    assert_invalid_token(me(client, bound))
    assert me(client, unbound).json == {"id": "7"}


def test_key_rotation_keeps_a_bound_token_used_in_the_window(
    app: Flask, login_manager: LoginManager, tina: TokenUser, clock: Clock
) -> None:
    """``SECRET_KEY`` rotated with the old key in ``SECRET_KEY_FALLBACKS``:
    a bound token used while the old key is a fallback is bound anew with
    the current key, and outlives the old key, used or listed. Binding it
    anew keeps the last-used time that use wrote.
    """
    bound = issue(app, login_manager, tina, "bound")
    client = app.test_client()
    before = tokens_of(app, login_manager, tina)[0].token_signature
    app.config.update(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=[SECRET])
    clock.advance(86400)
    assert me(client, bound).json == {"id": "7"}
    record = tokens_of(app, login_manager, tina)[0]
    assert record.token_signature is not None
    assert record.token_signature != before
    assert record.last_seen == clock.now
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert [r.name for r in tokens_of(app, login_manager, tina)] == ["bound"]
    assert me(client, bound).json == {"id": "7"}

    # A bound token nobody used in the window ends with the old key.
    idle = issue(app, login_manager, tina, "idle")
    app.config.update(SECRET_KEY="newer-secret", SECRET_KEY_FALLBACKS=["new-secret"])
    assert me(client, bound).json == {"id": "7"}
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert_invalid_token(me(client, idle))
    assert me(client, bound).json == {"id": "7"}


def test_new_session_token_ends_bound_tokens_when_listed_first(
    app: Flask, login_manager: LoginManager, tina: TokenUser
) -> None:
    bound = issue(app, login_manager, tina, "bound")
    unbound = issue(app, login_manager, tina, "unbound", bind=False)
    tina.token = "tina-new-password"
    # Listing them ends the bound one on the way.
    assert [r.name for r in tokens_of(app, login_manager, tina)] == ["unbound"]
    tina.token = "tina-token"
    client = app.test_client()
    assert_invalid_token(me(client, bound))
    assert me(client, unbound).json == {"id": "7"}


def test_password_change_in_a_session_ends_bound_tokens(
    app: Flask, login_manager: LoginManager, tina: TokenUser
) -> None:
    bound = issue(app, login_manager, tina, "bound")
    unbound = issue(app, login_manager, tina, "unbound", bind=False)
    browser = app.test_client()
    assert browser.get("/login/7").text == "ok"
    assert browser.get("/change-token/new-password").text == "rebound"
    assert browser.get("/protected").text == "secret:7"
    client = app.test_client()
    assert_invalid_token(me(client, bound))
    assert me(client, unbound).json == {"id": "7"}


def test_user_becoming_inactive_ends_tokens_through_the_session_too(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    token = issue(app, login_manager, users["1"], bind=False)
    browser = app.test_client()
    assert browser.get("/login/1").text == "ok"
    users["1"].active = False
    # The account is disabled: its session's next request ends every login.
    assert user_of(browser) is None
    users["1"].active = True
    assert_invalid_token(me(app.test_client(), token))


def test_last_seen_is_written_once_per_granularity(
    app: Flask,
    login_manager: LoginManager,
    store: CountingStore,
    users: dict[str, User],
    clock: Clock,
) -> None:
    start = clock.now
    token = issue(app, login_manager, users["1"], expires_in=timedelta(days=30))
    client = app.test_client()

    def last_seen() -> float:
        record = store.record(hashed(token))
        assert record is not None
        assert record.expires_at == start + 30 * DAY  # use never extends it
        return record.last_seen

    for _ in range(3):
        assert me(client, token).json == {"id": "1"}

    clock.advance(GRANULARITY - 1)
    assert me(client, token).json == {"id": "1"}
    assert store.calls["touch"] == 0
    assert last_seen() == start

    clock.advance(1)
    assert me(client, token).json == {"id": "1"}
    assert store.calls["touch"] == 1
    assert last_seen() == start + GRANULARITY

    for _ in range(3):
        clock.advance(GRANULARITY / 4)
        assert me(client, token).json == {"id": "1"}

    assert store.calls["touch"] == 1
    clock.advance(GRANULARITY / 4)
    assert me(client, token).json == {"id": "1"}
    assert store.calls["touch"] == 2
    assert last_seen() == start + 2 * GRANULARITY
    (listed,) = tokens_of(app, login_manager, users["1"])
    assert listed.last_seen == start + 2 * GRANULARITY


@pytest.mark.parametrize(
    ("granularity", "touches"),
    [(timedelta(minutes=1), 5), (None, 10), (timedelta(hours=1), 0)],
)
def test_last_seen_granularity_is_configurable(
    app: Flask,
    login_manager: LoginManager,
    store: CountingStore,
    users: dict[str, User],
    clock: Clock,
    granularity: timedelta | None,
    touches: int,
) -> None:
    app.config["SESSIONAUTH_LAST_SEEN_GRANULARITY"] = granularity
    token = issue(app, login_manager, users["1"])
    client = app.test_client()

    for _ in range(10):
        clock.advance(30)
        assert me(client, token).json == {"id": "1"}

    assert store.calls["touch"] == touches


# Signals


def test_token_issued_carries_the_record_never_the_token(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    with recording(token_issued) as issued:
        token = issue(app, login_manager, users["1"], scopes={"deploy"})

    assert issued == [(app, {"user": users["1"], "record": ANY})]
    record = issued[0][1]["record"]
    assert isinstance(record, LoginRecord)
    assert record.id == hashed(token)
    assert record.scopes == frozenset({"deploy"})
    assert token not in repr(issued)
    assert token[4:-6] not in repr(issued)
    assert tokens_of(app, login_manager, users["1"]) == [record]


def test_token_used_is_sent_for_each_use(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    token = issue(app, login_manager, users["1"])
    client = app.test_client()

    with recording(token_used) as used:
        assert me(client, token).json == {"id": "1"}
        assert me(client, token, "/whoami").json == {"user": "1"}
        assert_invalid_token(me(client, forge("sat_", "q" * 43)))
        assert client.get("/whoami").json == {"user": None}

    assert used == [(app, {"user": users["1"], "record": ANY})] * 2
    assert used[0][1]["record"].id == hashed(token)


def test_token_used_is_not_sent_when_nobody_listens(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = issue(app, login_manager, users["1"])
    assert not token_used.receivers
    sent: list[object] = []

    def send(*args: object, **kwargs: object) -> list[t.Any]:
        sent.append((args, kwargs))
        return []

    monkeypatch.setattr(token_used, "send", send)
    assert me(app.test_client(), token).json == {"id": "1"}
    assert sent == []

    # The spy does see a send once someone listens.
    with recording(token_used):
        assert me(app.test_client(), token).json == {"id": "1"}

    assert len(sent) == 1


def test_revoke_token_sends_session_ended(
    app: Flask, login_manager: LoginManager, users: dict[str, User], clock: Clock
) -> None:
    token = issue(app, login_manager, users["1"])
    clock.advance(60)

    with recording(session_ended) as ended:
        assert revoke(app, login_manager, users["1"], hashed(token))

    assert ended == [(app, {"user": users["1"], "record": ANY, "reason": "revoked"})]
    record = ended[0][1]["record"]
    assert record.id == hashed(token)
    assert record.ended == "revoked"
    assert record.method == "token"
    assert token not in repr(ended)


# Random and mutated tokens


def fuzz(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None)


#: What a WSGI server can hand the app as a header value: latin-1 text
#: without line breaks.
HEADER_CHARS = st.characters(max_codepoint=0xFF, exclude_characters="\r\n")
BASE62_CHARS = st.sampled_from(BASE62)
#: Characters that str.strip() or a lenient parser might drop.
SPACES = st.sampled_from([" ", "\t", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0"])
TOKEN_MUTATIONS = (
    "flip",
    "flip-base62",
    "insert",
    "delete",
    "truncate",
    "append",
    "prefix",
    "swap-checksum",
    "fix-checksum",
    "other-checksum",
    "swap-case",
    "pad",
)


@st.composite
def mutated_token(draw: st.DrawFn, token: str, others: list[str]) -> str:
    """``token`` changed one to three times."""
    value = token

    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(TOKEN_MUTATIONS))
        at = draw(st.integers(0, max(len(value) - 1, 0)))

        if kind == "flip":
            value = value[:at] + draw(HEADER_CHARS) + value[at + 1 :]
        elif kind == "flip-base62":
            value = value[:at] + draw(BASE62_CHARS) + value[at + 1 :]
        elif kind == "insert":
            value = value[:at] + draw(st.text(HEADER_CHARS, max_size=3)) + value[at:]
        elif kind == "delete":
            value = value[:at] + value[at + draw(st.integers(1, 3)) :]
        elif kind == "truncate":
            value = value[:at]
        elif kind == "append":
            value += draw(st.text(HEADER_CHARS, max_size=5))
        elif kind == "prefix":
            new = draw(st.sampled_from(["", "sat", "sat__", "SAT_", "ghp_", "sat-"]))
            value = new + value.removeprefix("sat_")
        elif kind == "swap-checksum":
            value = value[:-6] + draw(st.text(BASE62_CHARS, min_size=6, max_size=6))
        elif kind == "fix-checksum":
            # Well formed again: only the store can tell.
            body = value[:-6]
            if body.isascii():
                value = body + checksum_of(body)
        elif kind == "other-checksum":
            value = value[:-6] + draw(st.sampled_from(others))[-6:]
        elif kind == "swap-case":
            value = value[:4] + value[4:].swapcase()
        else:
            value = draw(SPACES) + value + draw(SPACES)

    return value


def test_fuzz_bearer_tokens(
    app: Flask,
    login_manager: LoginManager,
    store: CountingStore,
    users: dict[str, User],
    tina: TokenUser,
    clock: Clock,
) -> None:
    """Random text and mutated tokens as Bearer values: never a server
    error, and a login only for a value that is a valid token (with only
    the spaces HTTP allows around it), as that token's user.
    """
    valid = {
        issue(app, login_manager, users["1"], "alice's"): "1",
        issue(app, login_manager, users["2"], "bob's"): "2",
        issue(app, login_manager, tina, "tina's"): "7",
    }
    revoked = issue(app, login_manager, users["1"], "revoked")
    assert revoke(app, login_manager, users["1"], hashed(revoked))
    expired = issue(app, login_manager, users["2"], "expired", expires_in=timedelta(1))
    clock.advance(DAY)
    inactive = issue(app, login_manager, users["3"], "carol's")
    everything = [*valid, revoked, expired, inactive]
    client = app.test_client(use_cookies=False)
    outcomes: Counter[str] = Counter()

    values = (
        st.sampled_from(everything)
        | st.sampled_from(everything).flatmap(lambda v: mutated_token(v, everything))
        | st.text(HEADER_CHARS, max_size=80)
        | st.text(BASE62_CHARS, min_size=43, max_size=43).map(
            lambda r: forge("sat_", r)
        )
        | st.builds(lambda s: "sat_" + s, st.text(BASE62_CHARS, max_size=60))
    )

    @fuzz(1000)
    @given(values)
    def holds(value: str) -> None:
        gets = store.calls["get"]
        response = client.get("/api/me", headers={"Authorization": f"Bearer {value}"})
        assert response.status_code in (200, 400, 401), (value, response.status_code)
        owner = valid.get(value.strip(" \t"))

        if owner is not None:
            outcomes["user"] += 1
            assert response.status_code == 200, value
            assert response.json == {"id": owner}, value
            return

        outcomes[str(response.status_code)] += 1
        assert response.status_code in (400, 401), value

        if response.status_code == 401:
            body = response.json
            assert isinstance(body, dict)
            assert body["error"] == "invalid_token", value

        if not well_formed(value.strip(" \t")):
            # Refused before the store is asked.
            assert store.calls["get"] == gets, value

    holds()
    assert outcomes.total() >= 1000
    assert outcomes["user"] > 0


# Where tokens and browser logins part ways


def test_revoke_other_sessions_leaves_the_users_tokens(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
) -> None:
    # "Sign out all other devices" ends browser logins, not API tokens.
    @app.route("/sign-out-others")
    def sign_out_others() -> str:
        return str(login_manager.revoke_other_sessions())

    token = issue(app, login_manager, users["1"])
    laptop, phone = app.test_client(), app.test_client()
    laptop.get("/login/1")
    phone.get("/login/1")
    assert laptop.get("/sign-out-others").text == "1"
    assert phone.get("/whoami").json == {"user": None}
    assert me(app.test_client(), token).json == {"id": "1"}


def test_a_token_request_while_the_store_is_down_is_answered_as_an_api_client(
    app: Flask,
    login_manager: LoginManager,
    store: CountingStore,
    users: dict[str, User],
) -> None:
    # Even on a browser page: a Bearer request gets a JSON answer, and
    # nothing is written to a session (no redirect, no flashed message).
    token = issue(app, login_manager, users["1"])

    def down(*args: object) -> t.NoReturn:
        raise StoreUnavailable("the registry is down")

    store.get = down  # type: ignore[method-assign,assignment]
    response = app.test_client().get("/deploy-page", headers=bearer(token))
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["error"] == "registry_unavailable"
    assert response.headers.getlist("Set-Cookie") == []


def test_current_token_names_the_token_of_a_token_request_only(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
) -> None:
    @app.route("/which-token")
    def which_token() -> ResponseReturnValue:
        record = current_token()
        return jsonify(name=None if record is None else record.name)

    token = issue(app, login_manager, users["1"], name="ci")
    client = app.test_client()
    assert client.get("/which-token", headers=bearer(token)).json == {"name": "ci"}
    client.get("/login/1")
    assert client.get("/which-token").json == {"name": None}
    assert app.test_client().get("/which-token").json == {"name": None}
