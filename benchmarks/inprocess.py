"""Measure what an authentication extension adds to the cost of one request.

Three apps come out of one factory, :func:`create_app`, and differ only in
how they authenticate:

``floor``
    No extension. The view reads ``session["_user_id"]`` itself and looks the
    user up in a dict. With no id in the session it falls back to a
    ``remember_token`` cookie of the form ``user_id|hex(hmac-sha512)``, checks
    it with :func:`hmac.compare_digest` and writes the id into the session.
    This is the least work any session login can do, so it is the baseline.

``flask_login``
    Flask-Login 0.6.3: ``LoginManager``, a ``user_loader`` and a
    ``@login_required`` view returning ``current_user.get_id()``.

``flask_sessionauth``
    The same code with every name imported from ``flask_sessionauth``.

Four scenarios are timed:

``session``
    The client logged in earlier through the login route; each request carries
    only the session cookie that login issued.

``remember``
    A returning visitor who has only the remember cookie: each request arrives
    without a session cookie, so the app must restore the login from the
    remember cookie and issue a new session cookie.

``lifetime``
    As ``session``, with ``SESSION_IDLE_TIMEOUT`` (30 minutes) and
    ``SESSION_ABSOLUTE_TIMEOUT`` (12 hours) on in flask_sessionauth's app and
    its clock held still, so that no request crosses the idle granularity:
    the check must cost little and send no ``Set-Cookie``. The floor and
    flask_login serve their ``session`` request (they have no timeouts).

``lifetime_write``
    As ``lifetime``, with the clock held one granularity (3 minutes) after
    the login, so that every request rewrites ``_seen_at`` and sends a new
    session cookie: the cost of the one request per granularity that writes.

Requests go straight to ``app.wsgi_app`` with an environ built once by
:class:`werkzeug.test.EnvironBuilder`, so no test client or cookie jar adds
its own cost. The rounds are interleaved: each round runs every
(backend, scenario) pair once, in a new random order, so a slow spell on the
machine lands on all of them alike. The overhead of a backend is its median
time per request minus the floor's.

Run ``python benchmarks/inprocess.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import collections.abc as cabc
import datetime
import gc
import hashlib
import hmac
import importlib
import importlib.metadata
import itertools
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import types
import typing as t
from pathlib import Path

from flask import Flask
from flask import request
from flask import session
from werkzeug.test import EnvironBuilder

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIEnvironment
    from flask.typing import ResponseReturnValue
    from werkzeug.test import TestResponse

Backend = t.Literal["floor", "flask_login", "flask_sessionauth"]
Scenario = t.Literal["session", "remember", "lifetime", "lifetime_write"]

BACKENDS: tuple[Backend, ...] = ("floor", "flask_login", "flask_sessionauth")
#: The scenarios every benchmark runs (benchmarks/server.py too).
SCENARIOS: tuple[Scenario, ...] = ("session", "remember")
#: The session lifetime scenarios, which only this script runs.
LIFETIME_SCENARIOS: tuple[Scenario, ...] = ("lifetime", "lifetime_write")
ALL_SCENARIOS: tuple[Scenario, ...] = SCENARIOS + LIFETIME_SCENARIOS
SCENARIO_TITLES: dict[Scenario, str] = {
    "session": "(a) session cookie",
    "remember": "(b) remember cookie only",
    "lifetime": "(c) timeouts, no write",
    "lifetime_write": "(d) timeouts, writing",
}

#: The session lifetime settings of the ``lifetime`` scenarios, and the
#: default granularity they give (a tenth of the idle timeout).
IDLE_TIMEOUT = datetime.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = datetime.timedelta(hours=12)
IDLE_GRANULARITY_SECONDS = 180.0
#: Where the ``lifetime`` apps' clock stands when the user logs in.
LOGIN_TIME = 1_700_000_000.0

#: The module each extension backend imports its names from.
EXTENSION_MODULES: dict[Backend, str] = {
    "flask_login": "flask_login",
    "flask_sessionauth": "flask_sessionauth",
}

SECRET_KEY = "benchmark-secret-key-not-for-production"
REMEMBER_COOKIE = "remember_token"
USER_ID = "42"
USER_NAME = "alice"

#: Sent with every request, the logins included. Flask-Login's session
#: protection hashes the address and the user agent, so the timed requests
#: must look like they come from the browser that logged in; otherwise
#: "basic" protection would mark the session non-fresh and rewrite it.
CLIENT_ENVIRON: dict[str, str] = {
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_USER_AGENT": "sessionauth-benchmark/1.0",
}


class FloorUser:
    """What the floor app stores: no mixin, no protocol, two attributes."""

    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name


def _floor_digest(key: bytes, user_id: str) -> str:
    return hmac.new(key, user_id.encode(), hashlib.sha512).hexdigest()


def _floor_user_id_from_cookie(value: str | None, key: bytes) -> str | None:
    if not value:
        return None
    user_id, sep, digest = value.rpartition("|")
    if not sep or not user_id:
        return None
    if not hmac.compare_digest(digest, _floor_digest(key, user_id)):
        return None
    return user_id


def _create_floor_app() -> Flask:
    app = Flask("bench_floor")
    app.config["SECRET_KEY"] = SECRET_KEY
    key = SECRET_KEY.encode()
    users = {USER_ID: FloorUser(USER_ID, USER_NAME)}

    @app.get("/login")
    def login() -> ResponseReturnValue:
        session["_user_id"] = USER_ID
        response = app.make_response("logged in")
        if request.args.get("remember"):
            response.set_cookie(
                REMEMBER_COOKIE,
                f"{USER_ID}|{_floor_digest(key, USER_ID)}",
                max_age=365 * 24 * 3600,
                httponly=True,
            )
        return response

    @app.get("/me")
    def me() -> ResponseReturnValue:
        user_id = session.get("_user_id")
        if user_id is None:
            user_id = _floor_user_id_from_cookie(
                request.cookies.get(REMEMBER_COOKIE), key
            )
            if user_id is not None:
                session["_user_id"] = user_id
        user = users.get(user_id) if user_id is not None else None
        if user is None:
            return "unauthorized", 401
        return user.id

    return app


def still_clock(now: float) -> t.Callable[[], float]:
    """A clock that always says ``now``: the ``lifetime`` apps'
    ``LoginManager.clock``. It is a C-level callable, as the default
    :func:`time.time` is, so the clock costs what the real one does rather
    than a Python call.
    """
    return itertools.repeat(now).__next__


def _create_extension_app(backend: Backend, *, timeouts: bool = False) -> Flask:
    # Both extensions are driven through the very same lines below, with the
    # module the only difference, so neither gets a friendlier setup.
    ext = importlib.import_module(EXTENSION_MODULES[backend])
    app = Flask(f"bench_{backend}")
    app.config["SECRET_KEY"] = SECRET_KEY

    if timeouts:
        app.config.update(
            SESSION_IDLE_TIMEOUT=IDLE_TIMEOUT,
            SESSION_ABSOLUTE_TIMEOUT=ABSOLUTE_TIMEOUT,
        )

    manager = ext.LoginManager(app)

    if timeouts:
        manager.clock = still_clock(LOGIN_TIME)
    if manager.session_protection != "basic":
        raise RuntimeError(
            f"{backend}: expected the default SESSION_PROTECTION 'basic',"
            f" got {manager.session_protection!r}"
        )

    # Each library's own UserMixin, as an application adopting it would use.
    user_class: type[t.Any] = type("BenchUser", (ext.UserMixin,), {})
    user = user_class()
    user.id = USER_ID
    user.name = USER_NAME
    users: dict[str, t.Any] = {USER_ID: user}

    def load_user(user_id: str) -> t.Any:
        return users.get(user_id)

    # Registered by calling the decorators: the same thing, and mypy keeps the
    # views typed although both modules' decorators are Any here.
    manager.user_loader(load_user)

    @app.get("/login")
    def login() -> ResponseReturnValue:
        ext.login_user(users[USER_ID], remember=bool(request.args.get("remember")))
        return "logged in"

    def me() -> ResponseReturnValue:
        return str(ext.current_user.get_id())

    app.add_url_rule("/me", view_func=ext.login_required(me), methods=["GET"])
    return app


def create_app(backend: Backend, *, timeouts: bool = False) -> Flask:
    """Build the benchmark app for one backend.

    Every app has ``GET /login`` (``?remember=1`` also issues a remember
    cookie) and ``GET /me``, which answers the logged-in user's id or refuses.

    :param timeouts: For flask_sessionauth only: turn on both session
        timeouts and give the manager a :func:`still_clock`.
    """
    if backend == "floor":
        return _create_floor_app()
    return _create_extension_app(backend, timeouts=timeouts)


# -- checking that the apps really authenticate --------------------------------


class CheckFailed(Exception):
    """An app did not authenticate the way the benchmark needs it to."""


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _set_cookie_pairs(response: TestResponse) -> dict[str, str]:
    """The ``name=value`` each Set-Cookie header asks the browser to store,
    exactly as sent on the wire, skipping deletions."""
    pairs: dict[str, str] = {}
    for header in response.headers.getlist("Set-Cookie"):
        pair = header.split(";", 1)[0]
        name, _, value = pair.partition("=")
        if value and value != '""':
            pairs[name.strip()] = pair.strip()
        else:
            pairs.pop(name.strip(), None)
    return pairs


def _login_cookies(app: Flask, *, remember: bool) -> dict[str, str]:
    client = app.test_client()
    client.environ_base.update(CLIENT_ENVIRON)
    response = client.get("/login", query_string={"remember": "1"} if remember else {})
    _expect(response.status_code == 200, f"login answered {response.status}")
    return _set_cookie_pairs(response)


def sanity_check(backend: Backend, app: Flask) -> None:
    """Walk through the login flows with Flask's test client."""
    anonymous = app.test_client()
    anonymous.environ_base.update(CLIENT_ENVIRON)
    response = anonymous.get("/me")
    _expect(
        # A redirect to log in: 302 up to Flask 3.1, 303 from Flask 3.2.
        response.status_code in (302, 303, 401),
        f"{backend}: anonymous /me answered {response.status}, not a refusal",
    )

    client = app.test_client()
    client.environ_base.update(CLIENT_ENVIRON)
    client.get("/login")
    response = client.get("/me")
    _expect(
        response.status_code == 200 and response.text == USER_ID,
        f"{backend}: /me after login answered {response.status} {response.text!r}",
    )

    remembered = app.test_client()
    remembered.environ_base.update(CLIENT_ENVIRON)
    remembered.get("/login?remember=1")
    cookie = remembered.get_cookie(REMEMBER_COOKIE)
    _expect(cookie is not None, f"{backend}: login with remember set no cookie")
    assert cookie is not None

    returning = app.test_client()
    returning.environ_base.update(CLIENT_ENVIRON)
    returning.set_cookie(REMEMBER_COOKIE, cookie.value)
    response = returning.get("/me")
    _expect(
        response.status_code == 200 and response.text == USER_ID,
        f"{backend}: remember cookie alone gave {response.status} {response.text!r}",
    )
    session_name = app.config["SESSION_COOKIE_NAME"]
    _expect(
        returning.get_cookie(session_name) is not None,
        f"{backend}: restoring from the remember cookie set no session cookie",
    )

    forged = app.test_client()
    forged.environ_base.update(CLIENT_ENVIRON)
    forged.set_cookie(REMEMBER_COOKIE, cookie.value[:-4] + "0000")
    response = forged.get("/me")
    _expect(
        response.status_code != 200,
        f"{backend}: a tampered remember cookie was accepted",
    )


# -- driving the WSGI app directly ----------------------------------------------


class Captured:
    """What a WSGI app passed to ``start_response``."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: t.Any = None,
    ) -> t.Callable[[bytes], object]:
        self.status = status
        self.headers = headers
        return _write_nothing


def _write_nothing(data: bytes) -> object:
    return None


def _discard(
    status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
) -> t.Callable[[bytes], object]:
    return _write_nothing


def _build_environ(cookie_header: str) -> WSGIEnvironment:
    builder = EnvironBuilder(
        path="/me",
        method="GET",
        headers=[("Cookie", cookie_header)],
        environ_base=CLIENT_ENVIRON,
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _call(app: Flask, environ: WSGIEnvironment) -> tuple[Captured, bytes]:
    captured = Captured()
    result = app.wsgi_app(dict(environ), t.cast("StartResponse", captured))
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured, body


class Case:
    """One (backend, scenario) pair: an app and the request to send it."""

    def __init__(
        self, backend: Backend, scenario: Scenario, app: Flask, cookie_header: str
    ) -> None:
        self.backend = backend
        self.scenario = scenario
        self.app = app
        self.cookie_header = cookie_header
        self.environ = _build_environ(cookie_header)
        #: Per-round nanoseconds per request.
        self.samples: list[float] = []
        #: Cookie names the response sets, recorded by :meth:`verify`.
        self.sets_cookies: list[str] = []
        self.notes: list[str] = []

    @property
    def label(self) -> str:
        return f"{self.backend}/{self.scenario}"

    def verify(self) -> None:
        """Send the timed request once, and check it is an authenticated 200."""
        captured, body = _call(self.app, self.environ)
        _expect(
            captured.status.startswith("200") and body == USER_ID.encode(),
            f"{self.label}: timed request answered {captured.status} {body[:80]!r};"
            " the benchmark would measure a refusal",
        )
        set_cookies = [v for k, v in captured.headers if k.lower() == "set-cookie"]
        self.sets_cookies = [v.split("=", 1)[0] for v in set_cookies]
        session_name = self.app.config["SESSION_COOKIE_NAME"]

        if self.scenario == "lifetime_write" and self.backend == "flask_sessionauth":
            _expect(
                any(v.startswith(f"{session_name}=") for v in set_cookies),
                f"{self.label}: the request crossing the granularity set no"
                " session cookie; the benchmark would not measure a write",
            )
        elif self.scenario == "lifetime" and self.backend == "flask_sessionauth":
            _expect(
                not set_cookies,
                f"{self.label}: a request within the idle granularity set"
                f" cookies: {', '.join(self.sets_cookies)}",
            )
        elif self.scenario == "remember":
            issued = [
                v.split(";", 1)[0]
                for v in set_cookies
                if v.startswith(f"{session_name}=")
            ]
            _expect(
                bool(issued) and issued[0] != f"{session_name}=",
                f"{self.label}: the response set no session cookie",
            )
            # The new session cookie must be a working login on its own.
            follow, body = _call(self.app, _build_environ(issued[0]))
            _expect(
                follow.status.startswith("200") and body == USER_ID.encode(),
                f"{self.label}: the session cookie it issued answered {follow.status}",
            )
        elif set_cookies:
            # Not fatal: a rewrite on every request is real cost, and measuring
            # it is the point, but whoever reads the figures must know.
            self.notes.append(
                "sets cookies on a plain session request: "
                + ", ".join(self.sets_cookies)
            )

    def run(self, count: int) -> int:
        """Send the request ``count`` times; return the elapsed nanoseconds."""
        wsgi_app = self.app.wsgi_app
        environ = self.environ
        start_response = t.cast("StartResponse", _discard)
        clock = time.perf_counter_ns
        started = clock()
        for _ in range(count):
            result = wsgi_app(environ.copy(), start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return clock() - started


def prepare_cases(backends: cabc.Sequence[Backend]) -> list[Case]:
    cases: list[Case] = []
    for backend in backends:
        app = create_app(backend)
        sanity_check(backend, app)
        session_name = app.config["SESSION_COOKIE_NAME"]

        cookies = _login_cookies(app, remember=False)
        _expect(session_name in cookies, f"{backend}: login set no session cookie")
        cases.append(Case(backend, "session", app, cookies[session_name]))

        cookies = _login_cookies(app, remember=True)
        _expect(
            REMEMBER_COOKIE in cookies,
            f"{backend}: login with remember set no remember cookie",
        )
        cases.append(Case(backend, "remember", app, cookies[REMEMBER_COOKIE]))
        cases += _lifetime_cases(backend, app)

    for case in cases:
        case.verify()
    return cases


def _lifetime_cases(backend: Backend, session_app: Flask) -> list[Case]:
    """The ``lifetime`` and ``lifetime_write`` cases of ``backend``. Without
    timeouts of their own, the floor and flask_login send their ``session``
    request again.
    """
    if backend != "flask_sessionauth":
        cookie = _login_cookies(session_app, remember=False)[
            session_app.config["SESSION_COOKIE_NAME"]
        ]
        return [
            Case(backend, scenario, session_app, cookie)
            for scenario in LIFETIME_SCENARIOS
        ]

    cases = []

    for scenario in LIFETIME_SCENARIOS:
        app = create_app(backend, timeouts=True)
        sanity_check(backend, app)
        cookie = _login_cookies(app, remember=False)[app.config["SESSION_COOKIE_NAME"]]

        if scenario == "lifetime_write":
            manager = app.extensions["sessionauth"]
            manager.clock = still_clock(LOGIN_TIME + IDLE_GRANULARITY_SECONDS)

        cases.append(Case(backend, scenario, app, cookie))

    return cases


# -- measuring -------------------------------------------------------------------


def measure(
    cases: list[Case],
    *,
    rounds: int,
    requests: int,
    warmup: int,
    keep_gc: bool,
    rng: random.Random,
    progress: bool,
) -> None:
    for case in cases:
        case.run(warmup)

    order = list(cases)
    for number in range(1, rounds + 1):
        rng.shuffle(order)
        for case in order:
            gc.collect()
            if not keep_gc:
                gc.disable()
            try:
                elapsed = case.run(requests)
            finally:
                gc.enable()
            case.samples.append(elapsed / requests)
        if progress:
            print(f"\r  round {number}/{rounds}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)


class Figures(t.NamedTuple):
    median_ns: float
    min_ns: float
    overhead_median_ns: float | None
    overhead_min_ns: float | None
    #: Median over the rounds of (this backend − floor) in the same round.
    overhead_paired_ns: float | None


def summarise(cases: list[Case]) -> dict[Scenario, dict[Backend, Figures]]:
    by_key = {(c.scenario, c.backend): c for c in cases}
    out: dict[Scenario, dict[Backend, Figures]] = {}
    for scenario in ALL_SCENARIOS:
        floor = by_key.get((scenario, "floor"))
        row: dict[Backend, Figures] = {}
        for backend in BACKENDS:
            case = by_key.get((scenario, backend))
            if case is None:
                continue
            median = statistics.median(case.samples)
            low = min(case.samples)
            if floor is None or backend == "floor":
                row[backend] = Figures(median, low, None, None, None)
                continue
            paired = statistics.median(
                s - f for s, f in zip(case.samples, floor.samples, strict=True)
            )
            row[backend] = Figures(
                median,
                low,
                median - statistics.median(floor.samples),
                low - min(floor.samples),
                paired,
            )
        if row:
            out[scenario] = row
    return out


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs is None or theirs <= 0:
        return None
    return ours / theirs


Statistic = t.Literal["median", "min", "paired"]
STATISTICS: tuple[Statistic, ...] = ("median", "min", "paired")


def _overhead(fig: Figures, statistic: Statistic) -> float | None:
    if statistic == "median":
        return fig.overhead_median_ns
    if statistic == "min":
        return fig.overhead_min_ns
    return fig.overhead_paired_ns


class Budget(t.NamedTuple):
    scenario: Scenario
    rule: str
    limit: float
    statistic: Statistic
    ratio: float | None
    #: PASS, FAIL, SKIP (a backend was left out) or NOISY (an overhead came
    #: out at or below zero, which only noise can do: nothing was shown).
    verdict: t.Literal["PASS", "FAIL", "SKIP", "NOISY"]


#: Our overhead may be at most this fraction of Flask-Login's.
BUDGETS: dict[Scenario, tuple[float, str]] = {
    "session": (1 / 3, "overhead <= 1/3 of flask_login's"),
    "remember": (1.0, "overhead <= flask_login's"),
    "lifetime": (0.33, "overhead <= 0.33 of flask_login's"),
}


def check_budgets(
    summary: dict[Scenario, dict[Backend, Figures]], statistic: Statistic
) -> list[Budget]:
    budgets: list[Budget] = []
    for scenario, (limit, rule) in BUDGETS.items():
        row = summary.get(scenario, {})
        ours = row.get("flask_sessionauth")
        theirs = row.get("flask_login")
        if ours is None or theirs is None or "floor" not in row:
            budgets.append(Budget(scenario, rule, limit, statistic, None, "SKIP"))
            continue
        our_overhead = _overhead(ours, statistic)
        their_overhead = _overhead(theirs, statistic)
        ratio = _ratio(our_overhead, their_overhead)
        if our_overhead is None or our_overhead <= 0 or ratio is None:
            verdict: t.Literal["PASS", "FAIL", "NOISY"] = "NOISY"
        else:
            verdict = "PASS" if ratio <= limit else "FAIL"
        budgets.append(Budget(scenario, rule, limit, statistic, ratio, verdict))
    return budgets


# -- reporting -------------------------------------------------------------------


VERDICT_NOTES = {
    "SKIP": " (needs floor, flask_login and flask_sessionauth)",
    "NOISY": " (an overhead at or below zero: the machine was too busy to"
    " tell; rerun, or try --budget-statistic min)",
}


def _us(ns: float | None) -> str:
    return "-" if ns is None else f"{ns / 1000:.2f}"


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}"


def print_table(summary: dict[Scenario, dict[Backend, Figures]]) -> None:
    header = (
        f"{'scenario':<26}{'backend':<19}{'median µs':>10}{'min µs':>9}"
        f"{'overhead µs':>13}{'(min)':>8}{'(paired)':>10}"
    )
    print(header)
    print("-" * len(header))
    for scenario, row in summary.items():
        title = SCENARIO_TITLES[scenario]
        for backend, fig in row.items():
            print(
                f"{title:<26}{backend:<19}{_us(fig.median_ns):>10}"
                f"{_us(fig.min_ns):>9}{_us(fig.overhead_median_ns):>13}"
                f"{_us(fig.overhead_min_ns):>8}{_us(fig.overhead_paired_ns):>10}"
            )
            title = ""
        ours = row.get("flask_sessionauth")
        theirs = row.get("flask_login")
        if ours is not None and theirs is not None:
            median = _ratio(ours.overhead_median_ns, theirs.overhead_median_ns)
            low = _ratio(ours.overhead_min_ns, theirs.overhead_min_ns)
            paired = _ratio(ours.overhead_paired_ns, theirs.overhead_paired_ns)
            print(
                f"{'':<26}overhead ours/flask_login: {_times(median)}"
                f" (min {_times(low)}, paired {_times(paired)})"
            )
        print()


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("model name", "Hardware", "Processor"):
            return value.strip()
    return platform.processor() or "unknown"


def _version(distribution: str, module: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        pass
    loaded = sys.modules.get(module)
    version = getattr(loaded, "__version__", None)
    return str(version) if version is not None else "not installed"


def _git_revision(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def machine_info(root: Path) -> dict[str, t.Any]:
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "packages": {
            "flask": _version("flask", "flask"),
            "werkzeug": _version("werkzeug", "werkzeug"),
            "itsdangerous": _version("itsdangerous", "itsdangerous"),
            "flask-login": _version("flask-login", "flask_login"),
            "flask-sessionauth": _version("flask-sessionauth", "flask_sessionauth"),
        },
        "git_revision": _git_revision(root),
    }


def write_json(
    path: Path,
    *,
    info: dict[str, t.Any],
    settings: dict[str, t.Any],
    cases: list[Case],
    summary: dict[Scenario, dict[Backend, Figures]],
    budgets: list[Budget],
) -> None:
    results: dict[str, t.Any] = {}
    for case in cases:
        fig = summary[case.scenario][case.backend]
        results.setdefault(case.scenario, {})[case.backend] = {
            **fig._asdict(),
            "samples_ns": case.samples,
            "sets_cookies": case.sets_cookies,
            "notes": case.notes,
        }
    document = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "unit": "nanoseconds per request",
        "machine": info,
        "settings": settings,
        "results": results,
        "budgets": [b._asdict() for b in budgets],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


# -- command line ----------------------------------------------------------------


def _backends(value: str) -> list[Backend]:
    chosen: list[Backend] = []
    for name in (part.strip() for part in value.split(",")):
        if name not in BACKENDS:
            raise argparse.ArgumentTypeError(
                f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}"
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_args(argv: cabc.Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Per-request cost of flask_sessionauth, flask_login and a bare"
        " Flask floor, measured side by side in interleaved rounds.",
    )
    parser.add_argument("--rounds", type=_positive, default=30, help="default: 30")
    parser.add_argument(
        "--requests",
        type=_positive,
        default=2000,
        help="requests per backend per round (default: 2000)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed requests per case first (default: --requests)",
    )
    parser.add_argument(
        "--backends",
        type=_backends,
        default=list(BACKENDS),
        help="comma-separated subset of: " + ", ".join(BACKENDS),
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--no-check", action="store_true", help="report only; never exit 1"
    )
    parser.add_argument(
        "--budget-statistic",
        choices=STATISTICS,
        default="median",
        help="which overhead the budgets compare (default: median; min or"
        " paired resist a busy machine better)",
    )
    parser.add_argument("--seed", type=int, help="seed for the round order")
    parser.add_argument(
        "--keep-gc",
        action="store_true",
        help="leave the garbage collector on while timing (off by default, as"
        " timeit does)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    return parser.parse_args(argv)


def main(argv: cabc.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    # Measure the checkout this script lives in, not whatever is installed.
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))

    backends: list[Backend] = args.backends
    seed: int = args.seed if args.seed is not None else random.randrange(2**32)
    warmup: int = args.warmup if args.warmup is not None else args.requests

    try:
        cases = prepare_cases(backends)
    except CheckFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    loaded: list[types.ModuleType] = [
        sys.modules[m] for m in EXTENSION_MODULES.values() if m in sys.modules
    ]
    info = machine_info(root)
    print(f"Python {info['python']} on {info['platform']}; CPU: {info['cpu']}")
    print(
        "flask {flask}, werkzeug {werkzeug}, flask-login {flask-login},"
        " flask-sessionauth {flask-sessionauth}".format(**info["packages"])
    )
    for module in loaded:
        print(f"  {module.__name__} from {getattr(module, '__file__', '?')}")
    print(
        f"{args.rounds} rounds x {args.requests} requests per case, warm-up"
        f" {warmup}, seed {seed}, gc {'on' if args.keep_gc else 'off'} while timing"
    )
    print("All apps checked: each timed request answers 200 with the user's id.")
    for case in cases:
        for note in case.notes:
            print(f"note: {case.label} {note}")
    print()

    measure(
        cases,
        rounds=args.rounds,
        requests=args.requests,
        warmup=warmup,
        keep_gc=args.keep_gc,
        rng=random.Random(seed),
        progress=not args.quiet,
    )
    summary = summarise(cases)
    print_table(summary)

    statistic: Statistic = args.budget_statistic
    budgets = check_budgets(summary, statistic)
    failed = False
    for budget in budgets:
        explanation = VERDICT_NOTES.get(budget.verdict, "")
        # A budget that could not be shown to hold counts as failed.
        failed = failed or budget.verdict in ("FAIL", "NOISY")
        print(
            f"budget {SCENARIO_TITLES[budget.scenario]}: {budget.rule}:"
            f" {statistic} ratio {_times(budget.ratio)}"
            f" (limit {budget.limit:.2f}) {budget.verdict}{explanation}"
        )

    if args.json is not None:
        settings = {
            "rounds": args.rounds,
            "requests": args.requests,
            "warmup": warmup,
            "seed": seed,
            "gc_during_timing": args.keep_gc,
            "budget_statistic": statistic,
            "backends": backends,
            "command": [Path(sys.executable).name, *sys.argv],
        }
        write_json(
            args.json,
            info=info,
            settings=settings,
            cases=cases,
            summary=summary,
            budgets=budgets,
        )
        print(f"wrote {args.json}")

    if failed and not args.no_check:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
