"""A login registry in Redis, through redis-py (``pip install
flask-sessionauth[redis]``): every process and server of an app sees the same
records, and a login revoked through one is refused by all on its next
request.

Keys, under the store's prefix (``sessionauth:`` by default):

``<prefix>login:<id>``
    A hash per record: its fields as strings, the times as Python float
    reprs, ``remember`` as ``"1"`` or ``"0"``, ``scopes`` as the scopes
    sorted and joined by single spaces; a field that is None, and
    ``scopes`` when there are none, is left out. The key expires
    (``PEXPIREAT``) at the record's ``expires_at``.
``<prefix>user:<realm or '-'>:<user_id>``
    A sorted set per user and realm: the ids of the user's records, scored by
    ``created_at``. It expires no sooner than the last of its records, and a
    member whose record has expired is dropped when the set is read
    (:meth:`RedisLoginStore.user_records`).

Every method is one round trip: :meth:`~RedisLoginStore.get` is one
``HGETALL``, the others one ``EVALSHA`` of a Lua script, which makes each
check and write atomic (an ended record can never be made active again by a
write that raced with its revocation). The first call of a script on a server
that does not know it yet also loads it.

The expiry of the keys is on the Redis server's clock and the records' times
are on the app's: the two are expected to agree (a record written with an
``expires_at`` already past on the server's clock is not kept at all). Redis
Cluster is not supported: the scripts reach a user's index from a record.
"""

from __future__ import annotations

import math
import typing as t

import redis
import redis.exceptions

from . import decode_scopes
from . import encode_scopes
from . import LoginRecord
from . import StoreUnavailable
from . import users_records

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Mapping

    from redis.commands.core import Script

#: Lua functions the scripts share.
_LUA_COMMON = """
-- Now on the server's clock, in Unix milliseconds.
local function server_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- Make an index key live until at least until_ms (a string of Unix ms).
local function keep_until(key, until_ms, now)
  local ttl = redis.call('PTTL', key)
  if ttl == -2 then
    return
  end
  if ttl >= 0 and now + ttl >= tonumber(until_ms) then
    return
  end
  redis.call('PEXPIREAT', key, until_ms)
end
"""

# KEYS[1]: the record's hash; KEYS[2]: its user's index.
# ARGV[1]: when the record expires (Unix ms); ARGV[2]: its index score
# (created_at); ARGV[3]: its id; ARGV[4]: created_at in seconds, as stored;
# ARGV[5..]: its fields and values.
# Returns -1 (nothing written) when an unexpired record holds the id.
_LUA_ADD = (
    _LUA_COMMON
    + """
local index_type = redis.call('TYPE', KEYS[2]).ok
if index_type ~= 'zset' and index_type ~= 'none' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[2] .. ' is not a sorted set')
end
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  -- A record that has not expired by the new one's created_at keeps its id.
  local held = tonumber(redis.call('HGET', KEYS[1], 'expires_at'))
  if held and held > tonumber(ARGV[4]) then
    return -1
  end
end
local now = server_ms()
if tonumber(ARGV[1]) <= now then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
keep_until(KEYS[2], ARGV[1], now)
return 1
"""
)

# KEYS[1]: the record's hash.
# ARGV[1]: last_seen; ARGV[2]: expires_at; ARGV[3]: expires_at in Unix ms;
# ARGV[4]: the prefix of index keys (<prefix>user:); ARGV[5]: the record's id.
# The index is found from the record's realm and user_id.
_LUA_TOUCH = (
    _LUA_COMMON
    + """
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  return 0
end
local stored = redis.call('HMGET', KEYS[1], 'ended', 'realm', 'user_id', 'created_at')
if stored[1] or not stored[3] then
  return 0
end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[1], 'expires_at', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
local now = server_ms()
if tonumber(ARGV[3]) <= now then
  return 1
end
local realm = stored[2]
if not realm or realm == '' then
  realm = '-'
end
local index = ARGV[4] .. realm .. ':' .. stored[3]
local index_type = redis.call('TYPE', index).ok
if index_type == 'zset' or index_type == 'none' then
  local score = tonumber(stored[4])
  if score then
    redis.call('ZADD', index, score, ARGV[5])
  end
  keep_until(index, ARGV[3], now)
end
return 1
"""
)

# KEYS[1]: the record's hash; KEYS[2]: its user's index.
# ARGV[1]: '1' if the new record is active, else '0'; ARGV[2]: when it
# expires (Unix ms); ARGV[3]: its index score; ARGV[4]: its id;
# ARGV[5..]: its fields and values.
_LUA_UPDATE = (
    _LUA_COMMON
    + """
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  return 0
end
if redis.call('HEXISTS', KEYS[1], 'ended') == 1 then
  return 0
end
local index_type = redis.call('TYPE', KEYS[2]).ok
local indexed = index_type == 'zset' or index_type == 'none'
redis.call('DEL', KEYS[1])
local now = server_ms()
if tonumber(ARGV[2]) <= now then
  if indexed then
    redis.call('ZREM', KEYS[2], ARGV[4])
  end
  return 1
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
if indexed then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
  keep_until(KEYS[2], ARGV[2], now)
end
return 1
"""
)

# KEYS[1]: the user's index; ARGV[1]: the prefix of record keys
# (<prefix>login:). Returns the hashes of the records that still exist, as
# flat field/value lists, and drops the ids of those that do not.
_LUA_USER_RECORDS = """
local found = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. id
  local key_type = redis.call('TYPE', key).ok
  if key_type == 'none' then
    redis.call('ZREM', KEYS[1], id)
  elseif key_type == 'hash' then
    found[#found + 1] = redis.call('HGETALL', key)
  end
end
return found
"""

_REQUIRED = ("id", "user_id", "created_at", "last_seen", "expires_at", "method")
_OPTIONAL = ("realm", "ip", "user_agent", "token_signature", "ended", "name")


class RedisLoginStore:
    """A :class:`~flask_sessionauth.stores.LoginStore` in Redis.

    :param client: A ``redis.Redis`` client (with or without
        ``decode_responses``). Its timeouts and retries are the store's: a
        request waits for them before it fails closed.
    :param prefix: What every key of the store starts with.
    """

    def __init__(self, client: redis.Redis, prefix: str = "sessionauth:") -> None:
        self.client = client
        self.prefix = prefix
        self._add = client.register_script(_LUA_ADD)
        self._touch = client.register_script(_LUA_TOUCH)
        self._update = client.register_script(_LUA_UPDATE)
        self._user_records = client.register_script(_LUA_USER_RECORDS)

    def record_key(self, record_id: str) -> str:
        """The key of a record's hash."""
        return f"{self.prefix}login:{record_id}"

    def index_key(self, realm: str | None, user_id: str) -> str:
        """The key of a user's index in ``realm``."""
        return f"{self.prefix}user:{realm or '-'}:{user_id}"

    def get(self, record_id: str, now: float) -> LoginRecord | None:
        try:
            fields = self.client.hgetall(self.record_key(record_id))
        except redis.exceptions.ResponseError as error:
            if str(error).startswith("WRONGTYPE"):
                return None  # Not a hash: a corrupt record.
            raise StoreUnavailable(f"Redis failed: {error}") from error
        except redis.exceptions.RedisError as error:
            raise StoreUnavailable(f"Redis failed: {error}") from error

        record = _decode(fields)

        if record is None or record.id != record_id or record.expires_at <= now:
            return None

        return record

    def add(self, record: LoginRecord) -> bool:
        fields = _encode(record)
        added = self._run(
            self._add,
            [self.record_key(record.id), self.index_key(record.realm, record.user_id)],
            [
                _ms(record.expires_at),
                repr(record.created_at),
                record.id,
                fields["created_at"],
            ],
            fields,
        )
        return bool(added != -1)

    def touch(self, record_id: str, last_seen: float, expires_at: float) -> None:
        self._run(
            self._touch,
            [self.record_key(record_id)],
            [
                repr(last_seen),
                repr(expires_at),
                _ms(expires_at),
                f"{self.prefix}user:",
                record_id,
            ],
        )

    def update(self, record: LoginRecord) -> None:
        self._run(
            self._update,
            [self.record_key(record.id), self.index_key(record.realm, record.user_id)],
            [
                "1" if record.active else "0",
                _ms(record.expires_at),
                repr(record.created_at),
                record.id,
            ],
            _encode(record),
        )

    def user_records(
        self, realm: str | None, user_id: str, now: float
    ) -> list[LoginRecord]:
        found = self._run(
            self._user_records,
            [self.index_key(realm, user_id)],
            [f"{self.prefix}login:"],
        )
        decoded = (
            _decode(dict(zip(flat[::2], flat[1::2], strict=False)))
            for flat in (found if isinstance(found, list) else ())
            if isinstance(flat, list)
        )
        return users_records(decoded, realm, user_id, now)

    def _run(
        self,
        script: Script,
        keys: list[str],
        args: list[str],
        fields: Mapping[str, str] | None = None,
    ) -> t.Any:
        """Run ``script`` (one ``EVALSHA``), ``fields`` flattened after
        ``args``; a Redis error is a :exc:`StoreUnavailable`.
        """
        if fields is not None:
            args = args + [part for item in fields.items() for part in item]

        try:
            return script(keys=keys, args=args)
        except redis.exceptions.RedisError as error:
            raise StoreUnavailable(f"Redis failed: {error}") from error


def _ms(seconds: float) -> str:
    """A time as Unix milliseconds, rounded up: a key expires no sooner
    than its record.
    """
    return str(math.ceil(seconds * 1000))


def _text(value: str) -> str:
    """``value`` made safe to encode as UTF-8 (a lone surrogate replaced)."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _encode(record: LoginRecord) -> dict[str, str]:
    """The hash of ``record``; a field that is None, and ``scopes`` when
    empty, is left out. A scope that cannot be stored is a :exc:`ValueError`.
    """
    fields = {
        "id": record.id,
        "user_id": record.user_id,
        "created_at": repr(float(record.created_at)),
        "last_seen": repr(float(record.last_seen)),
        "expires_at": repr(float(record.expires_at)),
        "method": record.method,
        "remember": "1" if record.remember else "0",
    }

    for name in _OPTIONAL:
        value = getattr(record, name)

        if value is not None:
            fields[name] = _text(value)

    if record.scopes:
        fields["scopes"] = encode_scopes(record.scopes)

    return fields


def _strings(fields: Mapping[t.Any, t.Any]) -> Iterator[tuple[str, str]]:
    for name, value in fields.items():
        if isinstance(name, bytes):
            name = name.decode("utf-8")
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError("not a string")
        yield name, value


def _time(value: str) -> float:
    number = float(value)

    if not math.isfinite(number):
        raise ValueError("not a finite time")

    return number


def _decode(fields: object) -> LoginRecord | None:
    """The record a hash holds, or None if it holds none (missing, or not
    a record: a corrupt value is treated as a missing one).
    """
    if not isinstance(fields, dict) or not fields:
        return None

    try:
        strings = dict(_strings(fields))

        if not all(name in strings for name in _REQUIRED):
            return None

        remember = strings.get("remember")

        if remember not in ("0", "1"):
            return None

        return LoginRecord(
            id=strings["id"],
            realm=strings.get("realm"),
            user_id=strings["user_id"],
            created_at=_time(strings["created_at"]),
            last_seen=_time(strings["last_seen"]),
            expires_at=_time(strings["expires_at"]),
            ip=strings.get("ip"),
            user_agent=strings.get("user_agent"),
            method=strings["method"],
            remember=remember == "1",
            token_signature=strings.get("token_signature"),
            ended=strings.get("ended"),
            name=strings.get("name"),
            scopes=_scopes(strings.get("scopes")),
        )
    except ValueError:  # UnicodeDecodeError too
        return None


def _scopes(value: str | None) -> frozenset[str]:
    scopes = decode_scopes(value)

    if scopes is None:
        raise ValueError("not a sorted list of scopes")

    return scopes
