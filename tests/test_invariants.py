"""Security invariants of logins, checked by a Hypothesis state machine.

Three clients (two browsers of the victim, one of the attacker) log in and
out, change passwords, copy each other's cookies and put back cookies they
held before, while the app's settings and secret keys change under them and
time passes. The machine runs once on Flask's signed cookie sessions and once
on Flask-Session's server-side sessions.

The model tracks credentials, not clients. Each login makes a ``Login`` (its
user, and whether it is alive). Every session cookie value (for server-side
sessions: every incarnation of a session id) and every remember cookie value
carries a set of logins:

- a password login (form or HTTP Basic) makes a new login, carried by the
  session and remember cookies of its response;
- a login restored from a remember cookie carries that cookie's login;
- a remember cookie issued without a password login (refresh on each
  request, re-signing, ``rebind_session``) carries the login of the cookie
  the request sent, whatever the session carries;
- a token change ends every login of its user; ``rebind_session`` continues
  the caller's session as a new login, and its remember cookie only if that
  cookie carried a live login of the user;
- logging out leaves the client's cookies carrying nothing; copies of a
  signed session cookie and of a remember cookie keep their login until the
  token changes (docs/security.rst); a server-side session id carries what is
  stored under it, for every holder;
- a login written to a server-side session starts a new incarnation of its
  id: copies of the id taken before carry nothing;
- under ``SESSIONAUTH_SESSION_IDLE_TIMEOUT`` and
  ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT`` (each on or off for a run) a
  session cookie value, or a server-side session id, carries nothing once
  it is idle or old beyond the timeouts. The model
  keeps, for each, the latest time its login can have been written and its
  last use: an expired login never authenticates, while its remember cookie
  still may (a new login, which the model allows as a restore).

Invariants, checked after every step by probes that leave no trace (a
throwaway client; the stored sessions and the users' tokens are put back
afterwards), for every client: its cookies together, each on its own, and its
current cookie of each kind beside the last few of the other kind it held
before (it could put them back any time) make a request anonymous unless
they carry a live login of the user it is made by. A probe whose answer sets
a new cookie sends that cookie alone too, and it may only be the user the
rules above let it carry; when the probe was logged in, the same is done
for a password change with ``rebind_session()``. No answer is a server
error. Every request the rules send is checked the same way, with a correct
password in the request as a justification too.

The model may call something valid that the code refuses (strong session
protection, a dropped secret key): the code may be stricter, never looser.

``SESSIONAUTH_STATEFUL_EXAMPLES`` (default 250) and
``SESSIONAUTH_STATEFUL_STEPS`` (default 30) set how many examples, and steps
in each, each machine runs; the defaults take about 35 seconds in all. tox
runs the default in py312 and 50 examples in its other envs (see tox.ini).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import typing as t

from cachelib import SimpleCache
from flask import Flask
from flask import request
from flask import session
from flask.testing import FlaskClient
from flask_session import Session
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize
from hypothesis.stateful import invariant
from hypothesis.stateful import rule
from hypothesis.stateful import RuleBasedStateMachine
from werkzeug.test import TestResponse

from flask_sessionauth import current_user
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import rebind_session
from flask_sessionauth import UserMixin
from helpers import read_lifetime

SESSION = "session"
REMEMBER = "remember_token"
COOKIES = (SESSION, REMEMBER)
#: Flask-Session's prefix of the keys it stores sessions under.
STORE_PREFIX = "session:"
#: How many earlier cookies of each kind a client is probed with.
PROBED_HISTORY = 3

#: The clients, the user whose password each knows, and its User-Agent
#: (different, so that session protection tells them apart).
KNOWS = {"victim": "v", "phone": "v", "attacker": "a"}
AGENTS = {
    "victim": "Mozilla/5.0 (victim laptop)",
    "phone": "Mozilla/5.0 (victim phone)",
    "attacker": "curl/8.0 (attacker)",
}
CLIENTS = tuple(KNOWS)
USERS = ("v", "a")
PAIRS = tuple(itertools.permutations(CLIENTS, 2))

LOGIN_ROUTES = ("/login", "/login-clear", "/logout-login")
PROTECTION = (None, "basic", "strong")
#: The session timeouts of a run, when on, and the steps time takes: around
#: the granularity, the idle timeout (plus the granularity) and the absolute
#: lifetime.
IDLE = 600
GRANULARITY = 60
ABSOLUTE = 1800
TIME_STEPS = (30, 59, 60, 599, 600, 660, 661, 1200, 1801)

CONFIG_CHANGES: tuple[tuple[str, object], ...] = (
    ("REMEMBER_COOKIE_REFRESH_EACH_REQUEST", True),
    ("REMEMBER_COOKIE_REFRESH_EACH_REQUEST", False),
    *(("SESSION_PROTECTION", mode) for mode in PROTECTION),
    ("SESSIONAUTH_LOGOUT_CLEAR_SESSION", True),
    ("SESSIONAUTH_LOGOUT_CLEAR_SESSION", False),
)

EXAMPLES = int(os.environ.get("SESSIONAUTH_STATEFUL_EXAMPLES", "250"))
STEPS = int(os.environ.get("SESSIONAUTH_STATEFUL_STEPS", "30"))

SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    database=None,
    print_blob=True,
    # Explaining a failure traces every line of Flask and takes minutes.
    phases=[phase for phase in Phase if phase is not Phase.explain],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# The application under test


class Member(UserMixin):
    def __init__(self, id: str, password: str) -> None:
        self.id = id
        self.password = password
        self.token = f"{id}-token-0"

    def get_session_token(self) -> str | None:
        return self.token


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def whoami() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"

    return "anon"


def build_app(
    members: dict[str, Member], clock: Clock, store: SimpleCache | None
) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="key-0", TESTING=True)

    if store is not None:
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=store)
        Session(app)

    manager = LoginManager(app)
    manager.clock = clock
    tokens = itertools.count(1)

    @manager.user_loader
    def load_member(user_id: str) -> Member | None:
        return members.get(user_id)

    @manager.basic_auth_loader
    def check_basic(username: str, password: str) -> Member | None:
        member = members.get(username)

        if member is None or member.password != password:
            return None

        return member

    def checked_member() -> Member | None:
        member = members.get(request.form["username"])

        if member is None or member.password != request.form["password"]:
            return None

        return member

    def remember() -> bool:
        return request.form.get("remember") == "1"

    @app.get("/me")
    def me() -> str:
        return whoami()

    @app.post("/login")
    def login() -> str:
        member = checked_member()

        if member is not None:
            login_user(member, remember=remember())

        return whoami()

    @app.post("/login-clear")
    def login_clear() -> str:
        member = checked_member()

        if member is not None:
            session.clear()
            login_user(member, remember=remember())

        return whoami()

    @app.post("/logout")
    def logout() -> str:
        logout_user()
        return whoami()

    @app.post("/logout-login")
    def logout_login() -> str:
        member = checked_member()

        if member is not None:
            before = app.config.get("SESSIONAUTH_LOGOUT_CLEAR_SESSION", False)
            app.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = True

            try:
                logout_user()
            finally:
                app.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = before

            login_user(member, remember=remember())

        return whoami()

    @app.post("/password")
    @login_required
    def password() -> str:
        member = t.cast(Member, current_user._get_current_object())
        number = next(tokens)
        member.password = f"{member.id}-password-{number}"
        member.token = f"{member.id}-token-{number}"

        if request.form.get("rebind") == "1":
            rebind_session()

        return whoami()

    return app


def store_snapshot(store: SimpleCache) -> dict[str, t.Any]:
    return dict(store._cache)


def store_restore(store: SimpleCache, saved: dict[str, t.Any]) -> None:
    store._cache.clear()
    store._cache.update(saved)


def answer(response: TestResponse) -> tuple[int, str | None]:
    """The status of a response, and the user the app says made the request
    (None: anonymous).
    """
    status = response.status_code

    if status != 200:
        return status, None

    text = response.text

    if text == "anon":
        return status, None

    assert text.startswith("user:"), text
    return status, text[len("user:") :]


def touched(response: TestResponse, name: str) -> bool:
    """Whether the response has a ``Set-Cookie`` header for ``name``."""
    return any(
        header.split("=", 1)[0].strip() == name
        for header in response.headers.getlist("Set-Cookie")
    )


def jar_value(client: FlaskClient, name: str) -> str | None:
    cookie = client.get_cookie(name)
    return None if cookie is None else cookie.value


# The model


@dataclasses.dataclass
class Login:
    number: int
    user: str
    how: str
    alive: bool = True

    def __str__(self) -> str:
        state = "live" if self.alive else "dead"
        return f"L{self.number}({self.user}, {self.how}, {state})"


@dataclasses.dataclass(frozen=True)
class Cred:
    """A cookie value a client holds; for a server-side session id, also the
    incarnation of the id it was taken from.
    """

    value: str
    incarnation: int = 0


Jar = dict[str, Cred | None]
#: A probe's status and user, and the same for each cookie its answer set,
#: sent on its own.
Outcome = tuple[int, str | None, tuple[tuple[str, tuple[int, str | None]], ...]]


class LoginMachine(RuleBasedStateMachine):
    server_side: t.ClassVar[bool] = False
    #: Serve every request inside one app context pushed for the whole run:
    #: up to Flask 3.1 they then share one g (review finding N1).
    shared_app_context: t.ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.members = {
            "v": Member("v", "v-password-0"),
            "a": Member("a", "a-password-0"),
        }
        self.clock = Clock()
        self.store = SimpleCache(threshold=1_000_000) if self.server_side else None
        self.app = build_app(self.members, self.clock, self.store)
        self.context = self.app.app_context() if self.shared_app_context else None

        if self.context is not None:
            self.context.push()

        self.keys = itertools.count(1)
        self.clients: dict[str, FlaskClient] = {}

        for who in CLIENTS:
            client = self.app.test_client()
            client.environ_base["HTTP_USER_AGENT"] = AGENTS[who]
            self.clients[who] = client

        self.logins: list[Login] = []
        #: Signed cookie sessions and remember cookies: value -> logins.
        self.session_carry: dict[str, set[int]] = {}
        self.remember_carry: dict[str, set[int]] = {}
        #: Server-side sessions: id -> current incarnation, and its logins.
        self.incarnation: dict[str, int] = {}
        self.stored: dict[str, set[int]] = {}
        self.jars: dict[str, Jar] = {who: dict.fromkeys(COOKIES) for who in CLIENTS}
        #: Probe answers: (client, cookie values, world) -> (status, user).
        self.answers: dict[tuple[object, ...], Outcome] = {}
        self.history: dict[str, dict[str, list[Cred | None]]] = {
            who: {name: [None] for name in COOKIES} for who in CLIENTS
        }
        self.idle_on = False
        self.absolute_on = False
        #: The latest time the login of a signed session cookie value, or of
        #: what a server-side session id stores, can have been written, and
        #: its latest use: (login, use).
        self.session_times: dict[str, tuple[float, float]] = {}
        self.stored_times: dict[str, tuple[float, float]] = {}

    # What credentials carry

    def carried(self, name: str, cred: Cred | None) -> set[int]:
        if cred is None:
            return set()

        if name == REMEMBER:
            return self.remember_carry.get(cred.value, set())

        if not self.server_side:
            if self.expired(self.session_times.get(cred.value)):
                return set()

            return self.session_carry.get(cred.value, set())

        if self.incarnation.get(cred.value) != cred.incarnation:
            return set()

        if self.expired(self.stored_times.get(cred.value)):
            return set()

        return self.stored.get(cred.value, set())

    def expired(self, times: tuple[float, float] | None) -> bool:
        """Whether a session whose login was written at the latest at
        ``login`` and last used at the latest at ``use`` is past a timeout.
        """
        if times is None:
            return False

        login, use = times
        now = self.clock.now
        return (self.idle_on and now - use > IDLE + GRANULARITY) or (
            self.absolute_on and now - login > ABSOLUTE
        )

    def sent_times(self, cred: Cred | None) -> tuple[float, float] | None:
        if cred is None:
            return None

        if not self.server_side:
            return self.session_times.get(cred.value)

        return self.stored_times.get(cred.value)

    def live_logins(self, user: str, numbers: set[int]) -> set[int]:
        return {
            n for n in numbers if self.logins[n].user == user and self.logins[n].alive
        }

    def new_login(self, user: str, how: str) -> int:
        self.logins.append(Login(len(self.logins), user, how))
        return len(self.logins) - 1

    def describe(self, jar: Jar) -> str:
        parts = []

        for name in COOKIES:
            cred = jar[name]

            if cred is None:
                continue

            logins = ", ".join(str(self.logins[n]) for n in self.carried(name, cred))
            parts.append(f"{name}=...{cred.value[-12:]} carries [{logins}]")

        return "; ".join(parts) or "no cookies"

    def check(
        self,
        who: str,
        jar: Jar,
        status: int,
        user: str | None,
        password_user: str | None,
    ) -> str | None:
        assert status < 500, f"{who} got status {status}"

        if user is None or user == password_user:
            return user

        sent = self.carried(SESSION, jar[SESSION]) | self.carried(
            REMEMBER, jar[REMEMBER]
        )
        assert self.live_logins(user, sent), (
            f"{who} is user {user!r} after sending {self.describe(jar)}"
        )
        return user

    # Sending requests, and what their answers do to the model

    def in_sync(self, who: str) -> None:
        for name in COOKIES:
            cred = self.jars[who][name]
            held = jar_value(self.clients[who], name)
            assert held == (None if cred is None else cred.value), (who, name)

    def hold(self, who: str, name: str, cred: Cred | None) -> None:
        client = self.clients[who]

        if cred is None:
            client.delete_cookie(name)
        else:
            client.set_cookie(name, cred.value)

        self.jars[who][name] = cred
        self.remember_held(who, name)

    def remember_held(self, who: str, name: str) -> None:
        cred = self.jars[who][name]

        held = self.history[who][name]

        if cred in held:
            held.remove(cred)

        held.append(cred)

    def send(
        self,
        who: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        password_login: bool = False,
        remember: bool = False,
        rebind: bool = False,
    ) -> str | None:
        client = self.clients[who]
        self.in_sync(who)
        jar = dict(self.jars[who])
        sent_session = self.carried(SESSION, jar[SESSION])
        sent_remember = self.carried(REMEMBER, jar[REMEMBER])
        tokens = {uid: member.token for uid, member in self.members.items()}

        # Whose correct password the request carries.
        password_user: str | None = None

        if form is not None and "username" in form:
            member = self.members[form["username"]]

            if form["password"] == member.password:
                password_user = member.id

        if auth is not None and self.members[auth[0]].password == auth[1]:
            password_user = auth[0]

        now = self.clock.now

        if form is None:
            response = client.get(path, auth=auth)
        else:
            response = client.post(path, data=form)

        self.clock.now += 1
        user = self.check(who, jar, *answer(response), password_user)

        # Liveness as the request found it, before any token change.
        session_live = user is not None and bool(self.live_logins(user, sent_session))
        remember_live = user is not None and bool(self.live_logins(user, sent_remember))
        new_login: int | None = None
        password_login = password_login and user == password_user

        if user is not None and user == password_user:
            new_login = self.new_login(user, f"{path} by {who}")

        for uid, member in self.members.items():
            if member.token != tokens[uid]:
                self.end_logins(uid)

        continued: int | None = None

        if (
            rebind
            and user is not None
            and self.members[user].token != tokens[user]
            and (session_live or remember_live or new_login is not None)
        ):
            continued = self.new_login(user, f"rebind by {who}")

        # What the session holds after the request.
        content: set[int]

        if user is None:
            content = set()
        elif continued is not None:
            content = {continued}
        elif password_login:
            assert new_login is not None
            content = {new_login}
        else:
            base = (sent_session if session_live else set()) | sent_remember
            content = {n for n in base if self.logins[n].user == user}

            if new_login is not None:
                content.add(new_login)

        login_written = user is not None and (
            password_login or continued is not None or not session_live
        )
        # When the session's login can have been written: now, unless the
        # session's own login is all that can have authenticated the request.
        before = self.sent_times(jar[SESSION])
        rewritten = (
            before is None
            or login_written
            or remember_live
            or (user is not None and user == password_user)
        )
        times = (now if rewritten or before is None else before[0], now)
        self.after_session(who, jar, response, content, login_written, times)

        # What a remember cookie set by the response carries.
        remember_content: set[int]

        if password_login and remember:
            assert new_login is not None
            remember_content = {new_login}
        elif continued is not None and remember_live:
            remember_content = {continued}
        else:
            remember_content = set(sent_remember)

        self.after_remember(who, response, remember_content)
        return user

    def end_logins(self, user: str) -> None:
        for login in self.logins:
            if login.user == user:
                login.alive = False

    def after_session(
        self,
        who: str,
        jar: Jar,
        response: TestResponse,
        content: set[int],
        login_written: bool,
        times: tuple[float, float],
    ) -> None:
        sent = jar[SESSION]
        held = jar_value(self.clients[who], SESSION)
        cred: Cred | None

        if not self.server_side:
            if held is None:
                cred = None
            elif touched(response, SESSION) or sent is None or sent.value != held:
                self.session_carry.setdefault(held, set()).update(content)
                earlier = self.session_times.get(held, times)
                self.session_times[held] = (
                    max(earlier[0], times[0]),
                    max(earlier[1], times[1]),
                )
                cred = Cred(held)
            else:
                cred = sent
        else:
            old = None if sent is None else sent.value

            if old is not None and old != held:
                # Regenerated, deleted or never stored: nothing is left.
                self.stored[old] = set()

            if held is None:
                cred = None
            else:
                if held != old or login_written:
                    # A login written to the session starts a new
                    # incarnation: earlier copies of the id carry nothing.
                    self.incarnation[held] = self.incarnation.get(held, 0) + 1

                self.stored[held] = set(content)
                self.stored_times[held] = times
                cred = Cred(held, self.incarnation.setdefault(held, 0))

        self.jars[who][SESSION] = cred
        self.remember_held(who, SESSION)

    def after_remember(
        self, who: str, response: TestResponse, content: set[int]
    ) -> None:
        sent = self.jars[who][REMEMBER]
        held = jar_value(self.clients[who], REMEMBER)
        cred: Cred | None

        if held is None:
            cred = None
        elif touched(response, REMEMBER) or sent is None or sent.value != held:
            self.remember_carry.setdefault(held, set()).update(content)
            cred = Cred(held)
        else:
            cred = sent

        self.jars[who][REMEMBER] = cred
        self.remember_held(who, REMEMBER)

    # Rules: what clients do

    @rule(who=st.sampled_from(CLIENTS))
    def visit(self, who: str) -> None:
        self.send(who, "/me")

    @rule(
        who=st.sampled_from(CLIENTS),
        route=st.sampled_from(LOGIN_ROUTES),
        remember=st.booleans(),
    )
    def log_in(self, who: str, route: str, remember: bool) -> None:
        member = self.members[KNOWS[who]]
        form = {
            "username": member.id,
            "password": member.password,
            "remember": "1" if remember else "0",
        }
        user = self.send(who, route, form=form, password_login=True, remember=remember)
        assert user == member.id

    @rule(who=st.sampled_from(CLIENTS))
    def log_in_basic(self, who: str) -> None:
        member = self.members[KNOWS[who]]
        self.send(who, "/me", auth=(member.id, member.password))

    @rule(who=st.sampled_from(CLIENTS))
    def log_out(self, who: str) -> None:
        assert self.send(who, "/logout", form={}) is None

    @rule(who=st.sampled_from(CLIENTS), rebind=st.booleans())
    def change_password(self, who: str, rebind: bool) -> None:
        self.send(
            who, "/password", form={"rebind": "1" if rebind else "0"}, rebind=rebind
        )

    @rule(user=st.sampled_from(USERS))
    def admin_changes_token(self, user: str) -> None:
        self.members[user].token = f"{user}-token-admin-{next(self.keys)}"
        self.end_logins(user)

    @rule(
        pair=st.sampled_from(PAIRS),
        which=st.sampled_from([(SESSION,), (REMEMBER,), COOKIES]),
    )
    def plant(self, pair: tuple[str, str], which: tuple[str, ...]) -> None:
        source, target = pair

        for name in which:
            self.hold(target, name, self.jars[source][name])

    @rule(
        who=st.sampled_from(CLIENTS),
        name=st.sampled_from(COOKIES),
        back=st.integers(min_value=0, max_value=3),
    )
    def replay(self, who: str, name: str, back: int) -> None:
        """Put back a value the client held: ``back=0`` is the one it held
        last before its current one, 1 the one before that, and so on.
        """
        current = self.jars[who][name]
        earlier = [cred for cred in self.history[who][name] if cred != current]

        if earlier:
            self.hold(who, name, earlier[-1 - back % len(earlier)])

    # Rules: time

    @rule(seconds=st.sampled_from(TIME_STEPS))
    def time_passes(self, seconds: int) -> None:
        self.clock.now += seconds

    # Rules: what the operator does

    @initialize(
        refresh=st.booleans(),
        protection=st.sampled_from(PROTECTION),
        logout_clear=st.booleans(),
        idle_on=st.booleans(),
        absolute_on=st.booleans(),
    )
    def configure_app(
        self,
        refresh: bool,
        protection: str | None,
        logout_clear: bool,
        idle_on: bool,
        absolute_on: bool,
    ) -> None:
        self.app.config.update(
            REMEMBER_COOKIE_REFRESH_EACH_REQUEST=refresh,
            SESSION_PROTECTION=protection,
            SESSIONAUTH_LOGOUT_CLEAR_SESSION=logout_clear,
            SESSIONAUTH_SESSION_IDLE_TIMEOUT=IDLE if idle_on else None,
            SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=ABSOLUTE if absolute_on else None,
            SESSIONAUTH_SESSION_IDLE_GRANULARITY=GRANULARITY,
        )
        self.idle_on = idle_on
        self.absolute_on = absolute_on

    @rule(change=st.sampled_from(CONFIG_CHANGES))
    def reconfigure(self, change: tuple[str, object]) -> None:
        key, value = change
        self.app.config[key] = value

    @rule(drop_old=st.booleans())
    def rotate_key(self, drop_old: bool) -> None:
        config = self.app.config

        if drop_old:
            config["SECRET_KEY_FALLBACKS"] = []
        else:
            config["SECRET_KEY_FALLBACKS"] = [
                config["SECRET_KEY"],
                *(config.get("SECRET_KEY_FALLBACKS") or []),
            ]
            config["SECRET_KEY"] = f"key-{next(self.keys)}"

    # Invariants

    @invariant()
    def nobody_passes_for_a_user_without_a_live_login(self) -> None:
        """Probe every client with its cookies, each on its own, and its
        current cookie of each kind next to the last few of the other kind
        it held before (which it could put back any time).
        """
        for who in CLIENTS:
            self.in_sync(who)
            session_cred, remember_cred = (
                self.jars[who][SESSION],
                self.jars[who][REMEMBER],
            )
            combos = {
                (session_cred, remember_cred),
                (session_cred, None),
                (None, remember_cred),
            }

            for cred in self.earlier(who, REMEMBER):
                combos.add((session_cred, cred))

            for cred in self.earlier(who, SESSION):
                combos.add((cred, remember_cred))

            for sent_session, sent_remember in combos:
                if sent_session is None and sent_remember is None:
                    continue

                jar = {SESSION: sent_session, REMEMBER: sent_remember}
                user = self.probe(who, jar, rebind=False)

                if user is not None and sent_session is not None:
                    # What a password change with rebind_session() would do.
                    self.probe(who, jar, rebind=True)

    def earlier(self, who: str, name: str) -> list[Cred]:
        """The last few values of ``name`` the client held before its
        current one.
        """
        current = self.jars[who][name]
        held = [c for c in self.history[who][name] if c is not None and c != current]
        return held[-PROBED_HISTORY:]

    def probe(self, who: str, jar: Jar, *, rebind: bool) -> str | None:
        """Send ``jar`` from a throwaway client, then each cookie the answer
        sets on its own, and check every answer; leave no trace (the stored
        sessions and the users' tokens are put back). Answers are kept for
        as long as nothing the server decides by changes.
        """
        values = tuple(None if cred is None else cred.value for cred in jar.values())
        key = (who, rebind, values, self.world(jar))
        outcome = self.answers.get(key)

        if outcome is None:
            outcome = self.answers[key] = self.sandboxed(who, values, rebind=rebind)

        status, user, follow_ups = outcome
        self.check(who, jar, status, user, None)
        sent_session = self.carried(SESSION, jar[SESSION])
        sent_remember = self.carried(REMEMBER, jar[REMEMBER])
        session_live = user is not None and bool(self.live_logins(user, sent_session))
        remember_live = user is not None and bool(self.live_logins(user, sent_remember))

        for name, (follow_status, follow_user) in follow_ups:
            assert follow_status < 500, f"{who} got status {follow_status}"

            if follow_user is None:
                continue

            # What the new cookie carries, by the rules of send().
            if name == SESSION:
                justified = follow_user == user and (
                    rebind
                    or bool(
                        self.live_logins(
                            follow_user,
                            (sent_session if session_live else set()) | sent_remember,
                        )
                    )
                )
            elif rebind and follow_user == user:
                justified = remember_live
            else:
                justified = bool(self.live_logins(follow_user, sent_remember))

            assert justified, (
                f"{who} sent {self.describe(jar)}"
                f"{' to change its password with rebind' if rebind else ''}, and"
                f" the {name} cookie set in answer makes a client user"
                f" {follow_user!r}"
            )

        return user

    def sandboxed(
        self, who: str, values: tuple[str | None, ...], *, rebind: bool
    ) -> Outcome:
        saved = None if self.store is None else store_snapshot(self.store)
        accounts = {uid: (m.password, m.token) for uid, m in self.members.items()}
        client = self.app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = AGENTS[who]

        for name, value in zip(COOKIES, values, strict=True):
            if value is not None:
                client.set_cookie(name, value)

        try:
            if rebind:
                response = client.post("/password", data={"rebind": "1"})
            else:
                response = client.get("/me")

            follow_ups = []

            for name, sent in zip(COOKIES, values, strict=True):
                value = jar_value(client, name)

                if value is None or value == sent:
                    continue

                alone = self.app.test_client()
                alone.environ_base["HTTP_USER_AGENT"] = AGENTS[who]
                alone.set_cookie(name, value)
                follow_ups.append((name, answer(alone.get("/me"))))

            return (*answer(response), tuple(follow_ups))
        finally:
            for uid, (password, token) in accounts.items():
                self.members[uid].password = password
                self.members[uid].token = token

            if self.store is not None:
                assert saved is not None
                store_restore(self.store, saved)

    def world(self, jar: Jar) -> tuple[object, ...]:
        """What, besides the cookies, decides the answer to ``jar``."""
        config = self.app.config
        state: tuple[object, ...] = (
            tuple(member.token for member in self.members.values()),
            config["SECRET_KEY"],
            tuple(config.get("SECRET_KEY_FALLBACKS") or ()),
            *(config.get(key) for key, _ in CONFIG_CHANGES),
        )
        cred = jar[SESSION]

        if self.store is not None and cred is not None:
            # What is stored under the session id, without its expiry time.
            item = self.store._cache.get(STORE_PREFIX + cred.value)
            state += (None if item is None else item[1],)

        if (self.idle_on or self.absolute_on) and cred is not None:
            state += self.lifetime_state(cred.value)

        return state

    def lifetime_state(self, value: str) -> tuple[bool, ...]:
        """How the session's own timestamps stand against the clock: whether
        the login is past a timeout, and whether a request rewrites its
        last-seen time (``_lifetime`` holds both, packed: see
        ``helpers.read_lifetime``).
        """
        data: object

        if self.store is not None:
            data = self.store.get(STORE_PREFIX + value)
        else:
            serializer = self.app.session_interface.get_signing_serializer(  # type: ignore[attr-defined]
                self.app
            )
            data = serializer.loads_unsafe(value)[1]

        if not isinstance(data, dict):
            return ()

        now = self.clock.now
        stamp = data.get("_lifetime")
        login = use = None

        if stamp is not None:
            login, use = read_lifetime(stamp)

        return (
            login is None,
            use is None,
            isinstance(login, int) and now - login > ABSOLUTE,
            isinstance(use, int) and now - use > IDLE + GRANULARITY,
            isinstance(use, int) and now - use >= GRANULARITY,
        )

    def teardown(self) -> None:
        if self.context is not None:
            self.context.pop()


class SignedCookieMachine(LoginMachine):
    server_side = False


class ServerSideMachine(LoginMachine):
    server_side = True


class SharedContextMachine(LoginMachine):
    server_side = False
    shared_app_context = True


TestSignedCookieSessions = SignedCookieMachine.TestCase
TestSignedCookieSessions.settings = SETTINGS
TestServerSideSessions = ServerSideMachine.TestCase
TestServerSideSessions.settings = SETTINGS
TestSharedAppContext = SharedContextMachine.TestCase
# The same rules; what this machine adds is one g for every request, which
# a fifth of the examples already walks through every rule.
TestSharedAppContext.settings = settings(SETTINGS, max_examples=max(10, EXAMPLES // 5))
