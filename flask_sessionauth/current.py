"""The current user: :data:`current_user`, and what puts it in templates."""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from werkzeug.local import LocalProxy

from . import pipeline
from .extension import NOT_LOADED
from .extension import USER_KEY

if t.TYPE_CHECKING:
    from .mixins import UserProtocol


def get_user() -> UserProtocol:
    """The user of the current request, found by the manager's pipeline on
    the first call and kept on :data:`flask.g` for the rest of the request.

    :raises RuntimeError: Called outside a request.
    """
    # Each attribute read through a Flask proxy looks the context up again;
    # on this path, taken more than once in every request, each object is
    # taken from its proxy once and handed on.
    try:
        state = g._get_current_object()
    except RuntimeError:  # no app context
        pass
    else:
        user = state.__dict__.get(USER_KEY, NOT_LOADED)

        if user is not NOT_LOADED:
            return user  # type: ignore[no-any-return]

    try:
        req = request._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    except RuntimeError:
        raise RuntimeError(
            "current_user is only available while handling a request. In a"
            " test, use app.test_request_context() or the test client; in a"
            " CLI command or background job, load the user yourself."
        ) from None

    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    return pipeline.find(app, req, state)  # type: ignore[no-any-return]


def user_context_processor() -> dict[str, t.Any]:
    """Put :data:`current_user` into templates."""
    # The proxy, not the user: a template that never looks at current_user
    # costs no user load. Outside a request, flask-login gave None.
    return {"current_user": current_user if has_request_context() else None}


class _CurrentUserProxy(t.Protocol):
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
    """werkzeug's :class:`~werkzeug.local.LocalProxy` over :func:`get_user`,
    with the attributes of :class:`~flask_sessionauth.UserProtocol` that apps
    read on every request (views, templates, decorators) defined on the
    proxy itself: reading one costs one call, where the proxy's generic
    ``__getattr__`` takes several. Each gives exactly what the user's own
    attribute gives, or raises what reading it raises.
    """

    __slots__ = ()

    @property
    def is_authenticated(self) -> bool:
        return get_user().is_authenticated

    @property
    def is_active(self) -> bool:
        return get_user().is_active

    @property
    def is_anonymous(self) -> bool:
        return get_user().is_anonymous

    @property
    def get_id(self) -> t.Callable[[], str | None]:
        # The user's bound method, as the generic lookup gives it.
        return get_user().get_id


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
current_user: _CurrentUserProxy = t.cast("_CurrentUserProxy", _CurrentUser(get_user))
