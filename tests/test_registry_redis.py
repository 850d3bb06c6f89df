"""The login registry on a real Redis, as it runs in production: the example
app served by two gunicorn servers (two processes, two ports) that share one
``redis-server`` through :class:`~flask_sessionauth.stores.redis.RedisLoginStore`.

- A device revoked through one server is refused by the other on its very
  next request, and its remember cookie never logs in again, on either.
- A session request makes exactly one Redis round trip, and two when it
  writes the login's last-seen time (counted with ``MONITOR``, and checked
  against ``INFO commandstats``).
- With Redis stopped, a session request is served as anonymous (never a 500),
  an API request gets a 503, and each server logs the outage once; when Redis
  is back, so are the logins.

The ``redis-server`` is started for this module on a free loopback port, with
an append-only file so that a restart keeps the records. Without the binary
the module is skipped, and fails in CI (``CI=true``), as
``tests/test_redis_sessions.py`` does; so does a missing gunicorn.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
import typing as t
import uuid
from dataclasses import dataclass
from dataclasses import field
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis

import flask_sessionauth
from helpers import free_port
from helpers import redis_server_binary
from test_redis_sessions import answers_ping
from test_redis_sessions import stop

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[1]
#: How long a server may take to start.
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0
SECRET_KEY = "registry-redis-test-key"
PASSWORD = "correct horse battery"
SESSION_COOKIE = "session"
REMEMBER_COOKIE = "remember_token"
#: The example app's registry keys start with this (example_app/registry.py).
PREFIX = "example_app:"
#: What the extension logs when the registry goes down, and when it is back.
OUTAGE = "The login registry is unavailable"
RECOVERY = "The login registry is available again."
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
DEVICE_ROW = re.compile(r'<tr class="device( current)?" data-device="([^"]+)">')
#: What a browser that must log in may be answered: Flask's redirect (302 up
#: to Flask 3.1, 303 from 3.2).
REDIRECTS = {302, 303}


# The Redis server, which a test may stop and start again


class RedisServer:
    """A private ``redis-server`` on a free port, with an append-only file in
    ``directory``, so that records outlive :meth:`stop` and :meth:`start`.
    """

    def __init__(self, directory: Path) -> None:
        self.binary = redis_server_binary()
        self.directory = directory
        self.log = directory / "redis-server.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # Between free_port() closing its socket and redis-server binding
        # the port, another process may take it; then try another. A
        # restart keeps its port: the servers' clients know it.
        for _ in range(3):
            port = self.port or free_port()
            command = [
                self.binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.directory),
            ]

            with self.log.open("ab") as output:
                self.process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=self.directory,
                )

            if answers_ping(self.process, f"redis://127.0.0.1:{port}/0"):
                self.port = port
                return

            stop(self.process)

            if self.port:
                break

        pytest.fail(
            f"redis-server did not start:\n{self.log.read_text()}", pytrace=False
        )

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()

    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the module's Redis, which is running when the test starts."""
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()

    client = redis_server.client()

    try:
        yield client
    finally:
        client.close()


# The example app under gunicorn


@dataclass
class Reply:
    status: int
    body: str
    set_cookies: list[str]
    headers: dict[str, str]


class Gunicorn:
    """gunicorn serving the example app with one sync worker, on a loopback
    port the kernel picks, in a process group of its own.
    """

    def __init__(self, name: str, directory: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log = directory / f"gunicorn-{name}.log"
        config = directory / f"gunicorn-{name}.conf.py"
        # A config file rather than flags: gunicorn ignores settings it does
        # not know, so control_socket_disable (gunicorn 25.1+) costs older
        # versions nothing.
        config.write_text(
            "bind = ['127.0.0.1:0']\n"
            "workers = 1\n"
            "worker_class = 'sync'\n"
            "timeout = 30\n"
            "graceful_timeout = 2\n"
            "keepalive = 0\n"
            "loglevel = 'info'\n"
            "control_socket_disable = True\n"
            # The extension's log lines, INFO ones included, go to gunicorn's
            # error log (stderr): into the log file, each line once.
            "logconfig_dict = {'root': {'level': 'WARNING', 'handlers': []},"
            " 'loggers': {'flask_sessionauth': {'level': 'INFO',"
            " 'handlers': ['error_console'], 'propagate': False}}}\n"
        )
        # The worker imports the flask_sessionauth the tests import (the
        # installed wheel under tox), and then example_app from the project
        # root. A developer's FLASK_* variables stay out.
        package_root = Path(flask_sessionauth.__file__).resolve().parents[1]
        server_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("FLASK_") and key != "GUNICORN_CMD_ARGS"
        }
        server_env["PYTHONPATH"] = os.pathsep.join([str(package_root), str(ROOT)])
        server_env.update(env)
        factory = (
            f"example_app:create_app(instance_path={str(directory / 'instance')!r})"
        )

        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", str(config), factory],
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=server_env,
                start_new_session=True,
            )

        try:
            self.port = self._wait_for_port()
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT

        while time.monotonic() < deadline and self.process.poll() is None:
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.output())

            if found:
                return int(found.group(1))

            time.sleep(0.05)

        pytest.fail(f"gunicorn {self.name} did not start:\n{self.output()}")

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT

        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if self.request("GET", "/auth/login", timeout=1.0).status == 200:
                    return
            except OSError:
                pass

            time.sleep(0.05)

        pytest.fail(f"gunicorn {self.name} did not serve the app:\n{self.output()}")

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Reply:
        connection = HTTPConnection("127.0.0.1", self.port, timeout=timeout)

        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
            return Reply(
                response.status,
                text,
                response.headers.get_all("Set-Cookie") or [],
                {key.lower(): value for key, value in response.headers.items()},
            )
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def gunicorn_available() -> None:
    if importlib.util.find_spec("gunicorn") is not None:
        return

    message = "gunicorn is not installed (pip install -r requirements/tests.txt)"

    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true, so this is an error, not a skip")

    pytest.skip(message)


@dataclass
class Site:
    """Two gunicorn servers of the example app on one database, one secret
    key, one clock and one Redis.
    """

    first: Gunicorn
    second: Gunicorn
    clock_file: Path

    def advance_clock(self, seconds: float) -> None:
        """Move both servers' clock forward (``FLASK_TEST_CLOCK_FILE``)."""
        offset = float(self.clock_file.read_text() or 0)
        self.clock_file.write_text(f"{offset + seconds}\n")


def start_site(
    directory: Path, redis_url: str, extra_env: dict[str, str] | None = None
) -> Site:
    gunicorn_available()
    clock_file = directory / "clock"
    clock_file.write_text("0\n")
    env = {
        "FLASK_SECRET_KEY": SECRET_KEY,
        "FLASK_DATABASE": str(directory / "example_app.sqlite"),
        "FLASK_REDIS_URL": redis_url,
        "FLASK_TEST_CLOCK_FILE": str(clock_file),
        **(extra_env or {}),
    }
    first = Gunicorn("one", directory, env)

    try:
        second = Gunicorn("two", directory, env)
    except BaseException:
        first.stop()
        raise

    return Site(first, second, clock_file)


@pytest.fixture(
    scope="module", params=["cookie", "redis"], ids=lambda p: f"{p}-sessions"
)
def site(
    request: pytest.FixtureRequest,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    """The two servers, with Flask's signed-cookie sessions or with the
    sessions in the same Redis (Flask-Session).
    """
    extra = {"FLASK_SESSION_TYPE": "redis"} if request.param == "redis" else {}
    directory = tmp_path_factory.mktemp(f"site-{request.param}")
    site = start_site(directory, redis_server.url, extra)

    try:
        yield site
    finally:
        site.second.stop()
        site.first.stop()


@pytest.fixture
def cookie_site(
    redis_server: RedisServer, tmp_path: Path, store: redis.Redis
) -> Iterator[Site]:
    """Two servers of their own, with signed-cookie sessions, for a test that
    reads their logs or stops Redis."""
    site = start_site(tmp_path, redis_server.url)

    try:
        yield site
    finally:
        site.second.stop()
        site.first.stop()


# A browser, as far as cookies go


@dataclass
class Device:
    """A client with a cookie jar and a User-Agent of its own."""

    user_agent: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        server: Gunicorn,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"User-Agent": self.user_agent, **(headers or {})}

        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())

        body = None

        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"

        reply = server.request(method, path, headers=sent, body=body)

        for header in reply.set_cookies:
            pair, _, attributes = header.partition(";")
            name, _, value = pair.strip().partition("=")
            deleted = re.search(r"(?i)\bmax-age=0\b", attributes) is not None

            if deleted or not value or value == '""':
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

        return reply

    def get(self, server: Gunicorn, path: str, **kwargs: t.Any) -> Reply:
        return self.request(server, "GET", path, **kwargs)

    def submit(
        self, server: Gunicorn, page: str, action: str, form: dict[str, str]
    ) -> Reply:
        """POST ``form`` to ``action`` with the CSRF token of the form on
        ``page``, as a browser that opened ``page`` would."""
        reply = self.get(server, page)
        assert reply.status == 200, (page, reply.status, reply.body[:300])
        found = CSRF_INPUT.search(reply.body)
        assert found is not None, f"no CSRF token on {page}"
        return self.request(
            server, "POST", action, form={"csrf_token": found.group(1), **form}
        )

    def copy(self) -> dict[str, str]:
        return dict(self.cookies)

    def who(self, server: Gunicorn) -> str | None:
        """Who the home page greets, or None for "stranger"."""
        reply = self.get(server, "/")
        assert reply.status == 200, reply.status
        found = re.search(r"<h1>Hello, ([^<]+)</h1>", reply.body)
        assert found is not None, reply.body[:500]
        return None if found.group(1) == "stranger" else found.group(1)


def new_username() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"


def register(server: Gunicorn, username: str) -> None:
    reply = Device("register").submit(
        server,
        "/auth/register",
        "/auth/register",
        {"username": username, "password": PASSWORD, "confirm": PASSWORD},
    )
    assert reply.status in REDIRECTS, reply.body[:500]


def log_in(server: Gunicorn, device: Device, username: str) -> None:
    """Log ``device`` in through the form, with "remember me"."""
    reply = device.submit(
        server,
        "/auth/login",
        "/auth/login",
        {"username": username, "password": PASSWORD, "remember": "y"},
    )
    assert reply.status in REDIRECTS, (reply.status, reply.body[:500])
    assert {SESSION_COOKIE, REMEMBER_COOKIE} <= device.cookies.keys()


def device_ids(server: Gunicorn, device: Device) -> tuple[str, list[str]]:
    """This device's record id and the others', from the devices page."""
    reply = device.get(server, "/devices/")
    assert reply.status == 200, reply.status
    rows = DEVICE_ROW.findall(reply.body)
    (current,) = [record_id for marked, record_id in rows if marked]
    return current, [record_id for marked, record_id in rows if not marked]


def api_me(server: Gunicorn, device: Device) -> Reply:
    return device.get(server, "/api/me", headers={"Accept": "application/json"})


def with_cookies(cookies: dict[str, str], user_agent: str) -> Device:
    """A device that sends exactly ``cookies``."""
    return Device(user_agent, dict(cookies))


# A device revoked through one server is refused by the other


def test_device_revoked_through_one_server_is_refused_by_the_other(
    site: Site, store: redis.Redis
) -> None:
    one, two = site.first, site.second
    assert one.process.pid != two.process.pid
    assert one.port != two.port
    username = new_username()
    register(one, username)
    laptop = Device("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0")
    phone = Device("Mozilla/5.0 (iPhone) Version/17.5 Mobile/15E148 Safari/604.1")
    log_in(one, laptop, username)
    log_in(one, phone, username)
    phone_cookies = phone.copy()
    phone_remember = phone.cookies[REMEMBER_COOKIE]

    # Both servers know both devices: the records are in Redis.
    for server in (one, two):
        assert laptop.who(server) == username
        assert phone.who(server) == username
    laptop_id, others = device_ids(two, laptop)
    (phone_id,) = others
    assert device_ids(one, phone) == (phone_id, [laptop_id])
    assert store.exists(PREFIX + "login:" + phone_id) == 1

    # The laptop signs the phone out through server two.
    reply = laptop.submit(two, "/devices/", "/devices/sign-out", {"device": phone_id})
    assert reply.status in REDIRECTS
    assert store.hget(PREFIX + "login:" + phone_id, "ended") == "revoked"

    # The phone's very next request, to server one, is anonymous, and
    # server one deletes its remember cookie.
    reply = api_me(one, phone)
    assert reply.status == 401, reply.body
    assert REMEMBER_COOKIE not in phone.cookies

    # Its cookies as they were, session and remember cookie together, on
    # either server: anonymous, page after page.
    for server in (two, one, two):
        copy = with_cookies(phone_cookies, phone.user_agent)
        assert copy.who(server) is None
        reply = copy.get(server, "/profile")
        assert reply.status in REDIRECTS
        assert reply.headers["location"].startswith("/auth/login")
        assert (
            api_me(server, with_cookies(phone_cookies, phone.user_agent)).status == 401
        )

    # Its remember cookie alone, as after a browser restart, never logs in
    # again, on either server.
    for server in (one, two, one, two):
        copy = with_cookies({REMEMBER_COOKIE: phone_remember}, phone.user_agent)
        assert copy.who(server) is None
        assert REMEMBER_COOKIE not in copy.cookies
        copy = with_cookies({REMEMBER_COOKIE: phone_remember}, phone.user_agent)
        assert api_me(server, copy).status == 401

    # The laptop stays logged in on both servers, also from its remember
    # cookie alone, and lists one device.
    for server in (one, two):
        assert laptop.who(server) == username
        alone = with_cookies(
            {REMEMBER_COOKIE: laptop.cookies[REMEMBER_COOKIE]}, laptop.user_agent
        )
        assert alone.who(server) == username
    assert device_ids(one, laptop) == (laptop_id, [])


def test_sign_out_all_other_devices_across_servers(
    site: Site, store: redis.Redis
) -> None:
    one, two = site.first, site.second
    username = new_username()
    register(two, username)
    devices = [Device(f"device-{number}/1.0") for number in range(4)]

    for number, device in enumerate(devices):
        log_in(one if number % 2 else two, device, username)

    this, *others = devices
    remembers = [device.cookies[REMEMBER_COOKIE] for device in others]
    reply = this.submit(one, "/devices/", "/devices/sign-out-others", {})
    assert reply.status in REDIRECTS
    assert "Signed out 3 other devices." in this.get(one, "/devices/").body

    for device, remember in zip(others, remembers, strict=True):
        for server in (two, one):
            assert device.who(server) is None
            copy = with_cookies({REMEMBER_COOKIE: remember}, device.user_agent)
            assert copy.who(server) is None

    assert this.who(two) == username
    assert device_ids(two, this)[1] == []


# One round trip per session request


class Tally(t.NamedTuple):
    """What Redis ran for one request."""

    #: The commands the app sent, one per round trip, in order.
    commands: list[str]
    #: The commands Lua scripts ran on the server, inside those.
    in_scripts: int
    #: INFO commandstats: calls of each command, the test's own left out.
    calls: dict[str, int]


#: Commands the test itself sends around the request.
_OWN_COMMANDS = {"info", "monitor", "echo", "client|setinfo", "hello", "ping"}


def command_calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
    }


def redis_work(client: redis.Redis, action: Callable[[], object]) -> Tally:
    """Run ``action`` and return what Redis ran meanwhile: every command a
    client sent (by ``MONITOR``), and the ``INFO commandstats`` deltas."""
    # One connection of the test's own, connected before MONITOR starts, so
    # that what it sends can be told from what the app sends.
    own = redis.Redis(
        connection_pool=client.connection_pool, single_connection_client=True
    )
    own_address = own.client_info()["addr"]
    before = command_calls(own)
    sentinel = f"sentinel-{uuid.uuid4().hex}"
    seen: list[dict[str, t.Any]] = []

    try:
        with client.monitor() as monitor:  # type: ignore[no-untyped-call]
            action()
            # MONITOR streams what ran, in order; this marks the end.
            own.echo(sentinel)

            while True:
                entry = monitor.next_command()
                address = f"{entry['client_address']}:{entry['client_port']}"

                if address == own_address and sentinel in entry["command"]:
                    break

                if address != own_address:
                    seen.append(entry)

        after = command_calls(own)
    finally:
        own.close()

    calls = {
        name: after[name] - before.get(name, 0)
        for name in after
        if after[name] != before.get(name, 0) and name not in _OWN_COMMANDS
    }
    commands = [
        entry["command"].split(" ", 1)[0].upper()
        for entry in seen
        if entry.get("client_type") != "lua"
    ]
    in_scripts = sum(1 for entry in seen if entry.get("client_type") == "lua")
    return Tally(commands, in_scripts, calls)


def test_a_session_request_makes_one_redis_round_trip(
    cookie_site: Site, store: redis.Redis
) -> None:
    one = cookie_site.first
    username = new_username()
    register(one, username)
    device = Device("round-trips/1.0")
    log_in(one, device, username)
    # Warm up: the worker has its Redis connection, and Redis has each
    # script loaded (the first call of a script on a server that does not
    # have it yet also loads it: a one-off extra round trip).
    cookie_site.advance_clock(6 * 60)
    assert api_me(one, device).status == 200
    assert api_me(one, device).status == 200

    # Within the last-seen granularity (5 minutes): one HGETALL, nothing else.
    for _ in range(3):
        tally = redis_work(store, lambda: api_me(one, device))
        assert tally.commands == ["HGETALL"], tally
        assert tally.in_scripts == 0, tally
        assert tally.calls == {"hgetall": 1}, tally

    # A page, rendered with its navigation, costs the same.
    tally = redis_work(store, lambda: device.get(one, "/profile"))
    assert tally.commands == ["HGETALL"], tally
    assert tally.calls == {"hgetall": 1}, tally

    # Past the granularity: the check, and one script that writes the
    # last-seen time (its commands run inside Redis, in the same trip).
    cookie_site.advance_clock(6 * 60)
    tally = redis_work(store, lambda: api_me(one, device))
    assert tally.commands == ["HGETALL", "EVALSHA"], tally
    assert tally.calls["hgetall"] == 1, tally
    assert tally.calls["evalsha"] == 1, tally
    assert sum(tally.calls.values()) == 2 + tally.in_scripts, tally

    # And then one again.
    tally = redis_work(store, lambda: api_me(one, device))
    assert tally.commands == ["HGETALL"], tally
    assert tally.calls == {"hgetall": 1}, tally

    # An anonymous request never asks Redis.
    stranger = Device("stranger/1.0")
    tally = redis_work(store, lambda: stranger.get(one, "/"))
    assert tally.commands == [], tally
    assert tally.calls == {}, tally


# Redis down


def test_redis_down_fails_closed_and_comes_back(
    cookie_site: Site, redis_server: RedisServer, store: redis.Redis
) -> None:
    one, two = cookie_site.first, cookie_site.second
    username = new_username()
    register(one, username)
    device = Device("outage/1.0")
    log_in(one, device, username)
    remember = device.cookies[REMEMBER_COOKIE]
    assert device.who(two) == username
    basic = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()

    redis_server.stop()

    try:
        for server in (one, two):
            for _ in range(3):
                # A session request is anonymous: a page that needs a login
                # sends the browser to the login page, never a 500.
                reply = device.get(server, "/profile")
                assert reply.status in REDIRECTS, (reply.status, reply.body[:300])
                assert reply.headers["location"].startswith("/auth/login")
                assert device.who(server) is None

                # An API request says why, with a 503 JSON answer.
                reply = api_me(server, device)
                assert reply.status == 503, (reply.status, reply.body[:300])
                assert reply.headers["content-type"] == "application/json"
                assert '"error":"registry_unavailable"' in reply.body.replace(" ", "")

                # The remember cookie alone, and Basic credentials: refused
                # too, never a 500.
                alone = with_cookies({REMEMBER_COOKIE: remember}, "outage/1.0")
                assert alone.who(server) is None
                assert api_me(server, alone).status == 503
                reply = server.request(
                    "GET",
                    "/api/me",
                    headers={"Authorization": f"Basic {basic}"},
                )
                assert reply.status == 503, (reply.status, reply.body[:300])

            # A new login cannot be recorded, so it is not made: 503.
            newcomer = Device("newcomer/1.0")
            reply = newcomer.submit(
                server,
                "/auth/login",
                "/auth/login",
                {"username": username, "password": PASSWORD},
            )
            assert reply.status == 503, (reply.status, reply.body[:300])
            assert newcomer.who(server) is None

        # The device kept its cookies: an outage deletes nothing.
        assert device.cookies[REMEMBER_COOKIE] == remember
    finally:
        redis_server.start()

    # Redis is back (its append-only file kept the records): the same
    # session and the same remember cookie log in again, on both servers,
    # and a new login works.
    for server in (one, two):
        assert device.who(server) == username
        assert api_me(server, device).status == 200
        alone = with_cookies({REMEMBER_COOKIE: remember}, "outage/1.0")
        assert alone.who(server) == username
        fresh = Device("after-outage/1.0")
        log_in(server, fresh, username)
        assert fresh.who(server) == username

    # Each server logged the outage once, however many requests it refused,
    # and its end once; and nothing failed with a 500.
    for server in (one, two):
        log = server.output()
        assert log.count(OUTAGE) == 1, log
        assert log.count(RECOVERY) == 1, log
        assert log.index(OUTAGE) < log.index(RECOVERY)
        assert "Traceback" not in log, log
