"""Load-test the example app under gunicorn: many users at once, each request
answered for exactly the user whose credentials it carried.

The script

1. creates ``--users`` accounts in a fresh SQLite database, through the
   example app's own model code;
2. serves the example app with gunicorn on ``127.0.0.1`` (``--workers``
   processes of ``--threads`` threads, a random free port);
3. logs every user in through the HTML login form, with its CSRF token and
   "remember me" ticked, keeping the session cookie and the remember cookie
   each login returns;
4. sends ``--requests`` requests to ``GET /api/me`` from ``--concurrency``
   threads, each request for a random user with one of three credentials:
   the session cookie, the remember cookie alone, or HTTP Basic;
5. checks every answer: it must be ``200`` and name the user whose
   credentials were sent, and any session cookie it sets must hold that
   user's id;
6. stops gunicorn, also when something failed on the way.

Exit status: 0 when every request was answered correctly; 1 when any answer
named the wrong user, was a 5xx, another status or a transport error; 2 when
the set-up failed (no gunicorn, the server did not start, a login failed);
3 when ``--max-seconds`` ran out before all the requests were sent.

Run ``python benchmarks/loadtest.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import base64
import collections
import collections.abc as cabc
import concurrent.futures
import contextlib
import datetime
import http.client
import json
import random
import re
import secrets
import sys
import tempfile
import threading
import time
import typing as t
import unittest.mock
from pathlib import Path
from urllib.parse import urlencode

from inprocess import _positive
from inprocess import machine_info
from serving import fetch
from serving import Gunicorn
from serving import gunicorn_available
from serving import gunicorn_version
from serving import HOST
from serving import percentile
from serving import ServerFailed
from serving import unwind_on_sigterm
from serving import worker_args

if t.TYPE_CHECKING:
    from flask import Flask
    from itsdangerous import URLSafeTimedSerializer
    from serving import Reply

ROOT = Path(__file__).resolve().parent.parent

Method = t.Literal["session", "remember", "basic"]
METHODS: tuple[Method, ...] = ("session", "remember", "basic")
METHOD_TITLES: dict[Method, str] = {
    "session": "session cookie",
    "remember": "remember cookie",
    "basic": "HTTP Basic",
}

USER_AGENT = "sessionauth-loadtest/1.0"
SESSION_COOKIE = "session"
REMEMBER_COOKIE = "remember_token"
CSRF_INPUT = re.compile(rb'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
#: How many examples of each kind of failure the report keeps.
EXAMPLES = 10


class SetupFailed(Exception):
    """The run could not get as far as sending the load."""


class Account(t.NamedTuple):
    id: int
    username: str
    password: str


class Credentials(t.NamedTuple):
    account: Account
    session_cookie: str
    remember_cookie: str
    basic: str

    def headers(self, method: Method) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if method == "session":
            headers["Cookie"] = self.session_cookie
        elif method == "remember":
            headers["Cookie"] = self.remember_cookie
        else:
            headers["Authorization"] = self.basic
        return headers


# -- set-up ----------------------------------------------------------------------


def _import_example_app() -> None:
    # Appended, not prepended: an installed flask_sessionauth (tox installs
    # the built wheel) wins over the checkout, as in tests/conftest.py.
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))


def make_app(database: Path, secret_key: str, instance: Path) -> Flask:
    _import_example_app()
    from example_app import create_app

    return create_app(
        {"DATABASE": str(database), "SECRET_KEY": secret_key},
        instance_path=instance,
    )


def create_accounts(app: Flask, count: int, hash_method: str | None) -> list[Account]:
    """Add ``count`` users through the example app's model, each with a
    password of its own."""
    from werkzeug.security import generate_password_hash

    from example_app import models

    def cheap_hash(password: str) -> str:
        assert hash_method is not None
        return generate_password_hash(password, method=hash_method)

    replace: t.ContextManager[object] = contextlib.nullcontext()
    if hash_method is not None:
        # The script's own process only: the server checks whatever hash the
        # database holds, with werkzeug's check_password_hash.
        replace = unittest.mock.patch.object(
            models, "generate_password_hash", cheap_hash
        )
    accounts: list[Account] = []
    with replace, app.app_context():
        for number in range(count):
            username = f"load-user-{number:04d}"
            password = f"pw-{number}-{secrets.token_hex(8)}"
            user = models.User.create(username, password)
            accounts.append(Account(user.id, username, password))
    return accounts


def log_in(port: int, account: Account, timeout: float) -> Credentials:
    """Log in through the HTML form as a browser would, with "remember me"."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        page = fetch(
            connection, "GET", "/auth/login", headers={"User-Agent": USER_AGENT}
        )
        found = CSRF_INPUT.search(page.body)
        session = page.set_cookies().get(SESSION_COOKIE)
        if page.status != 200 or found is None or session is None:
            raise SetupFailed(
                f"{account.username}: GET /auth/login answered {page.status}"
                " without a CSRF token and a session cookie"
            )
        form = urlencode(
            {
                "csrf_token": found.group(1).decode(),
                "username": account.username,
                "password": account.password,
                "remember": "y",
            }
        ).encode()
        done = fetch(
            connection,
            "POST",
            "/auth/login",
            headers={
                "User-Agent": USER_AGENT,
                "Cookie": session,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body=form,
        )
        cookies = done.set_cookies()
        # flask.redirect() answers 302 up to Flask 3.1, 303 from Flask 3.2.
        redirected = done.status in (302, 303)
        if not redirected or not {SESSION_COOKIE, REMEMBER_COOKIE} <= set(cookies):
            raise SetupFailed(
                f"{account.username}: the login form answered {done.status} and"
                f" set {sorted(cookies)}, not a redirect with both cookies"
            )
    finally:
        connection.close()

    token = base64.b64encode(f"{account.username}:{account.password}".encode())
    return Credentials(
        account,
        session_cookie=cookies[SESSION_COOKIE],
        remember_cookie=cookies[REMEMBER_COOKIE],
        basic=f"Basic {token.decode()}",
    )


def check_credentials(port: int, credentials: Credentials, timeout: float) -> None:
    """Each kind of credential must work on its own before the load starts."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        for method in METHODS:
            reply = fetch(
                connection, "GET", "/api/me", headers=credentials.headers(method)
            )
            problem = identity_problem(reply.status, reply.body, credentials.account)
            if problem is not None:
                raise SetupFailed(
                    f"{credentials.account.username}: {METHOD_TITLES[method]}"
                    f" alone: {problem}"
                )
    finally:
        connection.close()


def check_refusals(port: int, credentials: Credentials, timeout: float) -> None:
    """Without valid credentials the answer must be 401: otherwise a 200 for
    the right user would prove nothing."""
    session_name, _, session_value = credentials.session_cookie.partition("=")
    remember_name, _, remember_value = credentials.remember_cookie.partition("=")
    wrong_password = base64.b64encode(f"{credentials.account.username}:x".encode())
    attempts = {
        "no credentials": {},
        "a tampered session cookie": {
            "Cookie": f"{session_name}={_tamper(session_value)}"
        },
        "a tampered remember cookie": {
            "Cookie": f"{remember_name}={_tamper(remember_value)}"
        },
        "a wrong Basic password": {"Authorization": f"Basic {wrong_password.decode()}"},
    }
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        for what, headers in attempts.items():
            reply = fetch(
                connection,
                "GET",
                "/api/me",
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
                | headers,
            )
            if reply.status != 401:
                raise SetupFailed(f"GET /api/me with {what} answered {reply.status}")
    finally:
        connection.close()


def _tamper(value: str) -> str:
    """``value`` with its third-last character changed. (The last character of
    a base64 signature may carry unused bits; changing it can leave the
    signature valid.)"""
    if len(value) < 3:
        return value + "x"
    swapped = "A" if value[-3] != "A" else "B"
    return value[:-3] + swapped + value[-2:]


def identity_problem(status: int, body: bytes, account: Account) -> str | None:
    """What is wrong with an answer to ``GET /api/me`` for ``account``."""
    if status != 200:
        return f"status {status}"
    try:
        data = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:80]!r}"
    if not isinstance(data, dict):
        return f"not a JSON object: {body[:80]!r}"
    if data.get("id") != account.id or data.get("username") != account.username:
        return (
            f"names user {data.get('id')!r}/{data.get('username')!r},"
            f" not {account.id}/{account.username}"
        )
    return None


# -- the load --------------------------------------------------------------------


class Tally:
    """What one thread saw for one credential method."""

    #: The counters :meth:`merge` adds up.
    COUNTS: t.ClassVar[tuple[str, ...]] = (
        "sent",
        "ok",
        "wrong_user",
        "wrong_cookie",
        "server_errors",
    )

    def __init__(self) -> None:
        self.sent = 0
        self.ok = 0
        self.wrong_user = 0
        self.wrong_cookie = 0
        self.server_errors = 0
        self.other_status: collections.Counter[int] = collections.Counter()
        self.transport_errors: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []

    def merge(self, other: Tally) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.other_status.update(other.other_status)
        self.transport_errors.update(other.transport_errors)
        self.latencies.extend(other.latencies)

    @property
    def failed(self) -> int:
        return (
            self.wrong_user
            + self.wrong_cookie
            + self.server_errors
            + sum(self.other_status.values())
            + sum(self.transport_errors.values())
        )

    def summary(self) -> dict[str, t.Any]:
        ordered = sorted(self.latencies)
        return {
            "sent": self.sent,
            "ok": self.ok,
            "wrong_user": self.wrong_user,
            "wrong_session_cookie": self.wrong_cookie,
            "server_errors": self.server_errors,
            "other_status": {str(k): v for k, v in sorted(self.other_status.items())},
            "transport_errors": dict(sorted(self.transport_errors.items())),
            "latency_ms": {
                name: None if value is None else round(value * 1000, 3)
                for name, value in (
                    ("p50", percentile(ordered, 0.50)),
                    ("p90", percentile(ordered, 0.90)),
                    ("p99", percentile(ordered, 0.99)),
                    ("max", ordered[-1] if ordered else None),
                )
            },
        }


#: Errors that mean the server closed a kept-alive connection before this
#: request reached it: the request is sent again once, on a new connection.
_STALE_CONNECTION = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
)


def get_me(
    connection: http.client.HTTPConnection, headers: dict[str, str]
) -> tuple[Reply, float, float]:
    """``GET /api/me`` on ``connection``, sent again once on a new
    connection when the server had closed the kept-alive one. Returns the
    answer, and when the answered attempt was sent: ``time.perf_counter()``
    (for its latency) and ``time.monotonic()``.

    :raises OSError, http.client.HTTPException: The request failed.
    """
    started, sent_at = time.perf_counter(), time.monotonic()
    reused = connection.sock is not None
    try:
        return fetch(connection, "GET", "/api/me", headers=headers), started, sent_at
    except _STALE_CONNECTION:
        if not reused:
            raise
    connection.close()
    started, sent_at = time.perf_counter(), time.monotonic()
    return fetch(connection, "GET", "/api/me", headers=headers), started, sent_at


def session_cookie_problem(
    serializer: URLSafeTimedSerializer, cookie: str, account: Account
) -> str | None:
    """What is wrong with the session cookie ``cookie`` (a ``Set-Cookie``
    value) set for a request of ``account``: it does not verify, or it names
    another user. None when nothing is.
    """
    from itsdangerous import BadSignature

    try:
        data = serializer.loads(cookie.partition("=")[2])
    except BadSignature:
        return "set a session cookie that does not verify"
    user_id = data.get("_user_id") if isinstance(data, dict) else None
    if user_id is not None and str(user_id) != str(account.id):
        return f"set a session cookie for user {user_id!r}"
    return None


class Load:
    """Sends the planned requests from many threads and tallies the answers."""

    def __init__(
        self,
        *,
        port: int,
        plan: list[tuple[Credentials, Method]],
        serializer: URLSafeTimedSerializer,
        deadline: float,
        timeout: float,
    ) -> None:
        self.port = port
        self.plan = plan
        self.serializer = serializer
        self.deadline = deadline
        self.timeout = timeout
        self.stop = threading.Event()
        self.timed_out = False
        self._next = 0
        self._lock = threading.Lock()
        self.examples: list[str] = []

    def _take(self) -> tuple[Credentials, Method] | None:
        with self._lock:
            if self.stop.is_set() or self._next >= len(self.plan):
                return None
            if time.monotonic() >= self.deadline:
                self.timed_out = True
                return None
            item = self.plan[self._next]
            self._next += 1
            return item

    def _example(self, text: str) -> None:
        with self._lock:
            if len(self.examples) < EXAMPLES:
                self.examples.append(text)

    def run(self, concurrency: int) -> tuple[dict[Method, Tally], float]:
        """Send everything; return the tallies and the seconds it took."""
        results: list[dict[Method, Tally]] = []
        threads = [
            threading.Thread(
                target=self._worker, args=(results,), name=f"load-{n}", daemon=True
            )
            for n in range(concurrency)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                # Each request has a socket timeout, so every thread ends by
                # the deadline plus one timeout.
                thread.join()
        finally:
            self.stop.set()
        elapsed = time.perf_counter() - started
        merged: dict[Method, Tally] = {method: Tally() for method in METHODS}
        for tallies in results:
            for method, tally in tallies.items():
                merged[method].merge(tally)
        return merged, elapsed

    def _worker(self, results: list[dict[Method, Tally]]) -> None:
        tallies: dict[Method, Tally] = {method: Tally() for method in METHODS}
        connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            while (item := self._take()) is not None:
                credentials, method = item
                self._send(connection, credentials, method, tallies[method])
        finally:
            connection.close()
            with self._lock:
                results.append(tallies)

    def _send(
        self,
        connection: http.client.HTTPConnection,
        credentials: Credentials,
        method: Method,
        tally: Tally,
    ) -> None:
        tally.sent += 1
        try:
            reply, started, _ = get_me(connection, credentials.headers(method))
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            tally.transport_errors[type(exc).__name__] += 1
            self._example(f"{METHOD_TITLES[method]}: {type(exc).__name__}: {exc}")
            return
        tally.latencies.append(time.perf_counter() - started)

        account = credentials.account
        if reply.status >= 500:
            tally.server_errors += 1
            self._example(f"{METHOD_TITLES[method]}: status {reply.status}")
            return
        problem = identity_problem(reply.status, reply.body, account)
        if problem is not None:
            if reply.status == 200:
                tally.wrong_user += 1
            else:
                tally.other_status[reply.status] += 1
            self._example(f"{METHOD_TITLES[method]} of {account.username}: {problem}")
            return

        cookie = reply.set_cookies().get(SESSION_COOKIE)
        if cookie is not None:
            problem = session_cookie_problem(self.serializer, cookie, account)
            if problem is not None:
                tally.wrong_cookie += 1
                self._example(
                    f"{METHOD_TITLES[method]} of {account.username}: {problem}"
                )
                return
        tally.ok += 1


def make_plan(
    credentials: list[Credentials],
    weights: dict[Method, float],
    count: int,
    rng: random.Random,
) -> list[tuple[Credentials, Method]]:
    methods = [m for m in METHODS if weights.get(m, 0) > 0]
    chosen = rng.choices(methods, weights=[weights[m] for m in methods], k=count)
    return [(rng.choice(credentials), method) for method in chosen]


# -- reporting -------------------------------------------------------------------


def ms(value: float | None) -> str:
    """A time in milliseconds for the report, ``-`` for none."""
    return "-" if value is None else f"{value:.1f}"


def print_report(
    summaries: dict[str, dict[str, t.Any]], elapsed: float, examples: list[str]
) -> None:
    header = (
        f"{'credentials':<17}{'sent':>7}{'ok':>7}{'wrong user':>12}{'5xx':>6}"
        f"{'other':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, row in summaries.items():
        other = sum(row["other_status"].values()) + sum(
            row["transport_errors"].values()
        )
        latency = row["latency_ms"]
        print(
            f"{name:<17}{row['sent']:>7}{row['ok']:>7}"
            f"{row['wrong_user'] + row['wrong_session_cookie']:>12}"
            f"{row['server_errors']:>6}{other:>7}{ms(latency['p50']):>9}"
            f"{ms(latency['p90']):>9}{ms(latency['p99']):>9}"
            f"{ms(latency['max']):>9}"
        )
    total = summaries["all"]
    rate = total["sent"] / elapsed if elapsed > 0 else 0.0
    print(f"\n{total['sent']} requests in {elapsed:.2f} s: {rate:.0f} requests/s")
    for example in examples:
        print(f"  failure: {example}")


# -- command line ----------------------------------------------------------------


M = t.TypeVar("M", bound=str)


def parse_mix(value: str, methods: tuple[M, ...]) -> dict[M, float]:
    """``--mix``: ``NAME=WEIGHT`` pairs, each NAME one of ``methods``, no
    weight below 0 and one above; the methods it names, with their weights.
    """
    weights: dict[M, float] = {}
    for part in value.split(","):
        name, sep, number = part.partition("=")
        name = name.strip()
        if not sep or name not in methods:
            raise argparse.ArgumentTypeError(
                f"expected NAME=WEIGHT pairs with NAME in {', '.join(methods)};"
                f" got {part!r}"
            )
        weight = float(number)
        if weight < 0:
            raise argparse.ArgumentTypeError(f"{name}: the weight must not be < 0")
        weights[name] = weight
    if not any(weights.values()):
        raise argparse.ArgumentTypeError("at least one weight must be > 0")
    return weights


def parse_args(argv: cabc.Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve the example app with gunicorn on 127.0.0.1, log many"
        " users in and check that concurrent requests are each answered for the"
        " right user.",
    )
    parser.add_argument(
        "--users", type=_positive, default=50, help="users to log in (default: 50)"
    )
    parser.add_argument(
        "--requests",
        type=_positive,
        default=5000,
        help="requests to send to /api/me (default: 5000)",
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
        default=parse_mix("session=45,remember=45,basic=10", METHODS),
        help="relative weights of the credentials sent"
        " (default: session=45,remember=45,basic=10)",
    )
    parser.add_argument(
        "--workers", type=_positive, default=3, help="gunicorn workers (default: 3)"
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=4,
        help="threads per gunicorn worker (default: 4)",
    )
    parser.add_argument(
        "--hash-method",
        help="werkzeug password hash method for the users, such as"
        " pbkdf2:sha256:1000 (default: werkzeug's default, scrypt, which makes"
        " every HTTP Basic request cost tens of milliseconds of CPU)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="stop sending after this long, logins included (default: 300)",
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
    return parser.parse_args(argv)


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
    rng = random.Random(seed)
    secret_key = secrets.token_hex(32)
    options = worker_args(args.workers, args.threads)

    with tempfile.TemporaryDirectory(prefix="sessionauth-load-") as tmp:
        work = Path(tmp)
        instance = work / "instance"
        database = work / "load.sqlite"
        app = make_app(database, secret_key, instance)
        started = time.perf_counter()
        try:
            accounts = create_accounts(app, args.users, args.hash_method)
        except ValueError as exc:
            # werkzeug names the problem: "Invalid hash method ..."
            print(f"error: cannot create the users: {exc}", file=sys.stderr)
            return 2
        say(
            f"created {len(accounts)} users in {time.perf_counter() - started:.1f} s"
            f" (password hash: {args.hash_method or 'werkzeug default'})"
        )

        server = Gunicorn(
            f"example_app:create_app(instance_path={str(instance)!r})",
            options=options,
            log_path=work / "gunicorn.log",
            env={
                "FLASK_SECRET_KEY": secret_key,
                "FLASK_DATABASE": str(database),
                # The example app's login registry is in memory unless it has
                # a Redis, and each worker process would then know only its
                # own logins. This script checks identities with the registry
                # off; loadtest_registry.py runs it in memory and on Redis.
                "FLASK_LOGIN_REGISTRY": "off",
            },
            path_back=[ROOT],
            report_modules=["flask_sessionauth", "example_app"],
            cwd=work,
        )
        try:
            with server:
                server.wait_ready("/api/me")
                deadline = time.monotonic() + args.max_seconds
                say(f"serving: {' '.join(server.command)} (port {server.port})")
                for module, path in server.module_files.items():
                    say(f"  the server imports {module} from {path}")
                outcome = _run(args, server, app, accounts, rng, deadline, say)
        except (SetupFailed, ServerFailed) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    tallies, elapsed, load = outcome
    everything = Tally()
    for tally in tallies.values():
        everything.merge(tally)
    summaries: dict[str, dict[str, t.Any]] = {
        METHOD_TITLES[method]: tally.summary() for method, tally in tallies.items()
    }
    summaries["all"] = everything.summary()
    print(
        f"{len(accounts)} users, {args.requests} requests planned, concurrency"
        f" {args.concurrency}, gunicorn {' '.join(options)}"
    )
    print_report(summaries, elapsed, load.examples)

    incomplete = everything.sent < args.requests
    failed = everything.failed > 0 or everything.ok != everything.sent
    if failed:
        verdict = "FAIL: some requests were not answered for the right user"
    elif incomplete:
        verdict = (
            f"INCOMPLETE: --max-seconds ran out after {everything.sent} of"
            f" {args.requests} requests"
        )
    else:
        verdict = "PASS: every request was answered 200 for the right user"
    print(verdict)

    if args.json is not None:
        document = {
            "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "kind": "loadtest",
            "machine": {
                **machine_info(ROOT),
                "gunicorn": gunicorn_version(),
                "server_modules": server.module_files,
            },
            "settings": {
                "users": len(accounts),
                "requests": args.requests,
                "concurrency": args.concurrency,
                "mix": args.mix,
                "gunicorn": options,
                "hash_method": args.hash_method,
                "max_seconds": args.max_seconds,
                "seed": seed,
                "command": [Path(sys.executable).name, *sys.argv],
            },
            "elapsed_s": round(elapsed, 3),
            "requests_per_second": round(everything.sent / elapsed, 1)
            if elapsed > 0
            else None,
            "results": summaries,
            "failures": load.examples,
            "verdict": verdict.split(":", 1)[0],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        say(f"wrote {args.json}")

    if failed:
        return 1
    if incomplete:
        return 3
    return 0


def _run(
    args: argparse.Namespace,
    server: Gunicorn,
    app: Flask,
    accounts: list[Account],
    rng: random.Random,
    deadline: float,
    say: t.Callable[[str], None],
) -> tuple[dict[Method, Tally], float, Load]:
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(min(args.concurrency, 8)) as pool:
        futures = [
            pool.submit(log_in, server.port, account, args.timeout)
            for account in accounts
        ]
        credentials = [future.result() for future in futures]
        checks = [
            pool.submit(check_credentials, server.port, c, args.timeout)
            for c in credentials
        ]
        for future in checks:
            future.result()
    check_refusals(server.port, credentials[0], args.timeout)
    if time.monotonic() >= deadline:
        raise SetupFailed("--max-seconds ran out while the users were logging in")
    say(
        f"logged in {len(credentials)} users through the login form and checked"
        f" each one's session cookie, remember cookie and Basic credentials in"
        f" {time.perf_counter() - started:.1f} s; without valid credentials the"
        " answer is 401"
    )

    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    if serializer is None:
        raise SetupFailed("the example app has no secret key")
    load = Load(
        port=server.port,
        plan=make_plan(credentials, args.mix, args.requests, rng),
        serializer=serializer,
        deadline=deadline,
        timeout=args.timeout,
    )
    tallies, elapsed = load.run(args.concurrency)
    server.check_running()
    return tallies, elapsed, load


if __name__ == "__main__":
    sys.exit(main())
