"""Session-based user login for Flask, with the API of flask-login."""

from __future__ import annotations

from .api import api_view as api_view
from .api import is_api_request as is_api_request
from .compat import install_as_flask_login as install_as_flask_login
from .config import AUTH_HEADER_NAME as AUTH_HEADER_NAME
from .config import COOKIE_DURATION as COOKIE_DURATION
from .config import COOKIE_HTTPONLY as COOKIE_HTTPONLY
from .config import COOKIE_NAME as COOKIE_NAME
from .config import COOKIE_SAMESITE as COOKIE_SAMESITE
from .config import COOKIE_SECURE as COOKIE_SECURE
from .config import EXEMPT_METHODS as EXEMPT_METHODS
from .config import ID_ATTRIBUTE as ID_ATTRIBUTE
from .config import LOGIN_MESSAGE as LOGIN_MESSAGE
from .config import LOGIN_MESSAGE_CATEGORY as LOGIN_MESSAGE_CATEGORY
from .config import REFRESH_MESSAGE as REFRESH_MESSAGE
from .config import REFRESH_MESSAGE_CATEGORY as REFRESH_MESSAGE_CATEGORY
from .current import current_user as current_user
from .decorators import fresh_login_required as fresh_login_required
from .decorators import login_required as login_required
from .decorators import scope_required as scope_required
from .login import confirm_login as confirm_login
from .login import login_fresh as login_fresh
from .login import login_remembered as login_remembered
from .login import login_user as login_user
from .login import logout_all as logout_all
from .login import logout_user as logout_user
from .login import set_login_view as set_login_view
from .manager import LoginManager as LoginManager
from .mixins import AnonymousUserMixin as AnonymousUserMixin
from .mixins import UserMixin as UserMixin
from .mixins import UserProtocol as UserProtocol
from .realms import UnknownRealmError as UnknownRealmError
from .redirects import get_next_url as get_next_url
from .redirects import is_safe_redirect_url as is_safe_redirect_url
from .remember import decode_cookie as decode_cookie
from .remember import encode_cookie as encode_cookie
from .revocation import rebind_session as rebind_session
from .session_login import SESSION_KEYS as SESSION_KEYS
from .signals import session_ended as session_ended
from .signals import session_expired as session_expired
from .signals import session_protected as session_protected
from .signals import session_revoked as session_revoked
from .signals import session_started as session_started
from .signals import token_issued as token_issued
from .signals import token_used as token_used
from .signals import user_accessed as user_accessed
from .signals import user_loaded_from_cookie as user_loaded_from_cookie
from .signals import user_loaded_from_header as user_loaded_from_header
from .signals import user_loaded_from_request as user_loaded_from_request
from .signals import user_logged_in as user_logged_in
from .signals import user_logged_out as user_logged_out
from .signals import user_login_confirmed as user_login_confirmed
from .signals import user_needs_refresh as user_needs_refresh
from .signals import user_unauthorized as user_unauthorized
from .stores import LoginRecord as LoginRecord
from .stores import LoginStore as LoginStore
from .stores import StoreUnavailable as StoreUnavailable
from .stores.memory import MemoryLoginStore as MemoryLoginStore
from .testing import FlaskLoginClient as FlaskLoginClient
from .testing import SessionAuthClient as SessionAuthClient
from .tokens import current_token as current_token
from .urls import expand_login_view as expand_login_view
from .urls import login_url as login_url
from .urls import make_next_param as make_next_param

__version__ = "0.2.0.dev0"

__all__ = [
    "AUTH_HEADER_NAME",
    "COOKIE_DURATION",
    "COOKIE_HTTPONLY",
    "COOKIE_NAME",
    "COOKIE_SAMESITE",
    "COOKIE_SECURE",
    "EXEMPT_METHODS",
    "ID_ATTRIBUTE",
    "LOGIN_MESSAGE",
    "LOGIN_MESSAGE_CATEGORY",
    "REFRESH_MESSAGE",
    "REFRESH_MESSAGE_CATEGORY",
    "SESSION_KEYS",
    "AnonymousUserMixin",
    "FlaskLoginClient",
    "LoginManager",
    "LoginRecord",
    "LoginStore",
    "MemoryLoginStore",
    "SessionAuthClient",
    "StoreUnavailable",
    "UnknownRealmError",
    "UserMixin",
    "UserProtocol",
    "api_view",
    "confirm_login",
    "current_token",
    "current_user",
    "decode_cookie",
    "encode_cookie",
    "expand_login_view",
    "fresh_login_required",
    "get_next_url",
    "install_as_flask_login",
    "is_api_request",
    "is_safe_redirect_url",
    "login_fresh",
    "login_remembered",
    "login_required",
    "login_url",
    "login_user",
    "logout_all",
    "logout_user",
    "make_next_param",
    "rebind_session",
    "scope_required",
    "session_ended",
    "session_expired",
    "session_protected",
    "session_revoked",
    "session_started",
    "set_login_view",
    "token_issued",
    "token_used",
    "user_accessed",
    "user_loaded_from_cookie",
    "user_loaded_from_header",
    "user_loaded_from_request",
    "user_logged_in",
    "user_logged_out",
    "user_login_confirmed",
    "user_needs_refresh",
    "user_unauthorized",
]
