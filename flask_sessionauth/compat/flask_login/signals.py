"""``flask_login.signals``: the signals, the same objects as
:mod:`flask_sessionauth.signals`.

``user_loaded_from_header`` is not deprecated here, so it needs no module
``__getattr__``; ``_user_loaded_from_header`` is flask-login's name for the
object behind it.
"""

from __future__ import annotations

from ...signals import session_protected as session_protected
from ...signals import user_accessed as user_accessed
from ...signals import user_loaded_from_cookie as user_loaded_from_cookie
from ...signals import user_loaded_from_header as user_loaded_from_header
from ...signals import user_loaded_from_request as user_loaded_from_request
from ...signals import user_logged_in as user_logged_in
from ...signals import user_logged_out as user_logged_out
from ...signals import user_login_confirmed as user_login_confirmed
from ...signals import user_needs_refresh as user_needs_refresh
from ...signals import user_unauthorized as user_unauthorized

_user_loaded_from_header = user_loaded_from_header
