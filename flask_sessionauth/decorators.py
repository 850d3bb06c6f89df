"""View decorators that require a logged-in user."""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import functools
import inspect
import typing as t

from flask import current_app
from flask import has_request_context

from .config import EXEMPT_METHODS
from .login import login_fresh
from .realms import get_manager
from .realms import realms
from .request_login import current_login
from .tokens import request_token

if t.TYPE_CHECKING:
    from .manager import LoginManager

P = t.ParamSpec("P")
R = t.TypeVar("R")


def _refusal(fresh: bool, realm: str | None = None) -> t.Any | None:
    """The response that stops the view, or None to let it run."""
    try:
        login = current_login(realm)
    except RuntimeError:
        if has_request_context():
            raise

        raise RuntimeError(
            "A view decorated with login_required was called outside a"
            " request. Call it through the app, e.g. with app.test_client()."
        ) from None

    if login.request.method in EXEMPT_METHODS or login.app.config.get("LOGIN_DISABLED"):
        return None

    if not login.user.is_authenticated:
        return login.manager.unauthorized()

    if fresh and not login_fresh(realm=realm):
        return login.manager.needs_refresh()

    return None


def _refusal_after_loading(fresh: bool, realm: str | None = None) -> t.Any | None:
    """:func:`_refusal`, with the user loaded even when the request is let
    through unchecked (``OPTIONS``, ``LOGIN_DISABLED``), so that the body of
    an async view can read :data:`current_user` without running a loader
    inside its event loop.
    """
    refusal = _refusal(fresh, realm)

    if refusal is None:
        current_login(realm).user  # noqa: B018 -- loads it

    return refusal


def _has_async_callbacks(manager: LoginManager) -> bool:
    return (
        any(
            inspect.iscoroutinefunction(callback)
            for callback in (
                manager.unauthorized_callback,
                manager.needs_refresh_callback,
            )
        )
        or manager.loaders.any_async
    )


def _refusing(
    func: t.Callable[P, R],
    refusal: t.Callable[[], t.Any | None],
    async_refusal: t.Callable[[], cabc.Awaitable[t.Any | None]],
) -> t.Callable[P, R]:
    """Wrap a view so that, when the check returns a response, that response
    answers the request instead of the view: ``refusal()`` before a plain
    view, ``await async_refusal()`` before an ``async`` one.
    """
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_view(*args: P.args, **kwargs: P.kwargs) -> t.Any:
            refused = await async_refusal()

            if refused is not None:
                return refused

            return await func(*args, **kwargs)

        return async_view  # type: ignore[return-value]

    @functools.wraps(func)
    def view(*args: P.args, **kwargs: P.kwargs) -> R:
        refused = refusal()

        if refused is not None:
            return refused  # type: ignore[no-any-return]

        return func(*args, **kwargs)

    return view


def guard(
    func: t.Callable[P, R], fresh: bool, realm: str | None = None
) -> t.Callable[P, R]:
    """Wrap a view so that only the logged-in users of ``realm`` (fresh
    ones, if ``fresh``) reach it.
    """

    async def async_refusal() -> t.Any | None:
        if _has_async_callbacks(get_manager(realm=realm)):
            # Async loaders are run to completion through asgiref, which
            # cannot happen on this thread while its event loop runs. The
            # thread sees the same request (contextvars are copied).
            return await asyncio.to_thread(_refusal_after_loading, fresh, realm)

        return _refusal(fresh, realm)

    # A partial, not a closure: no extra Python frame on every request.
    return _refusing(func, functools.partial(_refusal, fresh, realm), async_refusal)


def login_required(func: t.Callable[P, R]) -> t.Callable[P, R]:
    """Let only logged-in users reach the decorated view; others get
    :meth:`LoginManager.unauthorized`.

    ``OPTIONS`` requests (CORS preflight) pass, and so does everyone while
    the ``LOGIN_DISABLED`` config key is true. The view may be ``async``.

    .. code-block:: python

        @app.route("/profile")
        @login_required
        def profile():
            return render_template("profile.html")
    """
    return guard(func, fresh=False)


def fresh_login_required(func: t.Callable[P, R]) -> t.Callable[P, R]:
    """Like :func:`login_required`, and the login must also be fresh
    (:func:`login_fresh`); a user whose login is not gets
    :meth:`LoginManager.needs_refresh`. Use it on views that change a
    password or an email address.
    """
    return guard(func, fresh=True)


def scope_required(
    *scopes: str, realm: str | None = None
) -> t.Callable[[t.Callable[P, R]], t.Callable[P, R]]:
    """Let a request authenticated by an API token reach the decorated view
    only if the token grants every one of ``scopes``; others get the token's
    realm's :meth:`LoginManager.insufficient_scope` (403, RFC 6750's
    ``insufficient_scope``). A session login passes: scopes limit tokens,
    not users. Put it under :func:`login_required` (or a realm's
    :meth:`LoginManager.login_required`), which refuses anonymous requests
    first.

    .. code-block:: python

        @app.post("/api/deploy")
        @login_required
        @scope_required("deploy")
        def deploy():
            ...

    :param realm: The realm whose tokens are looked for first (by default
        the default realm). A token of any realm is checked: under
        ``@staff.login_required``, ``@scope_required("deploy")`` holds a
        staff token to its scopes too.
    :raises ValueError: No scope is given.

    .. versionadded:: 0.2.0
    """
    if not scopes or not all(isinstance(scope, str) and scope for scope in scopes):
        raise ValueError(
            "scope_required() needs one or more scope names, for example"
            " @scope_required('deploy')."
        )

    needed = frozenset(scopes)

    def refusal() -> t.Any | None:
        login = request_token(realm)

        if login is not None:
            record = login.record
            assert record is not None

            if not needed <= record.scopes:
                return login.manager.insufficient_scope(needed)

        return None

    async def async_refusal() -> t.Any | None:
        # The token may be another realm's, whose user nobody has loaded
        # yet: as in guard(), async loaders run on a worker thread.
        if any(map(_has_async_callbacks, realms(current_app).values())):
            return await asyncio.to_thread(refusal)

        return refusal()

    def decorator(func: t.Callable[P, R]) -> t.Callable[P, R]:
        return _refusing(func, refusal, async_refusal)

    return decorator
