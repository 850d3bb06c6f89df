"""The "Your devices" page: every browser, phone and API client the user is
logged in on, from the login registry, with a button to sign any one of them
out, and one to sign out all but this one.

Each login is one :class:`~flask_sessionauth.stores.LoginRecord` in the
registry of the customers' :class:`~flask_sessionauth.LoginManager` (see
:func:`example_app.registry.login_registry` for where the records are kept).
Signing a device out ends its record: that browser is logged out on its very
next request, on any server, and its "remember me" cookie never logs in
again. Every other device stays logged in.

Both buttons are POST forms with a CSRF token, like the logout button, so no
link or image on another site can sign a device out.
"""

from __future__ import annotations

import re
import typing as t
from datetime import datetime
from datetime import timezone

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
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


def customer_manager() -> LoginManager:
    """The customers' login manager (the default realm) of the current app."""
    manager: LoginManager = current_app.extensions["sessionauth"]
    return manager


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    manager = customer_manager()

    if manager.registry is None:
        return render_template("devices.html", devices=None)

    now = manager.clock()
    devices = [
        Device.of(record, now) for record in manager.sessions(get_current_user())
    ]
    return render_template("devices.html", devices=devices)


@bp.post("/sign-out")
@login_required
def sign_out() -> ResponseReturnValue:
    """Sign one device out: the one whose record id the form sends."""
    manager = customer_manager()

    if manager.registry is None:
        abort(404)

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
    manager = customer_manager()

    if manager.registry is None:
        abort(404)

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
