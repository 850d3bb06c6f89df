"""Server-side sessions in a real Redis, through Flask-Session 0.8.

A ``redis-server`` is started for this module on a free loopback port, with
persistence off, in a temporary directory. Without the binary the module is
skipped on a developer's machine and fails in CI (``CI=true``), where a
missing service is an error. ``REDIS_SERVER`` may name the binary to run.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
import typing as t
from datetime import timedelta
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path

import msgspec
import pytest
import redis
from flask import Flask
from flask import session
from flask.testing import FlaskClient
from flask_session import Session

import flask_sessionauth
from flask_sessionauth import user_loaded_from_cookie
from flask_sessionauth.session_login import LOGIN_SESSION_KEYS
from helpers import Clock
from helpers import cookie_value
from helpers import free_port
from helpers import read_lifetime
from helpers import redis_server_binary
from helpers import TokenUser

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.redis

SESSION = "session"
REMEMBER = "remember_token"
#: Flask-Session's default prefix of the Redis keys.
PREFIX = "session:"
#: How long a service may take to start before the test gives up on it.
START_TIMEOUT = 15.0
TESTS_DIR = Path(__file__).resolve().parent


# The Redis server


def stop(process: subprocess.Popen[t.Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)

        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def answers_ping(process: subprocess.Popen[bytes], url: str) -> bool:
    """Wait until the server at ``url`` answers PING; False if it exits or
    does not answer in time.
    """
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    deadline = time.monotonic() + START_TIMEOUT

    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False

            try:
                if client.ping():
                    return True
            except redis.ConnectionError:
                pass

            time.sleep(0.02)
    finally:
        client.close()

    return False


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a private redis-server and yield its URL."""
    binary = redis_server_binary()
    directory = tmp_path_factory.mktemp("redis")
    log = directory / "redis-server.log"

    # Between free_port() closing its socket and redis-server binding the
    # port, another process may take it; then the server exits, and we retry.
    for _ in range(3):
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        command = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ]

        with log.open("ab") as output:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=directory,
            )

        if answers_ping(process, url):
            break

        stop(process)
    else:
        pytest.fail(f"redis-server did not start:\n{log.read_text()}", pytrace=False)

    try:
        yield url
    finally:
        stop(process)


@pytest.fixture
def store(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the test server, which starts each test empty."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()

    try:
        yield client
    finally:
        client.close()


def stored(store: redis.Redis, session_id: str) -> dict[str, t.Any] | None:
    """The session Flask-Session keeps under ``session_id``, or None."""
    raw = store.get(PREFIX + session_id)

    if raw is None:
        return None

    assert isinstance(raw, bytes)
    # Flask-Session's default serialization format.
    data = msgspec.msgpack.decode(raw)
    assert isinstance(data, dict)
    return data


# The app


@pytest.fixture
def tina_token() -> str:
    return "tina-token-1"


@pytest.fixture
def app(token_app: Flask, store: redis.Redis) -> Flask:
    token_app.config.update(SESSION_TYPE="redis", SESSION_REDIS=store)
    Session(token_app)

    @token_app.route("/put/<key>/<value>")
    def put(key: str, value: str) -> str:
        session[key] = value
        return "stored"

    return token_app


def sid(client: FlaskClient) -> str:
    value = cookie_value(client, SESSION)
    assert value is not None
    return value


# Session lifetime: the store's TTL and the timeouts

IDLE = 1800
GRANULARITY = 180


@pytest.fixture
def timed_app(app: Flask) -> Flask:
    """Both timeouts on; the store keeps a session exactly as long as the idle
    timeout needs, and writes it only when it changes.
    """
    app.config.update(
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(seconds=IDLE),
        SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=timedelta(hours=12),
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=IDLE + GRANULARITY),
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    return app


def test_idle_timeout_on_redis(
    timed_app: Flask, client: FlaskClient, store: redis.Redis, clock: Clock
) -> None:
    client.get("/login/1")
    key = PREFIX + sid(client)
    data = stored(store, sid(client))
    assert data is not None
    assert read_lifetime(data["_lifetime"])[1] == int(clock.now)
    assert IDLE + GRANULARITY - 5 <= store.ttl(key) <= IDLE + GRANULARITY

    # Within the granularity: nothing is written, to Redis or the cookie.
    clock.advance(GRANULARITY - 1)
    store.expire(key, 1000)
    response = client.get("/")
    assert response.text == "user:1"
    assert response.headers.getlist("Set-Cookie") == []
    assert store.ttl(key) <= 1000

    # Past it: the last-seen time is rewritten, and the store keeps the session for
    # another idle timeout plus granularity from now.
    clock.advance(1)
    assert client.get("/").text == "user:1"
    data = stored(store, sid(client))
    assert data is not None
    assert read_lifetime(data["_lifetime"])[1] == int(clock.now)
    assert store.ttl(key) >= IDLE + GRANULARITY - 5

    clock.advance(IDLE + GRANULARITY + 1)
    assert client.get("/").text == "anonymous"
    # Nothing but the login was in it: the session is deleted.
    assert store.get(key) is None
    assert cookie_value(client, SESSION) is None


def test_absolute_lifetime_on_redis_whatever_the_ttl(
    timed_app: Flask, client: FlaskClient, store: redis.Redis, clock: Clock
) -> None:
    """A store that keeps sessions for days does not keep a login past its
    absolute lifetime.
    """
    timed_app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=30)
    client.get("/login/1")
    client.get("/put/cart/apples")

    for _ in range(24):
        clock.advance(IDLE)
        assert client.get("/").text == "user:1"

    clock.advance(1)
    assert client.get("/").text == "anonymous"
    data = stored(store, sid(client))
    assert data is not None
    assert data["cart"] == "apples"
    assert not LOGIN_SESSION_KEYS & data.keys()


def test_a_store_ttl_shorter_than_the_idle_timeout_fails_loudly(
    timed_app: Flask, client: FlaskClient
) -> None:
    # Session(app) ran after init_app here, so the login catches it.
    timed_app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=30)

    with pytest.raises(ValueError, match="PERMANENT_SESSION_LIFETIME"):
        client.get("/login/1")


def test_a_store_ttl_shorter_than_the_idle_timeout_fails_at_init_app(
    store: redis.Redis,
) -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="k",
        SESSION_TYPE="redis",
        SESSION_REDIS=store,
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(hours=1),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=1),
    )
    Session(app)

    with pytest.raises(ValueError, match="timedelta\\(seconds=3960\\)"):
        flask_sessionauth.LoginManager(app)


# Logging in and out


def test_login_keeps_the_session_in_redis(
    client: FlaskClient, store: redis.Redis
) -> None:
    assert client.get("/login/1").text == "ok"

    data = stored(store, sid(client))
    assert data is not None
    assert data["_user_id"] == "1"
    assert data["_fresh"] is True
    assert client.get("/protected").text == "secret:1"


def test_session_lives_in_redis_not_in_the_cookie(
    client: FlaskClient, store: redis.Redis
) -> None:
    client.get("/login/1")
    store.delete(PREFIX + sid(client))
    assert client.get("/").text == "anonymous"
    assert client.get("/protected").status_code == 401


def test_logout_removes_the_login_from_redis(
    client: FlaskClient, store: redis.Redis
) -> None:
    client.get("/put/cart/apples")
    client.get("/login/7?remember=1")
    assert cookie_value(client, REMEMBER) is not None

    assert client.get("/logout").text == "bye"

    data = stored(store, sid(client))
    assert data is not None
    assert set(data) & LOGIN_SESSION_KEYS == set()
    assert data["cart"] == "apples"
    assert cookie_value(client, REMEMBER) is None
    assert client.get("/").text == "anonymous"


def test_logout_clear_session_deletes_the_redis_key(
    app: Flask, client: FlaskClient, store: redis.Redis
) -> None:
    app.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = True
    client.get("/put/cart/apples")
    client.get("/login/1")
    logged_in = sid(client)

    client.get("/logout")

    assert stored(store, logged_in) is None
    assert cookie_value(client, SESSION) is None
    assert client.get("/").text == "anonymous"


# The remember cookie


def test_remember_cookie_restores_into_a_new_redis_session(
    app: Flask, client: FlaskClient, store: redis.Redis
) -> None:
    client.get("/login/7?remember=1")
    first = sid(client)
    client.delete_cookie(SESSION)

    loaded: list[t.Any] = []

    def record(sender: Flask, user: t.Any) -> None:
        loaded.append(user)

    with user_loaded_from_cookie.connected_to(record, app):
        assert client.get("/").text == "user:7"

    assert [user.id for user in loaded] == ["7"]
    restored = sid(client)
    assert restored != first
    data = stored(store, restored)
    assert data is not None
    assert data["_user_id"] == "7"
    assert data["_fresh"] is False
    assert "_token_sig" in data
    # The restored session carries the login from now on.
    client.delete_cookie(REMEMBER)
    assert client.get("/protected").text == "secret:7"


def test_remember_restore_regenerates_a_planted_session_id(
    app: Flask, client: FlaskClient, store: redis.Redis
) -> None:
    client.get("/login/1?remember=1")

    attacker = app.test_client()
    attacker.get("/put/cart/bait")
    planted = sid(attacker)
    client.set_cookie(SESSION, planted)

    assert client.get("/").text == "user:1"

    assert sid(client) != planted
    assert stored(store, planted) is None
    assert attacker.get("/").text == "anonymous"


# Revocation


def test_changed_token_refuses_other_sessions(
    app: Flask, client: FlaskClient, store: redis.Redis
) -> None:
    other = app.test_client()
    assert client.get("/login/7").text == "ok"
    assert other.get("/login/7?remember=1").text == "ok"
    other_sid = sid(other)

    assert client.get("/change-token/tina-token-2").text == "rebound"

    assert client.get("/protected").text == "secret:7"
    # The other browser's session and its remember cookie are both refused.
    assert other.get("/").text == "anonymous"
    assert cookie_value(other, REMEMBER) is None
    # The session held nothing but the login, so Flask-Session deleted it.
    assert cookie_value(other, SESSION) is None
    assert store.exists(PREFIX + other_sid) == 0
    assert other.get("/protected").status_code == 401


def test_revoked_session_keeps_the_app_data_in_redis(
    app: Flask, client: FlaskClient, store: redis.Redis
) -> None:
    other = app.test_client()
    other.get("/put/cart/apples")
    other.get("/login/7")
    client.get("/login/7")
    client.get("/change-token/tina-token-2")

    assert other.get("/").text == "anonymous"

    data = stored(store, sid(other))
    assert data is not None
    assert set(data) & LOGIN_SESSION_KEYS == set()
    assert data["cart"] == "apples"


def test_changed_token_refuses_a_remember_cookie(
    app: Flask, client: FlaskClient, tina: TokenUser, store: redis.Redis
) -> None:
    client.get("/login/7?remember=1")
    client.delete_cookie(SESSION)
    tina.token = "changed-elsewhere"

    assert client.get("/").text == "anonymous"
    assert cookie_value(client, REMEMBER) is None


# Session fixation


def test_login_gives_a_new_session_id_and_drops_the_old_key(
    app: Flask, client: FlaskClient, store: redis.Redis
) -> None:
    client.get("/put/cart/apples")
    before = sid(client)
    assert stored(store, before) == {"_permanent": True, "cart": "apples"}

    assert client.get("/login/1").text == "ok"
    after = sid(client)

    assert after != before
    assert store.exists(PREFIX + before) == 0
    data = stored(store, after)
    assert data is not None
    assert data["_user_id"] == "1"
    assert data["cart"] == "apples"

    # Whoever still holds the old id has an empty, anonymous session.
    holder = app.test_client()
    holder.set_cookie(SESSION, before)
    assert holder.get("/").text == "anonymous"
    assert holder.get("/protected").status_code == 401
    assert store.exists(PREFIX + before) == 0


def test_each_login_gets_a_new_session_id(
    client: FlaskClient, store: redis.Redis
) -> None:
    client.get("/login/1")
    first = sid(client)
    client.get("/login/2")
    second = sid(client)

    assert second != first
    assert store.exists(PREFIX + first) == 0
    data = stored(store, second)
    assert data is not None
    assert data["_user_id"] == "2"
    assert client.get("/").text == "user:2"


# Two app processes sharing one Redis


class Server:
    """An app process started from ``redis_app.py``."""

    def __init__(self, redis_url: str, log: Path) -> None:
        package_root = Path(flask_sessionauth.__file__).resolve().parents[1]
        env = dict(os.environ)
        # The child imports the very package the tests import, installed or not.
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(package_root), env.get("PYTHONPATH")])
        )
        self.log = log

        with log.open("ab") as errors:
            self.process = subprocess.Popen(
                [sys.executable, str(TESTS_DIR / "redis_app.py"), redis_url, "k"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=env,
            )

        self.port = self._read_port()

    def _read_port(self) -> int:
        assert self.process.stdout is not None

        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)

            if not selector.select(timeout=START_TIMEOUT):
                self.stop()
                pytest.fail(f"app server did not start:\n{self.log.read_text()}")

        line = self.process.stdout.readline()

        if not line.strip().isdigit():
            self.stop()
            pytest.fail(f"app server did not start:\n{self.log.read_text()}")

        return int(line)

    def get(self, path: str, cookie: str | None = None) -> tuple[str, SimpleCookie]:
        """GET ``path``; return the body and the cookies the response sets."""
        connection = HTTPConnection("127.0.0.1", self.port, timeout=10)

        try:
            headers = {} if cookie is None else {"Cookie": cookie}
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read().decode()
            cookies: SimpleCookie = SimpleCookie()

            for header in response.headers.get_all("Set-Cookie") or ():
                cookies.load(header)

            return body, cookies
        finally:
            connection.close()

    def stop(self) -> None:
        stop(self.process)

        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def servers(
    redis_url: str, store: redis.Redis, tmp_path: Path
) -> Iterator[tuple[Server, Server]]:
    first = Server(redis_url, tmp_path / "a.log")

    try:
        second = Server(redis_url, tmp_path / "b.log")

        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def test_two_processes_share_logins(
    servers: tuple[Server, Server], store: redis.Redis
) -> None:
    a, b = servers
    assert a.process.pid != b.process.pid
    assert a.port != b.port

    body, cookies = a.get("/login/1")
    assert body == f"ok pid:{a.process.pid}"
    session_cookie = f"{SESSION}={cookies[SESSION].value}"
    data = stored(store, cookies[SESSION].value)
    assert data is not None
    assert data["_user_id"] == "1"

    # The other process knows the login through Redis alone.
    body, _ = b.get("/protected", session_cookie)
    assert body == f"secret:1 pid:{b.process.pid}"
    body, _ = a.get("/", session_cookie)
    assert body == f"user:1 pid:{a.process.pid}"

    # Logging out through one process logs out of both.
    body, _ = b.get("/logout", session_cookie)
    assert body == f"bye pid:{b.process.pid}"
    body, _ = a.get("/", session_cookie)
    assert body == f"anonymous pid:{a.process.pid}"
    body, _ = b.get("/", session_cookie)
    assert body == f"anonymous pid:{b.process.pid}"


def test_two_processes_refuse_a_session_id_replaced_at_login(
    servers: tuple[Server, Server], store: redis.Redis
) -> None:
    a, b = servers
    _, cookies = a.get("/login/1")
    first = cookies[SESSION].value

    # A second login through the other process renews the id in Redis...
    body, cookies = b.get("/login/2", f"{SESSION}={first}")
    assert body == f"ok pid:{b.process.pid}"
    second = cookies[SESSION].value
    assert second != first
    assert store.exists(PREFIX + first) == 0

    # ...so the first process, too, finds nothing under the old id.
    body, _ = a.get("/", f"{SESSION}={first}")
    assert body == f"anonymous pid:{a.process.pid}"
    body, _ = a.get("/", f"{SESSION}={second}")
    assert body == f"user:2 pid:{a.process.pid}"
