"""Helpers for testing apps that use the extension."""

from __future__ import annotations

import typing as t

import flask
from flask.testing import FlaskClient

from .session_state import login_state
from .session_state import write_login


def login_test_client(client: FlaskClient, user: t.Any, *, fresh: bool = True) -> None:
    """Log ``user`` in on a test client's session, writing what
    :func:`login_user` would write, without going through a login view and
    without sending :data:`user_logged_in`.

    The session gets the client's own session-protection identifier, so the
    login holds under ``SESSION_PROTECTION = "strong"``, and is bound to the
    user's session token, if it has one. Like any login, it gives a
    server-side session a new id.
    """
    app = client.application

    with app.test_request_context(environ_base=client.environ_base):
        state = login_state(app, flask.request, user, fresh=fresh)

    with client.session_transaction() as sess:
        write_login(app, sess, state)


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
