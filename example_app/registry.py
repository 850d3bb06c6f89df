"""Where the login registry keeps its records, and where the sessions live.

The login registry records every login of the customers and of the staff:
one record per browser, phone or API client, which the "Your devices" page
lists and signs out. ``LOGIN_REGISTRY`` chooses its store:

``"redis"``
    A :class:`~flask_sessionauth.stores.redis.RedisLoginStore` on the Redis
    at ``REDIS_URL``: every gunicorn worker and every server sees the same
    records, so a device signed out through one is refused by all on its
    next request. The default when ``REDIS_URL`` is set.
``"memory"``
    A :class:`~flask_sessionauth.stores.memory.MemoryLoginStore` in this
    process. Right for ``flask run`` and for a single gunicorn worker (with
    threads), the default without ``REDIS_URL``. Each process has its own
    records, so under several worker processes a login made by one worker
    is unknown to the others, which log it out: use Redis there.
``"off"``
    No registry: no device list, and logins work as they did before it.

With ``REDIS_URL`` set, ``SESSION_TYPE = "redis"`` also keeps the sessions
themselves in that Redis, through Flask-Session: the session cookie then
holds only an id. Without it the sessions stay in Flask's signed cookie.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    import redis
    from flask import Flask

    from flask_sessionauth.stores import LoginStore

REGISTRY_CHOICES = ("redis", "memory", "off")

#: What every Redis key of the registry starts with.
REDIS_PREFIX = "example_app:"

#: How long a request waits for Redis, in seconds, before the registry fails
#: closed: the request is then served as anonymous (an API request gets a
#: 503), and it never serves a login it could not check.
REDIS_TIMEOUT = 1.0
#: How many times a failed Redis command is retried before that. redis-py's
#: default, 10 retries with a growing pause, would hold every request for
#: seconds while Redis is down.
REDIS_RETRIES = 1


def login_registry(app: Flask) -> LoginStore | None:
    """The store ``app.config["LOGIN_REGISTRY"]`` asks for (see the module's
    docstring), or None for none. The customers and the staff share it:
    each record names its realm.

    :raises RuntimeError: The setting is not one of ``REGISTRY_CHOICES``, or
        it is ``"redis"`` without ``REDIS_URL``.
    """
    choice = app.config.get("LOGIN_REGISTRY")

    if choice is None:
        choice = "redis" if app.config.get("REDIS_URL") else "memory"

    if choice not in REGISTRY_CHOICES:
        raise RuntimeError(
            f"LOGIN_REGISTRY is {choice!r}; use one of {', '.join(REGISTRY_CHOICES)}."
        )

    if choice == "off":
        return None

    if choice == "memory":
        from flask_sessionauth.stores.memory import MemoryLoginStore

        return MemoryLoginStore()

    from flask_sessionauth.stores.redis import RedisLoginStore

    return RedisLoginStore(redis_client(app), prefix=REDIS_PREFIX)


def redis_client(app: Flask) -> redis.Redis:
    """The app's one Redis client, made on first use from ``REDIS_URL``."""
    client = app.extensions.get("example_app.redis")

    if client is not None:
        return t.cast("redis.Redis", client)

    url = app.config.get("REDIS_URL")

    if not url:
        raise RuntimeError("LOGIN_REGISTRY = 'redis' needs REDIS_URL.")

    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), REDIS_RETRIES),
    )
    app.extensions["example_app.redis"] = client
    return client


def init_sessions(app: Flask) -> None:
    """Keep the sessions in Redis (Flask-Session) when ``SESSION_TYPE`` is
    ``"redis"``; otherwise leave Flask's signed-cookie sessions alone.
    """
    session_type = app.config.get("SESSION_TYPE")

    if session_type is None:
        return

    if session_type != "redis":
        raise RuntimeError(
            f"SESSION_TYPE is {session_type!r}; this app supports only 'redis'"
            " (with REDIS_URL), or no SESSION_TYPE for signed-cookie sessions."
        )

    from flask_session import Session

    app.config["SESSION_REDIS"] = redis_client(app)
    Session(app)
