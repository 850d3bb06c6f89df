"""Fixtures for the browser tests: the example app served by ``flask run`` in a
process of its own (and, for the tests that also call its API with a real
HTTP client, by gunicorn), and headless Chromium driven by Playwright.

The tests use Debian's Chromium (``apt-get install chromium``), started through
the driver that ships inside the ``playwright`` wheel. ``playwright install``
is never needed. When either is missing the tests are skipped, except with
``CI=true``, where they fail: a skip must not hide a missing browser in CI.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
import typing as t
from collections.abc import Callable
from collections.abc import Generator
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

import flask_sessionauth

if t.TYPE_CHECKING:
    from itsdangerous import URLSafeTimedSerializer
    from playwright.sync_api import Browser
    from playwright.sync_api import Page

#: Debian's chromium package puts its launcher here.
CHROMIUM = "/usr/bin/chromium"

#: Without the networking flags Chromium keeps calling Google's services, which
#: a closed network refuses. Playwright adds ``--headless`` and a new, empty
#: ``--user-data-dir`` for every launch itself.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: The name of the session cookie, as Flask sets it.
SESSION_COOKIE = "session"

#: Where a failing test leaves its screenshots, under the project root.
ARTIFACTS_DIR = "test-artifacts"

# How long the server may take to answer its first request, in seconds.
_START_TIMEOUT = 30.0

# The project root holds example_app, which is not installed. It is appended
# to sys.path, not put first, so that flask_sessionauth still comes from the
# installed package under tox. The server runs in a temporary folder, because
# `flask run` would otherwise put the project root first on sys.path.
_LAUNCHER = (
    "import sys; sys.path.append(sys.argv.pop(1)); from flask.cli import main; main()"
)
_ROOT = Path(__file__).resolve().parents[2]

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


def unavailable(message: str) -> t.NoReturn:
    """Skip the test, or fail it when running in CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{message} CI=true, so this is an error, not a skip.", pytrace=False
        )

    pytest.skip(message)


@dataclass
class LiveServer:
    """The example app, running at :attr:`url`."""

    #: ``http://127.0.0.1:<port>``, without a trailing slash.
    url: str
    #: The secret key the app signs its cookies with.
    secret_key: str
    #: The server's output, for the message when it fails to start.
    log: Path
    #: The file the app adds to the real time (``FLASK_TEST_CLOCK_FILE``).
    clock_file: Path
    #: How the server was started: ``flask --app ...`` before its arguments,
    #: its environment and its folder, for :meth:`flask`.
    command: list[str] = field(repr=False)
    env: dict[str, str] = field(repr=False)
    cwd: Path = field(repr=False)
    _serializer: URLSafeTimedSerializer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Flask signs the session cookie with the app's key; an app that only
        # carries the same key reads it back.
        app = Flask(__name__)
        app.secret_key = self.secret_key
        serializer = SecureCookieSessionInterface().get_signing_serializer(app)
        assert serializer is not None
        self._serializer = serializer

    def advance_clock(self, seconds: float) -> None:
        """Move the app's clock forward. Never back: the server is shared by
        every test, and its logins carry times.
        """
        assert seconds >= 0
        offset = float(self.clock_file.read_text() or 0)
        self.clock_file.write_text(f"{offset + seconds}\n")

    def flask(self, *args: str) -> str:
        """Run ``flask --app example_app <args>`` on the server's database and
        instance folder, as its administrator would (``create-staff``, ...),
        and return what it printed.
        """
        result = subprocess.run(
            [*self.command, *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=_START_TIMEOUT,
            check=False,
        )

        if result.returncode != 0:
            raise RuntimeError(
                f"flask {' '.join(args)} exited with status {result.returncode}:"
                f"\n{result.stdout}{result.stderr}"
            )

        return result.stdout

    def session(self, page: Page) -> dict[str, t.Any]:
        """What the Flask session cookie in ``page``'s browser context holds:
        an empty dict if there is no session cookie. A cookie with a bad
        signature raises :exc:`itsdangerous.BadSignature`.
        """
        for cookie in page.context.cookies(self.url):
            if cookie["name"] == SESSION_COOKIE:
                data: dict[str, t.Any] = self._serializer.loads(cookie["value"])
                return data

        return {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    # http.client, not urllib: urllib would send the request to a proxy set in
    # the environment.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)

    try:
        connection.request("GET", "/")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _wait_until_serving(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT

    while not _answers(port):
        if process.poll() is not None:
            raise RuntimeError(
                f"The example app exited with status {process.returncode}"
                f" before serving a request. Its output:\n{log.read_text()}"
            )

        if time.monotonic() > deadline:
            raise RuntimeError(
                f"The example app did not answer on port {port} within"
                f" {_START_TIMEOUT:.0f} seconds. Its output:\n{log.read_text()}"
            )

        time.sleep(0.05)


@dataclass
class _Setup:
    """What every server of the example app is started with: a temporary
    folder for its database and instance folder, a key, a clock file, and
    an environment free of the developer's ``FLASK_*`` settings
    (``FLASK_DEBUG`` would start the reloader).
    """

    folder: Path
    secret_key: str = "browser-tests-secret-key"
    port: int = field(default_factory=_free_port)
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.clock_file.write_text("0\n")
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("FLASK_") and key != "GUNICORN_CMD_ARGS"
        }
        self.env.update(
            FLASK_SECRET_KEY=self.secret_key,
            FLASK_DATABASE=str(self.folder / "example_app.sqlite"),
            FLASK_TEST_CLOCK_FILE=str(self.clock_file),
        )

    @property
    def clock_file(self) -> Path:
        return self.folder / "clock"

    @property
    def factory(self) -> str:
        return (
            f"example_app:create_app(instance_path={str(self.folder / 'instance')!r})"
        )

    @property
    def flask(self) -> list[str]:
        """``flask --app <factory>``, finding example_app in the project root."""
        return [sys.executable, "-c", _LAUNCHER, str(_ROOT), "--app", self.factory]


@contextlib.contextmanager
def _serving(setup: _Setup, command: list[str], name: str) -> Iterator[LiveServer]:
    """Run ``command`` (a server of the example app on ``setup.port``) in a
    process group of its own until the block ends.
    """
    log = setup.folder / f"{name}.log"

    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            cwd=setup.folder,
            env=setup.env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    try:
        _wait_until_serving(process, setup.port, log)
        yield LiveServer(
            url=f"http://127.0.0.1:{setup.port}",
            secret_key=setup.secret_key,
            log=log,
            clock_file=setup.clock_file,
            command=setup.flask,
            env=setup.env,
            cwd=setup.folder,
        )
    finally:
        # The whole group: gunicorn's worker as well as its master.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)

        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

            process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Start ``flask --app example_app run`` on a free port of 127.0.0.1, with
    its database and instance folder in a temporary folder.
    """
    setup = _Setup(tmp_path_factory.mktemp("example_app"))
    command = [
        *setup.flask,
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(setup.port),
        "--no-reload",
        "--no-debugger",
    ]

    with _serving(setup, command, "server") as server:
        yield server


@pytest.fixture(scope="session")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The example app under gunicorn, as in production, on a free port of
    127.0.0.1, with a database and instance folder of its own.

    One worker process with threads: the login registry, where the API
    tokens are kept, is in that process's memory (no ``FLASK_REDIS_URL``),
    so several processes would each know only their own tokens.
    """
    if importlib.util.find_spec("gunicorn") is None:
        unavailable("gunicorn is not installed: pip install -r requirements/tests.txt")

    setup = _Setup(tmp_path_factory.mktemp("example_app_gunicorn"))
    config = setup.folder / "gunicorn.conf.py"
    # A config file rather than flags: gunicorn ignores settings it does not
    # know, so control_socket_disable (gunicorn 25.1+) costs older versions
    # nothing.
    config.write_text(
        f"bind = ['127.0.0.1:{setup.port}']\n"
        "workers = 1\n"
        "worker_class = 'gthread'\n"
        "threads = 4\n"
        "timeout = 30\n"
        "graceful_timeout = 2\n"
        "accesslog = '-'\n"
        "control_socket_disable = True\n"
    )
    # The worker imports the flask_sessionauth the tests import (the
    # installed wheel under tox), then example_app from the project root.
    package_root = Path(flask_sessionauth.__file__).resolve().parents[1]
    setup.env["PYTHONPATH"] = os.pathsep.join([str(package_root), str(_ROOT)])
    command = [sys.executable, "-m", "gunicorn", "--config", str(config), setup.factory]

    with _serving(setup, command, "gunicorn") as server:
        yield server


# Module scope, not session: Playwright's sync API keeps an event loop running
# on the main thread while it is open, and asgiref then refuses to run the
# async loaders of the tests that come after these in the same pytest run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(
            "The browser tests need Playwright: pip install -r requirements/browser.txt"
            " (do not run `playwright install`; the tests use Debian's chromium)."
        )

    if not os.access(CHROMIUM, os.X_OK):
        unavailable(
            f"The browser tests need Chromium at {CHROMIUM}:"
            " apt-get install chromium (Debian's package)."
        )

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep the outcome of the test body where the page fixtures can see it
    # when they are torn down.
    report = yield

    if report.when == "call":
        item.stash[_CALL_REPORT] = report

    return report


def _save_screenshots(request: pytest.FixtureRequest, pages: list[Page]) -> None:
    folder = request.config.rootpath / ARTIFACTS_DIR
    folder.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")

    for number, page in enumerate(pages, start=1):
        if page.is_closed():
            continue

        suffix = "" if number == 1 else f"-{number}"
        path = folder / f"{name}{suffix}.png"

        try:
            page.screenshot(path=path, full_page=True)
        except Exception as exc:
            # A page that crashed must not hide the test's own failure.
            request.node.user_properties.append(("screenshot_error", repr(exc)))
        else:
            request.node.user_properties.append(("screenshot", str(path)))


class OpenPage(t.Protocol):
    """What :func:`new_page` gives a test."""

    def __call__(
        self, server: LiveServer | None = None, *, java_script_enabled: bool = True
    ) -> Page:
        """Open a page in a new browser context whose relative URLs go to
        ``server`` (by default :func:`live_server`).
        """
        ...


@pytest.fixture
def new_page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[OpenPage]:
    """Open a page in a new browser context: a browser of its own, with its own
    cookies, whose relative URLs go to the live server (or to the server the
    test names). When the test fails, every page it opened is saved to
    ``test-artifacts/<test name>[-N].png``.
    """
    pages: list[Page] = []

    def open_page(
        server: LiveServer | None = None, *, java_script_enabled: bool = True
    ) -> Page:
        context = browser.new_context(
            base_url=(server or live_server).url,
            java_script_enabled=java_script_enabled,
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        pages.append(page)
        return page

    yield open_page

    report = request.node.stash.get(_CALL_REPORT, None)

    if report is not None and report.failed:
        _save_screenshots(request, pages)

    for page in pages:
        page.context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    """A page in a browser context of its own."""
    return new_page()
