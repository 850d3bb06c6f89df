"""Helpers for testing apps that use the extension."""

from __future__ import annotations

import typing as t

import flask
from flask.testing import FlaskClient

from .manager import get_manager
from .protection import short_identifier


def login_test_client(client: FlaskClient, user: t.Any, *, fresh: bool = True) -> None:
    """Log ``user`` in on a test client's session, as :func:`login_user`
    would have, without going through a login view.

    The session is also given the client's session-protection identifier,
    so the login holds under ``SESSION_PROTECTION = "strong"``.
    """
    app = client.application
    manager = get_manager(app)
    with app.test_request_context(environ_base=client.environ_base):
        identifier = short_identifier(manager._identifier(flask.request))
        stamp_fresh = app.config.get("FRESH_LOGIN_MAX_AGE") is not None

    with client.session_transaction() as sess:
        for key in ("_remember", "_remember_seconds", "_token_sig", "_fresh_at"):
            sess.pop(key, None)

        sess["_user_id"] = getattr(user, manager.id_attribute)()
        sess["_fresh"] = fresh
        sess["_id"] = identifier

        if fresh and stamp_fresh:
            sess["_fresh_at"] = int(manager.clock())


class SessionAuthClient(FlaskClient):
    """A test client that starts logged in as ``user``.

    .. code-block:: python

        app.test_client_class = SessionAuthClient
        client = app.test_client(user=user, fresh_login=False)

    :param user: The user to log in, or None for no one.
    :param fresh_login: Whether the login is fresh.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        user = kwargs.pop("user", None)
        fresh = kwargs.pop("fresh_login", True)
        super().__init__(*args, **kwargs)

        if user is not None:
            login_test_client(self, user, fresh=fresh)


#: flask-login's name for :class:`SessionAuthClient`.
FlaskLoginClient = SessionAuthClient
