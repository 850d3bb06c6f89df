"""Direct access to the current contexts, for the per-request hot path.

Going through the :data:`flask.request`, :data:`flask.session` and
:data:`flask.g` proxies costs a lookup on every attribute; the loader touches
them often enough that reading the context variables once is measurably
cheaper. Flask has kept these variables since 2.2; should a release drop
them, the public proxies stand in.
"""

from __future__ import annotations

import typing as t

import flask.globals

if t.TYPE_CHECKING:
    from flask.ctx import AppContext
    from flask.ctx import RequestContext

_cv_app = getattr(flask.globals, "_cv_app", None)
_cv_request = getattr(flask.globals, "_cv_request", None)


def contexts() -> tuple[AppContext, RequestContext] | None:
    """The current app and request contexts, or None outside a request."""
    if _cv_app is None or _cv_request is None:
        return _from_proxies()

    request_ctx = _cv_request.get(None)

    if request_ctx is None:
        return None

    return _cv_app.get(), request_ctx


def _from_proxies() -> tuple[AppContext, RequestContext] | None:
    if not flask.has_request_context():
        return None

    app_ctx = flask.globals.app_ctx._get_current_object()  # type: ignore[attr-defined]
    request_ctx = flask.globals.request_ctx._get_current_object()  # type: ignore[attr-defined]
    return app_ctx, request_ctx
