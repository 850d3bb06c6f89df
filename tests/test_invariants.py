"""Security invariants of logins, checked by a Hypothesis state machine.

The app has two realms (issue 15): the default realm, whose users are
customers, and a realm "staff", with a user table of its own. The two tables
share their ids: customer 1 is the attacker, staff member 1 the victim, and
customer 2 the victim, staff member 2 the attacker, so that any confusion of
the realms hands one person's login to another. Three clients (two browsers
of the victim, one of the attacker) log in and out of either realm (and of
both at once, ``logout_all()``), change passwords, copy each other's cookies
and put back cookies they held before, put one realm's remember cookie
under the other realm's cookie name, and offer one table's password to the
other realm's login, while the app's settings and secret keys change under
them and time passes. The machine runs once on Flask's signed cookie
sessions and once on Flask-Session's server-side sessions.

The model tracks credentials, not clients. Each login makes a ``Login`` (its
realm, its user, and whether it is alive). Every session cookie value (for
server-side sessions: every incarnation of a session id) and every remember
cookie value carries a set of logins; a session carries logins of both
realms, and only a login of a realm, carried by the session or by that
realm's remember cookie, makes a request a user of that realm:

- a password login (form or HTTP Basic) makes a new login of the realm
  whose table holds the password, carried by the session and by that
  realm's remember cookie of its response;
- a login restored from a remember cookie carries that cookie's login;
- a remember cookie issued without a password login (refresh on each
  request, re-signing, ``rebind_session``) carries the logins of its realm
  that the cookie the request sent under its name carries, whatever the
  session carries;
- a token change ends every login of its user in its realm;
  ``rebind_session`` continues the caller's login of that realm as a new
  login, and its remember cookie only if that cookie carried a live login
  of the user;
- logging out of a realm leaves the client's cookies carrying nothing of
  that realm (``logout_all()`` and ``SESSIONAUTH_LOGOUT_CLEAR_SESSION``:
  nothing at all); copies of a signed session cookie and of a remember
  cookie keep their login until the token changes (docs/security.rst); a
  server-side session id carries what is stored under it, for every holder;
- a request that does not touch a realm (``/staff/me`` does not touch the
  customers) leaves the session carrying, at most, the logins of that realm
  it carried;
- a login of any realm written to a server-side session starts a new
  incarnation of its id: copies of the id taken before carry nothing;
- under ``SESSIONAUTH_SESSION_IDLE_TIMEOUT`` and
  ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT`` (each on or off for a run, for
  the app and, through ``SESSIONAUTH_REALMS``, for staff on its own) a
  session cookie value, or a server-side session id, carries no login of a
  realm once that realm's login is idle or old beyond the realm's timeouts.
  The model keeps, for each and each realm, the latest time its login can
  have been written and its last use: an expired login never authenticates,
  while its remember cookie still may (a new login, which the model allows
  as a restore).

Invariants, checked after every step by probes that leave no trace (a
throwaway client; the stored sessions and the users' tokens are put back
afterwards), for every client: its cookies together, each on its own, its
current cookie of each kind beside the last few of that kind it held before
(it could put them back any time), and its two remember cookies swapped
(each realm's value under the other realm's name) make a request anonymous
in each realm unless they carry a live login of that realm of the user it
is made by. A probe whose answer sets a new cookie sends that cookie alone
too, and it may only be the user the rules above let it carry, in the realm
they let it carry; when the probe was logged in to a realm, the same is
done for a password change in that realm with ``rebind_session()``. No
answer is a server error. Every request the rules send is checked the same
way, with a correct password of the realm's table in the request as a
justification too.

The model may call something valid that the code refuses (strong session
protection, a dropped secret key): the code may be stricter, never looser.

``SESSIONAUTH_STATEFUL_EXAMPLES`` (default 250) and
``SESSIONAUTH_STATEFUL_STEPS`` (default 30) set how many examples, and steps
in each, each machine runs; the defaults take about 75 seconds of CPU in
all, some 20 more than before the second realm. tox runs the default in
py312 and 50 examples in its other envs (see tox.ini).
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

from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_all
from flask_sessionauth import logout_user
from flask_sessionauth import rebind_session
from flask_sessionauth import UserMixin
from helpers import read_lifetime

#: The realms, by the names the model gives them, and the name the package
#: knows each by (None: the default realm).
CUSTOMER = "customer"
STAFF = "staff"
REALMS = (CUSTOMER, STAFF)
REALM_NAME: dict[str, str | None] = {CUSTOMER: None, STAFF: "staff"}

SESSION = "session"
#: Each realm's remember cookie (spec: the app's name, then ``_<realm>``).
REMEMBER = {CUSTOMER: "remember_token", STAFF: "remember_token_staff"}
COOKIES = (SESSION, REMEMBER[CUSTOMER], REMEMBER[STAFF])
#: The realm each remember cookie name belongs to.
REMEMBER_REALM = {name: realm for realm, name in REMEMBER.items()}
#: Each realm's ``_lifetime`` session key (spec: ``.<realm>`` appended).
LIFETIME_KEY = {CUSTOMER: "_lifetime", STAFF: "_lifetime.staff"}
#: Flask-Session's prefix of the keys it stores sessions under.
STORE_PREFIX = "session:"
#: How many earlier cookies of each kind a client is probed with.
PROBED_HISTORY = 3

#: The clients, the user of each realm whose password each knows, and its
#: User-Agent (different, so that session protection tells them apart). The
#: tables share ids, crossed: the attacker's customer id is the victim's
#: staff id and the reverse.
KNOWS = {
    "victim": {CUSTOMER: "2", STAFF: "1"},
    "phone": {CUSTOMER: "2", STAFF: "1"},
    "attacker": {CUSTOMER: "1", STAFF: "2"},
}
AGENTS = {
    "victim": "Mozilla/5.0 (victim laptop)",
    "phone": "Mozilla/5.0 (victim phone)",
    "attacker": "curl/8.0 (attacker)",
}
CLIENTS = tuple(KNOWS)
#: The ids of both tables.
USERS = ("1", "2")
PAIRS = tuple(itertools.permutations(CLIENTS, 2))

LOGIN_ROUTES = ("/login", "/login-clear", "/logout-login")
#: ``/me`` reports the user of each realm; ``/<realm>/me`` touches that
#: realm alone.
VISITS = ("/me", *(f"/{realm}/me" for realm in REALMS))
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
        # The same in both tables until it changes, so that a token binding
        # never tells customer 1 from staff member 1: only the realms do.
        self.token = f"{id}-token-0"

    def get_session_token(self) -> str | None:
        return self.token


Tables = dict[str, dict[str, Member]]


def new_tables() -> Tables:
    """Both realms' users; a password names its realm, so that no password
    opens the other table's user of the same id.
    """
    return {
        realm: {uid: Member(uid, f"{realm}-{uid}-password-0") for uid in USERS}
        for realm in REALMS
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def build_app(tables: Tables, clock: Clock, store: SimpleCache | None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="key-0", TESTING=True)

    if store is not None:
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=store)
        Session(app)

    managers = {
        CUSTOMER: LoginManager(app),
        STAFF: LoginManager(app, realm=REALM_NAME[STAFF]),
    }
    tokens = itertools.count(1)

    def whoami(*realms: str) -> str:
        """``customer=user:1 staff=anon``: the user of each realm in
        ``realms`` (all by default).
        """
        parts = []

        for realm in realms or REALMS:
            user = managers[realm].current_user

            if user.is_authenticated:
                parts.append(f"{realm}=user:{user.get_id()}")
            else:
                parts.append(f"{realm}=anon")

        return " ".join(parts)

    for realm, manager in managers.items():
        manager.clock = clock
        serve_realm(app, realm, manager, tables[realm], whoami, tokens)

    def checked_member() -> tuple[str, Member | None]:
        realm = request.form["realm"]
        member = tables[realm].get(request.form["username"])

        if member is None or member.password != request.form["password"]:
            return realm, None

        return realm, member

    def remember() -> bool:
        return request.form.get("remember") == "1"

    @app.get("/me")
    def me() -> str:
        return whoami()

    @app.post("/login")
    def login() -> str:
        realm, member = checked_member()

        if member is not None:
            login_user(member, remember=remember(), realm=REALM_NAME[realm])

        return whoami()

    @app.post("/login-clear")
    def login_clear() -> str:
        realm, member = checked_member()

        if member is not None:
            session.clear()
            managers[realm].login_user(member, remember=remember())

        return whoami()

    @app.post("/logout")
    def logout() -> str:
        logout_user(realm=REALM_NAME[request.form["realm"]])
        return whoami()

    @app.post("/logout-all")
    def logout_everywhere() -> str:
        logout_all()
        return whoami()

    @app.post("/logout-login")
    def logout_login() -> str:
        realm, member = checked_member()

        if member is not None:
            before = app.config.get("SESSIONAUTH_LOGOUT_CLEAR_SESSION", False)
            app.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = True

            try:
                managers[realm].logout_user()
            finally:
                app.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = before

            login_user(member, remember=remember(), realm=REALM_NAME[realm])

        return whoami()

    return app


def serve_realm(
    app: Flask,
    realm: str,
    manager: LoginManager,
    members: dict[str, Member],
    whoami: t.Callable[..., str],
    tokens: t.Iterator[int],
) -> None:
    """The realm's loaders and handler, and its own views: ``/<realm>/me``
    and ``/<realm>/password``.
    """

    @manager.user_loader
    def load_member(user_id: str) -> Member | None:
        return members.get(user_id)

    @manager.basic_auth_loader
    def check_basic(username: str, password: str) -> Member | None:
        member = members.get(username)

        if member is None or member.password != password:
            return None

        return member

    @manager.unauthorized_handler
    def unauthorized() -> tuple[str, int]:
        return whoami(), 401

    @app.get(f"/{realm}/me", endpoint=f"{realm}_me")
    def me() -> str:
        return whoami(realm)

    @app.post(f"/{realm}/password", endpoint=f"{realm}_password")
    @manager.login_required
    def password() -> str:
        member = t.cast(Member, manager.current_user._get_current_object())
        number = next(tokens)
        member.password = f"{realm}-{member.id}-password-{number}"
        member.token = f"{member.id}-token-{number}"

        if request.form.get("rebind") == "1":
            rebind_session(realm=REALM_NAME[realm])

        return whoami()


def store_snapshot(store: SimpleCache) -> dict[str, t.Any]:
    return dict(store._cache)


def store_restore(store: SimpleCache, saved: dict[str, t.Any]) -> None:
    store._cache.clear()
    store._cache.update(saved)


#: The user of each realm a response reports (None: anonymous); a realm the
#: request did not touch is absent.
Users = dict[str, str | None]


def answer(response: TestResponse) -> tuple[int, Users]:
    """The status of a response, and the user of each realm the app says
    made the request.
    """
    status = response.status_code
    users: Users = {}

    if status not in (200, 401):
        return status, users

    text = response.text

    for part in text.split():
        realm, _, user = part.partition("=")
        assert realm in REALMS and realm not in users, text

        if user == "anon":
            users[realm] = None
        else:
            assert user.startswith("user:"), text
            users[realm] = user[len("user:") :]

    assert users, text
    return status, users


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
    realm: str
    user: str
    how: str
    alive: bool = True

    def __str__(self) -> str:
        state = "live" if self.alive else "dead"
        return f"L{self.number}({self.realm} {self.user}, {self.how}, {state})"


@dataclasses.dataclass(frozen=True)
class Cred:
    """A cookie value a client holds; for a server-side session id, also the
    incarnation of the id it was taken from.
    """

    value: str
    incarnation: int = 0


Jar = dict[str, Cred | None]
#: When a session's login of a realm can have been written at the latest,
#: and its last use at the latest.
Times = tuple[float, float]
#: A probe's status and users, and the same for each cookie its answer set,
#: sent on its own.
Outcome = tuple[int, Users, tuple[tuple[str, tuple[int, Users]], ...]]


class Touched(t.NamedTuple):
    """What a request found of a realm it touched."""

    #: The user of the realm it reported (None: anonymous).
    user: str | None
    #: Whether the session, or the realm's remember cookie, it sent carried
    #: a live login of that user.
    session_live: bool
    remember_live: bool
    #: The login its correct password made, if any.
    new_login: int | None
    #: Whether that login was a form login into the realm (login_user()).
    logged_in: bool


class LoginMachine(RuleBasedStateMachine):
    server_side: t.ClassVar[bool] = False
    #: Serve every request inside one app context pushed for the whole run:
    #: up to Flask 3.1 they then share one g (review finding N1).
    shared_app_context: t.ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.tables = new_tables()
        self.clock = Clock()
        self.store = SimpleCache(threshold=1_000_000) if self.server_side else None
        self.app = build_app(self.tables, self.clock, self.store)
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
        #: Probe answers: (client, cookie values, world) -> outcome.
        self.answers: dict[tuple[object, ...], Outcome] = {}
        self.history: dict[str, dict[str, list[Cred | None]]] = {
            who: {name: [None] for name in COOKIES} for who in CLIENTS
        }
        #: Whether each realm's idle and absolute timeouts are on.
        self.idle_on = dict.fromkeys(REALMS, False)
        self.absolute_on = dict.fromkeys(REALMS, False)
        #: For a signed session cookie value, or what a server-side session
        #: id stores, and a realm: the latest time the realm's login can have
        #: been written, and its latest use.
        self.session_times: dict[tuple[str, str], Times] = {}
        self.stored_times: dict[tuple[str, str], Times] = {}

    # What credentials carry

    def carried(self, name: str, cred: Cred | None) -> set[int]:
        if cred is None:
            return set()

        if name != SESSION:
            return self.remember_carry.get(cred.value, set())

        if not self.server_side:
            found = self.session_carry.get(cred.value, set())
            times = self.session_times
        elif self.incarnation.get(cred.value) != cred.incarnation:
            return set()
        else:
            found = self.stored.get(cred.value, set())
            times = self.stored_times

        return {
            n
            for n in found
            if not self.expired(
                self.logins[n].realm,
                times.get((cred.value, self.logins[n].realm)),
            )
        }

    def expired(self, realm: str, times: Times | None) -> bool:
        """Whether a login of ``realm`` written at the latest at ``login``
        and last used at the latest at ``use`` is past a timeout.
        """
        if times is None:
            return False

        login, use = times
        now = self.clock.now
        return (self.idle_on[realm] and now - use > IDLE + GRANULARITY) or (
            self.absolute_on[realm] and now - login > ABSOLUTE
        )

    def sent_times(self, cred: Cred | None, realm: str) -> Times | None:
        if cred is None:
            return None

        if not self.server_side:
            return self.session_times.get((cred.value, realm))

        return self.stored_times.get((cred.value, realm))

    def of_realm(self, realm: str, numbers: set[int]) -> set[int]:
        return {n for n in numbers if self.logins[n].realm == realm}

    def live_logins(self, realm: str, user: str, numbers: set[int]) -> set[int]:
        return {
            n
            for n in numbers
            if self.logins[n].realm == realm
            and self.logins[n].user == user
            and self.logins[n].alive
        }

    def new_login(self, realm: str, user: str, how: str) -> int:
        self.logins.append(Login(len(self.logins), realm, user, how))
        return len(self.logins) - 1

    def tokens(self) -> dict[tuple[str, str], str | None]:
        return {
            (realm, uid): member.token
            for realm, members in self.tables.items()
            for uid, member in members.items()
        }

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
        users: Users,
        password_users: dict[str, str],
    ) -> None:
        """Each realm's user must be justified by a live login of that
        realm, carried by the session or that realm's remember cookie, or by
        a correct password of that realm's table.
        """
        assert status < 500, f"{who} got status {status}"

        for realm, user in users.items():
            if user is None or user == password_users.get(realm):
                continue

            sent = self.carried(SESSION, jar[SESSION]) | self.carried(
                REMEMBER[realm], jar[REMEMBER[realm]]
            )
            assert self.live_logins(realm, user, sent), (
                f"{who} is {realm} user {user!r} after sending {self.describe(jar)}"
            )

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
        realm: str | None = None,
        password_login: bool = False,
        remember: bool = False,
        rebind: bool = False,
    ) -> Users:
        """Send a request and follow what its answer does to the client's
        credentials. ``realm`` is the realm a form logs in to, or whose
        password it changes.
        """
        client = self.clients[who]
        self.in_sync(who)
        jar = dict(self.jars[who])
        sent_session = self.carried(SESSION, jar[SESSION])
        sent_remember = {r: self.carried(REMEMBER[r], jar[REMEMBER[r]]) for r in REALMS}
        tokens = self.tokens()

        # Whose correct password, of which realm's table, the request carries.
        password_users: dict[str, str] = {}

        if form is not None and "username" in form:
            assert realm is not None
            member = self.tables[realm].get(form["username"])

            if member is not None and form["password"] == member.password:
                password_users[realm] = member.id

        if auth is not None:
            for r in REALMS:
                member = self.tables[r].get(auth[0])

                if member is not None and member.password == auth[1]:
                    password_users[r] = member.id

        now = self.clock.now

        if form is None:
            response = client.get(path, auth=auth)
        else:
            response = client.post(path, data=form)

        self.clock.now += 1
        status, users = answer(response)
        self.check(who, jar, status, users, password_users)

        # Per realm the request touched: liveness as the request found it,
        # before any token change, and the password login it made.
        found: dict[str, Touched] = {}

        for r, user in users.items():
            mine = self.of_realm(r, sent_session)
            session_live = user is not None and bool(self.live_logins(r, user, mine))
            remember_live = user is not None and bool(
                self.live_logins(r, user, sent_remember[r])
            )
            new_login: int | None = None

            if user is not None and user == password_users.get(r):
                new_login = self.new_login(r, user, f"{path} by {who}")

            found[r] = Touched(
                user,
                session_live,
                remember_live,
                new_login,
                password_login and r == realm and new_login is not None,
            )

        for (r, uid), token in tokens.items():
            if self.tables[r][uid].token != token:
                self.end_logins(r, uid)

        # What the session holds after the request, when each realm's login
        # in it can have been written, and what each realm's remember cookie
        # set by the response carries.
        content: set[int] = set()
        times: dict[str, Times] = {}
        remember_content: dict[str, set[int]] = {}
        login_written = False

        for r in REALMS:
            mine = self.of_realm(r, sent_session)
            before = self.sent_times(jar[SESSION], r)
            remember_content[r] = self.of_realm(r, sent_remember[r])

            if r not in found:
                # Not touched: at most what the session carried of the realm.
                content |= mine
                times[r] = (now if before is None else before[0], now)
                continue

            user, session_live, remember_live, new_login, logged_in = found[r]
            continued: int | None = None

            if (
                rebind
                and r == realm
                and user is not None
                and self.tables[r][user].token != tokens[r, user]
                and (session_live or remember_live or new_login is not None)
            ):
                continued = self.new_login(r, user, f"rebind by {who}")

            if user is None:
                pass
            elif continued is not None:
                content.add(continued)
            elif logged_in:
                assert new_login is not None
                content.add(new_login)
            else:
                base = (mine if session_live else set()) | sent_remember[r]
                content |= {
                    n for n in self.of_realm(r, base) if self.logins[n].user == user
                }

                if new_login is not None:
                    content.add(new_login)

            written = user is not None and (
                logged_in or continued is not None or not session_live
            )
            login_written = login_written or written
            # When the session's login can have been written: now, unless the
            # session's own login is all that can have authenticated the
            # request.
            rewritten = (
                before is None
                or written
                or remember_live
                or (user is not None and user == password_users.get(r))
            )
            times[r] = (now if rewritten or before is None else before[0], now)

            if logged_in and remember:
                assert new_login is not None
                remember_content[r] = {new_login}
            elif continued is not None and remember_live:
                remember_content[r] = {continued}

        self.after_session(who, jar, response, content, login_written, times)

        for r in REALMS:
            self.after_remember(who, response, REMEMBER[r], remember_content[r])

        return users

    def end_logins(self, realm: str, user: str) -> None:
        for login in self.logins:
            if login.realm == realm and login.user == user:
                login.alive = False

    def after_session(
        self,
        who: str,
        jar: Jar,
        response: TestResponse,
        content: set[int],
        login_written: bool,
        times: dict[str, Times],
    ) -> None:
        sent = jar[SESSION]
        held = jar_value(self.clients[who], SESSION)
        cred: Cred | None

        if not self.server_side:
            if held is None:
                cred = None
            elif touched(response, SESSION) or sent is None or sent.value != held:
                self.session_carry.setdefault(held, set()).update(content)

                for r, realm_times in times.items():
                    earlier = self.session_times.get((held, r), realm_times)
                    self.session_times[held, r] = (
                        max(earlier[0], realm_times[0]),
                        max(earlier[1], realm_times[1]),
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
                    # A login of any realm written to the session starts a
                    # new incarnation: earlier copies of the id carry nothing.
                    self.incarnation[held] = self.incarnation.get(held, 0) + 1

                self.stored[held] = set(content)

                for r, realm_times in times.items():
                    self.stored_times[held, r] = realm_times

                cred = Cred(held, self.incarnation.setdefault(held, 0))

        self.jars[who][SESSION] = cred
        self.remember_held(who, SESSION)

    def after_remember(
        self, who: str, response: TestResponse, name: str, content: set[int]
    ) -> None:
        sent = self.jars[who][name]
        held = jar_value(self.clients[who], name)
        cred: Cred | None

        if held is None:
            cred = None
        elif touched(response, name) or sent is None or sent.value != held:
            self.remember_carry.setdefault(held, set()).update(content)
            cred = Cred(held)
        else:
            cred = sent

        self.jars[who][name] = cred
        self.remember_held(who, name)

    # Rules: what clients do

    @rule(who=st.sampled_from(CLIENTS), path=st.sampled_from(VISITS))
    def visit(self, who: str, path: str) -> None:
        self.send(who, path)

    @rule(
        who=st.sampled_from(CLIENTS),
        realm=st.sampled_from(REALMS),
        route=st.sampled_from(LOGIN_ROUTES),
        remember=st.booleans(),
    )
    def log_in(self, who: str, realm: str, route: str, remember: bool) -> None:
        member = self.tables[realm][KNOWS[who][realm]]
        form = {
            "realm": realm,
            "username": member.id,
            "password": member.password,
            "remember": "1" if remember else "0",
        }
        users = self.send(
            who, route, form=form, realm=realm, password_login=True, remember=remember
        )
        assert users.get(realm) == member.id, users

    @rule(
        who=st.sampled_from(CLIENTS),
        realm=st.sampled_from(REALMS),
        remember=st.booleans(),
    )
    def log_in_with_other_realms_password(
        self, who: str, realm: str, remember: bool
    ) -> None:
        """Offer the login of ``realm`` the id and password the client knows
        of the other realm: the id is in both tables, the password in one.
        """
        other = next(r for r in REALMS if r != realm)
        member = self.tables[other][KNOWS[who][other]]
        form = {
            "realm": realm,
            "username": member.id,
            "password": member.password,
            "remember": "1" if remember else "0",
        }
        self.send(
            who,
            "/login",
            form=form,
            realm=realm,
            password_login=True,
            remember=remember,
        )

    @rule(who=st.sampled_from(CLIENTS), realm=st.sampled_from(REALMS))
    def log_in_basic(self, who: str, realm: str) -> None:
        member = self.tables[realm][KNOWS[who][realm]]
        self.send(who, "/me", auth=(member.id, member.password))

    @rule(who=st.sampled_from(CLIENTS), realm=st.sampled_from((*REALMS, None)))
    def log_out(self, who: str, realm: str | None) -> None:
        """Log out of ``realm``, or of every realm (``logout_all()``)."""
        if realm is None:
            users = self.send(who, "/logout-all", form={})
            assert users == dict.fromkeys(REALMS), users
        else:
            users = self.send(who, "/logout", form={"realm": realm})
            assert users.get(realm, "untouched") is None, users

        # The remember cookie of each realm logged out of goes.
        for name in REMEMBER.values() if realm is None else [REMEMBER[realm]]:
            assert self.jars[who][name] is None, (who, name)

    @rule(
        who=st.sampled_from(CLIENTS),
        realm=st.sampled_from(REALMS),
        rebind=st.booleans(),
    )
    def change_password(self, who: str, realm: str, rebind: bool) -> None:
        self.send(
            who,
            f"/{realm}/password",
            form={"rebind": "1" if rebind else "0"},
            realm=realm,
            rebind=rebind,
        )

    @rule(realm=st.sampled_from(REALMS), user=st.sampled_from(USERS))
    def admin_changes_token(self, realm: str, user: str) -> None:
        self.tables[realm][user].token = f"{user}-token-admin-{next(self.keys)}"
        self.end_logins(realm, user)

    @rule(
        pair=st.sampled_from(PAIRS),
        which=st.sampled_from([(name,) for name in COOKIES] + [COOKIES]),
    )
    def plant(self, pair: tuple[str, str], which: tuple[str, ...]) -> None:
        source, target = pair

        for name in which:
            self.hold(target, name, self.jars[source][name])

    @rule(
        source=st.sampled_from(CLIENTS),
        holder=st.sampled_from(CLIENTS),
        into=st.sampled_from(REALMS),
    )
    def plant_under_other_realm(self, source: str, holder: str, into: str) -> None:
        """Put the remember cookie ``source`` holds of one realm under the
        other realm's cookie name, on ``holder`` (possibly ``source``).
        """
        other = next(r for r in REALMS if r != into)
        cred = self.jars[source][REMEMBER[other]]

        if cred is not None:
            self.hold(holder, REMEMBER[into], cred)

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
        staff=st.fixed_dictionaries(
            {},
            optional={
                "SESSIONAUTH_SESSION_IDLE_TIMEOUT": st.sampled_from([IDLE, None]),
                "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT": st.sampled_from(
                    [ABSOLUTE, None]
                ),
                "REMEMBER_COOKIE_REFRESH_EACH_REQUEST": st.booleans(),
            },
        ),
    )
    def configure_app(
        self,
        refresh: bool,
        protection: str | None,
        logout_clear: bool,
        idle_on: bool,
        absolute_on: bool,
        staff: dict[str, object],
    ) -> None:
        """The app's settings, and what the staff realm sets for itself."""
        self.app.config.update(
            REMEMBER_COOKIE_REFRESH_EACH_REQUEST=refresh,
            SESSION_PROTECTION=protection,
            SESSIONAUTH_LOGOUT_CLEAR_SESSION=logout_clear,
            SESSIONAUTH_SESSION_IDLE_TIMEOUT=IDLE if idle_on else None,
            SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=ABSOLUTE if absolute_on else None,
            SESSIONAUTH_SESSION_IDLE_GRANULARITY=GRANULARITY,
            SESSIONAUTH_REALMS={STAFF: staff},
        )
        self.idle_on[CUSTOMER] = idle_on
        self.absolute_on[CUSTOMER] = absolute_on
        idle_key, absolute_key = (
            "SESSIONAUTH_SESSION_IDLE_TIMEOUT",
            "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT",
        )
        self.idle_on[STAFF] = (
            staff[idle_key] is not None if idle_key in staff else idle_on
        )
        self.absolute_on[STAFF] = (
            staff[absolute_key] is not None if absolute_key in staff else absolute_on
        )

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
        """Probe every client with its cookies, each on its own, its current
        cookie of each kind next to the last few of that kind it held before
        (which it could put back any time), and its remember cookies
        swapped, each under the other realm's name.
        """
        customer, staff = REMEMBER[CUSTOMER], REMEMBER[STAFF]

        for who in CLIENTS:
            self.in_sync(who)
            jar = self.jars[who]
            current = (jar[SESSION], jar[customer], jar[staff])
            combos = {
                current,
                (jar[SESSION], None, None),
                (None, jar[customer], None),
                (None, None, jar[staff]),
                (jar[SESSION], jar[staff], jar[customer]),
                (None, jar[staff], jar[customer]),
            }

            for index, name in enumerate(COOKIES):
                for cred in self.earlier(who, name):
                    changed = list(current)
                    changed[index] = cred
                    combos.add((changed[0], changed[1], changed[2]))

            for combo in combos:
                if combo == (None, None, None):
                    continue

                sent = dict(zip(COOKIES, combo, strict=True))
                users = self.probe(who, sent, rebind=None)

                if sent[SESSION] is None:
                    continue

                for realm, user in users.items():
                    if user is not None:
                        # What a password change with rebind_session() would do.
                        self.probe(who, sent, rebind=realm)

    def earlier(self, who: str, name: str) -> list[Cred]:
        """The last few values of ``name`` the client held before its
        current one.
        """
        current = self.jars[who][name]
        held = [c for c in self.history[who][name] if c is not None and c != current]
        return held[-PROBED_HISTORY:]

    def probe(self, who: str, jar: Jar, *, rebind: str | None) -> Users:
        """Send ``jar`` from a throwaway client (to change the password of
        the realm ``rebind`` with ``rebind_session()``, if given), then each
        cookie the answer sets on its own, and check every answer; leave no
        trace (the stored sessions and the users' tokens are put back).
        Answers are kept for as long as nothing the server decides by
        changes.
        """
        values = tuple(None if cred is None else cred.value for cred in jar.values())
        key = (who, rebind, values, self.world(jar))
        outcome = self.answers.get(key)

        if outcome is None:
            outcome = self.answers[key] = self.sandboxed(who, values, rebind=rebind)

        status, users, follow_ups = outcome
        self.check(who, jar, status, users, {})
        sent_session = self.carried(SESSION, jar[SESSION])

        for name, (follow_status, follow_users) in follow_ups:
            assert follow_status < 500, f"{who} got status {follow_status}"

            for realm, follow_user in follow_users.items():
                if follow_user is None:
                    continue

                user = users.get(realm)
                sent_remember = self.carried(REMEMBER[realm], jar[REMEMBER[realm]])
                session_live = user is not None and bool(
                    self.live_logins(realm, user, sent_session)
                )
                remember_live = user is not None and bool(
                    self.live_logins(realm, user, sent_remember)
                )
                rebound = rebind == realm

                # What the new cookie carries, by the rules of send().
                if name == SESSION:
                    justified = follow_user == user and (
                        rebound
                        or bool(
                            self.live_logins(
                                realm,
                                follow_user,
                                (sent_session if session_live else set())
                                | sent_remember,
                            )
                        )
                    )
                elif name != REMEMBER[realm]:
                    # Another realm's remember cookie, sent alone.
                    justified = False
                elif rebound and follow_user == user:
                    justified = remember_live
                else:
                    justified = bool(
                        self.live_logins(realm, follow_user, sent_remember)
                    )

                change = f" to change its {rebind} password with rebind"
                assert justified, (
                    f"{who} sent {self.describe(jar)}{change if rebind else ''},"
                    f" and the {name} cookie set in answer makes a client"
                    f" {realm} user {follow_user!r}"
                )

        return users

    def sandboxed(
        self, who: str, values: tuple[str | None, ...], *, rebind: str | None
    ) -> Outcome:
        saved = None if self.store is None else store_snapshot(self.store)
        accounts = {
            (realm, uid): (member.password, member.token)
            for realm, members in self.tables.items()
            for uid, member in members.items()
        }
        client = self.app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = AGENTS[who]

        for name, value in zip(COOKIES, values, strict=True):
            if value is not None:
                client.set_cookie(name, value)

        try:
            if rebind is not None:
                response = client.post(f"/{rebind}/password", data={"rebind": "1"})
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
            for (realm, uid), (password, token) in accounts.items():
                self.tables[realm][uid].password = password
                self.tables[realm][uid].token = token

            if self.store is not None:
                assert saved is not None
                store_restore(self.store, saved)

    def world(self, jar: Jar) -> tuple[object, ...]:
        """What, besides the cookies, decides the answer to ``jar``."""
        config = self.app.config
        state: tuple[object, ...] = (
            tuple(self.tokens().values()),
            config["SECRET_KEY"],
            tuple(config.get("SECRET_KEY_FALLBACKS") or ()),
            *(config.get(key) for key, _ in CONFIG_CHANGES),
        )
        cred = jar[SESSION]

        if self.store is not None and cred is not None:
            # What is stored under the session id, without its expiry time.
            item = self.store._cache.get(STORE_PREFIX + cred.value)
            state += (None if item is None else item[1],)

        timeouts = any(self.idle_on.values()) or any(self.absolute_on.values())

        if timeouts and cred is not None:
            state += self.lifetime_state(cred.value)

        return state

    def lifetime_state(self, value: str) -> tuple[bool, ...]:
        """How each realm's timestamps in the session stand against the
        clock: whether the login is past a timeout, and whether a request
        rewrites its last-seen time (``_lifetime`` holds both, packed: see
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
        state: tuple[bool, ...] = ()

        for realm in REALMS:
            stamp = data.get(LIFETIME_KEY[realm])
            login = use = None

            if stamp is not None:
                login, use = read_lifetime(stamp)

            state += (
                login is None,
                use is None,
                isinstance(login, int) and now - login > ABSOLUTE,
                isinstance(use, int) and now - use > IDLE + GRANULARITY,
                isinstance(use, int) and now - use >= GRANULARITY,
            )

        return state

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
