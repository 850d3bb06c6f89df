"""Review N1: the user of a request belongs to that request.

Up to Flask 3.1, a request that finds an app context of its app already
pushed uses it instead of pushing its own, so requests served inside one
``with app.app_context():`` (in a test) or by a process that pushed a context
at import time share one :data:`flask.g`. A user cached on that ``g`` then
leaks: a client with no cookies becomes whoever was served last, and passes
``login_required``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
import typing as t
from http.client import HTTPConnection
from pathlib import Path

import pytest
from flask import Flask
from flask import redirect

import flask_sessionauth

if t.TYPE_CHECKING:
    from collections.abc import Iterator

TESTS_DIR = Path(__file__).resolve().parent
#: How long gunicorn may take to start listening and to boot its worker.
START_TIMEOUT = 15.0
#: A timeout for each request to the gunicorn worker.
REQUEST_TIMEOUT = 5.0
#: How many times the two clients take turns.
ROUNDS = 5
#: What a browser client that must log in may get: 401, or Flask's redirect.
REFUSED = {401, redirect("/").status_code}


# The test client inside an app context


def test_cookieless_client_does_not_pass_login_required_in_a_shared_app_context(
    app: Flask,
) -> None:
    """Review N1: a client with no cookies, served inside the same
    ``app.app_context()`` right after another client logged in, must not pass
    ``login_required`` as that client's user.
    """
    with app.app_context():
        alice = app.test_client()
        stranger = app.test_client()

        assert alice.get("/login/1").text == "ok"
        response = stranger.get("/protected")

    assert response.status_code in REFUSED, (
        f"a client with no cookies got {response.status_code}"
        f" {response.text!r} from a login_required view right after another"
        " client logged in: the user cached on the shared g leaked into"
        " its request"
    )


def test_cookieless_client_is_anonymous_in_a_shared_app_context(app: Flask) -> None:
    """Review N1: a client with no cookies, served inside the same
    ``app.app_context()`` right after a logged-in client's request, must see
    ``current_user`` as anonymous.
    """
    with app.app_context():
        alice = app.test_client()
        stranger = app.test_client()

        assert alice.get("/login/1").text == "ok"
        assert alice.get("/").text == "user:1"
        seen = stranger.get("/").text
        # And the logged-in client is still its own user afterwards.
        again = alice.get("/").text

    assert seen == "anonymous", (
        f"a client with no cookies was served as {seen!r} right after a"
        " logged-in client's request: the user cached on the shared g leaked"
        " into its request"
    )
    assert again == "user:1"


def test_logged_in_client_is_not_the_previous_clients_anonymous_user(
    app: Flask,
) -> None:
    """Review N1: the other way round, a logged-in client served inside the
    same ``app.app_context()`` right after a request with no cookies must be
    its own user, not the anonymous user cached for that request.
    """
    alice = app.test_client()
    stranger = app.test_client()
    # Logged in before the app context is pushed, so that only the two
    # requests below share a g.
    assert alice.get("/login/1").text == "ok"

    with app.app_context():
        assert stranger.get("/").text == "anonymous"
        seen = alice.get("/").text

    assert seen == "user:1", (
        f"a logged-in client was served as {seen!r} right after a request"
        " with no cookies: that request's anonymous user, cached on the"
        " shared g, leaked into its request"
    )


# A real gunicorn sync worker serving an app that pushed an app context


class Server:
    """gunicorn serving ``tests/shared_g_app.py`` with one sync worker, on a
    loopback port the kernel picks.
    """

    def __init__(self, directory: Path) -> None:
        package_root = Path(flask_sessionauth.__file__).resolve().parents[1]
        env = dict(os.environ)
        # No options from the environment; the worker imports the package the
        # tests import, installed or not, and the app module from tests/.
        env.pop("GUNICORN_CMD_ARGS", None)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(package_root), str(TESTS_DIR), env.get("PYTHONPATH")])
        )
        # gunicorn logs to stderr, where it says which port it bound.
        self.log = directory / "gunicorn.log"
        config = directory / "gunicorn_conf.py"
        # A config file rather than flags: gunicorn ignores settings it does
        # not know, so control_socket_disable (gunicorn 25.1+, whose control
        # socket lives in the home directory) costs older versions nothing.
        config.write_text(
            "bind = ['127.0.0.1:0']\n"
            "workers = 1\n"
            "worker_class = 'sync'\n"
            "timeout = 10\n"
            "graceful_timeout = 2\n"
            "keepalive = 0\n"
            "loglevel = 'info'\n"
            "control_socket_disable = True\n"
        )

        with self.log.open("wb") as errors:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    str(config),
                    "shared_g_app:app",
                ],
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=env,
            )

        try:
            self.port = self._wait_for_port()
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise

    def output(self) -> str:
        """What gunicorn logged."""
        return self.log.read_text(errors="replace")

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT

        while time.monotonic() < deadline:
            if self.log.exists():
                found = re.search(
                    r"Listening at: http://127\.0\.0\.1:(\d+)", self.output()
                )

                if found:
                    return int(found.group(1))

            if self.process.poll() is not None:
                break

            time.sleep(0.05)

        pytest.fail(f"gunicorn did not start listening:\n{self.output()}")

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT

        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break

            try:
                status, body, _ = self.get("/ping", timeout=1.0)
            except OSError:
                time.sleep(0.05)
                continue

            if status == 200 and body == "pong":
                return

        pytest.fail(f"gunicorn's worker did not serve the app:\n{self.output()}")

    def get(
        self, path: str, cookie: str | None = None, timeout: float = REQUEST_TIMEOUT
    ) -> tuple[int, str, list[str]]:
        """GET ``path`` on a new connection, sending ``cookie`` as the
        ``Cookie`` header; return the status, the body and the Set-Cookie
        headers.
        """
        connection = HTTPConnection("127.0.0.1", self.port, timeout=timeout)

        try:
            headers = {} if cookie is None else {"Cookie": cookie}
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read().decode()
            return response.status, body, response.headers.get_all("Set-Cookie") or []
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def gunicorn_server(tmp_path: Path) -> Iterator[Server]:
    if importlib.util.find_spec("gunicorn") is None:
        message = "gunicorn is not installed (pip install -r requirements/tests.txt)"

        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true, so this is an error, not a skip")

        pytest.skip(message)

    server = Server(tmp_path)

    try:
        yield server
    finally:
        server.stop()


def session_cookie(set_cookies: list[str]) -> str:
    """The ``session=...`` pair of the Set-Cookie headers of a login."""
    for header in set_cookies:
        pair = header.split(";", 1)[0].strip()

        if pair.startswith("session=") and pair != "session=":
            return pair

    pytest.fail(f"the login set no session cookie: {set_cookies!r}")


def test_cookieless_client_is_never_the_workers_last_user(
    gunicorn_server: Server,
) -> None:
    """Review N1: under a gunicorn sync worker whose app pushed an app
    context at import time, a client with no cookies, taking turns with a
    logged-in client, is never that client's user and never passes
    ``login_required``.
    """
    server = gunicorn_server
    status, body, set_cookies = server.get("/login")
    assert (status, body) == (200, "ok"), server.output()
    cookie = session_cookie(set_cookies)
    leaks: list[str] = []

    for turn in range(ROUNDS):
        status, body, _ = server.get("/", cookie)
        assert (status, body) == (200, "user:1"), f"turn {turn}: {server.output()}"

        status, body, _ = server.get("/")

        if body != "anonymous":
            leaks.append(f"turn {turn}: GET / without cookies: {status} {body!r}")

        status, body, _ = server.get("/protected", cookie)
        assert (status, body) == (200, "secret:1"), f"turn {turn}: {server.output()}"

        status, body, _ = server.get("/protected")

        if status not in REFUSED:
            leaks.append(
                f"turn {turn}: GET /protected without cookies: {status} {body!r}"
            )

    assert not leaks, (
        "the client with no cookies was served as the worker's last user:\n"
        + "\n".join(leaks)
    )
