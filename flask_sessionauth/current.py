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
current_user: _CurrentUserProxy = LocalProxy(get_user)  # type: ignore[assignment]
