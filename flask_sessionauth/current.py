"""The current user: :data:`current_user`, and what puts it in templates."""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import has_request_context
from werkzeug.local import LocalProxy

from .realms import realms
from .request_login import current_login

if t.TYPE_CHECKING:
    from .mixins import UserProtocol


def _user() -> UserProtocol:
    # The proxy's object: the user of the current request's login.
    return current_login().user


def user_context_processor() -> dict[str, t.Any]:
    """Put :data:`current_user` into templates, and each named realm's user
    as ``current_<realm>`` (``current_staff``).
    """
    # Proxies, not users: a template that never looks at current_user costs
    # no user load. Outside a request, flask-login gave None.
    if not has_request_context():
        return {"current_user": None}

    found = realms(current_app._get_current_object())  # type: ignore[attr-defined,unused-ignore]

    if len(found) < 2 and None in found:
        return {"current_user": current_user}

    return {
        "current_user" if realm is None else f"current_{realm}": manager.current_user
        for realm, manager in found.items()
    }


def user_of(realm: str | None) -> UserProxy:
    """A proxy like :data:`current_user` for the user of ``realm``: for the
    default realm (None), :data:`current_user` itself.
    """
    if realm is None:
        return current_user

    def realm_user() -> UserProtocol:
        return current_login(realm).user

    return t.cast("UserProxy", LocalProxy(realm_user))


class UserProxy(t.Protocol):
    """The type of :data:`current_user`: a user, as a proxy."""

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def is_active(self) -> bool: ...

    @property
    def is_anonymous(self) -> bool: ...

    def get_id(self) -> str | None: ...

    def _get_current_object(self) -> UserProtocol: ...


class _CurrentUser(LocalProxy["UserProtocol"]):
    """werkzeug's :class:`~werkzeug.local.LocalProxy` over the user of the
    current request's :class:`~.request_login.RequestLogin`, with the
    attributes of :class:`~flask_sessionauth.UserProtocol` that apps read on
    every request (views, templates, decorators) defined on the
    proxy itself: reading one costs one call, where the proxy's generic
    ``__getattr__`` takes several. Each gives exactly what the user's own
    attribute gives, or raises what reading it raises.
    """

    __slots__ = ()

    @property
    def is_authenticated(self) -> bool:
        return current_login().user.is_authenticated

    @property
    def is_active(self) -> bool:
        return current_login().user.is_active

    @property
    def is_anonymous(self) -> bool:
        return current_login().user.is_anonymous

    @property
    def get_id(self) -> t.Callable[[], str | None]:
        # The user's bound method, as the generic lookup gives it.
        return current_login().user.get_id


#: The user of the current request: the logged-in user, or an instance of
#: :attr:`LoginManager.anonymous_user`. The user is loaded on first use and
#: kept for the rest of the request.
#:
#: It is typed as a :class:`UserProtocol`. To see your own user class, cast
#: once: ``current_user = t.cast(User, flask_sessionauth.current_user)``.
#:
#: .. versionchanged:: 0.1.0
#:     Outside a request it raises :exc:`RuntimeError` rather than standing
#:     for None (``bool(current_user)`` is still False there).
current_user: UserProxy = t.cast("UserProxy", _CurrentUser(_user))
