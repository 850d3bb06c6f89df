"""A pytest plugin that runs a library's test suite on flask-sessionauth in
place of flask-login: loaded with ``-p sessionauth_as_flask_login`` (this
directory on ``PYTHONPATH``), it calls
:func:`flask_sessionauth.install_as_flask_login` before pytest imports the
suite's ``conftest.py`` or any test module. The ``downstream`` tox env uses
it; see ``tests/downstream/README.md``.
"""

from __future__ import annotations

import flask_sessionauth

flask_sessionauth.install_as_flask_login()

import flask_login  # noqa: E402  (only after the install)


def pytest_report_header() -> str:
    return f"flask_login: {flask_login.__name__} ({flask_login.__file__})"
