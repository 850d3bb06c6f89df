"""Serve a WSGI app with gunicorn on the loopback interface, and talk to it.

Shared by ``loadtest.py`` and ``server.py``. Nothing here listens on or
connects to anything but ``127.0.0.1``.

:class:`Gunicorn` starts the server in a process group of its own, so that
stopping it stops the master and every worker, also when the caller fails
halfway. The server binds port 0 and the port the kernel picked is read from
its log, so two runs at once never fight over a port.
"""

from __future__ import annotations

import http.client
import importlib
import importlib.metadata
import importlib.util
import math
import os
import re
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    import types

HOST = "127.0.0.1"

#: Run by ``python -c`` in place of the ``gunicorn`` script, so that the
#: import path can be set before gunicorn loads the app: the directories in
#: ``SERVING_PATH_FRONT`` go in front of ``sys.path`` (to serve a checkout),
#: those in ``SERVING_PATH_BACK`` at its end (to prefer installed packages).
#: It logs where each module named in ``SERVING_REPORT`` comes from, and
#: with ``SERVING_CPUS`` set it pins itself, and so every worker it forks, to
#: those CPUs.
_BOOT = """\
import importlib, os, sys
def _dirs(name):
    return [p for p in os.environ.pop(name, "").split(os.pathsep) if p]
_cpus = os.environ.pop("SERVING_CPUS", "")
if _cpus:
    os.sched_setaffinity(0, {int(c) for c in _cpus.split(",")})
sys.path[:0] = _dirs("SERVING_PATH_FRONT")
sys.path.extend(_dirs("SERVING_PATH_BACK"))
for _name in os.environ.pop("SERVING_REPORT", "").split(","):
    if _name:
        _module = importlib.import_module(_name)
        print("serving: module %s from %s" % (_name, _module.__file__),
              file=sys.stderr, flush=True)
from gunicorn.app.wsgiapp import run
sys.argv = ["gunicorn", *sys.argv[1:]]
run()
"""

_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
_MODULE_FROM = re.compile(r"^serving: module (\S+) from (.+)$", re.MULTILINE)


class ServerFailed(Exception):
    """gunicorn did not start, or stopped on its own."""


def unwind_on_sigterm() -> None:
    """Make SIGTERM (a CI runner's timeout, say) unwind the stack as Ctrl-C
    does, so that ``with Gunicorn(...)`` blocks stop their servers."""

    def terminate(signum: int, frame: types.FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)


def gunicorn_available() -> bool:
    return importlib.util.find_spec("gunicorn") is not None


def gunicorn_version() -> str:
    return importlib.metadata.version("gunicorn")


def _has_setting(flag: str) -> bool:
    """Whether the installed gunicorn has the command-line option ``flag``."""
    config: t.Any = importlib.import_module("gunicorn.config")
    return any(flag in (setting.cli or ()) for setting in config.KNOWN_SETTINGS)


def worker_args(workers: int, threads: int) -> list[str]:
    """Command-line options for ``workers`` processes of ``threads`` threads.

    One thread means gunicorn's default ``sync`` worker, which closes the
    connection after each response; more mean the ``gthread`` worker, which
    keeps connections alive.
    """
    kind = "sync" if threads == 1 else "gthread"
    return ["--workers", str(workers), "--threads", str(threads), "-k", kind]


class Gunicorn:
    """A gunicorn server for the duration of a ``with`` block.

    :param app_spec: What gunicorn loads, such as ``"example_app:create_app()"``.
    :param options: Further gunicorn options (workers, threads, ...).
    :param log_path: Where the server's output goes.
    :param env: Variables added to the server's environment.
    :param path_front: Directories put in front of the server's ``sys.path``.
    :param path_back: Directories appended to the server's ``sys.path``.
    :param report_modules: Modules whose file the server logs at start;
        :attr:`module_files` has them once it runs.
    :param cwd: The server's working directory; gunicorn puts it on
        ``sys.path`` too.
    :param cpus: Pin the master and its workers to these CPUs (Linux).
    """

    def __init__(
        self,
        app_spec: str,
        *,
        options: t.Sequence[str],
        log_path: Path,
        env: t.Mapping[str, str] | None = None,
        path_front: t.Sequence[Path] = (),
        path_back: t.Sequence[Path] = (),
        report_modules: t.Sequence[str] = (),
        cwd: Path,
        startup_timeout: float = 30.0,
        cpus: t.Collection[int] = (),
    ) -> None:
        self.app_spec = app_spec
        self.cpus = sorted(cpus)
        self.options = list(options)
        self.log_path = log_path
        self.env = dict(env or {})
        self.path_front = list(path_front)
        self.path_back = list(path_back)
        self.report_modules = list(report_modules)
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.port = 0
        self.module_files: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        """The gunicorn command line, as a person would type it."""
        return ["gunicorn", *self._arguments()]

    def _arguments(self) -> list[str]:
        arguments = [*self.options, "--bind", f"{HOST}:0", "--graceful-timeout", "5"]
        # gunicorn 24 added a control socket at a fixed path in the home
        # directory; servers running side by side would share it.
        if _has_setting("--no-control-socket"):
            arguments.append("--no-control-socket")
        return [*arguments, self.app_spec]

    def start(self) -> None:
        # A developer's FLASK_* variables (FLASK_DEBUG, say) would reach the
        # app through from_prefixed_env(); only the caller's settings do.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        env = {
            **inherited,
            **self.env,
            "SERVING_PATH_FRONT": os.pathsep.join(map(str, self.path_front)),
            "SERVING_PATH_BACK": os.pathsep.join(map(str, self.path_back)),
            "SERVING_REPORT": ",".join(self.report_modules),
            "SERVING_CPUS": ",".join(map(str, self.cpus)),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, *self._arguments()],
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A process group of its own: stop() signals the master and
                # its workers together, and nothing else.
                start_new_session=True,
            )
        self._wait_for_port()

    def _wait_for_port(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            self.check_running()
            found = _LISTENING.search(self.log())
            if found is not None:
                self.port = int(found.group(1))
                self.module_files = dict(_MODULE_FROM.findall(self.log()))
                return
            time.sleep(0.05)
        raise ServerFailed(
            f"gunicorn did not report its port within {self.startup_timeout:.0f} s."
            f"\n{self.log_tail()}"
        )

    def wait_ready(self, path: str, *, timeout: float | None = None) -> None:
        """Send ``GET path`` until any HTTP answer comes back: the workers
        have loaded the app."""
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        while True:
            self.check_running()
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
                try:
                    connection.request("GET", path)
                    connection.getresponse().read()
                finally:
                    connection.close()
                return
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise ServerFailed(
                        f"no answer on port {self.port} ({exc}).\n{self.log_tail()}"
                    ) from exc
                time.sleep(0.1)

    def check_running(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            code = None if process is None else process.returncode
            raise ServerFailed(f"gunicorn exited (status {code}).\n{self.log_tail()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 25) -> str:
        text = self.log().rstrip().splitlines()[-lines:]
        return "gunicorn log (last lines):\n  " + "\n  ".join(text)

    def stop(self) -> None:
        """Stop the master and its workers: SIGTERM, then SIGKILL after 10 s."""
        process = self._process
        if process is None:
            return
        self._process = None
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                # The group is gone; reap the master if it is ours to reap.
                process.poll()
                return
            try:
                process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # The master is gone; make sure no orphaned worker is left.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return

    def __enter__(self) -> Gunicorn:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()


# -- a small HTTP client ---------------------------------------------------------


class Reply(t.NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def set_cookies(self) -> dict[str, str]:
        """``name -> "name=value"`` for each cookie the response sets, as
        sent on the wire, leaving out deletions."""
        pairs: dict[str, str] = {}
        for name, value in self.headers:
            if name.lower() != "set-cookie":
                continue
            pair = value.split(";", 1)[0].strip()
            cookie_name, _, cookie_value = pair.partition("=")
            if cookie_value and cookie_value != '""':
                pairs[cookie_name] = pair
        return pairs

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def fetch(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    *,
    headers: t.Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    """Send one request on ``connection`` and read the whole answer."""
    connection.request(method, path, body=body, headers=dict(headers or {}))
    response = connection.getresponse()
    data = response.read()
    return Reply(response.status, response.getheaders(), data)


def percentile(ordered: t.Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of an already sorted sequence."""
    if not ordered:
        return None
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
