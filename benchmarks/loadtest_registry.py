"""Load-test the example app's login registry under gunicorn: many devices at
once, some of them signed out while the load runs, every request answered
for exactly the right user, and never for a device once its sign-out has
returned.

For each configuration (``--configs``) the script

1. creates ``--users`` accounts in a fresh SQLite database, through the
   example app's own model code (as ``loadtest.py`` does);
2. serves the example app with gunicorn on ``127.0.0.1`` with the login
   registry off, in memory or on Redis (``FLASK_LOGIN_REGISTRY``);
3. logs every user in on ``--devices`` devices through the HTML login form,
   "remember me" ticked, keeping each device's session and remember cookies,
   and checks that each works alone;
4. sends ``--requests`` requests to ``GET /api/me`` from ``--concurrency``
   threads, each for a random device with its session cookie or its
   remember cookie alone (``--mix``);
5. meanwhile (registry on) signs ``--revoke`` devices out, evenly spread
   over the run, each through another device of the same user and the
   "Your devices" page's sign-out form (CSRF token included). The load
   runs at most ``REVOKER_LEAD`` requests past a sign-out that is due and
   not yet answered, so every sign-out lands while the load runs;
6. checks every answer. A device's request is *after its revocation* when it
   was sent after the sign-out's answer came back: it must be refused
   (``401``). Any other request must be ``200`` and name the device's user. A
   request sent while the sign-out was in flight may get either.

It counts wrong-user answers, 5xx, requests served for a device after its
revocation had returned, and every other failure, and reports requests per
second for each configuration.

The in-memory registry lives in each gunicorn worker process: with several
workers, a login recorded by one is unknown to the others, which refuse it.
So the ``memory`` configuration runs with one worker (``memory:1``), and an
``off:1`` run beside it gives the one-worker figure to compare it with.

Redis is a ``redis-server`` the script starts on a free loopback port
(persistence off, in a temporary folder), or the one at ``--redis-url``.

Exit status: 0 when every count is zero; 1 when any request was answered for
the wrong user, with a 5xx, for a revoked device, or otherwise wrongly; 2
when the set-up failed; 3 when ``--max-seconds`` ran out first.

Run ``python benchmarks/loadtest_registry.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import collections
import collections.abc as cabc
import concurrent.futures
import contextlib
import dataclasses
import datetime
import http.client
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path
from urllib.parse import urlencode

import loadtest
from inprocess import _positive
from inprocess import machine_info
from loadtest import Account
from loadtest import create_accounts
from loadtest import Credentials
from loadtest import get_me
from loadtest import identity_problem
from loadtest import log_in
from loadtest import make_app
from loadtest import ms
from loadtest import parse_mix
from loadtest import ROOT
from loadtest import SESSION_COOKIE
from loadtest import session_cookie_problem
from loadtest import SetupFailed
from loadtest import USER_AGENT
from serving import fetch
from serving import Gunicorn
from serving import gunicorn_available
from serving import gunicorn_version
from serving import HOST
from serving import ServerFailed
from serving import unwind_on_sigterm
from serving import worker_args

if t.TYPE_CHECKING:
    from itsdangerous import URLSafeTimedSerializer

Method = t.Literal["session", "remember"]
METHODS: tuple[Method, ...] = ("session", "remember")
REGISTRIES = ("off", "memory", "redis")
CSRF_INPUT = re.compile(rb'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
#: How many examples of each kind of failure the report keeps.
EXAMPLES = 10
#: How many requests the load may run past a sign-out that is due but has not
#: been sent yet. The revoker shares the server with the load; without a bound
#: a slow sign-out could fall behind and miss the end of the run.
REVOKER_LEAD = 50


class Config(t.NamedTuple):
    """One configuration to measure: a registry and a number of workers."""

    registry: str
    workers: int

    @property
    def name(self) -> str:
        return f"{self.registry}:{self.workers}"


@dataclasses.dataclass
class Device:
    """One logged-in device: a user's login with its cookies."""

    number: int
    credentials: Credentials
    #: The id of its login record (None with the registry off).
    record_id: str | None
    #: ``time.monotonic()`` when its sign-out's answer came back, or None.
    revoked_at: float | None = None
    #: When its sign-out was sent.
    revoking_since: float | None = None

    @property
    def account(self) -> Account:
        return self.credentials.account


# -- Redis ------------------------------------------------------------------------


class RedisServer:
    """A private ``redis-server`` on a free loopback port, persistence off."""

    def __init__(self, directory: Path) -> None:
        name = os.environ.get("REDIS_SERVER", "redis-server")
        binary = shutil.which(name)
        if binary is None:
            raise SetupFailed(
                f"redis-server not found: {name!r} is not on PATH (REDIS_SERVER"
                " may name the binary, or pass --redis-url)"
            )
        self.binary = binary
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> RedisServer:
        for _ in range(3):
            with socket.socket() as sock:
                sock.bind((HOST, 0))
                port = sock.getsockname()[1]
            log = (self.directory / "redis-server.log").open("ab")
            with log:
                self.process = subprocess.Popen(
                    [
                        self.binary,
                        "--port",
                        str(port),
                        "--bind",
                        HOST,
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(self.directory),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.directory,
                )
            if self._answers(port):
                self.url = f"redis://{HOST}:{port}/0"
                return self
            self._stop()
        raise SetupFailed("redis-server did not start")

    def _answers(self, port: int) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((HOST, port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self._stop()


# -- set-up -----------------------------------------------------------------------


def record_id_of(credentials: Credentials, serializer: URLSafeTimedSerializer) -> str:
    """The id of the login record the device's session cookie carries."""
    from flask_sessionauth.registry import record_id

    data = serializer.loads(credentials.session_cookie.partition("=")[2])
    secret = data.get("_login_id") if isinstance(data, dict) else None
    if not isinstance(secret, str):
        raise SetupFailed(
            f"{credentials.account.username}: the session holds no login record"
        )
    return record_id(secret)


def check_device(port: int, device: Device, timeout: float) -> None:
    """Each of the device's cookies must work alone before the load starts."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        for method in METHODS:
            reply = fetch(
                connection, "GET", "/api/me", headers=device.credentials.headers(method)
            )
            problem = identity_problem(reply.status, reply.body, device.account)
            if problem is not None:
                raise SetupFailed(
                    f"{device.account.username}, device {device.number}: {method}"
                    f" cookie alone: {problem}"
                )
    finally:
        connection.close()


def sign_out(port: int, by: Device, target: Device, timeout: float) -> None:
    """Sign ``target`` out from ``by``'s "Your devices" page, as its user
    would: open the page, take the CSRF token of its form, post it."""
    assert target.record_id is not None
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"User-Agent": USER_AGENT, "Cookie": by.credentials.session_cookie}
        page = fetch(connection, "GET", "/devices/", headers=headers)
        found = CSRF_INPUT.search(page.body)
        if page.status != 200 or found is None:
            raise SetupFailed(f"GET /devices/ answered {page.status} without a form")
        if target.record_id.encode() not in page.body:
            raise SetupFailed(f"/devices/ does not list device {target.number}")
        # The page may have put the CSRF token into a new session cookie.
        cookie = page.set_cookies().get(SESSION_COOKIE, by.credentials.session_cookie)
        form = urlencode(
            {"csrf_token": found.group(1).decode(), "device": target.record_id}
        ).encode()
        target.revoking_since = time.monotonic()
        done = fetch(
            connection,
            "POST",
            "/devices/sign-out",
            headers={
                "User-Agent": USER_AGENT,
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body=form,
        )
        if done.status not in (302, 303):
            raise SetupFailed(f"POST /devices/sign-out answered {done.status}")
        # From now on, no request of the target's may be served.
        target.revoked_at = time.monotonic()
    finally:
        connection.close()


# -- the load ---------------------------------------------------------------------


class Tally(loadtest.Tally):
    """What the load saw: :class:`loadtest.Tally`'s counts, and how the
    signed-out devices were answered."""

    COUNTS = (
        *loadtest.Tally.COUNTS,
        "refused_after_revocation",
        "in_flight",
        "served_after_revocation",
        "refused_unrevoked",
    )

    def __init__(self) -> None:
        super().__init__()
        #: Refused (401): the device's sign-out had returned before.
        self.refused_after_revocation = 0
        #: Refused (401) while the device's sign-out was in flight.
        self.in_flight = 0
        #: Served although its sign-out had returned before.
        self.served_after_revocation = 0
        #: Refused (401) although nobody had signed the device out.
        self.refused_unrevoked = 0

    @property
    def failed(self) -> int:
        return super().failed + self.served_after_revocation + self.refused_unrevoked

    def summary(self) -> dict[str, t.Any]:
        return super().summary() | {
            "refused_after_revocation": self.refused_after_revocation,
            "refused_while_revoking": self.in_flight,
            "served_after_revocation": self.served_after_revocation,
            "refused_while_not_revoked": self.refused_unrevoked,
        }


class Load:
    """Sends the planned requests from many threads, signs devices out as it
    goes, and tallies the answers."""

    def __init__(
        self,
        *,
        port: int,
        plan: list[tuple[Device, Method]],
        revocations: list[tuple[int, Device, Device]],
        serializer: URLSafeTimedSerializer,
        deadline: float,
        timeout: float,
    ) -> None:
        self.port = port
        self.plan = plan
        #: (after how many requests were sent, by which device, which device)
        self.revocations = revocations
        self.serializer = serializer
        self.deadline = deadline
        self.timeout = timeout
        self.stop = threading.Event()
        self.timed_out = False
        self.revoked = 0
        self.revoke_errors: list[str] = []
        self._next = 0
        #: Sign-outs answered (or failed): the load may run ahead of the next.
        self._signed_out = 0
        self._lock = threading.Lock()
        self._progress = threading.Condition(self._lock)
        self.examples: list[str] = []

    def _take(self) -> tuple[Device, Method] | None:
        with self._lock:
            while not self.stop.is_set() and self._next >= self._hold_at():
                if time.monotonic() >= self.deadline:
                    self.timed_out = True
                    return None

                self._progress.wait(timeout=0.5)
            if self.stop.is_set() or self._next >= len(self.plan):
                return None
            if time.monotonic() >= self.deadline:
                self.timed_out = True
                return None
            item = self.plan[self._next]
            self._next += 1
            self._progress.notify_all()
            return item

    def _hold_at(self) -> int:
        """The request the load waits at until the next planned sign-out
        has been answered: ``REVOKER_LEAD`` past the point it is due, and
        never later than the end of the plan, so every sign-out happens while
        the load runs. Called with the lock held."""
        if self._signed_out >= len(self.revocations):
            return len(self.plan) + 1
        after = self.revocations[self._signed_out][0]
        return min(after + REVOKER_LEAD, len(self.plan) - 1)

    def _example(self, text: str) -> None:
        with self._lock:
            if len(self.examples) < EXAMPLES:
                self.examples.append(text)

    def run(self, concurrency: int) -> tuple[Tally, float]:
        results: list[Tally] = []
        threads = [
            threading.Thread(
                target=self._worker, args=(results,), name=f"load-{n}", daemon=True
            )
            for n in range(concurrency)
        ]
        revoker = threading.Thread(target=self._revoker, name="revoker", daemon=True)
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        revoker.start()
        try:
            for thread in threads:
                thread.join()
        finally:
            self.stop.set()
            with self._lock:
                self._progress.notify_all()
            revoker.join()
        elapsed = time.perf_counter() - started
        total = Tally()
        for tally in results:
            total.merge(tally)
        return total, elapsed

    def _revoker(self) -> None:
        for after, by, target in self.revocations:
            with self._lock:
                due = min(after, len(self.plan) - 1)
                while self._next < due and not self.stop.is_set():
                    self._progress.wait(timeout=0.5)
                if self.stop.is_set():
                    return
            try:
                sign_out(self.port, by, target, self.timeout)
            except Exception as exc:  # noqa: BLE001 -- counted, never lost
                # Whatever went wrong is a failed run, and the load must not
                # wait for this sign-out for ever.
                self.revoke_errors.append(
                    f"device {target.number}: {type(exc).__name__}: {exc}"
                )
            else:
                self.revoked += 1
            finally:
                with self._lock:
                    self._signed_out += 1
                    self._progress.notify_all()

    def _worker(self, results: list[Tally]) -> None:
        tally = Tally()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            while (item := self._take()) is not None:
                self._send(connection, *item, tally)
        finally:
            connection.close()
            with self._lock:
                results.append(tally)

    def _send(
        self,
        connection: http.client.HTTPConnection,
        device: Device,
        method: Method,
        tally: Tally,
    ) -> None:
        tally.sent += 1
        try:
            reply, started, sent_at = get_me(
                connection, device.credentials.headers(method)
            )
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            tally.transport_errors[type(exc).__name__] += 1
            self._example(f"{method} cookie: {type(exc).__name__}: {exc}")
            return
        tally.latencies.append(time.perf_counter() - started)

        # Read once: the revoker sets it when the sign-out has returned.
        revoked_at = device.revoked_at
        revoking_since = device.revoking_since
        revoked = revoked_at is not None and sent_at >= revoked_at
        racing = not revoked and revoking_since is not None
        who = f"{method} cookie of {device.account.username} device {device.number}"

        if reply.status >= 500:
            tally.server_errors += 1
            self._example(f"{who}: status {reply.status}")
            return
        if reply.status == 401 and (revoked or racing):
            if revoked:
                tally.refused_after_revocation += 1
            else:
                tally.in_flight += 1
            return
        problem = identity_problem(reply.status, reply.body, device.account)
        if problem is not None:
            if reply.status == 200:
                tally.wrong_user += 1
            elif reply.status == 401:
                tally.refused_unrevoked += 1
            else:
                tally.other_status[reply.status] += 1
            self._example(f"{who}: {problem}")
            return
        if revoked:
            # Right user, but the device was signed out before this request
            # was sent.
            tally.served_after_revocation += 1
            self._example(f"{who}: served after its sign-out had returned")
            return
        cookie = reply.set_cookies().get(SESSION_COOKIE)
        if cookie is not None:
            problem = session_cookie_problem(self.serializer, cookie, device.account)
            if problem is not None:
                tally.wrong_cookie += 1
                self._example(f"{who}: {problem}")
                return
        tally.ok += 1


# -- one configuration ------------------------------------------------------------


def run_config(
    config: Config,
    args: argparse.Namespace,
    redis_url: str | None,
    rng: random.Random,
    say: t.Callable[[str], None],
) -> dict[str, t.Any]:
    """Serve the example app in ``config``, log the devices in, run the load;
    return the configuration's results."""
    secret_key = secrets.token_hex(32)
    options = worker_args(config.workers, args.threads)
    env = {"FLASK_LOGIN_REGISTRY": config.registry}
    if config.registry == "redis":
        assert redis_url is not None
        env["FLASK_REDIS_URL"] = redis_url

    with tempfile.TemporaryDirectory(prefix="sessionauth-registry-load-") as tmp:
        work = Path(tmp)
        instance = work / "instance"
        database = work / "load.sqlite"
        app = make_app(database, secret_key, instance)
        try:
            accounts = create_accounts(app, args.users, args.hash_method)
        except ValueError as exc:
            raise SetupFailed(f"cannot create the users: {exc}") from None
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        if serializer is None:
            raise SetupFailed("the example app has no secret key")

        server = Gunicorn(
            f"example_app:create_app(instance_path={str(instance)!r})",
            options=options,
            log_path=work / "gunicorn.log",
            env={
                "FLASK_SECRET_KEY": secret_key,
                "FLASK_DATABASE": str(database),
                **env,
            },
            path_back=[ROOT],
            report_modules=["flask_sessionauth", "example_app"],
            cwd=work,
        )
        with server:
            server.wait_ready("/api/me")
            deadline = time.monotonic() + args.max_seconds
            say(f"[{config.name}] serving: {' '.join(server.command)}")
            devices = log_in_devices(
                server.port, accounts, args, config, serializer, deadline
            )
            say(
                f"[{config.name}] logged in {len(devices)} devices of"
                f" {len(accounts)} users"
            )
            revocations = plan_revocations(devices, args, config, rng)
            plan = [
                (rng.choice(devices), method)
                for method in rng.choices(
                    METHODS,
                    weights=[args.mix.get(m, 0.0) for m in METHODS],
                    k=args.requests,
                )
            ]
            load = Load(
                port=server.port,
                plan=plan,
                revocations=revocations,
                serializer=serializer,
                deadline=deadline,
                timeout=args.timeout,
            )
            tally, elapsed = load.run(args.concurrency)
            server.check_running()
            module_files = server.module_files
            traceback_count = server.log().count("Traceback")

    failed = tally.failed + len(load.revoke_errors) + traceback_count
    if config.registry != "off" and load.revoked != len(revocations):
        failed += 1
    return {
        "config": config.name,
        "registry": config.registry,
        "workers": config.workers,
        "threads": args.threads,
        "gunicorn": options,
        "server_modules": module_files,
        "devices": len(devices),
        "revocations_planned": len(revocations),
        "revoked": load.revoked,
        "revoke_errors": load.revoke_errors,
        "server_tracebacks": traceback_count,
        "elapsed_s": round(elapsed, 3),
        "requests_per_second": round(tally.sent / elapsed, 1) if elapsed else None,
        "results": tally.summary(),
        "failures": load.examples,
        "failed": failed,
        "incomplete": tally.sent < args.requests,
    }


def log_in_devices(
    port: int,
    accounts: list[Account],
    args: argparse.Namespace,
    config: Config,
    serializer: URLSafeTimedSerializer,
    deadline: float,
) -> list[Device]:
    jobs = [account for account in accounts for _ in range(args.devices)]
    with concurrent.futures.ThreadPoolExecutor(min(args.concurrency, 8)) as pool:
        logins = list(pool.map(lambda a: log_in(port, a, args.timeout), jobs))
        devices = [
            Device(
                number,
                credentials,
                None
                if config.registry == "off"
                else record_id_of(credentials, serializer),
            )
            for number, credentials in enumerate(logins)
        ]
        for future in [
            pool.submit(check_device, port, device, args.timeout) for device in devices
        ]:
            future.result()
    if time.monotonic() >= deadline:
        raise SetupFailed("--max-seconds ran out while the devices were logging in")
    return devices


def plan_revocations(
    devices: list[Device],
    args: argparse.Namespace,
    config: Config,
    rng: random.Random,
) -> list[tuple[int, Device, Device]]:
    """Which devices are signed out, by which, and after how many requests:
    evenly spread over the run, each by another device of its user that is
    never signed out."""
    if config.registry == "off" or args.devices < 2:
        return []
    by_user: dict[int, list[Device]] = collections.defaultdict(list)
    for device in devices:
        by_user[device.account.id].append(device)
    users = rng.sample(sorted(by_user), min(args.revoke, len(by_user)))
    step = args.requests / (len(users) + 1)
    return [
        (round(step * (index + 1)), by_user[user][0], by_user[user][1])
        for index, user in enumerate(users)
    ]


# -- reporting --------------------------------------------------------------------


def print_report(runs: list[dict[str, t.Any]]) -> None:
    header = (
        f"{'config':<10}{'sent':>7}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'revoked':>9}{'refused':>9}{'wrong user':>12}{'5xx':>5}"
        f"{'served after revoke':>21}{'other':>7}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        row = run["results"]
        other = (
            row["wrong_session_cookie"]
            + row["refused_while_not_revoked"]
            + sum(row["other_status"].values())
            + sum(row["transport_errors"].values())
            + len(run["revoke_errors"])
            + run["server_tracebacks"]
        )
        print(
            f"{run['config']:<10}{row['sent']:>7}{run['requests_per_second']:>8.0f}"
            f"{ms(row['latency_ms']['p50']):>8}{ms(row['latency_ms']['p99']):>8}"
            f"{run['revoked']:>9}{row['refused_after_revocation']:>9}"
            f"{row['wrong_user']:>12}{row['server_errors']:>5}"
            f"{row['served_after_revocation']:>21}{other:>7}"
        )
    print(
        "\nconfig = registry:workers. refused = requests of signed-out devices"
        " refused (401) after the sign-out returned."
    )
    for run in runs:
        for example in run["failures"] + run["revoke_errors"]:
            print(f"  [{run['config']}] failure: {example}")


# -- command line -----------------------------------------------------------------


def _configs(value: str) -> list[Config]:
    configs = []
    for part in value.split(","):
        name, _, workers = part.strip().partition(":")
        if name not in REGISTRIES:
            raise argparse.ArgumentTypeError(
                f"{name!r}: the registry is one of {', '.join(REGISTRIES)}"
            )
        count = _positive(workers) if workers else (1 if name == "memory" else 0)
        if name == "memory" and count != 1:
            raise argparse.ArgumentTypeError(
                "memory:N needs N = 1: each gunicorn worker would have a registry"
                " of its own, and refuse the logins the others recorded"
            )
        configs.append(Config(name, count))
    return configs


def parse_args(argv: cabc.Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve the example app with gunicorn and its login registry"
        " off, in memory and on Redis; sign devices out under load and check"
        " that no answer goes to the wrong user or to a signed-out device.",
    )
    parser.add_argument(
        "--configs",
        type=_configs,
        default=_configs("off,memory:1,off:1,redis"),
        help="registry[:workers] runs, in order (default: off,memory:1,off:1,redis;"
        " no :workers means --workers)",
    )
    parser.add_argument(
        "--users", type=_positive, default=50, help="users (default: 50)"
    )
    parser.add_argument(
        "--devices",
        type=_positive,
        default=2,
        help="devices each user logs in on (default: 2)",
    )
    parser.add_argument(
        "--requests",
        type=_positive,
        default=5000,
        help="requests to /api/me per configuration (default: 5000)",
    )
    parser.add_argument(
        "--revoke",
        type=int,
        default=10,
        help="devices signed out during each run with a registry (default: 10)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=32,
        help="client threads sending at once (default: 32)",
    )
    parser.add_argument(
        "--mix",
        type=lambda value: parse_mix(value, METHODS),
        default=parse_mix("session=50,remember=50", METHODS),
        help="relative weights of the cookies sent (default: session=50,remember=50)",
    )
    parser.add_argument(
        "--workers", type=_positive, default=4, help="gunicorn workers (default: 4)"
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=4,
        help="threads per gunicorn worker (default: 4)",
    )
    parser.add_argument(
        "--hash-method",
        default="pbkdf2:sha256:1000",
        help="werkzeug password hash method for the users (default:"
        " pbkdf2:sha256:1000; only the logins check passwords)",
    )
    parser.add_argument(
        "--redis-url",
        help="use this Redis instead of starting a redis-server (its keys under"
        " example_app: are written)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="stop sending after this long, per configuration (default: 300)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="socket timeout of each request in seconds (default: 10)",
    )
    parser.add_argument("--seed", type=int, help="seed for the request plan")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--quiet", action="store_true", help="print only the result")
    args = parser.parse_args(argv)
    args.configs = [Config(c.registry, c.workers or args.workers) for c in args.configs]
    if args.revoke < 0:
        parser.error("--revoke must be at least 0")
    return args


def main(argv: cabc.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    say: t.Callable[[str], None] = (lambda _: None) if args.quiet else print

    if not gunicorn_available():
        print(
            "error: gunicorn is not installed; pip install -r"
            " example_app/requirements.txt",
            file=sys.stderr,
        )
        return 2

    unwind_on_sigterm()
    seed: int = args.seed if args.seed is not None else random.randrange(2**32)
    runs: list[dict[str, t.Any]] = []
    needs_redis = any(config.registry == "redis" for config in args.configs)

    try:
        with contextlib.ExitStack() as stack:
            redis_url = args.redis_url
            if needs_redis and redis_url is None:
                tmp = stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="sessionauth-redis-")
                )
                redis_url = stack.enter_context(RedisServer(Path(tmp))).url
                say(f"started redis-server at {redis_url}")
            for config in args.configs:
                rng = random.Random(f"{seed}-{config.name}")
                runs.append(run_config(config, args, redis_url, rng, say))
    except (SetupFailed, ServerFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    print(
        f"{args.users} users x {args.devices} devices, {args.requests} requests per"
        f" configuration, concurrency {args.concurrency}, {args.threads} threads"
        f" per worker, seed {seed}"
    )
    print_report(runs)
    failed = sum(run["failed"] for run in runs)
    incomplete = any(run["incomplete"] for run in runs)
    if failed:
        verdict = "FAIL: some requests were answered wrongly (see the counts)"
    elif incomplete:
        verdict = "INCOMPLETE: --max-seconds ran out before every request was sent"
    else:
        verdict = (
            "PASS: no wrong user, no 5xx, no request served for a device after"
            " its sign-out returned"
        )
    print(verdict)

    if args.json is not None:
        document = {
            "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "kind": "loadtest_registry",
            "machine": {**machine_info(ROOT), "gunicorn": gunicorn_version()},
            "settings": {
                "configs": [config.name for config in args.configs],
                "users": args.users,
                "devices": args.devices,
                "requests": args.requests,
                "revoke": args.revoke,
                "concurrency": args.concurrency,
                "mix": args.mix,
                "threads": args.threads,
                "hash_method": args.hash_method,
                "max_seconds": args.max_seconds,
                "seed": seed,
                "command": [Path(sys.executable).name, *sys.argv],
            },
            "runs": runs,
            "verdict": verdict.split(":", 1)[0],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        say(f"wrote {args.json}")

    if failed:
        return 1
    if incomplete:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
