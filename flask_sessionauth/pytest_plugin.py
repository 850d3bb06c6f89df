"""A pytest plugin with a fixture that logs a user in on the test client.

Enable it in your ``conftest.py``::

    pytest_plugins = ["flask_sessionauth.pytest_plugin"]

It needs a ``client`` fixture, the Flask test client of your app.
"""

from __future__ import annotations

import typing as t

import pytest
from flask.testing import FlaskClient

from .testing import login_test_client


@pytest.fixture
def sessionauth_login(client: FlaskClient) -> t.Callable[..., None]:
    """``sessionauth_login(user, fresh=True)`` logs ``user`` in on the
    ``client`` fixture's session.
    """

    def login(user: t.Any, *, fresh: bool = True) -> None:
        login_test_client(client, user, fresh=fresh)

    return login
