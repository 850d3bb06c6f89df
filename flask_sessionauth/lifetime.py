"""Session lifetime: the idle timeout and the absolute lifetime of a login.

- Settings: ``SESSIONAUTH_SESSION_IDLE_TIMEOUT``,
  ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT``,
  ``SESSIONAUTH_SESSION_IDLE_GRANULARITY`` and
  ``SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL`` (:func:`settings`).
- The stamp: a login's times are one session value, the time it was made and
  the time it was last seen, in whole Unix seconds, packed into 11
  characters (:func:`stamp`, :func:`read_stamp`). One string rather than two
  numbers: every session key costs Flask's session decoder a Python call on
  every request, and short text that does not compress keeps Flask from
  compressing the cookie.
- The check, a step of the pipeline (:func:`check`), and the end of a login
  that outlived its time (:func:`expire`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import struct
import typing as t
from binascii import a2b_base64
from binascii import b2a_base64

from .config import lifetime_seconds
from .config import setting
from .config import unix_time
from .signals import session_expired

if t.TYPE_CHECKING:
    from flask import Flask

    from .config import Config
    from .request_login import RequestLogin

logger = logging.getLogger("flask_sessionauth")

#: The least idle granularity by default: a login's last-seen time is
#: rewritten at most once a minute, however short the idle timeout.
MIN_IDLE_GRANULARITY = 60.0
#: How far in the future a login timestamp may be (another server's clock
#: running ahead) before it is refused as forged.
MAX_CLOCK_SKEW = 60.0


@dataclasses.dataclass(frozen=True, slots=True)
class Lifetime:
    """The session lifetime settings of an app, in seconds."""

    #: ``SESSIONAUTH_SESSION_IDLE_TIMEOUT``, or None when off.
    idle: float | None
    #: ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT``, or None when off.
    absolute: float | None
    #: How long ago the login must have been last seen before a request
    #: stamps it again: the idle timeout is enforced to within this. 0 when
    #: the idle timeout is off.
    granularity: float
    #: ``idle + granularity``: how long ago the login may have been last seen
    #: before it ends. Infinite when the idle timeout is off.
    idle_limit: float


def settings(config: Config) -> Lifetime | None:
    """The app's session lifetime settings, or None when both timeouts are
    off. Read on every request that holds a login, so it only reads the keys
    and leaves the work to a cache keyed by their values.

    :raises ValueError: A setting is not valid (see :func:`check_settings`).
    """
    idle = config.get("SESSIONAUTH_SESSION_IDLE_TIMEOUT")
    absolute = config.get("SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT")

    if idle is None and absolute is None:
        return None

    granularity = config.get("SESSIONAUTH_SESSION_IDLE_GRANULARITY")

    try:
        return _settings(idle, absolute, granularity)
    except TypeError:
        # An unhashable value: no cache, and the checks name the key.
        return _settings.__wrapped__(idle, absolute, granularity)


@functools.lru_cache(maxsize=32)
def _settings(idle: object, absolute: object, granularity: object) -> Lifetime:
    idle_seconds = lifetime_seconds(idle, "SESSIONAUTH_SESSION_IDLE_TIMEOUT")
    absolute_seconds = lifetime_seconds(
        absolute, "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT"
    )
    step = lifetime_seconds(granularity, "SESSIONAUTH_SESSION_IDLE_GRANULARITY")

    if idle_seconds is None:
        return Lifetime(None, absolute_seconds, 0.0, math.inf)

    if step is None:
        step = min(idle_seconds, max(MIN_IDLE_GRANULARITY, idle_seconds / 10))
    elif step > idle_seconds:
        raise ValueError(
            f"SESSIONAUTH_SESSION_IDLE_GRANULARITY ({granularity!r}) must not be"
            f" longer than SESSIONAUTH_SESSION_IDLE_TIMEOUT ({idle!r}): the idle"
            " timeout is enforced only to within the granularity. Leave"
            " SESSIONAUTH_SESSION_IDLE_GRANULARITY unset for a tenth of the"
            " timeout (at least a minute), or set it shorter, e.g."
            " app.config['SESSIONAUTH_SESSION_IDLE_GRANULARITY'] ="
            " timedelta(minutes=1)."
        )

    return Lifetime(idle_seconds, absolute_seconds, step, idle_seconds + step)


def check_settings(app: Flask, config: Config | None = None) -> None:
    """Check the lifetime settings together, at ``init_app``: the
    granularity against the idle timeout, and a server-side session store's
    lifetime against the idle timeout.

    :param config: The config as a realm sees it; by default the app's.
    :raises ValueError: They do not fit together.
    """
    settings(app.config if config is None else config)
    check_store_lifetime(app, config)


def check_store_lifetime(app: Flask, config: Config | None = None) -> None:
    """Check that a server-side session store keeps a session for as long as
    the idle timeout needs: Flask-Session stores each session for
    ``PERMANENT_SESSION_LIFETIME`` after it was last written, and a session
    in use is written at least once per idle granularity.

    :raises ValueError: ``PERMANENT_SESSION_LIFETIME`` is shorter than the
        idle timeout plus the idle granularity.
    """
    if not callable(getattr(app.session_interface, "regenerate", None)):
        return

    found = settings(app.config if config is None else config)

    if found is None or found.idle is None:
        return

    needed = found.idle + found.granularity
    stored_for = app.permanent_session_lifetime.total_seconds()

    if stored_for < needed:
        raise ValueError(
            f"PERMANENT_SESSION_LIFETIME ({stored_for:g} seconds) is shorter"
            " than SESSIONAUTH_SESSION_IDLE_TIMEOUT plus"
            f" SESSIONAUTH_SESSION_IDLE_GRANULARITY ({needed:g} seconds): the"
            " server-side session store would drop sessions before the idle"
            " timeout ends them. Set"
            f" app.config['PERMANENT_SESSION_LIFETIME'] = timedelta(seconds={needed:g})"
            " or longer (SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT still ends every"
            " login on time, however long the store keeps it)."
        )


_TIMES = struct.Struct(">II")


def stamp(login_at: int, seen_at: int) -> str:
    """The stamp of a login made at ``login_at`` and last seen at
    ``seen_at``: the two times as unsigned 32-bit numbers (good until 2106),
    in base64, 11 characters.

    Text that looks random keeps the session cookie from compressing:
    decimal digits compress well, and a compressed cookie costs every
    request an inflate (``benchmarks/README.md``).
    """
    return b2a_base64(_TIMES.pack(login_at, seen_at), newline=False)[:-1].decode()


def read_stamp(value: object) -> tuple[int, int] | None:
    """The ``(login_at, seen_at)`` of a stamp, or None when it is not one
    (the caller judges whether they are plausible times).
    """
    if type(value) is not str or len(value) != 11:
        return None

    try:
        return _TIMES.unpack(a2b_base64(value + "="))
    except (ValueError, struct.error):  # not base64, or not 8 bytes
        return None


def new_stamp(config: Config, now: float) -> str | None:
    """The stamp of a login made now, or None when both timeouts are off:
    only apps with a timeout pay for the key in every session.
    """
    if settings(config) is None:
        return None

    return stamp(int(now), int(now))


def check(login: RequestLogin) -> bool:
    """End the session's login if it was idle for longer than the idle
    timeout or is older than the absolute lifetime.

    The last-seen time is rewritten only once it is a granularity old, so
    that most requests leave the session unmodified and send no
    ``Set-Cookie``; a login therefore ends between the idle timeout and the
    idle timeout plus the granularity after its last request. Times that are
    not plausible end the login.

    A login without a stamp (made before a timeout was turned on, or by
    flask-login) has no known age. It ends, unless
    ``SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL`` is a moment still to come: until
    then it is stamped now and goes on, so an app can turn the timeouts on
    without logging everyone out, and a stolen copy of such a login dies at
    that moment at the latest. A remember cookie still starts a new, stamped
    login.

    :return: Whether the login survives.
    """
    found = settings(login.config)

    if found is None:
        return True

    stored = login.stored
    now = login.manager.clock()
    value = stored.lifetime

    if value is None:
        until = unix_time(
            setting(login.config, "SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL"),
            "SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL",
        )

        if until is None or now >= until:
            return expire(login, "absolute")

        stored.lifetime = stamp(int(now), int(now))
        return True

    times = read_stamp(value)

    # Plausible: made no later than last seen, neither before 1970 nor
    # further ahead than the clocks of two servers may differ.
    if times is None or not 0 <= times[0] <= times[1] <= now + MAX_CLOCK_SKEW:
        return expire(login, "absolute" if found.idle is None else "idle")

    login_at, seen_at = times

    if found.absolute is not None and now - login_at > found.absolute:
        return expire(login, "absolute")

    idle_for = now - seen_at

    if idle_for > found.idle_limit:
        return expire(login, "idle")

    if found.idle is not None and idle_for >= found.granularity:
        stored.lifetime = stamp(login_at, int(now))

    return True


def expire(login: RequestLogin, reason: str) -> bool:
    """End a login that outlived its time: drop it, remember ``reason``
    (``"idle"`` or ``"absolute"``) for
    :meth:`~flask_sessionauth.LoginManager.unauthorized`, and send
    :data:`~flask_sessionauth.session_expired`. The remember cookie is left
    alone, so that "remember me" can start a new login.

    :return: False, the login did not survive.
    """
    user_id = login.stored.user_id
    login.end(reason)
    logger.debug("Ended a login that outlived the session timeouts (%s).", reason)

    if session_expired.receivers:
        user = login.load_user(user_id)
        session_expired.send(login.app, user=user, reason=reason, **login.extra)

    return False
