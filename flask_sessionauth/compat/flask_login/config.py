"""``flask_login.config``: flask-login's defaults and constants.

``SESSION_KEYS`` holds this extension's own keys as well, so code that purges
them all with it purges the whole login. ``EXEMPT_METHODS`` is a frozenset:
:func:`~flask_sessionauth.login_required` does not read a set that other
code may change at run time.
"""

from __future__ import annotations

from ...config import AUTH_HEADER_NAME as AUTH_HEADER_NAME
from ...config import COOKIE_DURATION as COOKIE_DURATION
from ...config import COOKIE_HTTPONLY as COOKIE_HTTPONLY
from ...config import COOKIE_NAME as COOKIE_NAME
from ...config import COOKIE_SAMESITE as COOKIE_SAMESITE
from ...config import COOKIE_SECURE as COOKIE_SECURE
from ...config import EXEMPT_METHODS as EXEMPT_METHODS
from ...config import ID_ATTRIBUTE as ID_ATTRIBUTE
from ...config import LOGIN_MESSAGE as LOGIN_MESSAGE
from ...config import LOGIN_MESSAGE_CATEGORY as LOGIN_MESSAGE_CATEGORY
from ...config import REFRESH_MESSAGE as REFRESH_MESSAGE
from ...config import REFRESH_MESSAGE_CATEGORY as REFRESH_MESSAGE_CATEGORY
from ...config import USE_SESSION_FOR_NEXT as USE_SESSION_FOR_NEXT
from ...session_login import SESSION_KEYS as SESSION_KEYS
