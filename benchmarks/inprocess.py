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

Five scenarios are timed:

``session``
    The client logged in earlier through the login route; each request carries
    only the session cookie that login issued.

``remember``
    A returning visitor who has only the remember cookie: each request arrives
    without a session cookie, so the app must restore the login from the
    remember cookie and issue a new session cookie.

``lifetime``
    As ``session``, with ``SESSIONAUTH_SESSION_IDLE_TIMEOUT`` (30 minutes) and
    ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT`` (12 hours) on in
    flask_sessionauth's app and its clock held still, so that no request
    crosses the idle granularity: the check must cost little and send no
    ``Set-Cookie``. The floor and flask_login serve their ``session`` request
    (they have no timeouts). flask_sessionauth's requests take turns among
    :data:`LIFETIME_LOGINS` logins made at different times (see
    :func:`login_times`), because the login time decides how zlib compresses
    the session cookie, and one login time can be a lucky one.

``lifetime_write``
    As ``lifetime``, with the clock held one granularity (3 minutes) after
    each login, so that every request stamps the login again and sends a new
    session cookie: the cost of the one request per granularity that writes.

``anonymous``
    A browser with no cookies asks for the ``login_required`` view. Every
    backend refuses it with ``401``: the floor because the session holds no
    user and there is no remember cookie, the extensions because no
    ``login_view`` is set, so ``unauthorized()`` aborts with 401. The request
    carries a browser's ``Accept`` and ``User-Agent`` headers.

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
import base64
import collections
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
Scenario = t.Literal[
    "session",
    "remember",
    "lifetime",
    "lifetime_write",
    "anonymous",
    "realms",
    "registry",
    "bearer",
]

BACKENDS: tuple[Backend, ...] = ("floor", "flask_login", "flask_sessionauth")
#: The scenarios every benchmark runs (benchmarks/server.py too).
SCENARIOS: tuple[Scenario, ...] = ("session", "remember")
#: The session lifetime scenarios, which only this script runs.
LIFETIME_SCENARIOS: tuple[Scenario, ...] = ("lifetime", "lifetime_write")
#: The scenarios whose request must be refused, which only this script runs
#: (benchmarks/server.py counts every answer but a 200 as an error).
REFUSAL_SCENARIOS: tuple[Scenario, ...] = ("anonymous",)
#: The session request on an app with a second realm, which only
#: flask_sessionauth has; the others send their ``session`` request again.
REALM_SCENARIOS: tuple[Scenario, ...] = ("realms", "registry")
#: An API request with a Bearer token, which every backend answers its own
#: way: the floor and flask_login look the token up in a dict (a
#: ``request_loader`` for flask_login), flask_sessionauth in its in-memory
#: login registry.
TOKEN_SCENARIOS: tuple[Scenario, ...] = ("bearer",)
ALL_SCENARIOS: tuple[Scenario, ...] = (
    SCENARIOS
    + LIFETIME_SCENARIOS
    + REFUSAL_SCENARIOS
    + REALM_SCENARIOS
    + TOKEN_SCENARIOS
)
#: The token the floor and flask_login look up: the shape of
#: flask_sessionauth's, so that every backend reads as long a header.
DICT_TOKEN = "sat_" + "x" * 49
#: How much more a default-realm session request may cost on an app with a
#: second realm than on an app with one: at most 5% more instructions.
REALMS_LIMIT = 1.05
#: The session request with an in-memory login registry may cost at most
#: flask_login's overhead.
REGISTRY_LIMIT = 1.0
SCENARIO_TITLES: dict[Scenario, str] = {
    "session": "(a) session cookie",
    "remember": "(b) remember cookie only",
    "lifetime": "(c) timeouts, no write",
    "lifetime_write": "(d) timeouts, writing",
    "anonymous": "(e) anonymous, 401",
    "realms": "(f) session, two realms",
    "registry": "(g) session, registry",
    "bearer": "(h) API token (Bearer)",
}

#: The session lifetime settings of the ``lifetime`` scenarios, and the
#: default granularity they give (a tenth of the idle timeout).
IDLE_TIMEOUT = datetime.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = datetime.timedelta(hours=12)
IDLE_GRANULARITY_SECONDS = 180.0
#: Where a ``lifetime`` app's clock stands when the user logs in, for the
#: checks made before timing. The timed cases use :func:`login_times`.
LOGIN_TIME = 1_700_000_000.0
#: How many logins, each at its own time, the ``lifetime`` cases of
#: flask_sessionauth take turns among. It divides the requests that
#: instructions.py counts (300 and 4,000 by default) and inprocess.py's
#: default 2,000, so that each login gets the same share of them.
LIFETIME_LOGINS = 10
#: Seed of :func:`login_times`: the same times on every run and machine.
LOGIN_TIMES_SEED = 20240501

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

#: The ``anonymous`` request: what a browser sends for a page. Its ``Accept``
#: prefers HTML, so flask_sessionauth, which answers JSON to clients that
#: prefer JSON, must read it and choose the browser's answer.
BROWSER_ENVIRON: dict[str, str] = {
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    ),
    "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.5",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br, zstd",
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


def _create_floor_app(bearer: bool = False) -> Flask:
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

    tokens = {DICT_TOKEN: USER_ID}

    @app.get("/me")
    def me() -> ResponseReturnValue:
        if bearer:
            header = request.headers.get("Authorization", "")
            found = tokens.get(header[7:]) if header[:7] == "Bearer " else None
            user = users.get(found) if found is not None else None
            return (
                "unauthorized" if user is None else user.id,
                401 if user is None else 200,
            )

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


def login_times(count: int = LIFETIME_LOGINS) -> list[float]:
    """The times at which the ``lifetime`` cases' logins are made: spread
    over three years, the same on every run.

    The time is written into the session cookie, and Flask's session
    serializer compresses the cookie with zlib, which picks a fixed or a
    dynamic Huffman block by what compresses smaller. Inflating a fixed
    block costs about 10k instructions less, and each request inflates the
    cookie. Nearly every login gets a dynamic block, but a login at
    :data:`LOGIN_TIME` happened to get a fixed one, so a benchmark with that
    one login flattered the timeouts. Taking turns among several logins
    measures the common case; :func:`cookie_compression` tells which block
    each cookie got.
    """
    rng = random.Random(LOGIN_TIMES_SEED)
    return [round(rng.uniform(1.7e9, 1.8e9), 3) for _ in range(count)]


def cookie_compression(pair: str) -> str:
    """How Flask's session serializer stored the session cookie in ``pair``
    (``name=value``): ``"plain"`` JSON, or zlib whose first deflate block is
    ``"fixed"``, ``"dynamic"`` (Huffman codes) or ``"stored"``.
    """
    value = pair.partition("=")[2].strip('"')

    if not value.startswith("."):
        return "plain"

    payload = value[1:].split(".", 1)[0]

    try:
        data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except ValueError:
        return "unreadable"

    if len(data) < 3:
        return "unreadable"

    # A 2-byte zlib header, then the block header: BFINAL, then 2 bits BTYPE.
    kinds = {0: "stored", 1: "fixed", 2: "dynamic"}
    return kinds.get((data[2] >> 1) & 0b11, "unreadable")


def timeout_config(ext: types.ModuleType) -> dict[str, datetime.timedelta]:
    """The config that turns both session timeouts on, in the spelling of the
    ``flask_sessionauth`` that was imported: ``SESSIONAUTH_SESSION_*`` since
    the package's own keys took the ``SESSIONAUTH_`` prefix, ``SESSION_*``
    before. Reading it from the package lets one benchmark measure commits
    on both sides of the rename; a package that would refuse the other
    spelling never sees it.
    """
    config = importlib.import_module(f"{ext.__name__}.config")
    known = getattr(config, "DEFAULTS", {})

    for prefix in ("SESSIONAUTH_", ""):
        if f"{prefix}SESSION_IDLE_TIMEOUT" in known:
            return {
                f"{prefix}SESSION_IDLE_TIMEOUT": IDLE_TIMEOUT,
                f"{prefix}SESSION_ABSOLUTE_TIMEOUT": ABSOLUTE_TIMEOUT,
            }

    raise CheckFailed(
        f"{ext.__name__}.config.DEFAULTS names no SESSION_IDLE_TIMEOUT key, with"
        " or without the SESSIONAUTH_ prefix; teach timeout_config() its name"
    )


def _create_extension_app(
    backend: Backend,
    *,
    timeouts: bool = False,
    now: float = LOGIN_TIME,
    realms: bool = False,
    registry: bool = False,
    bearer: bool = False,
) -> Flask:
    # Both extensions are driven through the very same lines below, with the
    # module the only difference, so neither gets a friendlier setup.
    ext = importlib.import_module(EXTENSION_MODULES[backend])
    app = Flask(f"bench_{backend}")
    app.config["SECRET_KEY"] = SECRET_KEY

    if timeouts:
        app.config.update(timeout_config(ext))

    manager = ext.LoginManager(app)

    if timeouts:
        manager.clock = still_clock(now)
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

    if realms:
        _add_staff_realm(ext, app)

    if bearer and backend == "flask_login":
        # flask-login's answer to API tokens: a request loader, here over a
        # dict.
        tokens = {DICT_TOKEN: user}

        def load_from_request(req: t.Any) -> t.Any:
            header = req.headers.get("Authorization", "")
            return tokens.get(header[7:]) if header[:7] == "Bearer " else None

        manager.request_loader(load_from_request)

    if bearer and backend == "flask_sessionauth":
        registry = True

    if registry:
        # In memory, with the clock held still: every timed request is one
        # within the last-seen granularity, as nearly all requests are.
        manager.registry = importlib.import_module(
            f"{ext.__name__}.stores.memory"
        ).MemoryLoginStore()
        manager.clock = still_clock(now)

    return app


def _add_staff_realm(ext: types.ModuleType, app: Flask) -> None:
    """Give a flask_sessionauth app a second realm, ``staff``, with its own
    user table (whose ids overlap the customers'), loader and page. The timed
    request never touches it.
    """
    staff = ext.LoginManager(app, realm="staff")
    user_class: type[t.Any] = type("BenchStaff", (ext.UserMixin,), {})
    member = user_class()
    member.id = USER_ID
    members: dict[str, t.Any] = {USER_ID: member}

    def load_staff(user_id: str) -> t.Any:
        return members.get(user_id)

    staff.user_loader(load_staff)

    def staff_home() -> ResponseReturnValue:
        return str(staff.current_user.get_id())

    app.add_url_rule(
        "/staff", view_func=staff.login_required(staff_home), methods=["GET"]
    )


def create_app(
    backend: Backend,
    *,
    timeouts: bool = False,
    now: float = LOGIN_TIME,
    realms: bool = False,
    registry: bool = False,
    bearer: bool = False,
) -> Flask:
    """Build the benchmark app for one backend.

    Every app has ``GET /login`` (``?remember=1`` also issues a remember
    cookie) and ``GET /me``, which answers the logged-in user's id or refuses.

    :param timeouts: For flask_sessionauth only: turn on both session
        timeouts and give the manager a :func:`still_clock` standing at
        ``now``.
    :param realms: For flask_sessionauth only: add a second realm.
    :param registry: For flask_sessionauth only: an in-memory login
        registry, and a :func:`still_clock` standing at ``now``.
    """
    if backend == "floor":
        return _create_floor_app(bearer=bearer)
    return _create_extension_app(
        backend,
        timeouts=timeouts,
        now=now,
        realms=realms,
        registry=registry,
        bearer=bearer,
    )


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


def _build_environ(
    cookie_header: str | None,
    environ_base: cabc.Mapping[str, str] = CLIENT_ENVIRON,
) -> WSGIEnvironment:
    builder = EnvironBuilder(
        path="/me",
        method="GET",
        headers=[] if cookie_header is None else [("Cookie", cookie_header)],
        environ_base=dict(environ_base),
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


class Call(t.NamedTuple):
    """One request a case sends: the app, and the environ to call it with."""

    app: Flask
    environ: WSGIEnvironment
    #: The ``name=value`` of the cookie sent, or None when none is.
    cookie_header: str | None


class Case:
    """One (backend, scenario) pair: the requests to send, each with its app.
    A case of several requests sends them in turn, one after the other.
    """

    def __init__(
        self,
        backend: Backend,
        scenario: Scenario,
        requests: cabc.Sequence[tuple[Flask, str | None]],
        *,
        environ_base: cabc.Mapping[str, str] = CLIENT_ENVIRON,
    ) -> None:
        self.backend = backend
        self.scenario = scenario
        self.calls = [
            Call(app, _build_environ(cookie, environ_base), cookie)
            for app, cookie in requests
        ]
        #: Per-round nanoseconds per request.
        self.samples: list[float] = []
        #: Cookie names the responses set, recorded by :meth:`verify`.
        self.sets_cookies: list[str] = []
        self.notes: list[str] = []
        #: How the session cookie of each request is compressed (see
        #: :func:`cookie_compression`); empty when the requests send none.
        self.compression: list[str] = []

    @property
    def label(self) -> str:
        return f"{self.backend}/{self.scenario}"

    def verify(self) -> None:
        """Send each timed request once, and check that it gets the answer
        the scenario is about: an authenticated 200, or a 401 refusal.
        """
        for call in self.calls:
            self._verify(call)

        for call in self.calls:
            session_name = call.app.config["SESSION_COOKIE_NAME"]
            cookie = call.cookie_header
            if cookie is not None and cookie.startswith(f"{session_name}="):
                self.compression.append(cookie_compression(cookie))

    def _verify(self, call: Call) -> None:
        captured, body = _call(call.app, call.environ)

        if self.scenario in REFUSAL_SCENARIOS:
            _expect(
                captured.status.startswith("401"),
                f"{self.label}: timed request answered {captured.status}"
                f" {body[:80]!r}, not 401; the benchmark would not measure the"
                " refusal",
            )
        else:
            _expect(
                captured.status.startswith("200") and body == USER_ID.encode(),
                f"{self.label}: timed request answered {captured.status}"
                f" {body[:80]!r}; the benchmark would measure a refusal",
            )

        set_cookies = [v for k, v in captured.headers if k.lower() == "set-cookie"]
        for name in (v.split("=", 1)[0] for v in set_cookies):
            if name not in self.sets_cookies:
                self.sets_cookies.append(name)
        session_name = call.app.config["SESSION_COOKIE_NAME"]

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
            follow, body = _call(call.app, _build_environ(issued[0]))
            _expect(
                follow.status.startswith("200") and body == USER_ID.encode(),
                f"{self.label}: the session cookie it issued answered {follow.status}",
            )
        elif set_cookies and not self.notes:
            # Not fatal: a rewrite on every request is real cost, and measuring
            # it is the point, but whoever reads the figures must know.
            self.notes.append(
                "sets cookies on a request that should not need to: "
                + ", ".join(self.sets_cookies)
            )

    def describe(self) -> str:
        """The requests this case takes turns among, and how their session
        cookies are compressed, for the report."""
        counts = collections.Counter(self.compression)
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        requests = (
            "1 request" if len(self.calls) == 1 else f"{len(self.calls)} requests"
        )
        return f"{requests}; session cookie: {kinds or 'none sent'}"

    def run(self, count: int) -> int:
        """Send ``count`` requests, taking the case's requests in turn; return
        the elapsed nanoseconds.
        """
        calls = [(call.app.wsgi_app, call.environ) for call in self.calls]
        start_response = t.cast("StartResponse", _discard)
        # Every case loops the same way, one request or several, so the
        # harness costs them all the same and the floor subtracts it.
        turns = itertools.islice(itertools.cycle(calls), count)
        clock = time.perf_counter_ns
        started = clock()
        for wsgi_app, environ in turns:
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
        cases.append(Case(backend, "session", [(app, cookies[session_name])]))

        cookies = _login_cookies(app, remember=True)
        _expect(
            REMEMBER_COOKIE in cookies,
            f"{backend}: login with remember set no remember cookie",
        )
        cases.append(Case(backend, "remember", [(app, cookies[REMEMBER_COOKIE])]))
        cases += _lifetime_cases(backend, app)
        cases.append(
            Case(backend, "anonymous", [(app, None)], environ_base=BROWSER_ENVIRON)
        )
        cases.append(_realms_case(backend, app, "realms"))
        cases.append(_realms_case(backend, app, "registry"))
        cases.append(_bearer_case(backend))

    for case in cases:
        case.verify()
    return cases


def check_timeouts(backend: Backend) -> None:
    """Check that the ``lifetime`` apps' timeouts are on: a login is served
    at its login time and refused once idle for longer than the idle
    timeout. A config key the package does not read would leave them off,
    and (c) would then time a plain session request.
    """
    app = create_app(backend, timeouts=True, now=LOGIN_TIME)
    cookie = _login_cookies(app, remember=False)[app.config["SESSION_COOKIE_NAME"]]
    environ = _build_environ(cookie)
    captured, body = _call(app, environ)
    _expect(
        captured.status.startswith("200") and body == USER_ID.encode(),
        f"{backend}: with timeouts on, /me right after login answered"
        f" {captured.status}",
    )
    idle = IDLE_TIMEOUT.total_seconds() + IDLE_GRANULARITY_SECONDS + 1
    app.extensions["sessionauth"].clock = still_clock(LOGIN_TIME + idle)
    captured, body = _call(app, environ)
    _expect(
        not captured.status.startswith("200"),
        f"{backend}: a login idle for {idle:g} s was still served: the session"
        " timeouts are off, so the (c) and (d) cases would not measure them",
    )


def sent_as(backend: Backend, scenario: Scenario) -> Scenario:
    """The scenario whose request ``backend`` sends in ``scenario``: the
    floor and flask_login have no timeouts and no realms, so in the
    ``lifetime`` and ``realms`` scenarios they send their ``session``
    request. instructions.py counts such a case once.
    """
    if (
        scenario in LIFETIME_SCENARIOS or scenario in REALM_SCENARIOS
    ) and backend != "flask_sessionauth":
        return "session"
    return scenario


def _realms_case(backend: Backend, session_app: Flask, scenario: Scenario) -> Case:
    """The ``realms`` case (flask_sessionauth's session request on an app
    with a second realm) or the ``registry`` case (on an app with an
    in-memory login registry); the others' session request again (and
    flask_sessionauth's, for a checkout without realms or registries).
    """
    app = session_app

    if backend == "flask_sessionauth":
        try:
            app = create_app(
                backend,
                realms=scenario == "realms",
                registry=scenario == "registry",
            )
        except (TypeError, ModuleNotFoundError):
            # A checkout from before realms (measured with --root): its
            # session request, as the other backends send.
            pass

    if app is not session_app:
        sanity_check(backend, app)

    if app is not session_app and scenario == "realms":
        staff = app.test_client()
        staff.environ_base.update(CLIENT_ENVIRON)
        _expect(
            staff.get("/staff").status_code in (302, 303, 401),
            f"{backend}: a customer-less client reached the staff page",
        )

    cookie = _login_cookies(app, remember=False)[app.config["SESSION_COOKIE_NAME"]]
    return Case(backend, scenario, [(app, cookie)])


def _bearer_case(backend: Backend) -> Case:
    """The ``bearer`` case: ``/me`` with ``Authorization: Bearer <token>``
    and no cookie.
    """
    try:
        app = create_app(backend, bearer=True)
    except (TypeError, ModuleNotFoundError):
        # A checkout from before registries: its session request instead.
        app = create_app(backend)
        cookie = _login_cookies(app, remember=False)[app.config["SESSION_COOKIE_NAME"]]
        return Case(backend, "bearer", [(app, cookie)])

    token = DICT_TOKEN

    if backend == "flask_sessionauth":
        manager = app.extensions["sessionauth"]

        if not hasattr(manager, "issue_token"):
            cookie = _login_cookies(app, remember=False)[
                app.config["SESSION_COOKIE_NAME"]
            ]
            return Case(backend, "bearer", [(app, cookie)])

        with app.app_context():
            token = manager.issue_token(manager.user_callback(USER_ID), name="bench")

    environ = {**CLIENT_ENVIRON, "HTTP_AUTHORIZATION": f"Bearer {token}"}
    return Case(backend, "bearer", [(app, None)], environ_base=environ)


def _lifetime_cases(backend: Backend, session_app: Flask) -> list[Case]:
    """The ``lifetime`` and ``lifetime_write`` cases of ``backend``. Without
    timeouts of their own, the floor and flask_login send their ``session``
    request again. flask_sessionauth's cases take turns among logins made at
    each of :func:`login_times`, each in an app whose clock stands at that
    time (``lifetime``) or one idle granularity later (``lifetime_write``).
    """
    if backend != "flask_sessionauth":
        cookie = _login_cookies(session_app, remember=False)[
            session_app.config["SESSION_COOKIE_NAME"]
        ]
        return [
            Case(backend, scenario, [(session_app, cookie)])
            for scenario in LIFETIME_SCENARIOS
        ]

    check_timeouts(backend)
    cases = []

    for scenario in LIFETIME_SCENARIOS:
        requests: list[tuple[Flask, str | None]] = []

        for number, login_at in enumerate(login_times()):
            app = create_app(backend, timeouts=True, now=login_at)
            if number == 0:
                sanity_check(backend, app)
            session_name = app.config["SESSION_COOKIE_NAME"]
            cookie = _login_cookies(app, remember=False)[session_name]

            if scenario == "lifetime_write":
                manager = app.extensions["sessionauth"]
                manager.clock = still_clock(login_at + IDLE_GRANULARITY_SECONDS)

            requests.append((app, cookie))

        cases.append(Case(backend, scenario, requests))

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
    "session": (0.30, "overhead <= 0.30 of flask_login's"),
    "remember": (0.90, "overhead <= 0.90 of flask_login's"),
    "lifetime": (0.35, "overhead <= 0.35 of flask_login's"),
    "anonymous": (1.0, "overhead <= flask_login's"),
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
            "requests": len(case.calls),
            "session_cookie_compression": case.compression,
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
    print(
        "All apps checked: each timed request answers 200 with the user's id"
        " (401 in the refusal scenarios)."
    )
    for case in cases:
        print(f"  {case.label}: {case.describe()}")
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
