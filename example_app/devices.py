"""The "Your devices" page: every browser, phone and API client the user is
logged in on, from the login registry, with a button to sign any one of them
out, and one to sign out all but this one. The user's API tokens are listed
there too, in a table of their own (they are made and revoked on the API
tokens page, ``api_tokens.py``).

Each login is one :class:`~flask_sessionauth.stores.LoginRecord` in the
registry of the customers' :class:`~flask_sessionauth.LoginManager` (see
:func:`example_app.registry.login_registry` for where the records are kept).
Signing a device out ends its record: that browser is logged out on its very
next request, on any server, and its "remember me" cookie never logs in
again. Every other device stays logged in.

Both buttons are POST forms with a CSRF token, like the logout button, so no
link or image on another site can sign a device out. A request that sends an
API token is refused here (:func:`browser_only`): a token may call the API,
never manage the user's logins.
"""

from __future__ import annotations

import re
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from flask_sessionauth import login_required

from .models import get_current_user

if t.TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

    from flask_sessionauth import LoginManager
    from flask_sessionauth.stores import LoginRecord

bp = Blueprint("devices", __name__, url_prefix="/devices")

#: How each way of logging in is shown (:attr:`LoginRecord.method`).
METHODS = {
    "form": "password",
    "remember": '"remember me" cookie',
    "basic": "HTTP Basic (API)",
    "token": "API token",
    "test": "test client",
}

#: What the sign-out form takes for a record id: the registry's ids are 43
#: characters of URL-safe base64. Anything else is refused before the
#: registry is asked.
RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


#: A token that expires later than this from now was issued without an
#: expiry ("Never" on the API tokens page; the extension keeps those records
#: for a century).
NO_EXPIRY = timedelta(days=20 * 365).total_seconds()


def customer_manager() -> LoginManager:
    """The customers' login manager (the default realm) of the current app."""
    manager: LoginManager = current_app.extensions["sessionauth"]
    return manager


def registry_manager() -> LoginManager:
    """:func:`customer_manager`, for a form that changes the login registry:
    404 when the app runs without one.
    """
    manager = customer_manager()

    if manager.registry is None:
        abort(404)

    return manager


def sends_api_token() -> bool:
    """Whether the request sends an API token, ``Authorization: Bearer ...``.
    flask-sessionauth then decides the request by that token alone: its user
    is the token's, or nobody.
    """
    header = request.headers.get("Authorization", "")
    return header.strip().partition(" ")[0].lower() == "bearer"


def browser_only() -> ResponseReturnValue | None:
    """The ``before_request`` of the pages that manage the user's logins and
    tokens (this blueprint and ``api_tokens.py``): refuse a request that
    sends an API token, whatever its scopes. Otherwise a token that may only
    read could sign devices out, or make itself a token that may deploy.
    """
    if sends_api_token():
        return (
            jsonify(
                error="forbidden",
                message="API tokens cannot manage devices or tokens. Log in"
                " with a browser to do that.",
            ),
            403,
        )

    return None


bp.before_request(browser_only)


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    manager = customer_manager()

    if manager.registry is None:
        return render_template("devices.html", devices=None, tokens=None)

    now = manager.clock()
    user = get_current_user()
    devices = [Device.of(record, now) for record in manager.sessions(user)]
    tokens = [Token.of(record, now) for record in manager.tokens(user)]
    return render_template("devices.html", devices=devices, tokens=tokens)


@bp.post("/sign-out")
@login_required
def sign_out() -> ResponseReturnValue:
    """Sign one device out: the one whose record id the form sends."""
    manager = registry_manager()

    record_id = request.form.get("device", "")

    if RECORD_ID.fullmatch(record_id) is None:
        abort(400)

    if manager.revoke_session(get_current_user(), record_id):
        # The form is not offered for this device, but a hand-made request
        # may name it: then this browser is logged out too, as with "Log out".
        flash("That device has been signed out.", "success")
    else:
        flash("That device was already signed out.", "info")

    return redirect(url_for("devices.index"))


@bp.post("/sign-out-others")
@login_required
def sign_out_others() -> ResponseReturnValue:
    """Sign out every device but this one."""
    manager = registry_manager()

    # API tokens are not devices: they stay (the page lists them, each with
    # its revoke button).
    count = manager.revoke_other_sessions()

    if count == 0:
        flash("No other device was signed in.", "info")
    else:
        devices = "device" if count == 1 else "devices"
        flash(f"Signed out {count} other {devices}.", "success")

    return redirect(url_for("devices.index"))


class Device(t.NamedTuple):
    """One row of the page: a login record as a person reads it."""

    id: str
    browser: str
    system: str
    ip: str
    created: datetime
    created_ago: str
    last_seen: datetime
    last_seen_ago: str
    method: str
    remembered: bool
    current: bool

    @classmethod
    def of(cls, record: LoginRecord, now: float) -> Device:
        browser, system = describe_user_agent(record.user_agent)
        return cls(
            id=record.id,
            browser=browser,
            system=system,
            ip=record.ip or "unknown",
            created=_utc(record.created_at),
            created_ago=ago(now - record.created_at),
            last_seen=_utc(record.last_seen),
            last_seen_ago=ago(now - record.last_seen),
            method=METHODS.get(record.method, record.method),
            remembered=record.remember,
            current=record.current,
        )


class Token(t.NamedTuple):
    """One row of a table of API tokens (on the devices page and the API
    tokens page): a token's record, never the token itself, which is not
    kept anywhere.
    """

    id: str
    name: str
    scopes: list[str]
    created: datetime
    created_ago: str
    #: None for a token that never expires.
    expires: datetime | None
    expires_in: str
    #: None while no use of the token has been recorded: the registry
    #: writes a last-used time at most once per
    #: ``SESSIONAUTH_LAST_SEEN_GRANULARITY`` (5 minutes), so a token used
    #: only within 5 minutes of its creation has none.
    last_used: datetime | None
    last_used_ago: str

    @classmethod
    def of(cls, record: LoginRecord, now: float) -> Token:
        never = record.expires_at - now > NO_EXPIRY
        used = record.last_seen > record.created_at
        return cls(
            id=record.id,
            name=record.name or "unnamed",
            scopes=sorted(record.scopes),
            created=_utc(record.created_at),
            created_ago=ago(now - record.created_at),
            expires=None if never else _utc(record.expires_at),
            expires_in="never" if never else until(record.expires_at - now),
            last_used=_utc(record.last_seen) if used else None,
            last_used_ago=ago(now - record.last_seen) if used else "none recorded",
        )


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def ago(seconds: float) -> str:
    """``seconds`` as "just now", "5 minutes ago", "3 hours ago", "2 days ago"."""
    if seconds < 60:
        return "just now"

    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"

    raise AssertionError("unreachable")


def until(seconds: float) -> str:
    """``seconds`` from now as "in 5 minutes", "in 3 hours", "in 30 days"."""
    if seconds < 60:
        return "in less than a minute"

    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            # Rounded, not cut: a 30-day token made a moment ago expires
            # "in 30 days".
            count = round(seconds / size)
            return f"in {count} {unit}{'' if count == 1 else 's'}"

    raise AssertionError("unreachable")


# The User-Agent, roughly. Good enough to tell a user's devices apart; a real
# app might use a library such as ua-parser. The order matters: Edge and
# Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"\bOPR/(\d+)")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/(\d+)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome (headless)", re.compile(r"\bHeadlessChrome/(\d+)")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"\bVersion/(\d+)[^ ]* (?:Mobile/\S+ )?Safari/")),
)
_SYSTEMS = (
    ("iPhone", re.compile(r"\biPhone\b")),
    ("iPad", re.compile(r"\biPad\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b|\bX11\b")),
)
_PRODUCT = re.compile(r"^([A-Za-z][\w.+-]*)(?:/([\w.]+))?")


def describe_user_agent(user_agent: str | None) -> tuple[str, str]:
    """The browser and the operating system a User-Agent names, such as
    ``("Firefox 128", "Linux")``. A client that is no browser (curl, a
    script) is named by its first product, with ``"unknown"`` for the
    system.
    """
    if not user_agent:
        return "unknown", "unknown"

    system = next(
        (name for name, pattern in _SYSTEMS if pattern.search(user_agent)), "unknown"
    )

    for name, pattern in _BROWSERS:
        found = pattern.search(user_agent)

        if found is not None:
            return f"{name} {found.group(1)}", system

    product = _PRODUCT.match(user_agent)

    if product is None or product.group(1) == "Mozilla":
        return "unknown", system

    name, version = product.groups()
    return (name if version is None else f"{name} {version}"), system
