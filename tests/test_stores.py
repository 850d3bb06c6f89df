"""The login registry's stores, against one contract: the in-memory store, the
Redis store on a real ``redis-server`` and the SQLAlchemy store on SQLite run
the same tests (``harness``), then each its own.

A ``redis-server`` is started for this module on a free loopback port, with
persistence off; without the binary the Redis tests are skipped on a
developer's machine and fail in CI (``CI=true``). ``REDIS_SERVER`` may name
the binary to run. Records are written on the real clock: Redis expires its
keys on its own.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import secrets
import signal
import sqlite3
import subprocess
import threading
import time
import typing as t
from pathlib import Path

import pytest
import redis
import redis.backoff
import redis.retry
import sqlalchemy as sa

from flask_sessionauth.stores import LoginRecord
from flask_sessionauth.stores import LoginStore
from flask_sessionauth.stores import StoreUnavailable
from flask_sessionauth.stores.memory import MemoryLoginStore
from flask_sessionauth.stores.redis import RedisLoginStore
from flask_sessionauth.stores.sqlalchemy import SQLAlchemyLoginStore
from helpers import free_port
from helpers import redis_server_binary

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator

#: How long a redis-server may take to start.
START_TIMEOUT = 15.0
HOUR = 3600.0
#: Scopes of an API token: any non-empty string without a space is one.
SCOPES = {"read", "deploy", "admin:write", "Read", "a\tb", "\u00e9t\u00e9", "z" * 300}


def make(now: float, **fields: t.Any) -> LoginRecord:
    """A new active record of user "1" in the default realm, made ``now``,
    kept for an hour; ``fields`` override.
    """
    values: dict[str, t.Any] = {
        "id": secrets.token_urlsafe(32),
        "realm": None,
        "user_id": "1",
        "created_at": now,
        "last_seen": now,
        "expires_at": now + HOUR,
    }
    values.update(fields)
    return LoginRecord(**values)


def ended(record: LoginRecord, reason: str = "revoked", **fields: t.Any) -> LoginRecord:
    return dataclasses.replace(record, ended=reason, **fields)


def ids(records: list[LoginRecord]) -> set[str]:
    return {record.id for record in records}


# A private redis-server


def no_retry_client(port: int, **options: t.Any) -> redis.Redis:
    """A client of the server on ``port`` that fails at once, without the
    retries and back-off redis-py makes by default.
    """
    settings: dict[str, t.Any] = {
        "retry": redis.retry.Retry(redis.backoff.NoBackoff(), 0),
        "socket_connect_timeout": 1,
        "socket_timeout": 1,
    }
    settings.update(options)
    return redis.Redis(host="127.0.0.1", port=port, **settings)


class RedisServer:
    """A redis-server of its own, in ``directory``, on a free port."""

    def __init__(self, directory: Path) -> None:
        binary = redis_server_binary()
        log = directory / "redis-server.log"

        # Another process may take the free port before the server binds it;
        # then the server exits, and we retry.
        for _ in range(3):
            self.port = free_port()

            with log.open("ab") as output:
                self.process = subprocess.Popen(
                    [
                        binary,
                        "--port",
                        str(self.port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(directory),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=directory,
                )

            if self._answers_ping():
                return

            self.stop()

        pytest.fail(f"redis-server did not start:\n{log.read_text()}", pytrace=False)

    def _answers_ping(self) -> bool:
        client = no_retry_client(self.port)
        deadline = time.monotonic() + START_TIMEOUT

        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False

                try:
                    if client.ping():
                        return True
                except redis.ConnectionError:
                    pass

                time.sleep(0.02)
        finally:
            client.close()

        return False

    def client(self, **options: t.Any) -> redis.Redis:
        return no_retry_client(self.port, **options)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))

    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the module's server, which starts each test empty."""
    client = redis_server.client()
    client.flushdb()

    try:
        yield client
    finally:
        client.close()


# The harness: a store and what the tests need to look inside it


class Harness:
    """A store under test, with ways to look at what it keeps and to damage
    it as a broken or tampered-with server would.
    """

    kind: str
    store: LoginStore

    def kept(self, realm: str | None, user_id: str) -> int:
        """How many records of the user the store holds, expired or not."""
        raise NotImplementedError

    def corruptions(self) -> dict[str, Callable[[str], None]]:
        """Ways to corrupt a stored record, by name: each takes its id."""
        return {}


class MemoryHarness(Harness):
    kind = "memory"

    def __init__(self) -> None:
        self.memory = MemoryLoginStore()
        self.store = self.memory

    def kept(self, realm: str | None, user_id: str) -> int:
        # The tests that call this keep the records of one user only.
        return len(self.memory)


class RedisHarness(Harness):
    kind = "redis"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.redis = RedisLoginStore(client)
        self.store = self.redis

    def kept(self, realm: str | None, user_id: str) -> int:
        count: int = self.client.zcard(self.redis.index_key(realm, user_id))
        return count

    def corruptions(self) -> dict[str, Callable[[str], None]]:
        def field(name: str, value: bytes) -> Callable[[str], None]:
            return lambda record_id: self._hset(record_id, name, value)

        def drop(name: str) -> Callable[[str], None]:
            return lambda record_id: self._hdel(record_id, name)

        def string(record_id: str) -> None:
            key = self.redis.record_key(record_id)
            self.client.delete(key)
            self.client.set(key, "not a hash", ex=60)

        return {
            "expires_at not a number": field("expires_at", b"soon"),
            "expires_at nan": field("expires_at", b"nan"),
            "expires_at inf": field("expires_at", b"inf"),
            "created_at empty": field("created_at", b""),
            "remember not 0 or 1": field("remember", b"yes"),
            "user_agent not UTF-8": field("user_agent", b"\xff\xfe"),
            "user_id not UTF-8": field("user_id", b"\xc3"),
            "another record's id": field("id", b"someone-else"),
            "no user_id": drop("user_id"),
            "no expires_at": drop("expires_at"),
            "no method": drop("method"),
            "name not UTF-8": field("name", b"ci \xff"),
            "scopes empty": field("scopes", b""),
            "scopes a space": field("scopes", b" "),
            "scopes leading space": field("scopes", b" read"),
            "scopes trailing space": field("scopes", b"read "),
            "scopes double space": field("scopes", b"deploy  read"),
            "scopes unsorted": field("scopes", b"read deploy"),
            "scopes repeated": field("scopes", b"read read"),
            "scopes not UTF-8": field("scopes", b"read \xff"),
            "a string, not a hash": string,
        }

    def _hset(self, record_id: str, name: str, value: bytes) -> None:
        self.client.hset(self.redis.record_key(record_id), name, value)

    def _hdel(self, record_id: str, name: str) -> None:
        self.client.hdel(self.redis.record_key(record_id), name)


class SQLAlchemyHarness(Harness):
    kind = "sqlalchemy"

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sql = SQLAlchemyLoginStore(engine)
        self.sql.create_table()
        self.store = self.sql

    def kept(self, realm: str | None, user_id: str) -> int:
        table = self.sql.table
        query = (
            sa.select(sa.func.count())
            .select_from(table)
            .where(table.c.realm == (realm or ""), table.c.user_id == user_id)
        )

        with self.engine.connect() as connection:
            count: int = connection.execute(query).scalar_one()

        return count

    def corruptions(self) -> dict[str, Callable[[str], None]]:
        # SQLite keeps whatever it is given, whatever the column's type.
        def column(name: str, value: object) -> Callable[[str], None]:
            def corrupt(record_id: str) -> None:
                statement = sa.text(
                    f"UPDATE sessionauth_logins SET {name} = :value WHERE id = :id"
                )

                with self.engine.begin() as connection:
                    connection.execute(statement, {"value": value, "id": record_id})

            return corrupt

        return {
            "expires_at text": column("expires_at", "soon"),
            "expires_at blob": column("expires_at", b"\x00\x01"),
            "last_seen text": column("last_seen", "yesterday"),
            "created_at blob": column("created_at", b"\xff"),
            "user_id blob": column("user_id", b"1"),
            "method blob": column("method", b"form"),
            "user_agent blob": column("user_agent", b"\xff\xfe"),
            "ended blob": column("ended", b"revoked"),
            "name blob": column("name", b"ci"),
            "scopes blob": column("scopes", b"read"),
            "scopes empty": column("scopes", ""),
            "scopes leading space": column("scopes", " read"),
            "scopes double space": column("scopes", "deploy  read"),
            "scopes unsorted": column("scopes", "read deploy"),
            "scopes repeated": column("scopes", "read read"),
        }


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'logins.db'}")

    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        "sqlalchemy",
    ]
)
def harness(request: pytest.FixtureRequest) -> Harness:
    if request.param == "memory":
        return MemoryHarness()

    if request.param == "redis":
        return RedisHarness(request.getfixturevalue("redis_client"))

    return SQLAlchemyHarness(request.getfixturevalue("engine"))


@pytest.fixture
def store(harness: Harness) -> LoginStore:
    return harness.store


@pytest.fixture
def now() -> float:
    return time.time()


# The contract: get and add


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"realm": "staff", "user_id": "user:42", "method": "basic"},
        {
            "ip": "2001:db8::1",
            "user_agent": "Mozilla/5.0 (X11; Linux) \u00e9\u4e2d\U0001f600",
            "method": "remember",
            "remember": True,
            "token_signature": "sig-" + "x" * 60,
        },
        {
            "realm": "staff",
            "ip": "192.0.2.1",
            "user_agent": "curl/8.5.0",
            "method": "token",
            "token_signature": "sig",
            "name": "ci deploy \u00e9\U0001f600",
            "scopes": frozenset(SCOPES),
        },
        {"method": "token", "name": "one scope", "scopes": frozenset({"read"})},
        {"method": "token", "name": None, "scopes": frozenset()},
        {
            "user_id": "",
            "ip": "",
            "user_agent": "",
            "token_signature": "",
            "name": "",
        },
    ],
    ids=[
        "minimal",
        "named realm",
        "every field",
        "API token",
        "one scope",
        "token without name or scopes",
        "empty strings",
    ],
)
def test_get_returns_the_record_added(
    store: LoginStore, now: float, fields: dict[str, t.Any]
) -> None:
    # Times with every digit a float has come back exactly.
    record = make(now + 0.123456789, **fields)
    store.add(record)

    assert store.get(record.id, now) == record


def test_get_unknown_ids(store: LoginStore, now: float) -> None:
    store.add(make(now, id="known"))

    for record_id in ["unknown", "", "KNOWN", "known ", "x" * 5000, "a:b", "\u00e9"]:
        assert store.get(record_id, now) is None


def test_records_are_kept_apart(store: LoginStore, now: float) -> None:
    first = make(now)
    second = make(now, user_id="2")
    store.add(first)
    store.add(second)

    assert store.get(first.id, now) == first
    assert store.get(second.id, now) == second


def test_get_does_not_return_an_expired_record(store: LoginStore, now: float) -> None:
    record = make(now, expires_at=now + 100)
    store.add(record)

    assert store.get(record.id, now + 99.9) == record
    assert store.get(record.id, now + 100) is None
    assert store.get(record.id, now + 1000) is None


def test_add_replaces_an_expired_record_of_the_same_id(
    store: LoginStore, now: float
) -> None:
    """A remember cookie whose record expired starts a new record under the
    same id: ``add`` replaces what the store still holds of the old one."""
    old = ended(make(now, expires_at=now + 10, remember=True), "logout", name="old")
    assert store.add(old) is True
    later = now + 20
    new = make(later, id=old.id, expires_at=later + HOUR, method="remember")

    assert store.add(new) is True
    assert store.get(new.id, later) == new
    assert store.user_records(None, "1", later) == [new]


@pytest.mark.parametrize("reason", [None, "revoked"])
def test_add_keeps_an_unexpired_record_of_the_same_id(
    store: LoginStore, now: float, reason: str | None
) -> None:
    """Two copies of a cookie whose record was lost both add it, or one adds
    it after the owner revoked what the other made: the record held wins,
    active or ended, and nothing of the second is written."""
    held = make(now, remember=True, ended=reason)
    assert store.add(held) is True
    second = make(
        now + 1, id=held.id, user_agent="Thief/1.0", expires_at=now + 2 * HOUR
    )

    assert store.add(second) is False
    assert store.get(held.id, now + 1) == held
    assert store.user_records(None, "1", now + 1) == [held]


def test_concurrent_adds_of_one_id_store_one_record(
    store: LoginStore, now: float
) -> None:
    record = make(now)
    barrier = threading.Barrier(8)

    def add(n: int) -> bool:
        barrier.wait()
        return store.add(dataclasses.replace(record, user_agent=f"copy {n}"))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(add, range(8)))

    assert results.count(True) == 1
    found = store.get(record.id, now)
    assert found is not None
    assert found.user_agent == f"copy {results.index(True)}"


def test_sql_store_refuses_a_user_id_longer_than_its_column(now: float) -> None:
    """SQLite would store it, PostgreSQL would fail, MySQL might cut it: the
    store says so instead, the same on every database."""
    engine = sa.create_engine("sqlite://")
    store = SQLAlchemyLoginStore(engine)

    try:
        store.create_table()
        assert store.add(make(now, user_id="u" * 255)) is True

        with pytest.raises(ValueError, match="up to 255 characters"):
            store.add(make(now, user_id="u" * 256))
    finally:
        engine.dispose()  # closes the connection: no ResourceWarning later


def test_get_returns_an_ended_record(store: LoginStore, now: float) -> None:
    record = make(now, remember=True)
    store.add(record)
    store.update(ended(record, "logout"))

    found = store.get(record.id, now)
    assert found is not None
    assert found.ended == "logout"
    assert not found.active


# touch


def test_touch_moves_last_seen_and_expiry(store: LoginStore, now: float) -> None:
    record = make(
        now,
        ip="192.0.2.1",
        token_signature="sig",
        method="token",
        name="ci",
        scopes=frozenset({"read", "deploy"}),
    )
    store.add(record)
    store.touch(record.id, now + 300, now + 300 + 2 * HOUR)

    found = store.get(record.id, now)
    assert found == dataclasses.replace(
        record, last_seen=now + 300, expires_at=now + 300 + 2 * HOUR
    )
    # Found at a time it would have expired before the touch.
    assert store.get(record.id, now + 1.5 * HOUR) == found


def test_touch_does_not_reactivate_an_ended_record(
    store: LoginStore, now: float
) -> None:
    record = make(now)
    store.add(record)
    end = ended(record, expires_at=now + 600)
    store.update(end)
    store.touch(record.id, now + 10, now + 10 + HOUR)

    assert store.get(record.id, now) == end


def test_touch_does_not_create_a_record(store: LoginStore, now: float) -> None:
    store.touch("missing", now, now + HOUR)

    assert store.get("missing", now) is None
    assert store.user_records(None, "1", now) == []


# update


def test_update_replaces_an_active_record(store: LoginStore, now: float) -> None:
    record = make(now, token_signature="old")
    store.add(record)
    rebound = dataclasses.replace(record, token_signature="new", last_seen=now + 5)
    store.update(rebound)

    assert store.get(record.id, now) == rebound


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"name": "old", "scopes": frozenset({"read"})}, {"scopes": frozenset()}),
        ({}, {"name": "new", "scopes": frozenset({"write", "read"})}),
        ({"name": "old", "scopes": frozenset({"read", "deploy"})}, {"name": None}),
    ],
    ids=["scopes dropped", "name and scopes added", "name dropped"],
)
def test_update_writes_name_and_scopes(
    store: LoginStore, now: float, before: dict[str, t.Any], after: dict[str, t.Any]
) -> None:
    record = make(now, method="token", **before)
    store.add(record)
    changed = dataclasses.replace(record, last_seen=now + 5, **after)
    store.update(changed)

    assert store.get(record.id, now) == changed
    assert store.user_records(None, "1", now) == [changed]
    end = ended(changed)
    store.update(end)
    assert store.get(record.id, now) == end


def test_user_records_carry_name_and_scopes(store: LoginStore, now: float) -> None:
    token = make(now, method="token", name="ci", scopes=frozenset(SCOPES))
    browser = make(now + 1)
    store.add(token)
    store.add(browser)

    found = {record.id: record for record in store.user_records(None, "1", now)}
    assert found == {token.id: token, browser.id: browser}
    assert found[token.id].scopes == frozenset(SCOPES)
    assert isinstance(found[token.id].scopes, frozenset)
    assert found[browser.id].name is None
    assert found[browser.id].scopes == frozenset()


@pytest.mark.parametrize(
    "scopes",
    [{"read write"}, {""}, {"read", " "}, {"\ud800"}, {b"read"}],
    ids=["a space", "empty", "only a space", "lone surrogate", "bytes"],
)
def test_a_scope_that_cannot_be_stored_is_refused(
    harness: Harness, now: float, scopes: set[t.Any]
) -> None:
    """A scope with a space would come back as two scopes; a store that
    encodes scopes refuses it rather than grant other ones.
    """
    if harness.kind == "memory":
        pytest.skip("the memory store keeps objects: nothing to encode")

    store = harness.store
    record = make(now, method="token", scopes=frozenset(scopes))

    with pytest.raises(ValueError, match="scope"):
        store.add(record)

    assert store.get(record.id, now) is None
    assert store.user_records(None, "1", now) == []

    stored = make(now, method="token", scopes=frozenset({"read"}))
    store.add(stored)

    with pytest.raises(ValueError, match="scope"):
        store.update(dataclasses.replace(record, id=stored.id))

    assert store.get(stored.id, now) == stored


def test_update_ends_a_record(store: LoginStore, now: float) -> None:
    record = make(now, remember=True)
    store.add(record)
    end = ended(record, "evicted", expires_at=now + 30 * 24 * HOUR)
    store.update(end)

    assert store.get(record.id, now) == end
    assert store.get(record.id, now + 29 * 24 * HOUR) == end
    assert store.user_records(None, "1", now) == [end]


def test_update_does_not_reactivate_an_ended_record(
    store: LoginStore, now: float
) -> None:
    record = make(now)
    store.add(record)
    end = ended(record, expires_at=now + 600)
    store.update(end)
    store.update(dataclasses.replace(record, token_signature="new"))
    store.update(dataclasses.replace(record, expires_at=now + 9 * HOUR))

    assert store.get(record.id, now) == end


def test_an_ended_record_stays_ended(store: LoginStore, now: float) -> None:
    """Ending it again (another reason, another expiry) keeps it ended."""
    record = make(now)
    store.add(record)
    store.update(ended(record, "logout"))
    store.update(ended(record, "revoked", expires_at=now + 60))

    found = store.get(record.id, now)
    assert found is not None
    assert not found.active


def test_update_does_not_create_a_record(store: LoginStore, now: float) -> None:
    record = make(now)
    store.update(record)
    store.update(ended(record))

    assert store.get(record.id, now) is None
    assert store.user_records(None, "1", now) == []


def test_ending_a_record_already_expired(store: LoginStore, now: float) -> None:
    """An ended record whose ``expires_at`` has passed may be deleted: it
    is never returned.
    """
    record = make(now)
    store.add(record)
    store.update(ended(record, "logout", expires_at=now - 1))

    assert store.get(record.id, now) is None
    assert store.user_records(None, "1", now) == []


# Racing writes: touch and update, while the record is ended


def race(*actions: Callable[[], object]) -> None:
    """Run ``actions`` in threads of their own, all starting at once."""
    start = threading.Barrier(len(actions))

    def run(action: Callable[[], object]) -> None:
        start.wait()
        action()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]

    for thread in threads:
        thread.start()

    for thread in threads:
        thread.join(timeout=30)


@pytest.mark.parametrize("write", ["touch", "rebind"])
def test_a_write_racing_revocation_never_reactivates(
    store: LoginStore, now: float, write: str
) -> None:
    for _ in range(5):
        record = make(now)
        store.add(record)
        end = ended(record, expires_at=now + 600)

        def writer(record: LoginRecord = record) -> None:
            for step in range(10):
                if write == "touch":
                    store.touch(record.id, now + step, now + step + HOUR)
                else:
                    rebound = dataclasses.replace(record, token_signature=str(step))
                    store.update(rebound)

        def revoker(end: LoginRecord = end) -> None:
            store.update(end)

        race(writer, revoker)

        assert store.get(record.id, now) == end


# user_records


def test_user_records(store: LoginStore, now: float) -> None:
    mine = [make(now + n) for n in range(3)]
    others = [
        make(now, user_id="2"),
        make(now, user_id="11"),
        make(now, realm="staff"),
        make(now, user_id="1:x"),
    ]

    for record in mine + others:
        store.add(record)

    store.update(ended(mine[0]))

    found = store.user_records(None, "1", now)
    assert ids(found) == ids(mine)
    assert len(found) == 3
    assert [record.active for record in sorted(found, key=lambda r: r.created_at)] == [
        False,
        True,
        True,
    ]
    assert ids(store.user_records("staff", "1", now)) == {others[2].id}
    assert ids(store.user_records(None, "1:x", now)) == {others[3].id}
    assert store.user_records("staff", "2", now) == []
    assert store.user_records(None, "unknown", now) == []


def test_user_records_leaves_out_expired_ones(store: LoginStore, now: float) -> None:
    short = make(now, expires_at=now + 10)
    long = make(now, expires_at=now + HOUR)
    store.add(short)
    store.add(long)

    assert ids(store.user_records(None, "1", now)) == {short.id, long.id}
    assert store.user_records(None, "1", now + 10) == [long]
    assert store.user_records(None, "1", now + HOUR) == []


def test_touch_and_update_show_in_user_records(store: LoginStore, now: float) -> None:
    first = make(now)
    second = make(now)
    store.add(first)
    store.add(second)
    store.touch(first.id, now + 60, now + 2 * HOUR)
    store.update(ended(second, "logout"))

    found = {record.id: record for record in store.user_records(None, "1", now)}
    assert found[first.id].last_seen == now + 60
    assert found[first.id].expires_at == now + 2 * HOUR
    assert found[second.id].ended == "logout"


def test_expired_records_are_cleaned_up(harness: Harness, store: LoginStore) -> None:
    """On the real clock: a record whose time has passed is dropped from the
    store, or its index, when the user's records are read.
    """
    now = time.time()
    short = make(now, expires_at=now + 0.3)
    long = make(now)
    store.add(short)
    store.add(long)
    assert harness.kept(None, "1") == 2

    time.sleep(0.5)

    assert store.get(short.id, time.time()) is None
    assert store.user_records(None, "1", time.time()) == [long]
    assert harness.kept(None, "1") == 1


# Corrupt values


def test_a_corrupt_record_is_a_missing_one(harness: Harness, now: float) -> None:
    corruptions = harness.corruptions()

    if not corruptions:
        pytest.skip(f"the {harness.kind} store keeps objects: nothing to corrupt")

    store = harness.store
    sound = make(now, method="token", name="ci", scopes=frozenset({"read"}))
    store.add(sound)

    for name, corrupt in corruptions.items():
        record = make(now, method="token", name="ci", scopes=frozenset({"read"}))
        store.add(record)
        corrupt(record.id)

        assert store.get(record.id, now) is None, name
        found = store.user_records(None, "1", now)
        assert sound in found, name
        assert record.id not in ids(found), name
        # Writes to it are ignored, or repair it; they never raise.
        store.touch(record.id, now + 1, now + HOUR)
        store.update(ended(record))
        store.update(dataclasses.replace(record, token_signature="x"))
        assert store.get(sound.id, now) == sound, name


# The Redis store


@pytest.fixture
def redis_store(redis_client: redis.Redis) -> RedisLoginStore:
    return RedisLoginStore(redis_client)


def command_calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
    }


def commands_run(client: redis.Redis, action: Callable[[], object]) -> dict[str, int]:
    """The commands the server ran for ``action`` (INFO commandstats deltas,
    the INFO itself left out); the commands a script runs count too.
    """
    before = command_calls(client)
    action()
    after = command_calls(client)
    delta = {
        name: calls - before.get(name, 0)
        for name, calls in after.items()
        if calls != before.get(name, 0)
    }
    delta.pop("info", None)
    return delta


class CountingRedis(redis.Redis):
    """A client that counts the commands it sends, one round trip each."""

    sent: list[str]

    def execute_command(self, *args: t.Any, **options: t.Any) -> t.Any:
        self.sent.append(str(args[0]).upper())
        return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


@pytest.mark.redis
def test_redis_key_layout(
    redis_client: redis.Redis, redis_store: RedisLoginStore, now: float
) -> None:
    record = make(now, realm="staff", user_id="42", ip="192.0.2.1")
    default = make(now, user_id="42")
    redis_store.add(record)
    redis_store.add(default)

    assert sorted(redis_client.keys("*")) == sorted(
        [
            f"sessionauth:login:{record.id}".encode(),
            f"sessionauth:login:{default.id}".encode(),
            b"sessionauth:user:staff:42",
            b"sessionauth:user:-:42",
        ]
    )
    assert redis_client.hgetall(f"sessionauth:login:{record.id}") == {
        b"id": record.id.encode(),
        b"realm": b"staff",
        b"user_id": b"42",
        b"created_at": repr(now).encode(),
        b"last_seen": repr(now).encode(),
        b"expires_at": repr(now + HOUR).encode(),
        b"ip": b"192.0.2.1",
        b"method": b"form",
        b"remember": b"0",
    }
    assert redis_client.zrange("sessionauth:user:staff:42", 0, -1, withscores=True) == [
        (record.id.encode(), now)
    ]


@pytest.mark.redis
def test_redis_name_and_scopes_fields(
    redis_client: redis.Redis, redis_store: RedisLoginStore, now: float
) -> None:
    token = make(
        now,
        method="token",
        name="ci \u00e9",
        scopes=frozenset({"read", "deploy", "Read", "admin:write"}),
    )
    plain = make(now, method="token", name=None, scopes=frozenset())
    redis_store.add(token)
    redis_store.add(plain)

    stored = redis_client.hgetall(redis_store.record_key(token.id))
    assert stored[b"name"] == "ci \u00e9".encode()
    assert stored[b"scopes"] == b"Read admin:write deploy read"
    assert b"name" not in redis_client.hgetall(redis_store.record_key(plain.id))
    assert b"scopes" not in redis_client.hgetall(redis_store.record_key(plain.id))

    # touch keeps them, update rewrites them; no field is left behind.
    redis_store.touch(token.id, now + 1, now + HOUR)
    stored = redis_client.hgetall(redis_store.record_key(token.id))
    assert stored[b"scopes"] == b"Read admin:write deploy read"
    redis_store.update(dataclasses.replace(token, name=None, scopes=frozenset()))
    stored = redis_client.hgetall(redis_store.record_key(token.id))
    assert b"name" not in stored
    assert b"scopes" not in stored

    # A lone surrogate in a name is replaced, as in the other texts.
    odd = make(now, name="ci\ud800")
    redis_store.add(odd)
    found = redis_store.get(odd.id, now)
    assert found is not None
    assert found.name == "ci?"


@pytest.mark.redis
def test_redis_keys_expire_with_their_records(
    redis_client: redis.Redis, redis_store: RedisLoginStore, now: float
) -> None:
    def expiry(key: str) -> int:
        value: int = redis_client.pexpiretime(key)
        return value

    index = redis_store.index_key(None, "1")
    first = make(now, expires_at=now + HOUR)
    redis_store.add(first)
    assert expiry(redis_store.record_key(first.id)) == math.ceil((now + HOUR) * 1000)
    assert expiry(index) == math.ceil((now + HOUR) * 1000)

    # A record that expires later keeps the index longer; one that expires
    # sooner does not shorten it.
    second = make(now, expires_at=now + 2 * HOUR)
    redis_store.add(second)
    assert expiry(index) == math.ceil((now + 2 * HOUR) * 1000)
    redis_store.add(make(now, expires_at=now + 60))
    assert expiry(index) == math.ceil((now + 2 * HOUR) * 1000)

    # touch and update move both too.
    redis_store.touch(first.id, now + 10, now + 3 * HOUR)
    assert expiry(redis_store.record_key(first.id)) == math.ceil(
        (now + 3 * HOUR) * 1000
    )
    assert expiry(index) == math.ceil((now + 3 * HOUR) * 1000)
    end = ended(second, expires_at=now + 30 * 24 * HOUR)
    redis_store.update(end)
    assert expiry(redis_store.record_key(second.id)) == math.ceil(
        (now + 30 * 24 * HOUR) * 1000
    )
    assert expiry(index) == math.ceil((now + 30 * 24 * HOUR) * 1000)

    # Ending a record for a shorter time leaves the index as it was.
    redis_store.update(ended(first, expires_at=now + 60))
    assert expiry(redis_store.record_key(first.id)) == math.ceil((now + 60) * 1000)
    assert expiry(index) == math.ceil((now + 30 * 24 * HOUR) * 1000)


@pytest.mark.redis
def test_redis_index_cleanup_of_deleted_keys(
    redis_client: redis.Redis, redis_store: RedisLoginStore, now: float
) -> None:
    """A member whose key is gone (expired, evicted, deleted) is dropped
    from the index when the index is read.
    """
    index = redis_store.index_key(None, "1")
    records = [make(now + n) for n in range(3)]

    for record in records:
        redis_store.add(record)

    redis_client.delete(redis_store.record_key(records[0].id))
    assert redis_client.zcard(index) == 3

    assert ids(redis_store.user_records(None, "1", now)) == ids(records[1:])
    assert set(redis_client.zrange(index, 0, -1)) == {
        record.id.encode() for record in records[1:]
    }

    for record in records[1:]:
        redis_client.delete(redis_store.record_key(record.id))

    assert redis_store.user_records(None, "1", now) == []
    # An empty sorted set is no key at all.
    assert redis_client.exists(index) == 0


@pytest.mark.redis
def test_redis_touch_and_update_restore_a_lost_index_entry(
    redis_client: redis.Redis, redis_store: RedisLoginStore, now: float
) -> None:
    """If the index lost a live record (evicted under memory pressure), the
    record's next write puts it back, so that revoking all of the user's
    records reaches it.
    """
    index = redis_store.index_key(None, "1")
    touched = make(now)
    updated = make(now + 1)
    redis_store.add(touched)
    redis_store.add(updated)
    redis_client.delete(index)

    redis_store.touch(touched.id, now + 5, now + HOUR)
    redis_store.update(dataclasses.replace(updated, token_signature="new"))

    assert ids(redis_store.user_records(None, "1", now)) == {touched.id, updated.id}
    assert redis_client.pexpiretime(index) >= math.ceil((now + HOUR) * 1000)


@pytest.mark.redis
def test_redis_get_is_one_command(
    redis_client: redis.Redis, redis_store: RedisLoginStore, now: float
) -> None:
    record = make(now)
    redis_store.add(record)
    redis_client.ping()

    assert commands_run(redis_client, lambda: redis_store.get(record.id, now)) == {
        "hgetall": 1
    }
    assert commands_run(redis_client, lambda: redis_store.get("unknown", now)) == {
        "hgetall": 1
    }


@pytest.mark.redis
def test_redis_every_method_is_one_round_trip(
    redis_server: RedisServer, redis_client: redis.Redis, now: float
) -> None:
    client = CountingRedis(port=redis_server.port)
    client.sent = []
    store = RedisLoginStore(client)
    record = make(now)
    calls: list[tuple[str, Callable[[], object]]] = [
        ("get", lambda: store.get(record.id, now)),
        ("add", lambda: store.add(record)),
        ("touch", lambda: store.touch(record.id, now + 1, now + HOUR)),
        ("update", lambda: store.update(dataclasses.replace(record, ip="x"))),
        ("user_records", lambda: store.user_records(None, "1", now)),
        ("end", lambda: store.update(ended(record))),
    ]

    # The first call of each script loads it into the server.
    for _, call in calls:
        call()

    for name, call in calls:
        client.sent.clear()
        stats = commands_run(redis_client, call)
        expected = "HGETALL" if name == "get" else "EVALSHA"
        assert client.sent == [expected], name
        assert stats[expected.lower()] == 1, name
        assert "script|load" not in stats, name

    client.close()


@pytest.mark.redis
def test_redis_scripts_reloaded_after_a_flush(
    redis_client: redis.Redis, redis_store: RedisLoginStore, now: float
) -> None:
    record = make(now)
    redis_store.add(record)
    redis_client.script_flush()
    redis_store.touch(record.id, now + 1, now + HOUR)

    found = redis_store.get(record.id, now)
    assert found is not None
    assert found.last_seen == now + 1


@pytest.mark.redis
def test_redis_decoded_responses(redis_server: RedisServer, now: float) -> None:
    client = redis_server.client(decode_responses=True)
    client.flushdb()
    store = RedisLoginStore(client)
    record = make(now, user_agent="\u00e9\U0001f600", remember=True)
    token = make(now + 1, method="token", name="\u00e9", scopes=frozenset(SCOPES))
    store.add(record)
    store.add(token)

    assert store.get(record.id, now) == record
    assert store.get(token.id, now) == token
    found = sorted(store.user_records(None, "1", now), key=lambda r: r.created_at)
    assert found == [record, token]
    client.close()


@pytest.mark.redis
def test_redis_prefix(redis_client: redis.Redis, now: float) -> None:
    one = RedisLoginStore(redis_client, prefix="one:")
    two = RedisLoginStore(redis_client, prefix="two:")
    record = make(now)
    one.add(record)

    assert one.get(record.id, now) == record
    assert two.get(record.id, now) is None
    assert two.user_records(None, "1", now) == []
    assert all(t.cast(bytes, key).startswith(b"one:") for key in redis_client.keys("*"))


@pytest.mark.redis
def test_redis_corrupt_index_fails_closed(
    redis_client: redis.Redis, redis_store: RedisLoginStore, now: float
) -> None:
    """An index that is not a sorted set: a new login or a listing cannot be
    trusted, so they fail as an outage would; a request's check and the
    record's own writes go on.
    """
    record = make(now)
    redis_store.add(record)
    index = redis_store.index_key(None, "1")
    redis_client.delete(index)
    redis_client.set(index, "garbage")

    with pytest.raises(StoreUnavailable):
        redis_store.add(make(now))

    with pytest.raises(StoreUnavailable):
        redis_store.user_records(None, "1", now)

    redis_store.touch(record.id, now + 1, now + HOUR)
    end = ended(dataclasses.replace(record, last_seen=now + 1))
    redis_store.update(end)
    assert redis_store.get(record.id, now) == end


def all_methods(store: LoginStore, now: float) -> list[Callable[[], object]]:
    record = make(now)
    return [
        lambda: store.get(record.id, now),
        lambda: store.add(record),
        lambda: store.touch(record.id, now, now + HOUR),
        lambda: store.update(record),
        lambda: store.user_records(None, "1", now),
    ]


@pytest.mark.redis
def test_redis_nobody_listening(redis_server: RedisServer, now: float) -> None:
    # redis_server: the test runs only where Redis tests run.
    client = no_retry_client(free_port())
    store = RedisLoginStore(client)

    for method in all_methods(store, now):
        with pytest.raises(StoreUnavailable) as caught:
            method()

        assert isinstance(caught.value.__cause__, redis.ConnectionError)


@pytest.mark.redis
def test_redis_server_paused_then_stopped(
    tmp_path_factory: pytest.TempPathFactory, now: float
) -> None:
    server = RedisServer(tmp_path_factory.mktemp("redis-stopped"))

    try:
        client = server.client(socket_timeout=0.2)
        store = RedisLoginStore(client)
        record = make(now)
        store.add(record)
        assert store.get(record.id, now) == record

        # A server that does not answer in time.
        admin = server.client()
        admin.client_pause(1000, all=True)

        with pytest.raises(StoreUnavailable) as caught:
            store.get(record.id, now)

        assert isinstance(caught.value.__cause__, redis.TimeoutError)
        time.sleep(1)
        assert store.get(record.id, now) == record

        # A server that has stopped.
        server.stop()

        for method in all_methods(store, now):
            with pytest.raises(StoreUnavailable) as caught:
                method()

            assert isinstance(caught.value.__cause__, redis.ConnectionError)

        client.close()
        admin.close()
    finally:
        server.stop()


# The SQLAlchemy store


@pytest.fixture
def sql_store(engine: sa.Engine) -> SQLAlchemyLoginStore:
    store = SQLAlchemyLoginStore(engine)
    store.create_table()
    return store


def test_sql_schema(engine: sa.Engine, sql_store: SQLAlchemyLoginStore) -> None:
    sql_store.create_table()  # Again: the table exists, nothing happens.
    inspector = sa.inspect(engine)

    columns = {
        column["name"]: column for column in inspector.get_columns("sessionauth_logins")
    }
    assert list(columns) == [
        "id",
        "realm",
        "user_id",
        "created_at",
        "last_seen",
        "expires_at",
        "ip",
        "user_agent",
        "method",
        "remember",
        "token_signature",
        "ended",
        "name",
        "scopes",
    ]
    assert columns["name"]["nullable"]
    assert columns["scopes"]["nullable"]
    assert isinstance(columns["name"]["type"], sa.Text)
    assert isinstance(columns["scopes"]["type"], sa.Text)
    assert inspector.get_pk_constraint("sessionauth_logins")["constrained_columns"] == [
        "id"
    ]
    assert [
        index["column_names"] for index in inspector.get_indexes("sessionauth_logins")
    ] == [["realm", "user_id"]]


def test_sql_default_realm_is_stored_empty(
    engine: sa.Engine, sql_store: SQLAlchemyLoginStore, now: float
) -> None:
    sql_store.add(make(now))
    sql_store.add(make(now, realm="staff"))

    with engine.connect() as connection:
        realms = connection.execute(sa.text("SELECT realm FROM sessionauth_logins"))
        assert sorted(row[0] for row in realms) == ["", "staff"]


def test_sql_name_and_scopes_columns(
    engine: sa.Engine, sql_store: SQLAlchemyLoginStore, now: float
) -> None:
    token = make(
        now,
        method="token",
        name="ci \u00e9",
        scopes=frozenset({"read", "deploy", "Read", "admin:write"}),
    )
    plain = make(now + 1, name="ci\ud800")
    sql_store.add(token)
    sql_store.add(plain)
    query = sa.text("SELECT name, scopes FROM sessionauth_logins ORDER BY created_at")

    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(query)]

    # A lone surrogate in a name is replaced, as in the other texts.
    assert rows == [
        ("ci \u00e9", "Read admin:write deploy read"),
        ("ci?", None),
    ]

    sql_store.update(dataclasses.replace(token, name=None, scopes=frozenset()))

    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(query)]

    assert rows[0] == (None, None)


def test_sql_table_name_and_metadata(engine: sa.Engine, now: float) -> None:
    metadata = sa.MetaData()
    store = SQLAlchemyLoginStore(engine, table_name="logins", metadata=metadata)
    assert metadata.tables["logins"] is store.table
    metadata.create_all(engine)

    # A second store on the same metadata shares the table.
    other = SQLAlchemyLoginStore(engine, table_name="logins", metadata=metadata)
    assert other.table is store.table
    record = make(now)
    store.add(record)
    assert other.get(record.id, now) == record
    assert sa.inspect(engine).get_table_names() == ["logins"]


def test_sql_touch_does_not_bring_back_an_expired_record(
    sql_store: SQLAlchemyLoginStore, now: float
) -> None:
    record = make(now, expires_at=now + 10)
    sql_store.add(record)
    sql_store.touch(record.id, now + 10, now + HOUR)

    assert sql_store.get(record.id, now) == record


def test_sql_delete_expired(sql_store: SQLAlchemyLoginStore, now: float) -> None:
    expired = [
        make(now, expires_at=now + 10),
        make(now, user_id="2", expires_at=now + 5),
    ]
    kept = make(now, expires_at=now + 100)

    for record in [*expired, kept]:
        sql_store.add(record)

    assert sql_store.delete_expired(now + 10) == 2
    assert sql_store.get(kept.id, now) == kept
    assert sql_store.delete_expired(now + 10) == 0


def test_sql_missing_table(engine: sa.Engine, now: float) -> None:
    store = SQLAlchemyLoginStore(engine)

    for method in all_methods(store, now):
        with pytest.raises(StoreUnavailable) as caught:
            method()

        assert isinstance(caught.value.__cause__, sa.exc.OperationalError)


def test_sql_database_unreachable(tmp_path: Path, now: float) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'logins.db'}")
    store = SQLAlchemyLoginStore(engine)

    with pytest.raises(StoreUnavailable) as caught:
        store.create_table()

    assert isinstance(caught.value.__cause__, sa.exc.OperationalError)

    for method in all_methods(store, now):
        with pytest.raises(StoreUnavailable):
            method()

    engine.dispose()


def test_sql_database_locked(tmp_path: Path, now: float) -> None:
    """A database that stays locked past the driver's timeout."""
    path = tmp_path / "locked.db"
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    store = SQLAlchemyLoginStore(engine)
    store.create_table()
    record = make(now)
    store.add(record)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")

    try:
        for method in all_methods(store, now):
            with pytest.raises(StoreUnavailable):
                method()
    finally:
        locker.execute("ROLLBACK")
        locker.close()

    assert store.get(record.id, now) == record
    engine.dispose()
