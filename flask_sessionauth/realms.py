"""Realms: several kinds of users in one app, each with its own
:class:`~flask_sessionauth.LoginManager`.

A realm is a manager registered on an app under a name. The default realm
(named None) has flask-login's session keys and cookie; a named realm has its
own (see :meth:`~.session_login.SessionKeys.for_realm` and
:class:`~.config.RealmConfig`). This module names realms, checks their names,
and keeps each app's realms in ``app.extensions``.
"""

from __future__ import annotations

import re
import typing as t
from types import MappingProxyType

from flask import current_app

from .config import realm_config
from .config import setting

if t.TYPE_CHECKING:
    from flask.sansio.app import App

    from .manager import LoginManager

#: The key of the default realm's manager in ``app.extensions``, where code
#: written for a single manager finds it.
EXTENSION_KEY = "sessionauth"
#: The key of an app's realms in ``app.extensions``: a dict of realm name
#: (None for the default realm) to manager.
REALMS_KEY = "sessionauth.realms"

#: The longest realm name: it ends up in every session key of the realm.
MAX_REALM_LENGTH = 32
_REALM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Names a realm cannot have: ``current_user`` is the default realm's in
#: templates.
_RESERVED = frozenset({"user"})


#: What signals about a default-realm login carry besides their own
#: arguments: nothing, so that they are sent as flask-login sends them.
NO_EXTRA: t.Final[t.Mapping[str, t.Any]] = MappingProxyType({})


def signal_extra(realm: str | None) -> t.Mapping[str, t.Any]:
    """What signals about a login of ``realm`` carry besides their own
    arguments: ``realm=`` for a named realm, nothing for the default realm.
    """
    return NO_EXTRA if realm is None else {"realm": realm}


class UnknownRealmError(LookupError, ValueError, RuntimeError):
    """``realm=`` names a realm that is not registered on the current app.

    A :exc:`LookupError`; also a :exc:`ValueError` (a bad argument) and a
    :exc:`RuntimeError` (as when no manager is registered at all), for code
    that catches those.

    .. versionadded:: 0.2.0
    """


def check_realm_name(realm: object) -> str | None:
    """Return ``realm`` if it can name a realm: None (the default realm) or
    an ASCII identifier of at most :data:`MAX_REALM_LENGTH` characters, not
    ``"user"``.

    :raises TypeError: It is not a string.
    :raises ValueError: It is not such a name.
    """
    if realm is None:
        return None

    if not isinstance(realm, str):
        raise TypeError(
            f"A realm name must be a string, not {realm!r}. For example:"
            " LoginManager(app, realm='staff')."
        )

    if (
        not _REALM_NAME.fullmatch(realm)
        or len(realm) > MAX_REALM_LENGTH
        or realm in _RESERVED
    ):
        raise ValueError(
            f"{realm!r} cannot name a realm. A realm name is a Python identifier"
            f" of ASCII letters, digits and underscores, at most"
            f" {MAX_REALM_LENGTH} characters, and not 'user' (templates get"
            " the realm's user as current_<realm>, and current_user is the"
            " default realm's). For example: LoginManager(app, realm='staff')."
        )

    return realm


def realms(app: App) -> dict[str | None, LoginManager]:
    """The managers registered on ``app``, by realm name (None for the
    default realm).
    """
    return app.extensions.get(REALMS_KEY) or {}


def get_manager(app: App | None = None, realm: str | None = None) -> LoginManager:
    """The :class:`~flask_sessionauth.LoginManager` of ``realm`` (by default
    the default realm) registered on ``app`` (by default the current app).

    :raises RuntimeError: No manager is registered on the app, or none for
        the default realm.
    :raises UnknownRealmError: No manager is registered for ``realm``.
    """
    if app is None:
        app = t.cast("App", current_app._get_current_object())  # type: ignore[attr-defined,unused-ignore]

    if realm is None:
        try:
            return app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
        except KeyError:
            pass

        named = [name for name in realms(app) if name is not None]

        if named:
            raise RuntimeError(
                f"This app has no default realm, only the realms {_names(named)}."
                " Pass realm= (login_user(user, realm=...)), use the realm's"
                " manager (manager.current_user, @manager.login_required), or"
                " create a default one with LoginManager(app)."
            )

        raise RuntimeError(
            "No LoginManager is registered on this app. Create one and call"
            " login_manager.init_app(app) in your app factory."
        )

    try:
        return realms(app)[realm]
    except KeyError:
        pass

    raise UnknownRealmError(
        f"No realm {realm!r} is registered on app {app.name!r}"
        f" (it has: {_names(list(realms(app))) or 'none'}). Create it with"
        f" LoginManager(app, realm={realm!r}), or check the spelling."
    )


def register(app: App, manager: LoginManager) -> LoginManager | None:
    """Register ``manager`` on ``app`` under its realm, and return the
    manager it replaces: another default-realm manager (as in flask-login),
    or None.

    :raises ValueError: Another manager has the same named realm on the
        app, or the same remember cookie name as another realm.
    """
    realm = manager.realm
    registered = dict(realms(app))
    earlier = registered.get(realm)

    if realm is not None and earlier is not None and earlier is not manager:
        raise ValueError(
            f"Another LoginManager is already registered on app {app.name!r}"
            f" for the realm {realm!r}. Give this one another name, or register"
            " only one manager per realm."
        )

    name = setting(realm_config(app.config, realm), "REMEMBER_COOKIE_NAME")

    for other_realm in registered:
        if other_realm == realm:
            continue

        other = setting(realm_config(app.config, other_realm), "REMEMBER_COOKIE_NAME")

        if other == name:
            raise ValueError(
                f"The realms {realm!r} and {other_realm!r} of app {app.name!r}"
                f" would both use the remember cookie {name!r}. Give one its"
                " own name, e.g. app.config['SESSIONAUTH_REALMS'] ="
                f" {{{(realm or other_realm)!r}: {{'REMEMBER_COOKIE_NAME':"
                f" '{name}_{realm or other_realm}'}}}}."
            )

    registered[realm] = manager
    app.extensions[REALMS_KEY] = registered

    if realm is None:
        app.extensions[EXTENSION_KEY] = manager

    return earlier if earlier is not manager else None


def _names(names: t.Sequence[str | None]) -> str:
    return ", ".join(
        "the default realm" if name is None else repr(name) for name in names
    )
