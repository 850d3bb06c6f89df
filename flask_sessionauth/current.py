"""The current user: :data:`current_user`, and what puts it in templates."""

from __future__ import annotations

import typing as t

from flask import g
from flask import has_request_context
from werkzeug.local import LocalProxy

from .extension import get_manager
from .extension import USER_KEY

if t.TYPE_CHECKING:
    from .mixins import UserProtocol


_NOT_LOADED = object()


def get_user() -> UserProtocol:
    """The user of the current request, found by the manager's pipeline on
    the first call and kept on :data:`flask.g` for the rest of the request.

    :raises RuntimeError: Called outside a request.
    """
    # Each attribute read through a Flask proxy looks the context up again;
    # on this path, taken more than once in every request, the object is
    # taken from its proxy once.
    try:
        user = g._get_current_object().get(USER_KEY, _NOT_LOADED)
    except RuntimeError:  # no app context
        user = _NOT_LOADED

    # An anonymous_user factory may return None (Flask-Security-Too's does
    # when anonymous users are disabled): None is a loaded user too.
    if user is not _NOT_LOADED:
        return user  # type: ignore[no-any-return]

    if not has_request_context():
        raise RuntimeError(
            "current_user is only available while handling a request. In a"
            " test, use app.test_request_context() or the test client; in a"
            " CLI command or background job, load the user yourself."
        )

    return get_manager().find_user()


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
