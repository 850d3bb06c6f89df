"""``flask_login.login_manager``: the :class:`LoginManager`, which
carries flask-login's private methods itself.
"""

from __future__ import annotations

from ...manager import LoginManager as LoginManager
from .config import AUTH_HEADER_NAME as AUTH_HEADER_NAME
from .config import COOKIE_DURATION as COOKIE_DURATION
from .config import COOKIE_HTTPONLY as COOKIE_HTTPONLY
from .config import COOKIE_NAME as COOKIE_NAME
from .config import COOKIE_SAMESITE as COOKIE_SAMESITE
from .config import COOKIE_SECURE as COOKIE_SECURE
from .config import ID_ATTRIBUTE as ID_ATTRIBUTE
from .config import LOGIN_MESSAGE as LOGIN_MESSAGE
from .config import LOGIN_MESSAGE_CATEGORY as LOGIN_MESSAGE_CATEGORY
from .config import REFRESH_MESSAGE as REFRESH_MESSAGE
from .config import REFRESH_MESSAGE_CATEGORY as REFRESH_MESSAGE_CATEGORY
from .config import SESSION_KEYS as SESSION_KEYS
from .config import USE_SESSION_FOR_NEXT as USE_SESSION_FOR_NEXT
from .mixins import AnonymousUserMixin as AnonymousUserMixin
from .signals import session_protected as session_protected
from .signals import user_accessed as user_accessed
from .signals import user_loaded_from_cookie as user_loaded_from_cookie
from .signals import user_loaded_from_request as user_loaded_from_request
from .signals import user_needs_refresh as user_needs_refresh
from .signals import user_unauthorized as user_unauthorized
from .utils import _create_identifier as _create_identifier
from .utils import _user_context_processor as _user_context_processor
from .utils import decode_cookie as decode_cookie
from .utils import encode_cookie as encode_cookie
from .utils import expand_login_view as expand_login_view
from .utils import login_url
from .utils import make_next_param as make_next_param

#: flask-login's login_manager module imports login_url under this name.
make_login_url = login_url
