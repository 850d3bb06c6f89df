"""The extension's config keys: each key's default and check, written once,
and the one accessor that reads them.

Keys are read where they are used, through :func:`setting`, so that a test
which flips ``app.config[...]`` after setup is obeyed on the very next
request; :func:`validate` checks every key an app has set once, at
``init_app``. The keys flask-login has keep its names; this extension's own
start with ``SESSIONAUTH_``.
"""

from __future__ import annotations

import datetime as _dt
import re
import typing as t
from collections.abc import Mapping
from datetime import timedelta

#: A Flask config, or a realm's view of one (:class:`RealmConfig`).
Config = t.Mapping[str, t.Any]

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
#: The message flashed when a login ended because of
#: ``SESSIONAUTH_SESSION_IDLE_TIMEOUT`` or
#: ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT``.
SESSION_EXPIRED_MESSAGE = "Your session has expired. Please log in again."
#: The name of the user method that returns the id stored in the session.
ID_ATTRIBUTE = "get_id"
#: The request header passed to :meth:`LoginManager.header_loader`.
AUTH_HEADER_NAME = "Authorization"
#: Whether ``next`` is kept in the session instead of the query string.
USE_SESSION_FOR_NEXT = False
#: Requests with these methods skip :func:`login_required` (CORS preflight).
EXEMPT_METHODS = frozenset({"OPTIONS"})


#: The longest a remember cookie may last, 100 years. Longer durations, and
#: NaN or infinity in a cookie, are refused rather than trusted.
MAX_REMEMBER_SECONDS = 100 * 365 * 24 * 3600


#: User ids longer than this, in a session or a remember cookie, are refused
#: unread.
MAX_USER_ID_LENGTH = 1024

SessionProtection = t.Literal["basic", "strong"]


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

    # Begins with flask-login's words, which code written for it matches.
    raise TypeError(
        f"{key} must be a datetime.timedelta, instead got: {value}"
        f" ({type(value).__name__}). A number of seconds also works. For"
        f" example: app.config[{key!r}] = timedelta(days=14)."
    )


def remember_seconds(value: object, key: str) -> float:
    """Turn a remember-cookie duration into seconds, or raise if it is not a
    positive duration of at most :data:`MAX_REMEMBER_SECONDS`.
    """
    result = seconds(value, key)

    if result is None or not 0 < result <= MAX_REMEMBER_SECONDS:
        raise ValueError(
            f"{key} must be a positive duration of at most 100 years, not"
            f" {value!r}. For example: app.config[{key!r}] = timedelta(days=30)."
        )

    return result


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


def unix_time(value: object, key: str) -> float | None:
    """Turn a moment (an aware :class:`~datetime.datetime` or a Unix time in
    seconds) into a Unix time, or raise naming the key.
    """
    if value is None:
        return None

    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise ValueError(
                f"{key} must be an aware datetime (with a time zone), not"
                f" {value!r}. For example: app.config[{key!r}] ="
                " datetime(2027, 1, 31, tzinfo=timezone.utc)."
            )

        return value.timestamp()

    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)

    raise TypeError(
        f"{key} must be an aware datetime or a Unix time in seconds, not"
        f" {value!r}. For example: app.config[{key!r}] ="
        " datetime(2027, 1, 31, tzinfo=timezone.utc)."
    )


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
        " For example: app.config['SESSION_PROTECTION'] = 'strong'. It can also"
        " be set on LoginManager.session_protection."
    )


def _flag(value: object, key: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(
            f"{key} must be True or False, not {value!r}. For example:"
            f" app.config[{key!r}] = {not DEFAULTS[key]!r}."
        )


def _text(value: object, key: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"{key} must be a non-empty string, not {value!r}. For example:"
            f" app.config[{key!r}] = {DEFAULTS[key]!r}."
        )


def _samesite(value: object, key: str) -> None:
    # Werkzeug title-cases the value, so "lax" works, as it did with
    # flask-login.
    if value is not None and (
        not isinstance(value, str) or value.title() not in _SAMESITE_VALUES
    ):
        raise ValueError(
            f"{key} must be None, 'Strict', 'Lax' or 'None', not {value!r}."
            f" For example: app.config[{key!r}] = 'Lax'."
        )


def _hosts(value: object, key: str) -> None:
    if value is None:
        return

    if isinstance(value, str | bytes) or not all(
        isinstance(host, str) for host in t.cast("t.Iterable[object]", value)
    ):
        raise TypeError(
            f"{key} must be a list of host names, not {value!r}. For example:"
            f" app.config[{key!r}] = ['example.com', 'accounts.example.com']."
        )


def _duration(value: object, key: str) -> None:
    remember_seconds(value, key)


def _lifetime_key(value: object, key: str) -> None:
    lifetime_seconds(value, key)


def _moment(value: object, key: str) -> None:
    unix_time(value, key)


def _protection(value: object, key: str) -> None:
    session_protection_mode(value)


def _anything(value: object, key: str) -> None:
    pass


def _max_sessions(value: object, key: str) -> None:
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or value < 1
    ):
        raise ValueError(
            f"{key} must be None (no limit) or a positive number of logins per"
            f" user, not {value!r}. For example: app.config[{key!r}] = 10."
        )


def _token_prefix(value: object, key: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(
        r"[A-Za-z][A-Za-z0-9_]{0,15}", value
    ):
        raise ValueError(
            f"{key} must be 1 to 16 ASCII letters, digits and underscores,"
            f" starting with a letter, not {value!r}. For example:"
            f" app.config[{key!r}] = 'myapp_'."
        )


def _policy(value: object, key: str) -> None:
    if value not in ("evict", "refuse"):
        raise ValueError(
            f"{key} must be 'evict' (end the oldest login) or 'refuse' (refuse"
            f" the new login), not {value!r}. For example: app.config[{key!r}] ="
            " 'refuse'."
        )


#: Every config key the extension reads: its default, and the check
#: :func:`validate` makes of a value an app sets.
KEYS: dict[str, tuple[t.Any, t.Callable[[object, str], None]]] = {
    # flask-login's keys, with flask-login's defaults.
    "REMEMBER_COOKIE_NAME": (COOKIE_NAME, _text),
    "REMEMBER_COOKIE_DURATION": (COOKIE_DURATION, _duration),
    "REMEMBER_COOKIE_DOMAIN": (None, _anything),
    "REMEMBER_COOKIE_PATH": ("/", _anything),
    "REMEMBER_COOKIE_SECURE": (COOKIE_SECURE, _anything),
    "REMEMBER_COOKIE_HTTPONLY": (COOKIE_HTTPONLY, _anything),
    "REMEMBER_COOKIE_SAMESITE": (COOKIE_SAMESITE, _samesite),
    "REMEMBER_COOKIE_REFRESH_EACH_REQUEST": (False, _anything),
    "SESSION_PROTECTION": (None, _protection),
    "LOGIN_DISABLED": (False, _anything),
    "USE_SESSION_FOR_NEXT": (USE_SESSION_FOR_NEXT, _anything),
    "FORCE_HOST_FOR_REDIRECTS": (None, _anything),
    "AUTH_HEADER_NAME": (AUTH_HEADER_NAME, _text),
    # This extension's own keys.
    "SESSIONAUTH_REMEMBER_COOKIE_ACCEPT_LEGACY": (True, _flag),
    "SESSIONAUTH_FRESH_LOGIN_MAX_AGE": (None, _lifetime_key),
    "SESSIONAUTH_LOGOUT_CLEAR_SESSION": (False, _flag),
    "SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS": (True, _flag),
    "SESSIONAUTH_BASIC_AUTH_LOGIN": (True, _flag),
    "SESSIONAUTH_BASIC_AUTH_REALM": ("Login required", _text),
    "SESSIONAUTH_ALLOWED_REDIRECT_HOSTS": (None, _hosts),
    "SESSIONAUTH_REDIRECT_REQUIRE_HTTPS": (False, _flag),
    "SESSIONAUTH_SESSION_IDLE_TIMEOUT": (None, _lifetime_key),
    "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT": (None, _lifetime_key),
    "SESSIONAUTH_SESSION_IDLE_GRANULARITY": (None, _lifetime_key),
    "SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL": (None, _moment),
    "SESSIONAUTH_REALMS": (None, _anything),  # checked realm by realm
    "SESSIONAUTH_MAX_SESSIONS": (None, _max_sessions),
    "SESSIONAUTH_MAX_SESSIONS_POLICY": ("evict", _policy),
    "SESSIONAUTH_LAST_SEEN_GRANULARITY": (timedelta(minutes=5), _lifetime_key),
    "SESSIONAUTH_TOKEN_PREFIX": ("sat_", _token_prefix),
}

#: The keys a named realm may set for itself in ``SESSIONAUTH_REALMS``; it
#: takes the app's value of every other key. Session protection, redirects,
#: ``LOGIN_DISABLED`` and ``SESSIONAUTH_LOGOUT_CLEAR_SESSION`` are the app's.
REALM_KEYS = frozenset(
    {
        "REMEMBER_COOKIE_NAME",
        "REMEMBER_COOKIE_DURATION",
        "REMEMBER_COOKIE_DOMAIN",
        "REMEMBER_COOKIE_PATH",
        "REMEMBER_COOKIE_SECURE",
        "REMEMBER_COOKIE_HTTPONLY",
        "REMEMBER_COOKIE_SAMESITE",
        "REMEMBER_COOKIE_REFRESH_EACH_REQUEST",
        "AUTH_HEADER_NAME",
        "SESSIONAUTH_FRESH_LOGIN_MAX_AGE",
        "SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS",
        "SESSIONAUTH_BASIC_AUTH_LOGIN",
        "SESSIONAUTH_BASIC_AUTH_REALM",
        "SESSIONAUTH_SESSION_IDLE_TIMEOUT",
        "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT",
        "SESSIONAUTH_SESSION_IDLE_GRANULARITY",
        "SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL",
        "SESSIONAUTH_MAX_SESSIONS",
        "SESSIONAUTH_MAX_SESSIONS_POLICY",
        "SESSIONAUTH_LAST_SEEN_GRANULARITY",
        "SESSIONAUTH_TOKEN_PREFIX",
    }
)

#: Every config key the extension reads, with its default.
DEFAULTS: dict[str, t.Any] = {key: default for key, (default, _) in KEYS.items()}

#: The spellings of this extension's keys before they took the
#: ``SESSIONAUTH_`` prefix. An app that still sets one is told the new name
#: at ``init_app``; none was ever released, so none is read.
#: ``BASIC_AUTH_REALM`` is not among them: it is Flask-BasicAuth's key, which
#: an app may set for that extension.
RENAMED: dict[str, str] = {
    key.removeprefix("SESSIONAUTH_"): key
    for key in KEYS
    if key.startswith("SESSIONAUTH_")
    and key
    not in (
        # Keys that never had another spelling.
        "SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL",
        "SESSIONAUTH_REALMS",
        "SESSIONAUTH_MAX_SESSIONS",
        "SESSIONAUTH_MAX_SESSIONS_POLICY",
        "SESSIONAUTH_LAST_SEEN_GRANULARITY",
        "SESSIONAUTH_TOKEN_PREFIX",
        # Flask-BasicAuth's key.
        "SESSIONAUTH_BASIC_AUTH_REALM",
    )
}

_SAMESITE_VALUES = (None, "Strict", "Lax", "None")


def setting(config: Config, key: str) -> t.Any:
    """Read one of the extension's config keys, falling back to its default."""
    return config.get(key, DEFAULTS[key])


def validate(config: Config) -> None:
    """Check every key an app has set, so that a bad value fails at start-up
    rather than on the first request that reads it.

    :raises ValueError: A value is not valid, or an old spelling of a key is
        set.
    :raises TypeError: A value has the wrong type.
    """
    for old, new in RENAMED.items():
        if old in config:
            raise ValueError(
                f"{old} is now called {new}: flask-sessionauth's own config keys"
                f" start with SESSIONAUTH_. Write app.config[{new!r}] ="
                f" {config[old]!r} instead."
            )

    for key, (_, check) in KEYS.items():
        if key in config:
            check(config[key], key)

    realms = config.get("SESSIONAUTH_REALMS")

    if realms is not None and not isinstance(realms, Mapping):
        raise TypeError(
            "SESSIONAUTH_REALMS must be a dict of realm name to that realm's"
            f" settings, not {realms!r}. For example: app.config"
            "['SESSIONAUTH_REALMS'] = {'staff': {'REMEMBER_COOKIE_DURATION':"
            " timedelta(hours=8)}}."
        )

    fallbacks = config.get("SECRET_KEY_FALLBACKS")

    if isinstance(fallbacks, str | bytes):
        raise TypeError(
            "SECRET_KEY_FALLBACKS must be a list of keys, not a single key:"
            " a string would be read as one key per character. For example:"
            " app.config['SECRET_KEY_FALLBACKS'] = [old_key]."
        )


def realm_overrides(config: Config, realm: str) -> Mapping[str, t.Any]:
    """What ``SESSIONAUTH_REALMS`` sets for ``realm``: an empty mapping when
    it sets nothing, or holds something that is not a mapping (refused by
    :func:`validate_realm` at ``init_app``).
    """
    realms = config.get("SESSIONAUTH_REALMS")

    if not isinstance(realms, Mapping):
        return _NOTHING

    found = realms.get(realm)
    return found if isinstance(found, Mapping) else _NOTHING


_NOTHING: Mapping[str, t.Any] = {}


def validate_realm(config: Config, realm: str) -> None:
    """Check what ``SESSIONAUTH_REALMS`` sets for ``realm``, at the realm's
    ``init_app``.

    :raises ValueError: A key may not be set per realm, or a value is not
        valid.
    :raises TypeError: The realm's entry is not a dict, or a value has the
        wrong type.
    """
    realms = config.get("SESSIONAUTH_REALMS")
    found = realms.get(realm) if isinstance(realms, Mapping) else None

    if found is None:
        return

    if not isinstance(found, Mapping):
        raise TypeError(
            f"SESSIONAUTH_REALMS[{realm!r}] must be a dict of config keys, not"
            f" {found!r}. For example: app.config['SESSIONAUTH_REALMS'] ="
            f" {{{realm!r}: {{'REMEMBER_COOKIE_DURATION': timedelta(hours=8)}}}}."
        )

    for key, value in found.items():
        if key not in REALM_KEYS:
            raise ValueError(
                f"SESSIONAUTH_REALMS[{realm!r}] sets {key!r}, which a realm cannot"
                " set for itself: set it in app.config for the whole app. A"
                f" realm may set: {', '.join(sorted(REALM_KEYS))}."
            )

        KEYS[key][1](value, f"SESSIONAUTH_REALMS[{realm!r}][{key!r}]")


class RealmConfig(Mapping[str, t.Any]):
    """A named realm's view of the app's config: what ``SESSIONAUTH_REALMS``
    sets for the realm, and the app's value of every other key. It reads
    the app's config on every lookup, so that a change to it is obeyed on
    the next request.

    A named realm's remember cookie is, unless set, the app's
    ``REMEMBER_COOKIE_NAME`` followed by ``_<realm>`` (``remember_token_staff``),
    and flask-login's cookie format is never accepted for it: flask-login
    signed its cookies without a salt, so a cookie it made for one realm
    would pass as another's.
    """

    __slots__ = ("config", "realm")

    def __init__(self, config: Config, realm: str) -> None:
        #: The app's config.
        self.config = config
        #: The realm's name.
        self.realm = realm

    def __getitem__(self, key: str) -> t.Any:
        if key in REALM_KEYS:
            overrides = realm_overrides(self.config, self.realm)

            if key in overrides:
                return overrides[key]

            if key == "REMEMBER_COOKIE_NAME":
                name = self.config.get(key, DEFAULTS[key])
                return f"{name}_{self.realm}"
        elif key == "SESSIONAUTH_REMEMBER_COOKIE_ACCEPT_LEGACY":
            return False

        return self.config[key]

    def __iter__(self) -> t.Iterator[str]:
        return iter(
            {
                *self.config,
                *realm_overrides(self.config, self.realm),
                "REMEMBER_COOKIE_NAME",
                "SESSIONAUTH_REMEMBER_COOKIE_ACCEPT_LEGACY",
            }
        )

    def __len__(self) -> int:
        return sum(1 for _ in self)


def realm_config(config: Config, realm: str | None) -> Config:
    """The config as ``realm`` sees it: the app's own for the default realm
    (None), a :class:`RealmConfig` for a named one.
    """
    return config if realm is None else RealmConfig(config, realm)
