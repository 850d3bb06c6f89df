"""Signals sent by the extension. Each is sent by the app, so connect with
``signal.connect(receiver, app)`` to hear only one app.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent by :func:`~flask_sessionauth.login_user` with ``user``, the user who
#: logged in, also when HTTP Basic credentials log a user in.
user_logged_in = _signals.signal("logged-in")

#: Sent by :func:`~flask_sessionauth.logout_user` with ``user``, the user who
#: logged out.
user_logged_out = _signals.signal("logged-out")

#: Sent with ``user`` when the user was restored from the remember cookie.
user_loaded_from_cookie = _signals.signal("loaded-from-cookie")

#: Sent with ``user`` when the user came from the request loader, or from
#: HTTP Basic credentials.
user_loaded_from_request = _signals.signal("loaded-from-request")

#: Sent with ``user`` when the user came from the header loader.
#:
#: .. versionchanged:: 0.1.0
#:     Not deprecated, unlike in flask-login.
user_loaded_from_header = _signals.signal("loaded-from-header")

#: Sent by :func:`~flask_sessionauth.confirm_login`, with no arguments.
user_login_confirmed = _signals.signal("login-confirmed")

#: Sent by :meth:`LoginManager.unauthorized`, with no arguments.
user_unauthorized = _signals.signal("unauthorized")

#: Sent by :meth:`LoginManager.needs_refresh`, with no arguments.
user_needs_refresh = _signals.signal("needs-refresh")

#: Sent once per request, when the current user is first loaded (not when
#: :func:`~flask_sessionauth.login_user` set it before anything read it).
user_accessed = _signals.signal("accessed")

#: Sent when session protection marked a session not fresh or ended it.
session_protected = _signals.signal("session-protected")

#: Sent with ``user`` when a session or remember cookie was refused because it
#: is bound to a session token the user no longer has.
#:
#: .. versionadded:: 0.1.0
session_revoked = _signals.signal("session-revoked")

#: Sent when a login ended because it was idle for longer than
#: ``SESSIONAUTH_SESSION_IDLE_TIMEOUT`` or is older than
#: ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT``, with ``user``, the user of the
#: login (None if the user loader no longer finds one), and ``reason``,
#: ``"idle"`` or ``"absolute"``. A remember cookie may log the user in again
#: in the same request.
#:
#: .. versionadded:: 0.2.0
session_expired = _signals.signal("session-expired")

#: Sent when a login registry (see :mod:`flask_sessionauth.registry`)
#: records a new login, with ``user`` and ``record``, the
#: :class:`~flask_sessionauth.stores.LoginRecord`.
#:
#: .. versionadded:: 0.2.0
session_started = _signals.signal("session-started")

#: Sent when a login registry ends a login's record, with ``user`` (None if
#: it was not loaded), ``record``, the ended
#: :class:`~flask_sessionauth.stores.LoginRecord`, and ``reason``:
#: ``"logout"``, ``"revoked"`` (by
#: :meth:`~flask_sessionauth.LoginManager.revoke_session` and the other
#: revoke methods, a changed session token or an inactive user),
#: ``"expired"``, ``"evicted"`` (over ``SESSIONAUTH_MAX_SESSIONS``) or
#: ``"replaced"`` (another login in the same session).
#:
#: .. versionadded:: 0.2.0
session_ended = _signals.signal("session-ended")

#: Sent by :meth:`~flask_sessionauth.LoginManager.issue_token`, with
#: ``user`` and ``record``, the token's
#: :class:`~flask_sessionauth.stores.LoginRecord` (never the token itself).
#:
#: .. versionadded:: 0.2.0
token_issued = _signals.signal("token-issued")

#: Sent when a request is authenticated by an API token, with ``user`` and
#: ``record``. Only sent while someone listens: it costs nothing otherwise.
#:
#: .. versionadded:: 0.2.0
token_used = _signals.signal("token-used")
