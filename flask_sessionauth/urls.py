"""Building the URLs that send a user to the login page and back."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from flask import current_app
from flask import redirect
from flask import request
from flask import session
from flask import url_for

from .config import setting

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response


def make_next_param(login_url: str, current_url: str) -> str:
    """Shorten ``current_url`` to its path and query when it is on the same
    scheme and host as ``login_url``, for use as the ``next`` parameter.
    """
    login = urlsplit(login_url)
    current = urlsplit(current_url)

    same_scheme = not login.scheme or login.scheme == current.scheme
    same_host = not login.netloc or login.netloc == current.netloc

    if same_scheme and same_host:
        return urlunsplit(("", "", current.path, current.query, ""))

    return current_url


def expand_login_view(login_view: str) -> str:
    """Return ``login_view`` itself when it is a URL (absolute, or a path
    starting with ``/``), otherwise the URL of that endpoint.
    """
    if login_view.startswith(("https://", "http://", "/")):
        return login_view

    return url_for(login_view)


def login_url(
    login_view: str, next_url: str | None = None, next_field: str = "next"
) -> str:
    """The URL of the login page, with ``next_url`` in the ``next_field``
    query parameter so that the login view can send the user back.

    :param login_view: An endpoint name, or the URL of the login page.
    :param next_url: The URL to come back to, shortened by
        :func:`make_next_param`.
    :param next_field: The name of the query parameter.

    With ``FORCE_HOST_FOR_REDIRECTS`` set, the URL uses that host whatever
    the request's ``Host`` header said.
    """
    base = expand_login_view(login_view)

    if next_url is None:
        return base

    parts = urlsplit(base)
    query = parse_qs(parts.query, keep_blank_values=True)
    query[next_field] = [make_next_param(base, next_url)]
    netloc = current_app.config.get("FORCE_HOST_FOR_REDIRECTS") or parts.netloc
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, doseq=True)))


def redirect_to_view(view: str) -> Response:
    """Redirect to ``view`` (the login or refresh view), passing the page the
    user wanted as ``next``: in the query string, or in the session with
    ``USE_SESSION_FOR_NEXT``.
    """
    if setting(current_app.config, "USE_SESSION_FOR_NEXT"):
        # flask-login also wrote _id here, which re-tied a stolen session to
        # the thief's client; protection only looks at logins anyway.
        session["next"] = make_next_param(expand_login_view(view), request.url)
        return redirect(login_url(view))

    return redirect(login_url(view, next_url=request.url))
