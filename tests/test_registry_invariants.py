"""The login registry's security invariant, checked by a Hypothesis state
machine: a revoked credential never comes back.

Three devices of one user (the victim) and a device of another user log in
(with and without "remember me") and out, end each other's logins
(``revoke_session``, ``revoke_other_sessions``), change the password with
``rebind_session()``, have every login ended by an admin
(``revoke_all_sessions``) or their token changed, drop their session cookie
(a browser restart) and wait, while an attacker who has copied every cookie
any client ever held replays any two of them together. The machine runs
once on Flask's signed cookie sessions and once on Flask-Session's
server-side sessions, with ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST``,
``SESSIONAUTH_MAX_SESSIONS`` and ``SESSIONAUTH_SESSION_IDLE_TIMEOUT`` each on
or off, and the store down for some requests.

The model reads what each credential carries: a signed session cookie and a
remember cookie by decoding their (unverified) payload, a server-side
session id by reading what is stored under it. That is the login's record
(the hash of the secret), its user and the signature of the token it is
bound to. A credential is dead once its record has ended (the store was
asked to end it, or the model ended it: a logout, a revoke, a rebind) or its
token signature belongs to a token the user no longer has. A record ended as
"expired" (its session timed out) is the one exception: its remember cookie
may start a new login (documented), but once that login, or any other the
cookie started, is ended, the cookie is a revoked device's and dead too.

Invariants, checked on every request the rules send and by probes that
leave no trace (the registry and the session store are put back):

- a request that authenticates as a user carries a live credential of that
  user, or that user's correct password: no client is ever another user,
  and a dead credential never authenticates, whatever it is sent with;
- every credential ever seen that is dead, sent alone, is anonymous, now and
  whenever the clock has moved since;
- no answer is a server error.

``SESSIONAUTH_STATEFUL_EXAMPLES`` and ``SESSIONAUTH_STATEFUL_STEPS`` set the
examples and steps, as for tests/test_invariants.py: tox.ini runs the full
250 examples once, in py312, and 50 in its other envs. At 250, both machines
together take about 25 seconds.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import hashlib
import itertools
import os
import typing as t
from datetime import timedelta

from cachelib import SimpleCache
from flask import Flask
from flask import request
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

from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import LoginRecord
from flask_sessionauth import logout_user
from flask_sessionauth import MemoryLoginStore
from flask_sessionauth import rebind_session
from flask_sessionauth import StoreUnavailable
from flask_sessionauth import UserMixin

SESSION = "session"
REMEMBER = "remember_token"
COOKIES = (SESSION, REMEMBER)
#: Flask-Session's prefix of the keys it stores sessions under.
STORE_PREFIX = "session:"
VICTIM, OTHER = "1", "2"
USERS = (VICTIM, OTHER)
#: The victim's devices, and the other user's.
DEVICES = ("laptop", "phone", "tablet")
DESK = "desk"
CLIENTS = (*DEVICES, DESK)
OWNER = {"laptop": VICTIM, "phone": VICTIM, "tablet": VICTIM, DESK: OTHER}
AGENTS = {
    "laptop": "Mozilla/5.0 (laptop)",
    "phone": "Mozilla/5.0 (phone)",
    "tablet": "Mozilla/5.0 (tablet)",
    DESK: "Mozilla/5.0 (desk)",
}
DAY = 24 * 3600
#: ``SESSIONAUTH_SESSION_IDLE_TIMEOUT``, when a run turns it on: a login
#: that times out ends its record as "expired".
IDLE = timedelta(minutes=30)
#: Around the last-seen granularity, the idle timeout, the session lifetime
#: (31 days, the record's expiry without a remember cookie) and the remember
#: cookie's duration (365 days).
TIME_STEPS = (60, 301, 3600, 10 * DAY, 32 * DAY, 200 * DAY)

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
    def __init__(self, id: str) -> None:
        self.id = id
        self.password = f"{id}-password-0"
        self.token = f"{id}-token-0"

    def get_session_token(self) -> str | None:
        return self.token


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class TracingStore(MemoryLoginStore):
    """The in-memory store, remembering every record the extension asked
    it to end, and able to put its state back after a probe.
    """

    def __init__(self) -> None:
        super().__init__()
        #: Each record the extension ended, and why (the first reason).
        self.ended_ids: dict[str, str] = {}
        #: While true, every call raises StoreUnavailable.
        self.down = False

    def _reachable(self) -> None:
        if self.down:
            raise StoreUnavailable("the machine took the store down")

    def get(self, record_id: str, now: float) -> LoginRecord | None:
        self._reachable()
        return super().get(record_id, now)

    def add(self, record: LoginRecord) -> bool:
        self._reachable()
        return super().add(record)

    def touch(self, record_id: str, last_seen: float, expires_at: float) -> None:
        self._reachable()
        super().touch(record_id, last_seen, expires_at)

    def update(self, record: LoginRecord) -> None:
        self._reachable()

        if record.ended is not None:
            self.ended_ids.setdefault(record.id, record.ended)

        super().update(record)

    def user_records(
        self, realm: str | None, user_id: str, now: float
    ) -> list[LoginRecord]:
        self._reachable()
        return super().user_records(realm, user_id, now)

    def raw(self, record_id: str) -> LoginRecord | None:
        """The record, expired or not, while the store still holds it."""
        return self._records.get(record_id)

    def snapshot(self) -> tuple[object, ...]:
        return (
            dict(self._records),
            copy.deepcopy(self._users),
            dict(self.ended_ids),
        )

    def restore(self, saved: tuple[object, ...]) -> None:
        records, users, ended = saved
        self._records = t.cast("dict[str, LoginRecord]", records)
        self._users = t.cast("dict[tuple[str | None, str], set[str]]", users)
        self.ended_ids = t.cast("dict[str, str]", ended)


def build_app(
    members: dict[str, Member],
    clock: Clock,
    registry: TracingStore,
    cache: SimpleCache | None,
) -> tuple[Flask, LoginManager]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="registry-key", TESTING=True)

    if cache is not None:
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=cache)
        Session(app)

    manager = LoginManager(app, registry=registry)
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

    @manager.unauthorized_handler
    def unauthorized() -> tuple[str, int]:
        return "anon", 401

    def whoami() -> str:
        user = manager.current_user

        if user.is_authenticated:
            return f"user:{user.get_id()}"

        return "anon"

    def current_member() -> Member:
        return t.cast(Member, manager.current_user._get_current_object())

    @app.get("/me")
    def me() -> str:
        return whoami()

    @app.post("/login")
    def login() -> str:
        member = members.get(request.form["username"])

        if member is not None and member.password == request.form["password"]:
            login_user(member, remember=request.form.get("remember") == "1")

        return whoami()

    @app.post("/logout")
    def logout() -> str:
        logout_user()
        return whoami()

    @app.post("/revoke/<record_id>")
    @login_required
    def revoke(record_id: str) -> str:
        ended = manager.revoke_session(current_member(), record_id)
        return f"{whoami()} {ended}"

    @app.post("/revoke-others")
    @login_required
    def revoke_others() -> str:
        count = manager.revoke_other_sessions()
        return f"{whoami()} {count}"

    @app.post("/password")
    @login_required
    def password() -> str:
        member = current_member()
        number = next(tokens)
        member.password = f"{member.id}-password-{number}"
        member.token = f"{member.id}-token-{number}"
        rebind_session()
        return whoami()

    return app, manager


# What a credential carries


@dataclasses.dataclass(frozen=True)
class Tag:
    """The login a credential carries: its record, user and token binding."""

    record: str
    user: str
    signature: str | None


def hashed(secret: str) -> str:
    digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def remember_tag(value: str) -> Tag | None:
    """What a remember cookie says: ``expires~seconds~signature~user~secret``."""
    payload = value.rpartition(".")[0]
    fields = payload.split("~")

    if len(fields) != 5:
        return None

    uid = fields[3]
    user = base64.urlsafe_b64decode(uid + "=" * (-len(uid) % 4)).decode("utf-8")
    return Tag(hashed(fields[4]), user, fields[2] or None)


def session_tag(data: object) -> Tag | None:
    if not isinstance(data, dict):
        return None

    secret, user = data.get("_login_id"), data.get("_user_id")

    if not isinstance(secret, str) or user is None:
        return None

    signature = data.get("_token_sig")
    return Tag(
        hashed(secret), str(user), signature if isinstance(signature, str) else None
    )


def answer(response: TestResponse) -> tuple[int, str | None]:
    """The status, and the user the app says made the request (None:
    anonymous, or not said).
    """
    status = response.status_code
    first = response.text.split(" ")[0] if status in (200, 401) else ""

    if first.startswith("user:"):
        return status, first[len("user:") :]

    return status, None


Jar = dict[str, str | None]


def held(client: FlaskClient) -> Jar:
    """The value of each cookie the client holds (None: none)."""
    jar: Jar = {}

    for name in COOKIES:
        cookie = client.get_cookie(name)
        jar[name] = None if cookie is None else cookie.value

    return jar


class RegistryMachine(RuleBasedStateMachine):
    server_side: t.ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.members = {uid: Member(uid) for uid in USERS}
        self.clock = Clock()
        self.registry = TracingStore()
        self.cache = SimpleCache(threshold=1_000_000) if self.server_side else None
        self.app, self.manager = build_app(
            self.members, self.clock, self.registry, self.cache
        )
        self.serializer = (
            None
            if self.cache is not None
            else self.app.session_interface.get_signing_serializer(  # type: ignore[attr-defined]
                self.app
            )
        )
        self.clients: dict[str, FlaskClient] = {}

        for who in CLIENTS:
            client = self.app.test_client()
            client.environ_base["HTTP_USER_AGENT"] = AGENTS[who]
            self.clients[who] = client

        #: Every value of each cookie any client ever held, in order.
        self.seen: dict[str, list[str]] = {name: [] for name in COOKIES}
        #: Records the model knows have ended, besides those the store was
        #: asked to end.
        self.ended: set[str] = set()
        #: Token signatures of tokens their user no longer has.
        self.dead_signatures: set[str] = set()
        #: Every record seen, and the records a remember cookie started
        #: after its own record had gone or timed out.
        self.known: set[str] = set()
        self.children: dict[str, set[str]] = {}
        #: Probe answers: what decides the answer -> the user it gave.
        self.answers: dict[tuple[object, ...], str | None] = {}

    # What credentials carry

    def tag(self, name: str, value: str | None) -> Tag | None:
        if value is None:
            return None

        if name == REMEMBER:
            return remember_tag(value)

        if self.cache is not None:
            return session_tag(self.cache.get(STORE_PREFIX + value))

        assert self.serializer is not None
        return session_tag(self.serializer.loads_unsafe(value)[1])

    def dead(self, name: str, tag: Tag) -> bool:
        """Whether the credential ``name`` carrying ``tag`` is dead. A record
        that ended as ``"expired"`` (its session timed out) kills its
        session; its remember cookie, if still valid, may start a new login
        (the documented choice), until that login, or any other it started,
        is ended: then it is the cookie of a revoked device.
        """
        if tag.signature in self.dead_signatures:
            return True

        if name == SESSION and tag.record in self.registry.ended_ids:
            return True

        return self.killed(tag.record)

    def killed(self, record: str) -> bool:
        """Whether ``record``, or a login its remember cookie started (and
        so on), was ended for good: by the model, or by the extension for
        any reason but a session timeout.
        """
        pending = [record]

        while pending:
            found = pending.pop()
            reason = self.registry.ended_ids.get(found)

            if found in self.ended or (reason is not None and reason != "expired"):
                return True

            pending.extend(self.children.get(found, ()))

        return False

    def live_for(self, user: str, jar: Jar) -> bool:
        for name, value in jar.items():
            tag = self.tag(name, value)

            if tag is not None and tag.user == user and not self.dead(name, tag):
                return True

        return False

    def active(self, record_id: str) -> bool:
        record = self.registry.get(record_id, self.clock.now)
        return record is not None and record.active

    def active_records(self, user: str) -> set[str]:
        return {
            record.id
            for record in self.registry.user_records(None, user, self.clock.now)
            if record.active
        }

    def login_of(self, jar: Jar) -> str | None:
        """The record a request with ``jar`` is logged in with, when the
        model can tell: the session's login, if live and active; a session
        login whose record has ended takes the remember cookie with it; a
        session login whose record is gone, or none, leaves the remember
        cookie's, if live and active.
        """
        found = self.tag(SESSION, jar[SESSION])

        if found is not None:
            if not self.dead(SESSION, found) and self.active(found.record):
                return found.record

            if self.registry.get(found.record, self.clock.now) is not None:
                return None

        found = self.tag(REMEMBER, jar[REMEMBER])

        if (
            found is not None
            and not self.dead(REMEMBER, found)
            and self.active(found.record)
        ):
            return found.record

        return None

    def describe(self, jar: Jar) -> str:
        parts = []

        for name, value in jar.items():
            if value is None:
                continue

            tag = self.tag(name, value)
            parts.append(f"{name}=...{value[-10:]} ({self.state(name, tag)})")

        return "; ".join(parts) or "no cookies"

    def state(self, name: str, tag: Tag | None) -> str:
        if tag is None:
            return "no login"

        notes = [
            f"record {tag.record[:8]} of user {tag.user}",
            "dead" if self.dead(name, tag) else "live",
        ]

        if tag.signature in self.dead_signatures:
            notes.append("old token")

        reason = self.registry.ended_ids.get(tag.record)

        if reason is not None:
            notes.append(f"record ended ({reason})")

        if tag.record in self.ended:
            notes.append("ended by the model")

        return ", ".join(notes)

    # Sending requests

    def jar(self, who: str) -> Jar:
        return held(self.clients[who])

    def observe(self, client: FlaskClient, sent: Jar) -> None:
        """Keep every cookie ``client`` now holds, and note each record that
        the remember cookie it sent (``sent``) started.
        """
        cookie_login = self.tag(REMEMBER, sent[REMEMBER])

        for name, value in held(client).items():
            if value is None:
                continue

            if value not in self.seen[name]:
                self.seen[name].append(value)

            tag = self.tag(name, value)

            if tag is None or tag.record in self.known:
                continue

            self.known.add(tag.record)
            record = self.registry.raw(tag.record)

            if (
                record is not None
                and record.method == "remember"
                and cookie_login is not None
                and cookie_login.record != tag.record
            ):
                self.children.setdefault(cookie_login.record, set()).add(tag.record)

    def check(
        self,
        who: str,
        jar: Jar,
        status: int,
        user: str | None,
        justified: set[str],
        described: str,
    ) -> None:
        """``justified``: the users whose live credential, or correct
        password, the request carried, as things stood when it was sent.
        """
        assert status < 500, f"{who} got status {status} sending {described}"
        assert user is None or user in justified, (
            f"{who} is user {user} after sending {described}"
        )

    def send(
        self,
        who: str,
        path: str,
        form: dict[str, str] | None = None,
        *,
        client: FlaskClient | None = None,
        outage: bool = False,
        auth: tuple[str, str] | None = None,
    ) -> tuple[str, str | None]:
        """Send a request from a device (or ``client``), check its answer
        against the credentials it sent, and keep every cookie it now holds.
        """
        client = self.clients[who] if client is None else client
        jar = held(client)
        justified = {user for user in USERS if self.live_for(user, jar)}

        if form is not None and "username" in form:
            member = self.members[form["username"]]

            if form["password"] == member.password:
                justified.add(member.id)

        if auth is not None and auth[1] == self.members[auth[0]].password:
            justified.add(auth[0])

        described = self.describe(jar)

        if form is not None:
            response = client.post(path, data=form)
        else:
            response = client.get(path, auth=auth)

        status, user = answer(response)

        if outage:
            # Fails closed: anonymous, or a 503 for a login it cannot record.
            assert status in (200, 401, 503), (who, path, status)
            assert user is None, f"{who} is user {user} while the store is down"
        else:
            self.check(who, jar, status, user, justified, described)

        self.observe(client, jar)
        return response.text if status != 503 else "503", user

    # Rules: what devices do

    @rule(who=st.sampled_from(CLIENTS), remember=st.booleans())
    def log_in(self, who: str, remember: bool) -> None:
        jar = self.jar(who)
        replaced = self.tag(SESSION, jar[SESSION])
        active = replaced is not None and self.active(replaced.record)
        member = self.members[OWNER[who]]
        form = {
            "username": member.id,
            "password": member.password,
            "remember": "1" if remember else "0",
        }
        _, user = self.send(who, "/login", form)
        assert user == member.id, (who, user)

        if replaced is not None and active:
            # The session's earlier login is replaced: its record ends.
            self.ended.add(replaced.record)

    @rule(who=st.sampled_from(CLIENTS))
    def log_in_with_basic(self, who: str) -> None:
        """HTTP Basic credentials, which log in to the session unless it
        already holds a login that holds.
        """
        member = self.members[OWNER[who]]
        _, user = self.send(who, "/me", auth=(member.id, member.password))
        assert user == member.id, (who, user)

    @rule(who=st.sampled_from(CLIENTS))
    def visit(self, who: str) -> None:
        self.send(who, "/me")

    @rule(who=st.sampled_from(CLIENTS))
    def restart_browser(self, who: str) -> None:
        """The session cookie goes; the remember cookie stays."""
        self.clients[who].delete_cookie(SESSION)

    @rule(who=st.sampled_from(CLIENTS), outage=st.booleans())
    def log_out(self, who: str, outage: bool) -> None:
        """Log out, with the store reachable or not: a logout that answers
        as one (not with a 503) has ended the login, for good.
        """
        record = self.login_of(self.jar(who))

        with self.store_down(outage):
            text, user = self.send(who, "/logout", {}, outage=outage)

        assert user is None

        if text == "503":
            return

        if record is not None:
            self.ended.add(record)

        assert self.clients[who].get_cookie(REMEMBER) is None

    @rule(who=st.sampled_from(CLIENTS), remember=st.booleans(), login=st.booleans())
    def during_an_outage(self, who: str, remember: bool, login: bool) -> None:
        """While the store is down, nobody is logged in: not by a session,
        a remember cookie or a password.
        """
        member = self.members[OWNER[who]]
        form = {
            "username": member.id,
            "password": member.password,
            "remember": "1" if remember else "0",
        }

        with self.store_down(True):
            if login:
                self.send(who, "/login", form, outage=True)
            else:
                self.send(who, "/me", outage=True)

    @contextlib.contextmanager
    def store_down(self, down: bool) -> t.Iterator[None]:
        self.registry.down = down

        try:
            yield
        finally:
            self.registry.down = False

    @rule(who=st.sampled_from(DEVICES), lost=st.sampled_from(DEVICES))
    def revoke_device(self, who: str, lost: str) -> None:
        """``who`` signs ``lost`` out, by the id of the record ``lost`` is
        logged in with (itself, if the same device).
        """
        record = self.login_of(self.jar(lost))

        if record is None:
            return

        text, user = self.send(who, f"/revoke/{record}", {})

        if text.endswith(" True"):
            self.ended.add(record)

    @rule(who=st.sampled_from(DEVICES))
    def revoke_other_devices(self, who: str) -> None:
        jar = self.jar(who)
        mine = self.login_of(jar)
        others = self.active_records(VICTIM) - {mine}
        text, user = self.send(who, "/revoke-others", {})

        if user is not None:
            assert int(text.split(" ")[1]) <= len(others), text
            missed = others - self.registry.ended_ids.keys()
            assert not missed, f"revoke_other_sessions left {missed} active"
            self.ended |= others

    @rule(who=st.sampled_from(DEVICES))
    def change_password(self, who: str) -> None:
        """A password change with ``rebind_session()``: this device's login
        goes on, bound to the new token; every other login of the user ends.
        """
        jar = self.jar(who)
        mine = self.login_of(jar)
        others = self.active_records(VICTIM) - {mine}
        old = self.signatures(VICTIM)
        _, user = self.send(who, "/password", {})

        if user is not None:
            self.dead_signatures |= old
            missed = others - self.registry.ended_ids.keys()
            assert not missed, f"rebind_session left {missed} active"
            self.ended |= others

    # Rules: what the operator does

    @rule(user=st.sampled_from(USERS))
    def admin_revokes_all(self, user: str) -> None:
        expected = self.active_records(user)

        with self.app.app_context():
            count = self.manager.revoke_all_sessions(self.members[user])

        assert count <= len(expected)
        missed = expected - self.registry.ended_ids.keys()
        assert not missed, f"revoke_all_sessions left {missed} active"
        self.ended |= expected

    @rule(user=st.sampled_from(USERS))
    def admin_changes_token(self, user: str) -> None:
        self.dead_signatures |= self.signatures(user)
        self.members[user].token = f"{user}-token-admin-{len(self.dead_signatures)}"

    def signatures(self, user: str) -> set[str]:
        """Every token signature of ``user`` seen so far: in the store's
        records and in every credential seen.
        """
        found = {
            record.token_signature
            for record in self.registry._records.values()
            if record.user_id == user and record.token_signature is not None
        }

        for name, values in self.seen.items():
            for value in values:
                tag = self.tag(name, value)

                if tag is not None and tag.user == user and tag.signature is not None:
                    found.add(tag.signature)

        return found

    # Rules: time

    @rule(seconds=st.sampled_from(TIME_STEPS))
    def time_passes(self, seconds: int) -> None:
        self.clock.now += seconds

    # Rules: the attacker

    @rule(
        session_index=st.one_of(st.none(), st.integers(min_value=0)),
        remember_index=st.one_of(st.none(), st.integers(min_value=0)),
    )
    def attacker_replays(
        self, session_index: int | None, remember_index: int | None
    ) -> None:
        """Send any session cookie and any remember cookie ever seen,
        together or alone, from a client of the attacker's.
        """
        client = self.app.test_client()
        sent = 0

        for name, index in ((SESSION, session_index), (REMEMBER, remember_index)):
            values = self.seen[name]

            if index is not None and values:
                client.set_cookie(name, values[index % len(values)])
                sent += 1

        if sent:
            self.send("attacker", "/me", client=client)

    # Rules: the operator's settings

    @initialize(
        refresh=st.booleans(),
        limit=st.sampled_from([None, 2]),
        idle_timeout=st.booleans(),
    )
    def configure(self, refresh: bool, limit: int | None, idle_timeout: bool) -> None:
        self.app.config.update(
            REMEMBER_COOKIE_REFRESH_EACH_REQUEST=refresh,
            SESSIONAUTH_MAX_SESSIONS=limit,
            SESSIONAUTH_SESSION_IDLE_TIMEOUT=IDLE if idle_timeout else None,
        )

    # Invariants

    @invariant()
    def dead_credentials_stay_dead(self) -> None:
        """Every credential ever seen whose login is dead is anonymous when
        sent alone.
        """
        for name, values in self.seen.items():
            for value in values:
                tag = self.tag(name, value)

                if tag is None or not self.dead(name, tag):
                    continue

                user = self.probe(name, value, tag)
                assert user is None, (
                    f"a dead credential is user {user} again:"
                    f" {self.describe({name: value})}"
                )

    @invariant()
    def devices_are_who_they_are(self) -> None:
        for who in CLIENTS:
            for name in COOKIES:
                tag = self.tag(name, self.jar(who)[name])
                assert tag is None or tag.user == OWNER[who], (who, name, tag)

    def probe(self, name: str, value: str, tag: Tag) -> str | None:
        """Send ``value`` alone from a throwaway client, and put the stores
        back afterwards. The answer is kept for as long as nothing it
        depends on changes.
        """
        record = self.registry.raw(tag.record)
        key = (
            name,
            value,
            self.clock.now,
            repr(record),
            self.members[tag.user].token,
            None if self.cache is None else repr(self.cache.get(STORE_PREFIX + value)),
        )

        if key in self.answers:
            return self.answers[key]

        saved = self.registry.snapshot()
        stored = None if self.cache is None else dict(self.cache._cache)
        client = self.app.test_client()
        client.set_cookie(name, value)

        try:
            response = client.get("/me")
            status, user = answer(response)
            assert status < 500, f"status {status} for {self.describe({name: value})}"
        finally:
            self.registry.restore(saved)

            if self.cache is not None:
                assert stored is not None
                self.cache._cache.clear()
                self.cache._cache.update(stored)

        self.answers[key] = user
        return user


class SignedCookieMachine(RegistryMachine):
    server_side = False


class ServerSideMachine(RegistryMachine):
    server_side = True


TestRegistrySignedCookieSessions = SignedCookieMachine.TestCase
TestRegistrySignedCookieSessions.settings = SETTINGS
TestRegistryServerSideSessions = ServerSideMachine.TestCase
TestRegistryServerSideSessions.settings = SETTINGS
