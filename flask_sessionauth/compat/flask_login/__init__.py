"""flask-sessionauth under the name ``flask_login``.

:func:`~flask_sessionauth.install_as_flask_login` makes ``import
flask_login`` give this package, and ``import flask_login.<submodule>`` its
submodules, which hold flask-login 0.6.3's public names at the same paths
and the private names that libraries built on flask-login use. The objects
are flask-sessionauth's own: ``flask_login.LoginManager is
flask_sessionauth.LoginManager``.
"""

from __future__ import annotations

from . import __about__ as __about__
from . import config as config
from . import login_manager as login_manager
from . import mixins as mixins
from . import signals as signals
from . import test_client as test_client
from . import utils as utils
from .__about__ import __version__ as __version__
from .config import AUTH_HEADER_NAME as AUTH_HEADER_NAME
from .config import COOKIE_DURATION as COOKIE_DURATION
from .config import COOKIE_HTTPONLY as COOKIE_HTTPONLY
from .config import COOKIE_NAME as COOKIE_NAME
from .config import COOKIE_SECURE as COOKIE_SECURE
from .config import ID_ATTRIBUTE as ID_ATTRIBUTE
from .config import LOGIN_MESSAGE as LOGIN_MESSAGE
from .config import LOGIN_MESSAGE_CATEGORY as LOGIN_MESSAGE_CATEGORY
from .config import REFRESH_MESSAGE as REFRESH_MESSAGE
from .config import REFRESH_MESSAGE_CATEGORY as REFRESH_MESSAGE_CATEGORY
from .login_manager import LoginManager as LoginManager
from .mixins import AnonymousUserMixin as AnonymousUserMixin
from .mixins import UserMixin as UserMixin
from .signals import session_protected as session_protected
from .signals import user_accessed as user_accessed
from .signals import user_loaded_from_cookie as user_loaded_from_cookie
from .signals import user_loaded_from_header as user_loaded_from_header
from .signals import user_loaded_from_request as user_loaded_from_request
from .signals import user_logged_in as user_logged_in
from .signals import user_logged_out as user_logged_out
from .signals import user_login_confirmed as user_login_confirmed
from .signals import user_needs_refresh as user_needs_refresh
from .signals import user_unauthorized as user_unauthorized
from .test_client import FlaskLoginClient as FlaskLoginClient
from .utils import confirm_login as confirm_login
from .utils import current_user as current_user
from .utils import decode_cookie as decode_cookie
from .utils import encode_cookie as encode_cookie
from .utils import fresh_login_required as fresh_login_required
from .utils import login_fresh as login_fresh
from .utils import login_remembered as login_remembered
from .utils import login_required as login_required
from .utils import login_url as login_url
from .utils import login_user as login_user
from .utils import logout_user as logout_user
from .utils import make_next_param as make_next_param
from .utils import set_login_view as set_login_view

# flask-login 0.6.3's __all__.
__all__ = [
    "__version__",
    "AUTH_HEADER_NAME",
    "AnonymousUserMixin",
    "COOKIE_DURATION",
    "COOKIE_HTTPONLY",
    "COOKIE_NAME",
    "COOKIE_SECURE",
    "FlaskLoginClient",
    "ID_ATTRIBUTE",
    "LOGIN_MESSAGE",
    "LOGIN_MESSAGE_CATEGORY",
    "LoginManager",
    "REFRESH_MESSAGE",
    "REFRESH_MESSAGE_CATEGORY",
    "UserMixin",
    "confirm_login",
    "current_user",
    "decode_cookie",
    "encode_cookie",
    "fresh_login_required",
    "login_fresh",
    "login_remembered",
    "login_required",
    "login_url",
    "login_user",
    "logout_user",
    "make_next_param",
    "session_protected",
    "set_login_view",
    "user_accessed",
    "user_loaded_from_cookie",
    "user_loaded_from_request",
    "user_logged_in",
    "user_logged_out",
    "user_login_confirmed",
    "user_needs_refresh",
    "user_unauthorized",
]
