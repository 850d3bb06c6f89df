"""Defaults, constants and the typed accessors for the extension's config keys.

Every default is written here once. Keys are read where they are used, through
:func:`setting`, so that a test which flips ``app.config[...]`` after setup is
obeyed on the very next request.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing as t
from datetime import timedelta

if t.TYPE_CHECKING:
    from flask import Config

#: The default name of the "remember me" cookie.
COOKIE_NAME = "remember_token"
#: How long a "remember me" cookie stays valid by default (365 days).
COOKIE_DURATION = timedelta(days=365)
#: Whether the "remember me" cookie is marked ``Secure`` by default.
COOKIE_SECURE = False
#: Whether the "remember me" cookie is marked ``HttpOnly`` by default.
COOKIE_HTTPONLY = True
#: The default ``SameSite`` attribute of the "remember me" cookie (none set).
COOKIE_SAMESITE: str | None = None
#: The message flashed when a user must log in.
LOGIN_MESSAGE = "Please log in to access this page."
#: The category of :data:`LOGIN_MESSAGE`.
LOGIN_MESSAGE_CATEGORY = "message"
#: The message flashed when a user must log in again to refresh their login.
REFRESH_MESSAGE = "Please reauthenticate to access this page."
#: The category of :data:`REFRESH_MESSAGE`.
REFRESH_MESSAGE_CATEGORY = "message"
#: The message flashed when a login ended because of ``SESSION_IDLE_TIMEOUT``
#: or ``SESSION_ABSOLUTE_TIMEOUT``.
SESSION_EXPIRED_MESSAGE = "Your session has expired. Please log in again."
#: The name of the user method that returns the id stored in the session.
ID_ATTRIBUTE = "get_id"
#: The request header passed to :meth:`LoginManager.header_loader`.
AUTH_HEADER_NAME = "Authorization"
#: Whether ``next`` is kept in the session instead of the query string.
USE_SESSION_FOR_NEXT = False
#: Requests with these methods skip :func:`login_required` (CORS preflight).
EXEMPT_METHODS = frozenset({"OPTIONS"})

#: The session keys that carry a login. :func:`logout_user` removes them all,
#: ``next`` excepted (it belongs to the login flow, not to the login).
LOGIN_SESSION_KEYS = frozenset(
    {
        "_user_id",
        "_fresh",
        "_id",
        "_remember",
        "_remember_seconds",
        "_fresh_at",
        "_token_sig",
        "_lifetime",
    }
)
#: Every session key this extension may write, as flask-login's ``SESSION_KEYS``
#: plus this extension's own ``_fresh_at``, ``_token_sig`` and ``_lifetime``.
SESSION_KEYS = LOGIN_SESSION_KEYS | {"next"}

#: The longest a remember cookie may last, 100 years. Longer durations, and
#: NaN or infinity in a cookie, are refused rather than trusted.
MAX_REMEMBER_SECONDS = 100 * 365 * 24 * 3600

#: The least idle granularity by default: a login's last-seen time is rewritten at most
#: once a minute, however short the idle timeout.
MIN_IDLE_GRANULARITY = 60.0
#: How far in the future a login timestamp may be (another server's clock
#: running ahead) before it is refused as forged.
MAX_CLOCK_SKEW = 60.0

#: User ids longer than this, in a session or a remember cookie, are refused
#: unread.
MAX_USER_ID_LENGTH = 1024

SessionProtection = t.Literal["basic", "strong"]

#: Every config key the extension reads, with its default.
DEFAULTS: dict[str, t.Any] = {
    "REMEMBER_COOKIE_NAME": COOKIE_NAME,
    "REMEMBER_COOKIE_DURATION": COOKIE_DURATION,
    "REMEMBER_COOKIE_DOMAIN": None,
    "REMEMBER_COOKIE_PATH": "/",
    "REMEMBER_COOKIE_SECURE": COOKIE_SECURE,
    "REMEMBER_COOKIE_HTTPONLY": COOKIE_HTTPONLY,
    "REMEMBER_COOKIE_SAMESITE": COOKIE_SAMESITE,
    "REMEMBER_COOKIE_REFRESH_EACH_REQUEST": False,
    "REMEMBER_COOKIE_ACCEPT_LEGACY": True,
    "LOGIN_DISABLED": False,
    "USE_SESSION_FOR_NEXT": USE_SESSION_FOR_NEXT,
    "FORCE_HOST_FOR_REDIRECTS": None,
    "AUTH_HEADER_NAME": AUTH_HEADER_NAME,
    "FRESH_LOGIN_MAX_AGE": None,
    "LOGOUT_CLEAR_SESSION": False,
    "ACCEPT_UNBOUND_SESSIONS": True,
    "BASIC_AUTH_LOGIN": True,
    "BASIC_AUTH_REALM": "Login required",
    "ALLOWED_REDIRECT_HOSTS": None,
    "REDIRECT_REQUIRE_HTTPS": False,
    "SESSION_IDLE_TIMEOUT": None,
    "SESSION_ABSOLUTE_TIMEOUT": None,
    "SESSION_IDLE_GRANULARITY": None,
}

_SAMESITE_VALUES = (None, "Strict", "Lax", "None")


def setting(config: Config, key: str) -> t.Any:
    """Read one of the extension's config keys, falling back to its default."""
    return config.get(key, DEFAULTS[key])


def seconds(value: object, key: str) -> float | None:
    """Turn a duration config value (timedelta, int or float seconds, or None)
    into seconds, or raise a :exc:`TypeError` that names the key.
    """
    if value is None:
        return None

    if isinstance(value, timedelta):
        return value.total_seconds()

    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)

    raise TypeError(
        f"{key} must be a datetime.timedelta or a number of seconds, not"
        f" {value!r}. For example: app.config[{key!r}] = timedelta(days=14)."
    )


def remember_seconds(value: object, key: str) -> float:
    """Turn a remember-cookie duration into seconds, or raise if it is not a
    positive duration of at most :data:`MAX_REMEMBER_SECONDS`.
    """
    result = seconds(value, key)

    if result is None or not 0 < result <= MAX_REMEMBER_SECONDS:
        raise ValueError(
            f"{key} must be a positive duration of at most 100 years, not"
            f" {value!r}. For example: timedelta(days=30)."
        )

    return result


@dataclasses.dataclass(frozen=True, slots=True)
class Lifetime:
    """The session lifetime settings of an app, in seconds."""

    #: ``SESSION_IDLE_TIMEOUT``, or None when off.
    idle: float | None
    #: ``SESSION_ABSOLUTE_TIMEOUT``, or None when off.
    absolute: float | None
    #: How long ago the login must have been last seen before a request
    #: stamps it again (rewriting ``_lifetime``): the idle timeout is
    #: enforced to within this. 0 when the idle timeout is off.
    granularity: float
    #: ``idle + granularity``: how long ago the login may have been last seen
    #: before it ends. Infinite when the idle timeout is off.
    idle_limit: float


def lifetime(config: Config) -> Lifetime | None:
    """The app's session lifetime settings, or None when both timeouts are
    off. Read on every request that holds a login, so it only reads the keys
    and leaves the work to a cache keyed by their values.
    """
    idle = config.get("SESSION_IDLE_TIMEOUT")
    absolute = config.get("SESSION_ABSOLUTE_TIMEOUT")

    if idle is None and absolute is None:
        return None

    granularity = config.get("SESSION_IDLE_GRANULARITY")

    try:
        return _lifetime(idle, absolute, granularity)
    except TypeError:
        # An unhashable value: no cache, and the checks name the key.
        return _lifetime.__wrapped__(idle, absolute, granularity)


@functools.lru_cache(maxsize=32)
def _lifetime(idle: object, absolute: object, granularity: object) -> Lifetime:
    idle_seconds = lifetime_seconds(idle, "SESSION_IDLE_TIMEOUT")
    absolute_seconds = lifetime_seconds(absolute, "SESSION_ABSOLUTE_TIMEOUT")
    step = lifetime_seconds(granularity, "SESSION_IDLE_GRANULARITY")

    if idle_seconds is None:
        return Lifetime(None, absolute_seconds, 0.0, math.inf)

    if step is None:
        step = min(idle_seconds, max(MIN_IDLE_GRANULARITY, idle_seconds / 10))
    elif step > idle_seconds:
        raise ValueError(
            f"SESSION_IDLE_GRANULARITY ({granularity!r}) must not be longer than"
            f" SESSION_IDLE_TIMEOUT ({idle!r}): the idle timeout is enforced only"
            " to within the granularity. Leave SESSION_IDLE_GRANULARITY unset"
            " for a tenth of the timeout (at least a minute), or set it shorter."
        )

    return Lifetime(idle_seconds, absolute_seconds, step, idle_seconds + step)


def lifetime_seconds(value: object, key: str) -> float | None:
    """Turn a session lifetime setting into seconds, or raise if it is not
    None or a positive duration of at most :data:`MAX_REMEMBER_SECONDS`.
    """
    result = seconds(value, key)

    if result is not None and not 0 < result <= MAX_REMEMBER_SECONDS:
        raise ValueError(
            f"{key} must be a positive duration of at most 100 years, or None"
            f" for no limit, not {value!r}. For example:"
            f" app.config[{key!r}] = timedelta(minutes=30)."
        )

    return result


def session_protection_mode(value: object) -> SessionProtection | None:
    """Validate a ``SESSION_PROTECTION`` value."""
    if value is None:
        return None

    if value == "basic":
        return "basic"

    if value == "strong":
        return "strong"

    raise ValueError(
        f"SESSION_PROTECTION must be 'basic', 'strong' or None, not {value!r}."
        " Set it in app.config or on LoginManager.session_protection."
    )


def validate(config: Config) -> None:
    """Check the keys an app has set, so a bad value fails at start-up rather
    than on the first request that reads it.
    """
    if "REMEMBER_COOKIE_DURATION" in config:
        remember_seconds(config["REMEMBER_COOKIE_DURATION"], "REMEMBER_COOKIE_DURATION")

    if "FRESH_LOGIN_MAX_AGE" in config:
        seconds(config["FRESH_LOGIN_MAX_AGE"], "FRESH_LOGIN_MAX_AGE")

    if "SESSION_PROTECTION" in config:
        session_protection_mode(config["SESSION_PROTECTION"])

    # Also checks each duration on its own, and the granularity against the
    # idle timeout.
    lifetime(config)

    samesite = config.get("REMEMBER_COOKIE_SAMESITE")

    # Werkzeug title-cases the value, so "lax" works, as it did with
    # flask-login.
    if samesite is not None and (
        not isinstance(samesite, str) or samesite.title() not in _SAMESITE_VALUES
    ):
        raise ValueError(
            "REMEMBER_COOKIE_SAMESITE must be None, 'Strict', 'Lax' or 'None',"
            f" not {samesite!r}."
        )

    fallbacks = config.get("SECRET_KEY_FALLBACKS")

    if isinstance(fallbacks, str | bytes):
        raise TypeError(
            "SECRET_KEY_FALLBACKS must be a list of keys, not a single key:"
            " a string would be read as one key per character. For example:"
            " app.config['SECRET_KEY_FALLBACKS'] = [old_key]."
        )

    name = setting(config, "REMEMBER_COOKIE_NAME")

    if not isinstance(name, str) or not name:
        raise ValueError(
            f"REMEMBER_COOKIE_NAME must be a non-empty string, not {name!r}."
        )
