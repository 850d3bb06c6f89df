"""The login registry (issue 16): every login of a realm with a registry is
recorded, the session and the remember cookie carry the record's secret, and
a login whose record has ended is refused everywhere, copies of its cookies
included. These tests run on the in-memory store, wrapped so that they can
count the calls the extension makes and take the store down.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import typing as t
from collections import Counter
from datetime import timedelta
from unittest.mock import ANY

import pytest
from flask import Flask
from flask import jsonify
from flask import request
from flask import session
from flask.testing import FlaskClient

from flask_sessionauth import api_view
from flask_sessionauth import current_user
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import LoginRecord
from flask_sessionauth import logout_user
from flask_sessionauth import MemoryLoginStore
from flask_sessionauth import rebind_session
from flask_sessionauth import session_ended
from flask_sessionauth import session_started
from flask_sessionauth import SessionAuthClient
from flask_sessionauth import StoreUnavailable
from flask_sessionauth.testing import login_test_client
from helpers import Calls
from helpers import Clock
from helpers import cookie_value
from helpers import deletes_cookie
from helpers import recording
from helpers import remember_payload
from helpers import session_data
from helpers import signed_remember_cookie
from helpers import TokenUser
from helpers import User

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask.typing import ResponseReturnValue

SECRET = "test-secret"
REMEMBER = "remember_token"
STAFF_REMEMBER = "remember_token_staff"
SESSION = "session"
DAY = 24 * 3600
#: The defaults a record's expiry comes from: ``REMEMBER_COOKIE_DURATION``
#: and ``PERMANENT_SESSION_LIFETIME``.
REMEMBER_SECONDS = 365 * DAY
SESSION_SECONDS = 31 * DAY
LAPTOP = {"REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "Laptop/1.0"}
PHONE = {"REMOTE_ADDR": "10.0.0.2", "HTTP_USER_AGENT": "Phone/2.0"}
THIEF = {"REMOTE_ADDR": "10.0.0.66", "HTTP_USER_AGENT": "Thief/1.0"}
TABLET = {"REMOTE_ADDR": "10.0.0.3", "HTTP_USER_AGENT": "Tablet/3.0"}
JSON = {"Accept": "application/json"}


# The store, watched


class WatchedStore:
    """A :class:`~flask_sessionauth.stores.LoginStore` around a
    :class:`MemoryLoginStore` that counts the calls made to it, by method,
    and raises :exc:`StoreUnavailable` on every call while ``down``.
    """

    def __init__(self) -> None:
        self.inner = MemoryLoginStore()
        self.calls: Counter[str] = Counter()
        self.down = False

    def _use(self, method: str) -> None:
        self.calls[method] += 1

        if self.down:
            raise StoreUnavailable("the test took the store down") from (
                ConnectionRefusedError("connection refused")
            )

    def get(self, record_id: str, now: float) -> LoginRecord | None:
        self._use("get")
        return self.inner.get(record_id, now)

    def add(self, record: LoginRecord) -> bool:
        self._use("add")
        return self.inner.add(record)

    def touch(self, record_id: str, last_seen: float, expires_at: float) -> None:
        self._use("touch")
        self.inner.touch(record_id, last_seen, expires_at)

    def update(self, record: LoginRecord) -> None:
        self._use("update")
        self.inner.update(record)

    def user_records(
        self, realm: str | None, user_id: str, now: float
    ) -> list[LoginRecord]:
        self._use("user_records")
        return self.inner.user_records(realm, user_id, now)

    # For the tests, uncounted

    def record(self, record_id: str) -> LoginRecord | None:
        """The stored record, even an expired one not yet cleaned up."""
        return self.inner.get(record_id, 0.0)

    def active(self, user_id: str, now: float, realm: str | None = None) -> list[str]:
        """The ids of the user's active records."""
        return [
            record.id
            for record in self.inner.user_records(realm, user_id, now)
            if record.active
        ]


def hashed(secret: str) -> str:
    """A record's id from its secret, as the spec says: the SHA-256 of the
    secret, in URL-safe base64 without padding.
    """
    digest = hashlib.sha256(secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def secret_of(client: FlaskClient, key: str = "_login_id") -> str:
    value = session_data(client)[key]
    assert isinstance(value, str)
    return value


def record_id_of(client: FlaskClient, key: str = "_login_id") -> str:
    return hashed(secret_of(client, key))


def remember_fields(value: str) -> list[str]:
    """The ``~``-separated fields of a remember cookie, unverified."""
    payload, sep, _ = value.rpartition(".")
    assert sep, value
    return payload.split("~")


def password_of(user: User) -> str:
    return f"{user.name}-password"


def get(client: FlaskClient, path: str, **kwargs: t.Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.text


def device(app: Flask, environ: dict[str, str] | None = None) -> FlaskClient:
    client = app.test_client()

    if environ is not None:
        client.environ_base.update(environ)

    return client


def fresh_client(
    app: Flask, environ: dict[str, str] | None = None, **cookies: str | None
) -> FlaskClient:
    """A new client that holds only ``cookies`` (None ones skipped)."""
    client = device(app, environ)

    for name, value in cookies.items():
        if value is not None:
            client.set_cookie(name, value)

    return client


def reasons(calls: Calls) -> list[str]:
    return [kwargs["reason"] for _, kwargs in calls]


# The app


@pytest.fixture
def store() -> WatchedStore:
    return WatchedStore()


@pytest.fixture
def app(
    token_app: Flask,
    login_manager: LoginManager,
    store: WatchedStore,
    users: dict[str, User],
) -> Flask:
    """conftest's app (``/``, ``/login/<id>``, ``/logout``, ``/protected``,
    ``/change-token/<token>``) with the registry on, Basic credentials and
    the registry's views.
    """
    app = token_app
    login_manager.registry = store

    @login_manager.basic_auth_loader
    def check_password(username: str, password: str) -> User | None:
        user = users.get(username)

        if user is None or password != password_of(user):
            return None

        return user

    @app.route("/signin/<user_id>")
    def signin(user_id: str) -> str:
        ok = login_user(users[user_id], remember=request.args.get("remember") == "1")
        return "ok" if ok else "refused"

    @app.route("/signin-twice/<first>/<second>")
    def signin_twice(first: str, second: str) -> str:
        login_user(users[first])
        login_user(users[second])
        return "ok"

    @app.route("/devices")
    @login_required
    def devices() -> ResponseReturnValue:
        records = login_manager.sessions(current_user._get_current_object())
        return jsonify(
            [{"id": r.id, "current": r.current, "method": r.method} for r in records]
        )

    @app.route("/revoke/<record_id>")
    @login_required
    def revoke(record_id: str) -> str:
        user = current_user._get_current_object()
        return str(login_manager.revoke_session(user, record_id))

    @app.route("/revoke-others")
    @login_required
    def revoke_others() -> str:
        return str(login_manager.revoke_other_sessions())

    @app.route("/revoke-all")
    @login_required
    def revoke_all() -> str:
        count = login_manager.revoke_all_sessions(current_user._get_current_object())
        return f"{count} authenticated={current_user.is_authenticated}"

    @app.route("/api/me")
    @api_view
    @login_required
    def api_me() -> ResponseReturnValue:
        return jsonify(id=current_user.get_id())

    @app.route("/put/<key>/<value>")
    def put(key: str, value: str) -> str:
        session[key] = value
        return "stored"

    return app


def devices_of(client: FlaskClient) -> list[dict[str, t.Any]]:
    response = client.get("/devices")
    assert response.status_code == 200, response.text
    return t.cast("list[dict[str, t.Any]]", response.json)


# Every login writes one record


def test_form_login_writes_one_record(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    laptop = device(app, LAPTOP)

    with recording(session_started) as started:
        assert get(laptop, "/signin/1") == "ok"

    secret = secret_of(laptop)
    assert store.calls["add"] == 1
    record = store.record(hashed(secret))
    assert record is not None
    assert record == LoginRecord(
        id=hashed(secret),
        realm=None,
        user_id="1",
        created_at=clock.now,
        last_seen=clock.now,
        expires_at=clock.now + SESSION_SECONDS,
        ip="10.0.0.1",
        user_agent="Laptop/1.0",
        method="form",
        remember=False,
        token_signature=None,
    )
    assert record.active and not record.current
    assert started == [(app, {"user": ANY, "record": record})]
    assert started[0][1]["user"].id == "1"
    assert get(laptop, "/") == "user:1"
    assert store.calls["add"] == 1


def test_record_id_is_a_hash_of_a_secret_only_the_client_holds(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    secret = secret_of(laptop)
    # 256 random bits, in URL-safe base64.
    assert len(secret) >= 43
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) >= 32
    (record_id,) = store.active("1", clock.now)
    assert record_id == hashed(secret) != secret
    record = store.record(record_id)
    assert record is not None
    assert secret not in repr(record)
    # The remember cookie carries the same secret, in a fifth field.
    cookie = cookie_value(laptop, REMEMBER)
    assert cookie is not None
    assert remember_fields(cookie)[4] == secret


def test_two_logins_have_two_records(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1")
    get(phone, "/signin/1")
    assert secret_of(laptop) != secret_of(phone)
    assert sorted(store.active("1", clock.now)) == sorted(
        [record_id_of(laptop), record_id_of(phone)]
    )


def test_remember_login_record_lasts_as_long_as_its_cookie(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    record = store.record(record_id_of(laptop))
    assert record is not None
    assert record.remember is True
    assert record.method == "form"
    # A granularity beyond the cookie: renewing it needs no early write.
    assert record.expires_at == clock.now + REMEMBER_SECONDS + 300
    cookie = cookie_value(laptop, REMEMBER)
    assert cookie is not None
    assert int(remember_fields(cookie)[0]) == int(record.expires_at) - 300


def test_remember_cookie_restores_the_login_on_its_own_record(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    record_id = record_id_of(laptop)
    cookie = cookie_value(laptop, REMEMBER)
    # The browser restarts: the session cookie is gone, the remember cookie stays.
    restarted = fresh_client(app, LAPTOP, remember_token=cookie)

    with recording(session_started) as started:
        assert get(restarted, "/") == "user:1"

    assert started == []
    assert store.calls["add"] == 1
    assert record_id_of(restarted) == record_id
    assert store.active("1", clock.now) == [record_id]


def test_remember_cookie_of_a_lost_record_starts_a_new_one(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    """The store lost the record (restarted, say): a valid remember cookie
    starts a new record, the documented choice, under the cookie's own
    secret, so the cookie keeps its value and revoking the new record ends
    every copy of the cookie.
    """
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    old_id = record_id_of(laptop)
    cookie = cookie_value(laptop, REMEMBER)
    assert cookie is not None
    store.inner = MemoryLoginStore()
    clock.advance(DAY)
    restarted = fresh_client(app, PHONE, remember_token=cookie)

    with recording(session_started) as started:
        response = restarted.get("/")

    assert response.text == "user:1"
    assert len(started) == 1
    assert record_id_of(restarted) == old_id
    assert secret_of(restarted) == remember_fields(cookie)[4]
    record = store.record(old_id)
    assert record is not None
    assert record.method == "remember"
    assert record.remember is True
    assert record.user_agent == "Phone/2.0"
    assert record.expires_at == int(remember_fields(cookie)[0]) + 300
    assert cookie_value(restarted, REMEMBER) == cookie  # not re-issued

    # A second copy of the cookie (the thief's) goes on with that record...
    thief = fresh_client(app, THIEF, remember_token=cookie)
    assert get(thief, "/") == "user:1"
    assert store.active("1", clock.now) == [old_id]

    # ...so revoking it from the device ends every copy.
    assert get(restarted, f"/revoke/{old_id}") == "True"

    for agent in (PHONE, THIEF, LAPTOP):
        assert get(fresh_client(app, agent, remember_token=cookie), "/") == "anonymous"

    assert get(thief, "/") == "anonymous"


def test_expired_record_with_a_still_valid_cookie_starts_a_new_record(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    """A record the store has let expire (a server's clock ahead of the
    app's, say) while its remember cookie is still valid: the cookie starts
    a new record, the documented choice (only an ended record refuses its
    cookie).
    """
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    old = store.record(record_id_of(laptop))
    assert old is not None
    store.inner.update(dataclasses.replace(old, expires_at=clock.now + DAY))
    clock.advance(2 * DAY)
    assert store.inner.get(old.id, clock.now) is None
    cookie = cookie_value(laptop, REMEMBER)
    restarted = fresh_client(app, LAPTOP, remember_token=cookie)

    with recording(session_started) as started:
        assert get(restarted, "/") == "user:1"

    assert len(started) == 1
    # The new record takes the cookie's secret: the old record's id.
    assert record_id_of(restarted) == old.id
    record = store.record(old.id)
    assert record is not None and record.method == "remember"
    assert record.created_at == clock.now
    assert store.active("1", clock.now) == [old.id]


def test_session_timeout_keeps_a_remembered_devices_record(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    """A session timeout ends the session's login; a device with "remember
    me" is still logged in, and its cookie restores the login on the same
    record, so that ending that record later ends the cookie too.
    """
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = timedelta(minutes=30)
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    old_id = record_id_of(laptop)
    clock.advance(3600)

    with recording(session_ended) as ended, recording(session_started) as started:
        assert get(laptop, "/") == "user:1"

    assert ended == [] and started == []
    assert record_id_of(laptop) == old_id
    assert store.active("1", clock.now) == [old_id]


def test_session_timeout_ends_the_record_of_a_login_without_a_cookie(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = timedelta(minutes=30)
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1")
    old_id = record_id_of(laptop)
    clock.advance(3600)

    with recording(session_ended) as ended:
        assert get(laptop, "/") == "anonymous"

    assert reasons(ended) == ["expired"]
    assert ended[0][1]["record"].id == old_id
    assert store.active("1", clock.now) == []


@pytest.mark.parametrize("how", ["logout", "revoke_session", "revoke_all"])
def test_ending_a_login_restored_after_a_timeout_ends_the_old_cookie_too(
    app: Flask,
    login_manager: LoginManager,
    store: WatchedStore,
    users: dict[str, User],
    clock: Clock,
    how: str,
) -> None:
    """A thief copied the laptop's remember cookie. The laptop's session
    idles out; its next request ends the record as "expired" and the
    cookie starts a new login on a new record (the documented choice). When
    that login is then ended (logged out, revoked from another device, or
    every login of the user revoked), the thief's copy must not start yet
    another one: it is the same device's cookie, and a revoked device's
    remember cookie never logs in again.
    """
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = timedelta(minutes=30)
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1?remember=1")
    stolen = cookie_value(laptop, REMEMBER)
    clock.advance(3600)
    assert get(laptop, "/") == "user:1"
    restored = record_id_of(laptop)

    if how == "logout":
        assert get(laptop, "/logout") == "bye"
    elif how == "revoke_session":
        get(phone, "/signin/1")
        assert get(phone, f"/revoke/{restored}") == "True"
    else:
        with app.app_context():
            assert login_manager.revoke_all_sessions(users["1"]) == 1

    assert get(laptop, "/") == "anonymous"
    assert get(fresh_client(app, remember_token=stolen), "/") == "anonymous"


def test_refreshed_cookie_keeps_its_record(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    """``REMEMBER_COOKIE_REFRESH_EACH_REQUEST`` renews the cookie for a full
    duration; the record is kept at least as long.
    """
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    clock.advance(200 * DAY)
    assert get(laptop, "/") == "user:1"
    cookie = cookie_value(laptop, REMEMBER)
    assert cookie is not None
    record = store.record(record_id_of(laptop))
    assert record is not None
    assert record.expires_at >= int(remember_fields(cookie)[0])


def test_basic_login_writes_a_record(
    app: Flask, store: WatchedStore, users: dict[str, User], clock: Clock
) -> None:
    client = device(app, PHONE)
    auth = ("1", password_of(users["1"]))
    assert get(client, "/protected", auth=auth) == "secret:1"
    record = store.record(record_id_of(client))
    assert record is not None
    assert record.method == "basic"
    assert record.user_agent == "Phone/2.0"
    # The session goes on with that record.
    assert get(client, "/protected") == "secret:1"
    assert store.calls["add"] == 1
    assert store.active("1", clock.now) == [record.id]


@pytest.mark.parametrize("granularity", [None, timedelta(seconds=1)])
def test_basic_login_session_outlives_the_last_seen_granularity(
    app: Flask,
    users: dict[str, User],
    clock: Clock,
    granularity: timedelta | None,
) -> None:
    """A Basic login written to the session goes on with the session
    cookie alone, as a form login does, whatever
    ``SESSIONAUTH_LAST_SEEN_GRANULARITY`` is (None: written every request).
    """
    app.config["SESSIONAUTH_LAST_SEEN_GRANULARITY"] = granularity
    client = device(app, PHONE)
    auth = ("1", password_of(users["1"]))
    assert get(client, "/protected", auth=auth) == "secret:1"
    clock.advance(1)
    assert get(client, "/protected") == "secret:1"
    clock.advance(60)
    assert get(client, "/protected") == "secret:1"


def test_wrong_basic_password_touches_no_record(
    app: Flask, store: WatchedStore
) -> None:
    client = device(app, PHONE)
    assert client.get("/protected", auth=("1", "wrong")).status_code == 401
    assert not store.calls


@pytest.mark.parametrize("how", ["function", "client class"])
def test_test_client_login_writes_a_record(
    app: Flask,
    store: WatchedStore,
    users: dict[str, User],
    clock: Clock,
    how: str,
) -> None:
    if how == "function":
        client = app.test_client()
        login_test_client(client, users["1"])
    else:
        app.test_client_class = SessionAuthClient
        client = app.test_client(user=users["1"])

    record = store.record(record_id_of(client))
    assert record is not None
    assert record.method == "test"
    assert record.user_id == "1"
    assert get(client, "/") == "user:1"
    assert store.active("1", clock.now) == [record.id]


def test_test_client_login_counts_against_the_limit_and_says_so(
    app: Flask, users: dict[str, User]
) -> None:
    app.config.update(
        SESSIONAUTH_MAX_SESSIONS=1, SESSIONAUTH_MAX_SESSIONS_POLICY="refuse"
    )
    login_test_client(app.test_client(), users["1"])

    with pytest.raises(RuntimeError, match="SESSIONAUTH_MAX_SESSIONS"):
        login_test_client(app.test_client(), users["1"])


def test_address_and_user_agent_are_truncated(app: Flask, store: WatchedStore) -> None:
    address = "2001:db8:" + "a" * 200
    agent = "Agent/" + "x" * 1000
    client = device(app, {"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent})
    get(client, "/signin/1")
    record = store.record(record_id_of(client))
    assert record is not None
    assert record.ip == address[:64]
    assert record.user_agent == agent[:256]


def test_no_user_agent_is_none(app: Flask, store: WatchedStore) -> None:
    client = device(app, {"HTTP_USER_AGENT": ""})
    get(client, "/signin/1")
    record = store.record(record_id_of(client))
    assert record is not None
    assert record.user_agent is None


# A session login needs its record


@pytest.mark.parametrize("remember", [False, True])
def test_session_of_an_ended_record_is_anonymous_and_loses_its_cookie(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    remember: bool,
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, f"/signin/1?remember={int(remember)}")

    with app.app_context():
        assert login_manager.revoke_all_sessions(users["1"]) == 1

    response = laptop.get("/")
    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER) is remember
    data = session_data(laptop)
    assert "_user_id" not in data
    assert "_login_id" not in data
    assert get(laptop, "/") == "anonymous"


def test_session_of_a_lost_record_is_anonymous(app: Flask, store: WatchedStore) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1")
    store.inner = MemoryLoginStore()
    assert get(laptop, "/") == "anonymous"
    data = session_data(laptop)
    assert "_user_id" not in data
    assert "_login_id" not in data


def test_lost_record_with_a_valid_remember_cookie_starts_a_new_one_at_once(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    """The record is gone (the store lost it, or it expired): the session's
    login ends, and the valid remember cookie starts a new login in the same
    request (documented), recorded under the cookie's secret.
    """
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    old_id = record_id_of(laptop)
    store.inner = MemoryLoginStore()

    with recording(session_started) as started:
        assert get(laptop, "/") == "user:1"

    assert len(started) == 1
    assert started[0][1]["record"].created_at == clock.now
    assert record_id_of(laptop) == old_id
    assert store.active("1", clock.now) == [old_id]


def test_session_login_from_before_the_registry_is_refused(
    app: Flask, login_manager: LoginManager
) -> None:
    laptop = device(app, LAPTOP)
    login_manager.registry = None
    get(laptop, "/signin/1")
    assert "_login_id" not in session_data(laptop)
    login_manager.registry = MemoryLoginStore()
    assert get(laptop, "/") == "anonymous"


# Revoking


def test_revoke_one_device_from_another(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1?remember=1")
    clock.advance(60)
    get(phone, "/signin/1?remember=1")
    phone_session = cookie_value(phone, SESSION)
    phone_cookie = cookie_value(phone, REMEMBER)
    laptop_cookie = cookie_value(laptop, REMEMBER)
    listed = devices_of(laptop)
    # Newest first, this one marked.
    assert [d["id"] for d in listed] == [record_id_of(phone), record_id_of(laptop)]
    assert [d["current"] for d in listed] == [False, True]

    with recording(session_ended) as ended:
        assert get(laptop, f"/revoke/{record_id_of(phone)}") == "True"

    assert reasons(ended) == ["revoked"]
    assert ended[0][1]["record"].id == record_id_of(phone)

    # The phone is anonymous at once, and its remember cookie goes.
    response = phone.get("/")
    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)
    assert get(phone, "/") == "anonymous"

    # Saved copies of the phone's cookies never log in again.
    for cookies in (
        {REMEMBER: phone_cookie},
        {SESSION: phone_session},
        {SESSION: phone_session, REMEMBER: phone_cookie},
    ):
        for _ in range(2):
            copy = fresh_client(app, PHONE, **cookies)
            response = copy.get("/")
            assert response.text == "anonymous", cookies
        clock.advance(30 * DAY)

    # The laptop and its remember cookie still work.
    assert get(laptop, "/") == "user:1"
    assert get(fresh_client(app, LAPTOP, remember_token=laptop_cookie), "/") == (
        "user:1"
    )
    assert [d["current"] for d in devices_of(laptop)] == [True]


def test_revoke_session_refuses_what_is_not_the_users(app: Flask, clock: Clock) -> None:
    alice, bob = device(app, LAPTOP), device(app, PHONE)
    get(alice, "/signin/1")
    get(bob, "/signin/2")
    bobs = record_id_of(bob)
    assert get(alice, f"/revoke/{bobs}") == "False"
    assert get(alice, "/revoke/no-such-record") == "False"
    assert get(bob, "/") == "user:2"
    # A record already ended is not ended twice.
    assert get(bob, f"/revoke/{bobs}") == "True"
    assert get(alice, f"/revoke/{bobs}") == "False"


def test_revoking_the_current_session_ends_it_in_this_request(
    app: Flask,
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    response = laptop.get(f"/revoke/{record_id_of(laptop)}")
    assert response.text == "True"
    assert deletes_cookie(response, REMEMBER)
    assert get(laptop, "/") == "anonymous"


def test_revoke_other_sessions(app: Flask, store: WatchedStore, clock: Clock) -> None:
    laptop, phone, tablet = device(app, LAPTOP), device(app, PHONE), device(app, TABLET)

    for client in (laptop, phone, tablet):
        get(client, "/signin/1?remember=1")
        clock.advance(1)

    cookies = [cookie_value(c, REMEMBER) for c in (phone, tablet)]
    bob = device(app)
    get(bob, "/signin/2")

    with recording(session_ended) as ended:
        assert get(laptop, "/revoke-others") == "2"

    assert reasons(ended) == ["revoked", "revoked"]
    assert get(laptop, "/") == "user:1"
    assert get(phone, "/") == "anonymous"
    assert get(tablet, "/") == "anonymous"

    for cookie in cookies:
        assert get(fresh_client(app, remember_token=cookie), "/") == "anonymous"

    assert [d["current"] for d in devices_of(laptop)] == [True]
    assert get(bob, "/") == "user:2"
    assert get(laptop, "/revoke-others") == "0"


def test_revoke_all_sessions_in_a_request(app: Flask, clock: Clock) -> None:
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1?remember=1")
    get(phone, "/signin/1")
    cookie = cookie_value(laptop, REMEMBER)
    response = laptop.get("/revoke-all")
    assert response.text == "2 authenticated=False"
    assert deletes_cookie(response, REMEMBER)
    assert get(laptop, "/") == "anonymous"
    assert get(phone, "/") == "anonymous"
    assert get(fresh_client(app, remember_token=cookie), "/") == "anonymous"


def test_revoke_all_sessions_outside_a_request(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    clock: Clock,
) -> None:
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1?remember=1")
    get(phone, "/signin/1?remember=1")
    bob = device(app)
    get(bob, "/signin/2")
    cookies = [cookie_value(c, REMEMBER) for c in (laptop, phone)]

    with app.app_context():
        assert login_manager.revoke_all_sessions(users["1"]) == 2
        assert login_manager.revoke_all_sessions(users["1"]) == 0
        assert login_manager.sessions(users["1"]) == []

    for client in (laptop, phone):
        assert get(client, "/") == "anonymous"

    for cookie in cookies:
        assert get(fresh_client(app, remember_token=cookie), "/") == "anonymous"

    assert get(bob, "/") == "user:2"


def test_registry_api_needs_a_registry(
    login_manager: LoginManager, users: dict[str, User]
) -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = SECRET
    login_manager.init_app(app)

    with app.app_context():
        for call in (
            lambda: login_manager.sessions(users["1"]),
            lambda: login_manager.revoke_session(users["1"], "x"),
            lambda: login_manager.revoke_all_sessions(users["1"]),
        ):
            with pytest.raises(RuntimeError, match="registry"):
                call()


# Logging out is final, on signed cookie sessions too


@pytest.mark.parametrize("remember", [False, True])
def test_logout_ends_the_record_and_copies_are_refused(
    app: Flask, store: WatchedStore, clock: Clock, remember: bool
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, f"/signin/1?remember={int(remember)}")
    record_id = record_id_of(laptop)
    saved_session = cookie_value(laptop, SESSION)
    saved_cookie = cookie_value(laptop, REMEMBER)

    with recording(session_ended) as ended:
        assert get(laptop, "/logout") == "bye"

    assert reasons(ended) == ["logout"]
    assert ended[0][1]["record"].id == record_id
    assert record_id not in store.active("1", clock.now)
    assert get(laptop, "/") == "anonymous"

    # A thief's copies of the signed session cookie and of the remember
    # cookie, taken before the logout.
    copies = [{SESSION: saved_session}]

    if remember:
        copies += [
            {REMEMBER: saved_cookie},
            {SESSION: saved_session, REMEMBER: saved_cookie},
        ]

    for cookies in copies:
        thief = fresh_client(app, LAPTOP, **cookies)
        assert get(thief, "/") == "anonymous", cookies
        assert thief.get("/protected").status_code == 401

    assert store.active("1", clock.now) == []


def test_without_the_registry_a_copied_session_outlives_logout(
    login_manager: LoginManager, users: dict[str, User]
) -> None:
    """What the registry is for: without one, a copy of a signed session
    cookie taken before the logout still logs in (docs/security.rst).
    """
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    login_manager.init_app(app)

    @app.route("/")
    def index() -> str:
        return f"user:{current_user.get_id()}"

    @app.route("/signin")
    def signin() -> str:
        login_user(users["1"])
        return "ok"

    @app.route("/logout")
    def logout() -> str:
        logout_user()
        return "bye"

    laptop = app.test_client()
    get(laptop, "/signin")
    saved = cookie_value(laptop, SESSION)
    get(laptop, "/logout")
    assert get(fresh_client(app, session=saved), "/") == "user:1"


# The session limit


def test_max_sessions_evicts_the_oldest(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    app.config["SESSIONAUTH_MAX_SESSIONS"] = 2
    laptop, phone, tablet = device(app, LAPTOP), device(app, PHONE), device(app, TABLET)
    get(laptop, "/signin/1?remember=1")
    clock.advance(10)
    get(phone, "/signin/1")
    clock.advance(10)
    oldest = record_id_of(laptop)
    laptop_cookie = cookie_value(laptop, REMEMBER)

    with recording(session_ended) as ended:
        assert get(tablet, "/signin/1") == "ok"

    assert reasons(ended) == ["evicted"]
    assert ended[0][1]["record"].id == oldest
    record = store.record(oldest)
    assert record is not None and record.ended == "evicted"
    assert get(laptop, "/") == "anonymous"
    assert get(fresh_client(app, remember_token=laptop_cookie), "/") == "anonymous"
    assert get(phone, "/") == "user:1"
    assert get(tablet, "/") == "user:1"
    assert len(devices_of(tablet)) == 2


def test_max_sessions_is_per_user(app: Flask, clock: Clock) -> None:
    app.config["SESSIONAUTH_MAX_SESSIONS"] = 1
    alice, bob = device(app, LAPTOP), device(app, PHONE)
    get(alice, "/signin/1")
    get(bob, "/signin/2")
    assert get(alice, "/") == "user:1"
    assert get(bob, "/") == "user:2"


def test_max_sessions_refuse(
    app: Flask, store: WatchedStore, users: dict[str, User], clock: Clock
) -> None:
    app.config.update(
        SESSIONAUTH_MAX_SESSIONS=2, SESSIONAUTH_MAX_SESSIONS_POLICY="refuse"
    )
    laptop, phone, tablet = device(app, LAPTOP), device(app, PHONE), device(app, TABLET)
    get(laptop, "/signin/1")
    get(phone, "/signin/1")
    adds = store.calls["add"]

    with recording(session_ended) as ended, recording(session_started) as started:
        assert get(tablet, "/signin/1") == "refused"

    assert ended == [] and started == []
    assert store.calls["add"] == adds
    assert get(tablet, "/") == "anonymous"
    assert "_user_id" not in session_data(tablet)
    # Basic credentials over the limit give no user either.
    auth = ("1", password_of(users["1"]))
    assert device(app).get("/protected", auth=auth).status_code == 401
    assert get(laptop, "/") == "user:1"
    assert get(phone, "/") == "user:1"
    # Once one logs out, there is room again.
    get(phone, "/logout")
    assert get(tablet, "/signin/1") == "ok"


# Disabled users and changed tokens


def test_inactive_user_has_every_record_ended(
    app: Flask, store: WatchedStore, users: dict[str, User], clock: Clock
) -> None:
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1?remember=1")
    get(phone, "/signin/1?remember=1")
    cookies = [cookie_value(c, REMEMBER) for c in (laptop, phone)]
    users["1"].active = False

    with recording(session_ended) as ended:
        response = laptop.get("/")

    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)
    assert reasons(ended) == ["revoked", "revoked"]
    assert store.active("1", clock.now) == []
    # Enabled again, no earlier login comes back.
    users["1"].active = True
    assert get(phone, "/") == "anonymous"

    for cookie in cookies:
        assert get(fresh_client(app, remember_token=cookie), "/") == "anonymous"


def test_inactive_users_remember_cookie_alone_ends_every_record(
    app: Flask, store: WatchedStore, users: dict[str, User], clock: Clock
) -> None:
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1?remember=1")
    get(phone, "/signin/1")
    cookie = cookie_value(laptop, REMEMBER)
    users["1"].active = False

    with recording(session_ended) as ended:
        response = fresh_client(app, remember_token=cookie).get("/")

    assert response.text == "anonymous"
    # Deleted, so that the browser stops sending it.
    assert deletes_cookie(response, REMEMBER)
    assert reasons(ended) == ["revoked", "revoked"]
    assert store.active("1", clock.now) == []
    users["1"].active = True
    assert get(fresh_client(app, remember_token=cookie), "/") == "anonymous"
    assert get(phone, "/") == "anonymous"


def test_changed_token_ends_records_and_they_are_not_listed(
    app: Flask,
    login_manager: LoginManager,
    store: WatchedStore,
    tina: TokenUser,
    clock: Clock,
) -> None:
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/7?remember=1")
    get(phone, "/signin/7")

    with app.app_context():
        assert len(login_manager.sessions(tina)) == 2
        tina.token = "changed-by-an-admin"

        with recording(session_ended) as ended:
            assert login_manager.sessions(tina) == []

    assert reasons(ended) == ["revoked", "revoked"]
    assert store.active("7", clock.now) == []
    assert get(laptop, "/") == "anonymous"
    assert get(phone, "/") == "anonymous"


def test_changed_token_ends_the_record_of_the_request_that_finds_it(
    app: Flask, store: WatchedStore, tina: TokenUser, clock: Clock
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/7")
    record_id = record_id_of(laptop)
    tina.token = "changed"

    with recording(session_ended) as ended:
        assert get(laptop, "/") == "anonymous"

    assert reasons(ended) == ["revoked"]
    assert record_id not in store.active("7", clock.now)


def test_rebind_keeps_the_current_record_and_ends_the_others(
    app: Flask, store: WatchedStore, tina: TokenUser, clock: Clock
) -> None:
    laptop, phone, tablet = device(app, LAPTOP), device(app, PHONE), device(app, TABLET)
    get(laptop, "/signin/7?remember=1")
    get(phone, "/signin/7?remember=1")
    get(tablet, "/signin/7")
    record_id = record_id_of(laptop)
    before = store.record(record_id)
    assert before is not None
    phone_cookie = cookie_value(phone, REMEMBER)

    with recording(session_ended) as ended:
        assert get(laptop, "/change-token/new-token") == "rebound"

    assert reasons(ended) == ["revoked", "revoked"]
    assert record_id_of(laptop) == record_id
    after = store.record(record_id)
    assert after is not None and after.active
    assert after.token_signature != before.token_signature
    assert store.active("7", clock.now) == [record_id]
    assert get(laptop, "/") == "user:7"
    # The laptop's re-issued remember cookie still works, on the same record.
    cookie = cookie_value(laptop, REMEMBER)
    restarted = fresh_client(app, LAPTOP, remember_token=cookie)
    assert get(restarted, "/") == "user:7"
    assert record_id_of(restarted) == record_id
    assert get(phone, "/") == "anonymous"
    assert get(tablet, "/") == "anonymous"
    assert get(fresh_client(app, remember_token=phone_cookie), "/") == "anonymous"
    assert [d["current"] for d in devices_of(laptop)] == [True]


def test_rebind_does_not_let_an_old_copy_end_the_rebound_device(
    app: Flask, tina: TokenUser
) -> None:
    """After a password change with ``rebind_session()``, a thief replays
    the copy of the session cookie they took before it: it is refused, and
    the device that changed the password stays logged in.
    """
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/7")
    stolen = cookie_value(laptop, SESSION)
    assert get(laptop, "/change-token/new-token") == "rebound"
    assert get(fresh_client(app, LAPTOP, session=stolen), "/") == "anonymous"
    assert get(laptop, "/") == "user:7"


# last_seen


def test_last_seen_is_written_once_per_granularity(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1")
    record_id = record_id_of(laptop)
    start = clock.now
    store.calls.clear()

    for _ in range(4):
        clock.advance(60)
        assert get(laptop, "/") == "user:1"

    # One round trip per request, and no write within the granularity.
    assert store.calls == Counter(get=4)
    clock.advance(60)  # 5 minutes since the login
    assert get(laptop, "/") == "user:1"
    assert store.calls == Counter(get=5, touch=1)
    record = store.record(record_id)
    assert record is not None
    assert record.last_seen == start + 300
    assert record.expires_at == start + 300 + SESSION_SECONDS

    for _ in range(4):
        clock.advance(60)
        assert get(laptop, "/") == "user:1"

    assert store.calls["touch"] == 1
    clock.advance(60)
    assert get(laptop, "/") == "user:1"
    assert store.calls["touch"] == 2


def test_last_seen_granularity_is_a_setting(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    app.config["SESSIONAUTH_LAST_SEEN_GRANULARITY"] = timedelta(seconds=30)
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1")
    store.calls.clear()

    for _ in range(3):
        clock.advance(30)
        get(laptop, "/")

    assert store.calls["touch"] == 3


# Anonymous requests


def test_anonymous_requests_never_touch_the_store(
    app: Flask, store: WatchedStore
) -> None:
    client = device(app, LAPTOP)
    assert get(client, "/") == "anonymous"
    assert client.get("/protected").status_code == 401
    assert client.get("/api/me").status_code == 401
    assert get(client, "/put/cart/apple") == "stored"
    assert get(client, "/") == "anonymous"
    # A remember cookie that is not valid is never looked up.
    forged = fresh_client(app, remember_token="1~2~~MQ~secret.not-a-signature")
    assert get(forged, "/") == "anonymous"
    garbage = fresh_client(app, remember_token="garbage")
    assert get(garbage, "/") == "anonymous"

    # Nor after a logout.
    get(client, "/logout")
    assert get(client, "/") == "anonymous"
    assert not store.calls


def test_a_logged_out_client_no_longer_touches_the_store(
    app: Flask, store: WatchedStore
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    get(laptop, "/logout")
    store.calls.clear()

    for _ in range(3):
        assert get(laptop, "/") == "anonymous"

    assert not store.calls


# Signals


def test_replacing_a_login_in_the_same_session_ends_its_record(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1")
    first = record_id_of(laptop)

    with recording(session_ended) as ended, recording(session_started) as started:
        assert get(laptop, "/signin/2") == "ok"

    assert reasons(ended) == ["replaced"]
    assert ended[0][1]["record"].id == first
    assert len(started) == 1
    assert started[0][1]["record"].id == record_id_of(laptop) != first
    assert store.active("1", clock.now) == []
    assert get(laptop, "/") == "user:2"


def test_two_logins_in_one_request_leave_one_record(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    laptop = device(app, LAPTOP)

    with recording(session_ended) as ended, recording(session_started) as started:
        assert get(laptop, "/signin-twice/1/1") == "ok"

    assert len(started) == 2
    assert reasons(ended) == ["replaced"]
    assert ended[0][1]["record"].id == started[0][1]["record"].id
    assert store.active("1", clock.now) == [record_id_of(laptop)]


def test_test_client_login_over_a_login_replaces_it(
    app: Flask, store: WatchedStore, users: dict[str, User], clock: Clock
) -> None:
    """``login_test_client`` on a client that is logged in starts a new
    login in that session, as ``login_user`` does: the record of the login
    it replaces ends.
    """
    client = app.test_client()
    login_test_client(client, users["1"])
    login_test_client(client, users["1"])
    assert store.active("1", clock.now) == [record_id_of(client)]


def test_session_ended_signal_carries_user_record_and_reason(
    app: Flask, users: dict[str, User]
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1")

    with recording(session_ended) as ended:
        get(laptop, "/logout")

    ((sender, kwargs),) = ended
    assert sender is app
    assert set(kwargs) == {"user", "record", "reason"}
    assert kwargs["user"] is users["1"]
    assert kwargs["record"].ended == "logout"
    assert not kwargs["record"].active


def test_session_timeout_ends_the_record_as_expired(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    """A login that times out (``SESSIONAUTH_SESSION_IDLE_TIMEOUT``) is
    over: its record ends with reason ``"expired"`` and is no longer listed.
    """
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = timedelta(minutes=30)
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1")
    get(phone, "/signin/1")
    record_id = record_id_of(laptop)
    clock.advance(3600)

    with recording(session_ended) as ended:
        assert get(laptop, "/") == "anonymous"

    assert reasons(ended) == ["expired"]
    get(phone, "/signin/1")
    assert record_id not in [d["id"] for d in devices_of(phone)]


# Realms


@pytest.fixture
def staff_members() -> dict[str, User]:
    return {"1": TokenUser("1", "sam", token="sam-token")}


def realm_app(
    login_manager: LoginManager,
    users: dict[str, User],
    staff_members: dict[str, User],
    clock: Clock,
    customer_store: MemoryLoginStore | None,
    staff_store: MemoryLoginStore | None,
) -> tuple[Flask, LoginManager]:
    """Customers in the default realm, staff in ``"staff"``, ids shared."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    login_manager.registry = customer_store
    login_manager.init_app(app)
    staff = LoginManager(app, realm="staff", registry=staff_store)
    staff.clock = clock

    @staff.user_loader
    def load_staff(user_id: str) -> User | None:
        return staff_members.get(user_id)

    @app.route("/")
    def index() -> str:
        customer, member = current_user, staff.current_user
        customer_id = customer.get_id() if customer.is_authenticated else "-"
        member_id = member.get_id() if member.is_authenticated else "-"
        return f"customer={customer_id} staff={member_id}"

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(users[user_id], remember=True)
        staff.login_user(staff_members[user_id], remember=True)
        return "ok"

    @app.route("/staff/revoke-all")
    def staff_revoke_all() -> str:
        member = staff.current_user._get_current_object()
        return str(staff.revoke_all_sessions(member))

    @app.route("/staff/logout")
    def staff_logout() -> str:
        staff.logout_user()
        return "bye"

    return app, staff


def test_each_realm_has_its_own_registry(
    login_manager: LoginManager,
    users: dict[str, User],
    staff_members: dict[str, User],
    clock: Clock,
) -> None:
    customers, staff_store = MemoryLoginStore(), MemoryLoginStore()
    app, staff = realm_app(
        login_manager, users, staff_members, clock, customers, staff_store
    )
    client = device(app, LAPTOP)

    with recording(session_started) as started:
        get(client, "/login/1")

    assert [kwargs.get("realm") for _, kwargs in started] == [None, "staff"]
    assert get(client, "/") == "customer=1 staff=1"
    data = session_data(client)
    assert data["_login_id"] != data["_login_id.staff"]
    (customer_record,) = customers.user_records(None, "1", clock.now)
    (staff_record,) = staff_store.user_records("staff", "1", clock.now)
    assert customer_record.realm is None
    assert customer_record.id == hashed(data["_login_id"])
    assert staff_record.realm == "staff"
    assert staff_record.id == hashed(data["_login_id.staff"])
    assert customers.user_records("staff", "1", clock.now) == []
    staff_cookie = cookie_value(client, STAFF_REMEMBER)
    assert staff_cookie is not None
    assert remember_fields(staff_cookie)[4] == data["_login_id.staff"]

    # Ending every staff login leaves the customer's.
    with recording(session_ended) as ended:
        assert get(client, "/staff/revoke-all") == "1"

    assert [kwargs.get("realm") for _, kwargs in ended] == ["staff"]
    assert get(client, "/") == "customer=1 staff=-"
    assert get(fresh_client(app, remember_token_staff=staff_cookie), "/") == (
        "customer=- staff=-"
    )
    assert customers.user_records(None, "1", clock.now)[0].active


@pytest.mark.parametrize("shared", [False, True])
def test_a_staff_record_never_authenticates_a_customer(
    login_manager: LoginManager,
    users: dict[str, User],
    staff_members: dict[str, User],
    clock: Clock,
    shared: bool,
) -> None:
    customers = MemoryLoginStore()
    staff_store = customers if shared else MemoryLoginStore()
    app, staff = realm_app(
        login_manager, users, staff_members, clock, customers, staff_store
    )
    client = device(app, LAPTOP)
    get(client, "/login/1")
    staff_secret = secret_of(client, "_login_id.staff")
    staff_cookie = cookie_value(client, STAFF_REMEMBER)
    assert staff_cookie is not None

    # The staff login's secret under the customer's key (and no customer
    # remember cookie, which would start a new login).
    client.delete_cookie(REMEMBER)

    with client.session_transaction() as sess:
        sess["_login_id"] = staff_secret

    assert get(client, "/") == "customer=- staff=1"
    # A staff remember cookie under the customer's cookie name: its
    # signature is the staff realm's.
    thief = fresh_client(app, remember_token=staff_cookie)
    assert get(thief, "/") == "customer=- staff=-"


def test_a_realm_without_a_registry_beside_one_with(
    login_manager: LoginManager,
    users: dict[str, User],
    staff_members: dict[str, User],
    clock: Clock,
) -> None:
    staff_store = MemoryLoginStore()
    app, staff = realm_app(
        login_manager, users, staff_members, clock, None, staff_store
    )
    client = device(app, LAPTOP)
    get(client, "/login/1")
    data = session_data(client)
    assert "_login_id" not in data
    assert "_login_id.staff" in data
    cookie = cookie_value(client, REMEMBER)
    assert cookie is not None and len(remember_fields(cookie)) == 4
    assert get(client, "/") == "customer=1 staff=1"


# Bad input


@pytest.mark.parametrize(
    "value",
    [
        1,
        1.5,
        True,
        None,
        [],
        ["a"],
        {"a": "b"},
        "",
        "x" * 129,
        "x" * 100_000,
        "x" * 128,
        "not-a-known-secret",
        "\u00e9\u00e8\u4e2d",
        "\ud800",
        "\x00",
    ],
)
def test_bad_login_id_in_the_session_is_anonymous(
    app: Flask, store: WatchedStore, value: object
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1")

    with laptop.session_transaction() as sess:
        sess["_login_id"] = value

    assert get(laptop, "/") == "anonymous"
    response = laptop.get("/api/me", headers=JSON)
    assert response.status_code == 401
    assert response.json == {"error": "unauthorized", "message": ANY}


@pytest.mark.parametrize("login_id", ["x" * 129, "a~b", "a\u00e9"])
def test_bad_login_id_in_a_remember_cookie_is_refused(
    app: Flask, clock: Clock, login_id: str
) -> None:
    payload = remember_payload("1", int(clock.now) + DAY, DAY) + "~" + login_id
    cookie = signed_remember_cookie(SECRET, payload)
    response = fresh_client(app, remember_token=cookie).get("/")
    assert response.status_code == 200
    assert response.text == "anonymous"


# The store down


@pytest.fixture
def outage(
    app: Flask, store: WatchedStore, caplog: pytest.LogCaptureFixture
) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO, logger="flask_sessionauth")
    yield caplog


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if "registry" in record.getMessage()
    ]


def test_store_down_session_is_anonymous_and_back_when_the_store_is(
    app: Flask, store: WatchedStore, outage: pytest.LogCaptureFixture
) -> None:
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    before = session_data(laptop)
    cookie = cookie_value(laptop, REMEMBER)
    store.down = True

    for _ in range(3):
        response = laptop.get("/")
        assert response.text == "anonymous"
        assert not deletes_cookie(response, REMEMBER)

    assert laptop.get("/protected").status_code == 401
    assert session_data(laptop) == before
    assert cookie_value(laptop, REMEMBER) == cookie
    # A remember cookie alone is not deleted either.
    alone = fresh_client(app, LAPTOP, remember_token=cookie)
    response = alone.get("/")
    assert response.text == "anonymous"
    assert not deletes_cookie(response, REMEMBER)

    store.down = False
    assert get(laptop, "/") == "user:1"
    assert get(alone, "/") == "user:1"


def test_store_down_api_gets_503(app: Flask, store: WatchedStore) -> None:
    client = device(app, LAPTOP)
    get(client, "/signin/1")
    store.down = True

    for headers in ({}, JSON):
        response = client.get("/api/me", headers=headers)
        assert response.status_code == 503
        assert response.json is not None
        assert response.json["error"] == "registry_unavailable"


def test_store_down_login_gets_503(
    app: Flask, store: WatchedStore, users: dict[str, User]
) -> None:
    store.down = True
    client = device(app, LAPTOP)
    assert client.get("/signin/1").status_code == 503
    assert "_user_id" not in session_data(client)
    auth = ("1", password_of(users["1"]))
    assert client.get("/protected", auth=auth).status_code == 503
    store.down = False
    assert get(client, "/signin/1") == "ok"


def test_store_down_is_logged_once_per_outage(
    app: Flask, store: WatchedStore, outage: pytest.LogCaptureFixture
) -> None:
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1")
    get(phone, "/signin/1")

    for _ in range(2):
        store.down = True

        for _ in range(3):
            assert get(laptop, "/") == "anonymous"
            assert get(phone, "/") == "anonymous"

        store.down = False
        assert get(laptop, "/") == "user:1"
        assert get(phone, "/") == "user:1"

    lines = outage_lines(outage)
    assert [level for level, _ in lines] == [
        logging.WARNING,
        logging.INFO,
        logging.WARNING,
        logging.INFO,
    ], lines
    assert "the test took the store down" in lines[0][1] or (
        "connection refused" in lines[0][1]
    )


def test_logout_with_only_a_remember_cookie_while_the_store_is_down_is_refused(
    app: Flask, store: WatchedStore
) -> None:
    """The browser restarted (no session cookie), the store is down, the
    user logs out: the answer must not be a logout that leaves the cookie's
    record, and so every copy of the cookie, working once the store is back.
    """
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    saved_cookie = cookie_value(laptop, REMEMBER)
    laptop.delete_cookie(SESSION)
    store.down = True
    response = laptop.get("/logout")
    store.down = False

    if response.status_code != 503:
        thief = fresh_client(app, LAPTOP, remember_token=saved_cookie)
        assert get(thief, "/") == "anonymous"


def test_logout_while_the_store_is_down_is_refused(
    app: Flask, store: WatchedStore
) -> None:
    """A logout that cannot end the record is not made (503): a copy of the
    signed session cookie would otherwise log in again once the store is
    back. The session keeps its login, and a logout afterwards is final.
    """
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    saved = cookie_value(laptop, SESSION)
    saved_cookie = cookie_value(laptop, REMEMBER)
    store.down = True
    assert laptop.get("/logout").status_code == 503
    store.down = False
    assert get(laptop, "/") == "user:1"
    assert get(laptop, "/logout") == "bye"

    for cookies in ({SESSION: saved}, {REMEMBER: saved_cookie}):
        assert get(fresh_client(app, LAPTOP, **cookies), "/") == "anonymous"


# With the registry off nothing changes


def test_registry_off_writes_nothing_new(
    login_manager: LoginManager, users: dict[str, User]
) -> None:
    assert login_manager.registry is None
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    login_manager.init_app(app)

    @app.route("/signin")
    def signin() -> str:
        login_user(users["1"], remember=True)
        return "ok"

    client = app.test_client()
    get(client, "/signin")
    data = session_data(client)
    assert not any(key.startswith("_login_id") for key in data)
    cookie = cookie_value(client, REMEMBER)
    assert cookie is not None
    assert len(remember_fields(cookie)) == 4


# Found in review: remember cookies that outlive their record


def test_refreshed_cookie_of_a_revoked_device_never_logs_in_again(
    app: Flask, login_manager: LoginManager, users: dict[str, User], clock: Clock
) -> None:
    """``REMEMBER_COOKIE_REFRESH_EACH_REQUEST`` renews the cookie for a full
    duration on each request, but the record's expiry is not moved with it:
    an ended record is dropped at its own expiry, after which the revoked
    device's cookie finds no record and starts a new one.
    """
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    clock.advance(300 * DAY)
    assert get(laptop, "/") == "user:1"
    stolen = cookie_value(laptop, REMEMBER)

    with app.app_context():
        assert login_manager.revoke_all_sessions(users["1"]) == 1

    for days in (0, 70, 200):
        clock.advance(days * DAY)
        thief = fresh_client(app, remember_token=stolen)
        assert get(thief, "/") == "anonymous", f"{days} days later"


def test_remember_cookie_issued_for_a_login_without_one_dies_with_it(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    """A session logged in without "remember me" sent with a remember cookie
    of the same user (REFRESH_EACH_REQUEST renews it) gets a cookie bound to
    the session's record, whose record says no cookie was issued: it is
    dropped, not kept, when it ends, and the cookie then starts a new login.
    """
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/1?remember=1")
    get(phone, "/signin/1")
    thief = fresh_client(
        app,
        session=cookie_value(phone, SESSION),
        remember_token=cookie_value(laptop, REMEMBER),
    )
    assert get(thief, "/") == "user:1"
    minted = cookie_value(thief, REMEMBER)

    with app.app_context():
        assert login_manager.revoke_all_sessions(users["1"]) == 2

    assert get(fresh_client(app, remember_token=minted), "/") == "anonymous"


def test_remember_cookie_from_before_the_registry_is_refused(
    app: Flask, login_manager: LoginManager, store: WatchedStore
) -> None:
    """A remember cookie issued before the registry was turned on names no
    record, so no revocation could reach it: it is refused and deleted, as a
    session login without a record is.
    """
    login_manager.registry = None
    old_device = device(app, LAPTOP)
    get(old_device, "/signin/1?remember=1")
    stolen = cookie_value(old_device, REMEMBER)
    assert stolen is not None and len(remember_fields(stolen)) == 4
    login_manager.registry = store
    response = fresh_client(app, remember_token=stolen).get("/")
    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)
    assert not store.calls


def test_an_ended_record_stays_ended_when_a_timeout_ends_it_too(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    """A device's session times out while an admin revokes the device: the
    admin's end lands between the request's read of the record and its
    write of "expired". The revocation must win, or the device's remember
    cookie, refused for a revoked record, starts a new login for an
    expired one.
    """
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = timedelta(minutes=30)
    laptop = device(app, LAPTOP)
    # Without "remember me": the timeout ends the record as "expired".
    get(laptop, "/signin/1")
    record_id = record_id_of(laptop)
    clock.advance(3600)
    inner_update = store.inner.update

    def revoked_meanwhile(record: LoginRecord) -> None:
        if record.ended == "expired":
            stored = store.inner.get(record.id, 0.0)
            assert stored is not None
            inner_update(dataclasses.replace(stored, ended="revoked"))

        inner_update(record)

    store.inner.update = revoked_meanwhile  # type: ignore[method-assign]
    laptop.get("/")
    store.inner.update = inner_update  # type: ignore[method-assign]
    record = store.record(record_id)
    assert record is not None and record.ended == "revoked"


def test_refresh_each_request_writes_no_more_than_last_seen_does(
    app: Flask, store: WatchedStore, clock: Clock
) -> None:
    """With ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST``, a request still makes
    one round trip to the store, and a write at most once per
    ``SESSIONAUTH_LAST_SEEN_GRANULARITY``.
    """
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    store.calls.clear()

    for _ in range(4):
        clock.advance(60)
        assert get(laptop, "/") == "user:1"

    assert store.calls == Counter(get=4)


def test_revoking_the_current_session_makes_the_rest_of_the_request_anonymous(
    app: Flask, login_manager: LoginManager
) -> None:
    """As ``revoke_all_sessions`` does for the request's own login."""

    @app.route("/revoke-mine")
    @login_required
    def revoke_mine() -> str:
        user = current_user._get_current_object()
        own = [r.id for r in login_manager.sessions(user) if r.current]
        ended = login_manager.revoke_session(user, own[0])
        return f"{ended} authenticated={current_user.is_authenticated}"

    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1")
    assert get(laptop, "/revoke-mine") == "True authenticated=False"


# Found in review: key rotation, and the request's own login


@pytest.mark.skipif(
    "SECRET_KEY_FALLBACKS" not in Flask.default_config,
    reason="Flask verifies its session cookie with SECRET_KEY_FALLBACKS from 3.1"
    " on; before, rotating SECRET_KEY ends every session",
)
def test_key_rotation_does_not_end_rebound_logins(app: Flask) -> None:
    """Rotating ``SECRET_KEY`` rebinds a session on its next request; once
    the old key is dropped, listing the devices must not end that login
    because its record still holds the binding made with the old key.
    """
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/7")
    app.config.update(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=[SECRET])
    assert get(laptop, "/") == "user:7"
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert get(laptop, "/") == "user:7"
    assert [d["current"] for d in devices_of(laptop)] == [True]
    assert get(laptop, "/") == "user:7"


def test_revoking_another_users_sessions_keeps_the_current_login_marked(
    app: Flask, login_manager: LoginManager, users: dict[str, User]
) -> None:
    """An admin ends a user's logins, then lists their own, in one request."""

    @app.route("/admin/revoke/<user_id>")
    @login_required
    def admin_revoke(user_id: str) -> ResponseReturnValue:
        count = login_manager.revoke_all_sessions(users[user_id])
        mine = login_manager.sessions(current_user._get_current_object())
        others = login_manager.revoke_other_sessions()
        return jsonify(count=count, current=[r.current for r in mine], others=others)

    admin, bob = device(app, LAPTOP), device(app, PHONE)
    get(admin, "/signin/1")
    get(bob, "/signin/2")
    response = admin.get("/admin/revoke/2")
    assert response.status_code == 200, response.text
    assert response.json == {"count": 1, "current": [True], "others": 0}
    assert get(bob, "/") == "anonymous"
    assert get(admin, "/") == "user:1"


def test_revoke_all_sessions_given_current_user_logs_this_request_out(
    app: Flask, login_manager: LoginManager
) -> None:
    """``revoke_all_sessions(current_user)``, the proxy rather than the
    user, still makes the rest of the request anonymous.
    """

    @app.route("/revoke-all-proxy")
    @login_required
    def revoke_all_proxy() -> str:
        count = login_manager.revoke_all_sessions(current_user)
        return f"{count} authenticated={current_user.is_authenticated}"

    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1")
    assert get(laptop, "/revoke-all-proxy") == "1 authenticated=False"


# Found in the third review of the registry


def test_rebind_deletes_the_cookie_of_a_login_this_session_replaced(
    app: Flask, store: WatchedStore, tina: TokenUser, clock: Clock
) -> None:
    """The browser still holds the remember cookie of a login its session
    replaced (a second login without "remember me", on a page the cookie's
    path keeps it from; the cookie's record ended as "replaced").
    ``rebind_session`` must not re-issue that cookie bound to the session's
    record: once the session logs out, the cookie would log straight back
    in.
    """
    app.config["REMEMBER_COOKIE_PATH"] = "/app"

    @app.route("/app/")
    def app_home() -> str:
        if not current_user.is_authenticated:
            return "anonymous"
        return f"user:{current_user.get_id()}"

    @app.route("/app/change-token/<token>")
    def app_change_token(token: str) -> str:
        t.cast(TokenUser, current_user._get_current_object()).token = token
        rebind_session()
        return "rebound"

    def remember_cookie(client: FlaskClient) -> str | None:
        cookie = client.get_cookie(REMEMBER, path="/app")
        return None if cookie is None else cookie.value

    def alone(cookie: str) -> str:
        client = fresh_client(app)
        client.set_cookie(REMEMBER, cookie, path="/app")
        return get(client, "/app/")

    laptop = device(app, LAPTOP)
    get(laptop, "/signin/7?remember=1")
    old_cookie = remember_cookie(laptop)
    assert old_cookie is not None
    get(laptop, "/signin/7")  # the cookie is not sent here, and stays
    assert remember_cookie(laptop) == old_cookie
    assert alone(old_cookie) == "anonymous"

    assert get(laptop, "/app/change-token/new-token") == "rebound"
    assert remember_cookie(laptop) is None
    assert get(laptop, "/app/") == "user:7"
    get(laptop, "/logout")
    assert get(laptop, "/app/") == "anonymous"
    assert alone(old_cookie) == "anonymous"
    assert store.active("7", clock.now) == []


@pytest.mark.skipif(
    "SECRET_KEY_FALLBACKS" not in Flask.default_config,
    reason="Flask verifies its session cookie with SECRET_KEY_FALLBACKS from 3.1"
    " on; before, rotating SECRET_KEY ends every session",
)
def test_key_rotation_keeps_a_device_its_remember_cookie_restored(
    app: Flask, store: WatchedStore, tina: TokenUser, clock: Clock
) -> None:
    """A device comes back with its remember cookie alone while the old key
    is a fallback: its record is bound anew with the current key, so that
    dropping the old key neither ends it when listed nor refuses the device.
    """
    laptop, phone = device(app, LAPTOP), device(app, PHONE)
    get(laptop, "/signin/7")
    get(phone, "/signin/7?remember=1")
    cookie = cookie_value(phone, REMEMBER)
    phone_id = record_id_of(phone)
    app.config.update(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=[SECRET])
    restarted = fresh_client(app, PHONE, remember_token=cookie)
    assert get(restarted, "/") == "user:7"
    assert record_id_of(restarted) == phone_id
    assert get(laptop, "/") == "user:7"  # rebound on its own request
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert {d["id"] for d in devices_of(laptop)} == {record_id_of(laptop), phone_id}
    assert get(restarted, "/") == "user:7"
    renewed = cookie_value(restarted, REMEMBER)
    assert renewed is not None and renewed != cookie
    assert get(fresh_client(app, PHONE, remember_token=renewed), "/") == "user:7"
    assert len(store.active("7", clock.now)) == 2


@pytest.mark.parametrize("revoked", [False, True], ids=["active", "revoked"])
def test_copies_of_a_lost_records_cookie_racing_share_one_record(
    app: Flask,
    store: WatchedStore,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    revoked: bool,
) -> None:
    """The store lost a record, and two copies of its remember cookie come
    back at once: both find no record, one recreates it. The other's ``add``
    finds the id taken: it goes on with that record while it is active, and
    is refused once the owner has revoked it meanwhile; a revocation is never
    overwritten.
    """
    laptop = device(app, LAPTOP)
    get(laptop, "/signin/1?remember=1")
    record_id = record_id_of(laptop)
    cookie = cookie_value(laptop, REMEMBER)
    assert cookie is not None
    store.inner = MemoryLoginStore()
    owner = fresh_client(app, LAPTOP, remember_token=cookie)
    assert get(owner, "/") == "user:1"

    if revoked:
        assert get(owner, f"/revoke/{record_id}") == "True"

    # The thief's request read "no record" before the owner's made it.
    real_get = store.get
    stale = [record_id]

    def get_once_stale(wanted: str, now: float) -> LoginRecord | None:
        if stale and wanted == stale[0]:
            stale.clear()
            return None

        return real_get(wanted, now)

    monkeypatch.setattr(store, "get", get_once_stale)
    thief = fresh_client(app, THIEF, remember_token=cookie)

    with recording(session_started) as started:
        response = thief.get("/")

    assert not stale  # the stale read happened
    assert started == []
    held = store.record(record_id)
    assert held is not None and held.user_agent == "Laptop/1.0"

    if revoked:
        assert response.text == "anonymous"
        assert deletes_cookie(response, REMEMBER)
        assert held.ended == "revoked"
    else:
        assert response.text == "user:1"
        assert record_id_of(thief) == record_id
        assert held.active
