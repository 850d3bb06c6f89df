"""``flask_login.test_client``: the test client that starts logged in."""

from __future__ import annotations

from ...testing import FlaskLoginClient as FlaskLoginClient
