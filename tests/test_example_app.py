"""The example app, driven as a browser and an API client would: real forms
with real CSRF tokens scraped from the pages.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import typing as t
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from example_app import create_app
from example_app import models
from example_app.db import connect
from example_app.devices import describe_user_agent
from flask_sessionauth.stores import LoginRecord
from flask_sessionauth.stores import StoreUnavailable
from flask_sessionauth.stores.memory import MemoryLoginStore
from flask_sessionauth.stores.redis import RedisLoginStore
from helpers import is_redirect

PASSWORD = "correct horse"
NEW_PASSWORD = "battery staple"
STAFF_PASSWORD = "staff horse battery"
SESSION_COOKIE = "session"
REMEMBER_COOKIE = "remember_token"
STAFF_REMEMBER_COOKIE = "remember_token_staff"
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


class Clock:
    """The clock of the app's login manager, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt is slow on purpose, and these tests hash many passwords. Hashes
    made this way still go through werkzeug's check_password_hash.
    """

    def generate(password: str) -> str:
        return generate_password_hash(password, method="pbkdf2:sha256:1000")

    monkeypatch.setattr(models, "generate_password_hash", generate)


@pytest.fixture
def app(tmp_path: Path, fast_hashes: None) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "db.sqlite"),
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": True,
        },
        instance_path=tmp_path / "instance",
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def alice(client: FlaskClient) -> str:
    """Register alice through the form; returns her username."""
    register(client, "alice", PASSWORD)
    return "alice"


@pytest.fixture
def sam(app: Flask, alice: str) -> str:
    """Add sam to the staff with the shell command; returns his username.

    alice registers first, so sam, the first staff member, has her id: 1.
    """
    result = app.test_cli_runner().invoke(
        args=["create-staff", "sam", "--password", STAFF_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "Created staff member 'sam' with id 1." in result.output
    return "sam"


def csrf_token(client: FlaskClient, path: str) -> str:
    """Open a page as a browser would and take the CSRF token from its form."""
    response = client.get(path)
    assert response.status_code == 200, response.status
    match = CSRF_INPUT.search(response.get_data(as_text=True))
    assert match is not None, "no csrf_token field on " + path
    return match.group(1)


def submit(
    client: FlaskClient, path: str, data: dict[str, str] | None = None
) -> TestResponse:
    """Post a form found at ``path`` back to ``path``, with its CSRF token."""
    fields = {"csrf_token": csrf_token(client, path), **(data or {})}
    return client.post(path, data=fields)


def submit_from(
    client: FlaskClient, page: str, action: str, data: dict[str, str] | None = None
) -> TestResponse:
    """Post to ``action`` with the CSRF token of the form on ``page``."""
    return client.post(
        action, data={"csrf_token": csrf_token(client, page), **(data or {})}
    )


def register(client: FlaskClient, username: str, password: str) -> None:
    response = submit(
        client,
        "/auth/register",
        {"username": username, "password": password, "confirm": password},
    )
    assert is_redirect(response)
    assert response.headers["Location"] == "/auth/login"


def login(
    client: FlaskClient,
    username: str,
    password: str = PASSWORD,
    *,
    remember: bool = False,
    next: str | None = None,
) -> TestResponse:
    path = "/auth/login"

    if next is not None:
        path += "?" + urlencode({"next": next})

    data = {"username": username, "password": password}

    if remember:
        data["remember"] = "y"

    return submit(client, path, data)


def logout(client: FlaskClient) -> TestResponse:
    return submit_from(client, "/", "/auth/logout")


def staff_login(
    client: FlaskClient,
    username: str,
    password: str = STAFF_PASSWORD,
    *,
    remember: bool = False,
    next: str | None = None,
) -> TestResponse:
    path = "/staff/login"

    if next is not None:
        path += "?" + urlencode({"next": next})

    data = {"username": username, "password": password}

    if remember:
        data["remember"] = "y"

    return submit(client, path, data)


def staff_logout(client: FlaskClient) -> TestResponse:
    return submit_from(client, "/staff/", "/staff/logout")


def who(page: str) -> str | None:
    """The name in the page's navigation bar: the logged-in user of the area
    the page belongs to.
    """
    match = re.search(r'<li class="who">([^<]*)</li>', page)
    return None if match is None else match.group(1)


def change_password(
    client: FlaskClient, old: str, new: str, confirm: str | None = None
) -> TestResponse:
    return submit(
        client,
        "/settings",
        {
            "old_password": old,
            "new_password": new,
            "confirm": new if confirm is None else confirm,
        },
    )


def cookie(client: FlaskClient, name: str) -> str | None:
    value = client.get_cookie(name)
    return None if value is None else value.value


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


# Pages and login flow


def test_home_greets_stranger(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "Hello, stranger" in text(response)


def test_register_then_login_with_remember(client: FlaskClient) -> None:
    register(client, "alice", PASSWORD)

    response = login(client, "alice", remember=True)

    assert is_redirect(response)
    assert response.headers["Location"] == "/"
    assert cookie(client, REMEMBER_COOKIE)
    page = text(client.get("/"))
    assert "Hello, alice" in page
    assert "Logged in as alice." in page


def test_register_refuses_taken_name(client: FlaskClient, alice: str) -> None:
    response = submit(
        client,
        "/auth/register",
        {"username": "ALICE", "password": PASSWORD, "confirm": PASSWORD},
    )

    assert response.status_code == 200
    assert "That name is taken." in text(response)


def test_register_checks_fields(client: FlaskClient) -> None:
    response = submit(
        client,
        "/auth/register",
        {"username": "a b", "password": "short", "confirm": "other"},
    )

    assert response.status_code == 200
    page = text(response)
    assert "Use 3 to 32 characters" in page
    assert "Use at least 8 characters." in page
    assert "The passwords differ." in page


def test_login_refuses_wrong_password(client: FlaskClient, alice: str) -> None:
    response = login(client, "alice", "wrong password")

    assert response.status_code == 200
    assert "Wrong username or password." in text(response)
    assert "Hello, stranger" in text(client.get("/"))


def test_login_refuses_unknown_user(client: FlaskClient) -> None:
    response = login(client, "nobody")

    assert response.status_code == 200
    assert "Wrong username or password." in text(response)


def test_profile_requires_login_and_returns_there(
    client: FlaskClient, alice: str
) -> None:
    response = client.get("/profile")

    assert is_redirect(response)
    assert response.headers["Location"] == "/auth/login?next=%2Fprofile"

    location = response.headers["Location"]
    page = text(client.get(location))
    assert "Please log in to access this page." in page

    # The login form posts back to the URL it came from, next included.
    response = submit(client, location, {"username": "alice", "password": PASSWORD})

    assert is_redirect(response)
    assert response.headers["Location"] == "/profile"
    page = text(client.get("/profile"))
    assert "<dt>Username</dt><dd>alice</dd>" in page


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "https://evil.com",
        "javascript:alert(1)",
        "/\\evil.com",
        "https:evil.com",
    ],
)
def test_hostile_next_lands_on_home(
    client: FlaskClient, alice: str, target: str
) -> None:
    response = login(client, "alice", next=target)

    assert is_redirect(response)
    assert response.headers["Location"] == "/"


def test_login_page_sends_logged_in_user_on(client: FlaskClient, alice: str) -> None:
    login(client, "alice")

    response = client.get("/auth/login?next=/profile")

    assert is_redirect(response)
    assert response.headers["Location"] == "/profile"


def test_logout_clears_session_and_remember_cookie(
    client: FlaskClient, alice: str
) -> None:
    login(client, "alice", remember=True)
    assert cookie(client, REMEMBER_COOKIE)

    response = logout(client)

    assert is_redirect(response)
    assert response.headers["Location"] == "/"
    assert cookie(client, REMEMBER_COOKIE) is None
    page = text(client.get("/"))
    assert "Hello, stranger" in page
    assert "You have been logged out." in page
    assert is_redirect(client.get("/profile"))


def test_logout_is_post_only(client: FlaskClient, alice: str) -> None:
    login(client, "alice")

    assert client.get("/auth/logout").status_code == 405
    assert "Hello, alice" in text(client.get("/"))


def test_bad_csrf_token_is_refused(client: FlaskClient, alice: str) -> None:
    client.get("/auth/login")

    response = client.post(
        "/auth/login",
        data={"csrf_token": "forged", "username": "alice", "password": PASSWORD},
    )

    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert "Hello, stranger" in text(client.get("/"))


def test_logout_without_csrf_token_is_refused(client: FlaskClient, alice: str) -> None:
    login(client, "alice")

    response = client.post("/auth/logout")

    assert response.status_code == 400
    assert "Hello, alice" in text(client.get("/"))


# Fresh logins


def test_settings_after_remember_cookie_needs_reauthentication(
    client: FlaskClient, alice: str
) -> None:
    login(client, "alice", remember=True)
    assert client.get("/settings").status_code == 200

    # The browser closes: the session cookie goes, the remember cookie stays.
    client.delete_cookie(SESSION_COOKIE)
    response = client.get("/settings")

    assert is_redirect(response)
    location = response.headers["Location"]
    assert location.startswith("/auth/reauthenticate?next=")
    assert "Fresh login</dt>\n    <dd>no" in text(client.get("/profile"))

    response = submit(client, location, {"password": "wrong password"})
    assert response.status_code == 200
    assert "Wrong password." in text(response)
    assert is_redirect(client.get("/settings"))

    response = submit(client, location, {"password": PASSWORD})

    assert is_redirect(response)
    assert response.headers["Location"] == "/settings"
    assert client.get("/settings").status_code == 200


def test_fresh_login_expires(app: Flask, client: FlaskClient, alice: str) -> None:
    clock = Clock()
    app.extensions["sessionauth"].clock = clock
    login(client, "alice")
    assert client.get("/settings").status_code == 200

    clock.now += timedelta(minutes=16).total_seconds()

    response = client.get("/settings")
    assert is_redirect(response)
    assert response.headers["Location"].startswith("/auth/reauthenticate")
    # A stale login still opens pages that need only a login.
    assert client.get("/profile").status_code == 200


def test_reauthenticate_requires_login(client: FlaskClient) -> None:
    response = client.get("/auth/reauthenticate")

    assert is_redirect(response)
    assert response.headers["Location"].startswith("/auth/login?next=")


# Password change and revocation


def test_change_password_revokes_other_clients(app: Flask, alice: str) -> None:
    client_a = app.test_client()
    client_b = app.test_client()
    login(client_a, "alice", remember=True)
    login(client_b, "alice", remember=True)
    remember_a = cookie(client_a, REMEMBER_COOKIE)
    assert remember_a is not None

    response = change_password(client_b, PASSWORD, NEW_PASSWORD)

    assert is_redirect(response)
    assert response.headers["Location"] == "/settings"
    assert "Your password has been changed." in text(client_b.get("/settings"))

    # A's session is refused, and its remember cookie is deleted.
    response = client_a.get("/profile")
    assert is_redirect(response)
    assert response.headers["Location"].startswith("/auth/login")
    assert cookie(client_a, REMEMBER_COOKIE) is None

    # A's remember cookie, replayed alone, is refused too.
    replay = app.test_client()
    replay.set_cookie(REMEMBER_COOKIE, remember_a)
    assert is_redirect(replay.get("/profile"))
    assert "Hello, stranger" in text(replay.get("/"))

    # B stays logged in, by its session and by its rebound remember cookie.
    assert client_b.get("/profile").status_code == 200
    client_b.delete_cookie(SESSION_COOKIE)
    assert "Hello, alice" in text(client_b.get("/"))

    # Only the new password works now.
    assert login(app.test_client(), "alice").status_code == 200
    assert is_redirect(login(app.test_client(), "alice", NEW_PASSWORD))


def test_change_password_needs_old_password(app: Flask, alice: str) -> None:
    client_a = app.test_client()
    client_b = app.test_client()
    login(client_a, "alice")
    login(client_b, "alice")

    response = change_password(client_b, "wrong password", NEW_PASSWORD)

    assert response.status_code == 200
    assert "That is not your current password." in text(response)
    assert client_a.get("/profile").status_code == 200
    assert is_redirect(login(app.test_client(), "alice"))


def test_change_password_checks_confirmation(client: FlaskClient, alice: str) -> None:
    login(client, "alice")

    response = change_password(client, PASSWORD, NEW_PASSWORD, confirm="different")

    assert response.status_code == 200
    assert "The passwords differ." in text(response)


# "Your devices": the login registry's records, signed out one by one

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
DEVICE_ROW = re.compile(
    r'<tr class="device( current)?" data-device="([^"]+)">(.*?)</tr>', re.S
)


class Row(t.NamedTuple):
    """One row of the devices page."""

    id: str
    current: bool
    text: str


def device_client(app: Flask, user_agent: str) -> FlaskClient:
    """A test client that sends ``user_agent``, as a browser on a device."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


def device_rows(client: FlaskClient) -> list[Row]:
    """The rows of the devices page, newest login first."""
    response = client.get("/devices/")
    assert response.status_code == 200, response.status
    return [
        Row(found.group(2), bool(found.group(1)), " ".join(found.group(3).split()))
        for found in DEVICE_ROW.finditer(text(response))
    ]


def sign_out_device(client: FlaskClient, record_id: str) -> TestResponse:
    return submit_from(client, "/devices/", "/devices/sign-out", {"device": record_id})


def sign_out_others(client: FlaskClient) -> TestResponse:
    return submit_from(client, "/devices/", "/devices/sign-out-others")


def test_devices_page_needs_login(client: FlaskClient) -> None:
    response = client.get("/devices/")

    assert is_redirect(response)
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_devices_page_is_linked_from_the_navigation(
    client: FlaskClient, alice: str
) -> None:
    assert 'href="/devices/"' not in text(client.get("/"))
    login(client, "alice")
    assert '<a href="/devices/">Your devices</a>' in text(client.get("/"))


def test_devices_page_lists_every_login(app: Flask, alice: str) -> None:
    laptop = device_client(app, FIREFOX)
    phone = device_client(app, IPHONE)
    login(laptop, "alice", remember=True)
    login(phone, "alice")
    # An API client that sends its password, and then its session cookie.
    api = device_client(app, "curl/8.5.0")
    assert api.get("/api/me", auth=("alice", PASSWORD)).status_code == 200
    assert api.get("/api/me").status_code == 200

    rows = device_rows(phone)

    # Newest first, one row per device, the phone's own marked.
    assert len(rows) == 3
    api_row, phone_row, laptop_row = rows
    assert [row.current for row in rows] == [False, True, False]
    assert "Safari 17 on iPhone" in phone_row.text
    assert "This device" in phone_row.text
    assert "password" in phone_row.text
    assert "remembered" not in phone_row.text
    assert "Firefox 128 on Linux" in laptop_row.text
    assert "password, remembered" in laptop_row.text
    assert "This device" not in laptop_row.text
    assert "curl 8.5.0 on unknown" in api_row.text
    assert "HTTP Basic (API)" in api_row.text
    for row in rows:
        assert "127.0.0.1" in row.text
        assert "just now" in row.text
    # Every other device has a sign-out button; this one logs out in the
    # navigation.
    page = text(phone.get("/devices/"))
    assert page.count('action="/devices/sign-out"') == 2
    assert "Sign out all other devices" in page
    # The laptop sees the same three, itself marked.
    assert [row.current for row in device_rows(laptop)] == [False, False, True]


def test_devices_page_shows_last_seen(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    clock = Clock()
    app.extensions["sessionauth"].clock = clock
    other = app.test_client()
    login(other, "alice")
    clock.now += 60
    login(client, "alice")

    # Within the 30-minute idle timeout.
    clock.now += timedelta(minutes=20).total_seconds()
    # This device is seen now; the other one 21 minutes ago.
    current, older = device_rows(client)

    assert current.current
    assert "just now" in current.text
    assert "21 minutes ago" in older.text


def test_sign_out_one_device(app: Flask, alice: str) -> None:
    laptop = device_client(app, FIREFOX)
    phone = device_client(app, IPHONE)
    login(laptop, "alice", remember=True)
    login(phone, "alice", remember=True)
    phone_remember = cookie(phone, REMEMBER_COOKIE)
    assert phone_remember is not None
    phone_row = next(row for row in device_rows(laptop) if not row.current)
    assert "iPhone" in phone_row.text

    response = sign_out_device(laptop, phone_row.id)

    assert is_redirect(response)
    assert response.headers["Location"] == "/devices/"
    page = text(laptop.get("/devices/"))
    assert "That device has been signed out." in page
    assert [row.current for row in device_rows(laptop)] == [True]

    # The phone is logged out on its next request, and its remember cookie
    # is deleted.
    response = phone.get("/profile")
    assert is_redirect(response)
    assert response.headers["Location"].startswith("/auth/login")
    assert cookie(phone, REMEMBER_COOKIE) is None
    assert "Hello, stranger" in text(phone.get("/"))

    # The phone's remember cookie, sent again on its own, never logs in.
    replay = device_client(app, IPHONE)
    replay.set_cookie(REMEMBER_COOKIE, phone_remember)
    assert "Hello, stranger" in text(replay.get("/"))
    assert replay.get("/api/me").status_code == 401

    # The laptop stays logged in, by its session and by its remember cookie.
    assert laptop.get("/profile").status_code == 200
    laptop.delete_cookie(SESSION_COOKIE)
    assert "Hello, alice" in text(laptop.get("/"))

    # Signing the same device out again changes nothing.
    response = sign_out_device(laptop, phone_row.id)
    assert is_redirect(response)
    assert "That device was already signed out." in text(laptop.get("/devices/"))


def test_sign_out_all_other_devices(app: Flask, alice: str) -> None:
    clients = [device_client(app, agent) for agent in (FIREFOX, IPHONE, "curl/8")]
    for each in clients:
        login(each, "alice", remember=True)
    this, *others = clients
    remember_cookies = [cookie(each, REMEMBER_COOKIE) for each in others]

    response = sign_out_others(this)

    assert is_redirect(response)
    assert "Signed out 2 other devices." in text(this.get("/devices/"))
    assert [row.current for row in device_rows(this)] == [True]
    assert "You are not logged in anywhere else." in text(this.get("/devices/"))
    for each, remember in zip(others, remember_cookies, strict=True):
        assert is_redirect(each.get("/profile"))
        assert cookie(each, REMEMBER_COOKIE) is None
        assert remember is not None
        replay = app.test_client()
        replay.set_cookie(REMEMBER_COOKIE, remember)
        assert "Hello, stranger" in text(replay.get("/"))
    assert this.get("/profile").status_code == 200

    # Nothing left to sign out.
    sign_out_others(this)
    assert "No other device was signed in." in text(this.get("/devices/"))


def test_sign_out_needs_csrf_token(app: Flask, alice: str) -> None:
    laptop = device_client(app, FIREFOX)
    phone = device_client(app, IPHONE)
    login(laptop, "alice")
    login(phone, "alice")
    phone_id = next(row.id for row in device_rows(laptop) if not row.current)

    for data in ({"device": phone_id}, {"device": phone_id, "csrf_token": "forged"}):
        response = laptop.post("/devices/sign-out", data=data)
        assert response.status_code == 400
        assert "This form has expired" in text(response)
    for data in ({}, {"csrf_token": "forged"}):
        response = laptop.post("/devices/sign-out-others", data=data)
        assert response.status_code == 400
    # GET never signs anything out.
    assert laptop.get("/devices/sign-out").status_code == 405
    assert laptop.get("/devices/sign-out-others").status_code == 405

    # Nothing was signed out.
    assert len(device_rows(laptop)) == 2
    assert phone.get("/profile").status_code == 200


def test_sign_out_never_reaches_another_users_device(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    register(client, "bob", PASSWORD)
    bob = device_client(app, FIREFOX)
    login(bob, "bob")
    (bob_row,) = device_rows(bob)
    login(client, "alice")

    # alice posts bob's record id: it is not one of hers.
    response = sign_out_device(client, bob_row.id)

    assert is_redirect(response)
    assert "That device was already signed out." in text(client.get("/devices/"))
    assert bob.get("/profile").status_code == 200
    assert [row.id for row in device_rows(bob)] == [bob_row.id]


@pytest.mark.parametrize(
    "record_id", ["", "x" * 65, "not an id", "é" * 10, "../../etc", "a\x00b"]
)
def test_sign_out_refuses_malformed_device_id(
    client: FlaskClient, alice: str, record_id: str
) -> None:
    login(client, "alice")

    response = sign_out_device(client, record_id)

    assert response.status_code == 400
    assert client.get("/profile").status_code == 200


def test_sign_out_this_device_logs_it_out(client: FlaskClient, alice: str) -> None:
    """The page offers no button for this device, but a hand-made form that
    names it logs this browser out, as "Log out" does."""
    login(client, "alice", remember=True)
    (row,) = device_rows(client)

    sign_out_device(client, row.id)

    assert cookie(client, REMEMBER_COOKIE) is None
    assert is_redirect(client.get("/profile"))


def test_customer_devices_leave_out_staff_logins(
    app: Flask, client: FlaskClient, sam: str
) -> None:
    login(client, "alice")
    staff_login(client, "sam")
    other = app.test_client()
    staff_login(other, "sam", remember=True)

    # alice (customer 1) sees her one login; sam (staff member 1) has two,
    # in the staff realm's registry.
    assert len(device_rows(client)) == 1
    staff = app.extensions["sessionauth.realms"]["staff"]
    with app.app_context():
        member = models.StaffMember.get(1)
        assert member is not None
        records = staff.sessions(member)
    assert [record.realm for record in records] == ["staff", "staff"]
    assert [record.remember for record in records] == [True, False]

    # Signing out alice's other devices leaves sam's staff logins alone.
    sign_out_others(client)
    assert who(text(other.get("/staff/"))) == "sam"
    assert who(text(client.get("/staff/"))) == "sam"


def test_change_password_can_keep_other_devices(app: Flask, alice: str) -> None:
    laptop = device_client(app, FIREFOX)
    phone = device_client(app, IPHONE)
    login(laptop, "alice", remember=True)
    login(phone, "alice", remember=True)

    response = submit(
        phone,
        "/settings",
        {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "keep_other_devices": "y",
        },
    )

    # The phone is sent to its devices page, to sign out what it does not
    # recognise; the laptop stays logged in.
    assert is_redirect(response)
    assert response.headers["Location"] == "/devices/"
    page = text(phone.get("/devices/"))
    assert "Your other devices are still logged in" in page
    assert len(device_rows(phone)) == 2
    assert laptop.get("/profile").status_code == 200
    laptop.delete_cookie(SESSION_COOKIE)
    assert "Hello, alice" in text(laptop.get("/"))
    # The new password is the one that works.
    assert is_redirect(login(app.test_client(), "alice", NEW_PASSWORD))


def test_change_password_signs_out_other_devices_by_default(
    app: Flask, alice: str
) -> None:
    laptop = device_client(app, FIREFOX)
    phone = device_client(app, IPHONE)
    login(laptop, "alice", remember=True)
    login(phone, "alice", remember=True)
    page = text(phone.get("/settings"))
    # The box to keep the other devices is there, and not ticked.
    box = re.search(r'<input[^>]*name="keep_other_devices"[^>]*>', page)
    assert box is not None
    assert "checked" not in box.group(0)

    change_password(phone, PASSWORD, NEW_PASSWORD)

    assert [row.current for row in device_rows(phone)] == [True]
    assert is_redirect(laptop.get("/profile"))
    assert cookie(laptop, REMEMBER_COOKIE) is None


class FlakyStore(MemoryLoginStore):
    """An in-memory registry that can be made to fail, as a store whose
    server is down."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()

    def _check(self, method: str) -> None:
        if method in self.down or "all" in self.down:
            raise StoreUnavailable("the store is down")

    def get(self, record_id: str, now: float) -> LoginRecord | None:
        self._check("get")
        return super().get(record_id, now)

    def user_records(
        self, realm: str | None, user_id: str, now: float
    ) -> list[LoginRecord]:
        self._check("user_records")
        return super().user_records(realm, user_id, now)


def test_devices_page_while_the_registry_is_down(
    app: Flask, client: FlaskClient, alice: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore()
    app.extensions["sessionauth"].registry = store
    login(client, "alice")

    # The login can be checked, the list cannot be read: a 503 page.
    store.down = {"user_records"}
    response = client.get("/devices/")
    assert response.status_code == 503
    assert "Try again soon" in text(response)

    # The login cannot be checked: the request is anonymous, never a 500,
    # and the API says why.
    store.down = {"all"}
    response = client.get("/devices/")
    assert is_redirect(response)
    assert response.headers["Location"].startswith("/auth/login")
    response = client.get("/api/me")
    assert response.status_code == 503
    assert response.get_json()["error"] == "registry_unavailable"

    # Back up: the same session is logged in again.
    store.down = set()
    assert client.get("/profile").status_code == 200


def test_devices_page_with_the_registry_off(tmp_path: Path, fast_hashes: None) -> None:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "db.sqlite"),
            "SECRET_KEY": "test",
            "LOGIN_REGISTRY": "off",
        },
        instance_path=tmp_path / "instance",
    )
    assert app.extensions["sessionauth"].registry is None
    client = app.test_client()
    register(client, "alice", PASSWORD)
    login(client, "alice")

    assert "The login registry is off" in text(client.get("/devices/"))
    assert sign_out_others(client).status_code == 404


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"LOGIN_REGISTRY": "sql"}, "LOGIN_REGISTRY is 'sql'"),
        ({"LOGIN_REGISTRY": "redis"}, "needs REDIS_URL"),
        ({"SESSION_TYPE": "filesystem"}, "supports only 'redis'"),
    ],
)
def test_registry_settings_are_checked(
    tmp_path: Path, config: dict[str, str], message: str
) -> None:
    with pytest.raises(RuntimeError, match=message):
        create_app(
            {"DATABASE": str(tmp_path / "db.sqlite"), "SECRET_KEY": "test", **config},
            instance_path=tmp_path / "instance",
        )


def test_redis_url_chooses_the_redis_registry(tmp_path: Path) -> None:
    # The client connects on first use only, so no server is needed here.
    app = create_app(
        {
            "DATABASE": str(tmp_path / "db.sqlite"),
            "SECRET_KEY": "test",
            "REDIS_URL": "redis://127.0.0.1:1/0",
        },
        instance_path=tmp_path / "instance",
    )
    realms = app.extensions["sessionauth.realms"]
    store = realms[None].registry
    assert isinstance(store, RedisLoginStore)
    assert store.prefix == "example_app:"
    assert realms["staff"].registry is store
    # Flask's signed-cookie sessions, unless SESSION_TYPE asks for Redis.
    assert type(app.session_interface).__name__ == "SecureCookieSessionInterface"


@pytest.mark.parametrize(
    ("user_agent", "browser", "system"),
    [
        (FIREFOX, "Firefox 128", "Linux"),
        (IPHONE, "Safari 17", "iPhone"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML,"
            " like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge 126",
            "Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36"
            " (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            "Chrome 126",
            "macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML,"
            " like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome 126",
            "Android",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like"
            " Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
            "Chrome (headless) 131",
            "Linux",
        ),
        ("curl/8.5.0", "curl 8.5.0", "unknown"),
        ("python-requests/2.32.3", "python-requests 2.32.3", "unknown"),
        ("Mozilla/5.0", "unknown", "unknown"),
        ("", "unknown", "unknown"),
        (None, "unknown", "unknown"),
        ("<script>", "unknown", "unknown"),
    ],
)
def test_describe_user_agent(user_agent: str | None, browser: str, system: str) -> None:
    assert describe_user_agent(user_agent) == (browser, system)


def test_user_agent_is_escaped_on_the_devices_page(app: Flask, alice: str) -> None:
    client = device_client(app, "<b>evil</b>/1.0 (<script>alert(1)</script>)")
    login(client, "alice")

    page = text(client.get("/devices/"))

    assert "<script>alert(1)</script>" not in page
    assert "<b>" not in page


# API tokens: made on their page, shown once, listed, revoked; used on the API

TOKEN = re.compile(r"sat_[0-9A-Za-z]{49}")
NEW_TOKEN_INPUT = re.compile(r'<input type="text" id="new-token"[^>]*>')
TOKEN_ROW = re.compile(r'<tr class="token" data-token="([^"]+)">(.*?)</tr>', re.S)


TOKEN_CELL = re.compile(r'<td class="token-([a-z-]+)">(.*?)</td>', re.S)


class TokenRow(t.NamedTuple):
    """One row of a table of API tokens: its record id, and the text of its
    cells (not its HTML, whose CSRF token changes every second)."""

    id: str
    name: str
    scopes: str
    created: str
    expires: str
    last_used: str

    @classmethod
    def parse(cls, token_id: str, html: str) -> TokenRow:
        cells = {
            name: " ".join(re.sub(r"<[^>]*>", "", cell).split())
            for name, cell in TOKEN_CELL.findall(html)
        }
        return cls(
            token_id,
            cells["name"],
            cells["scopes"],
            cells["created"],
            cells["expires"],
            cells["last-used"],
        )


def create_token(
    client: FlaskClient,
    name: str = "ci deploy",
    scopes: t.Sequence[str] = ("read", "deploy"),
    expires: str = "30 days",
) -> TestResponse:
    """Send the form of the API tokens page, as a browser would."""
    return client.post(
        "/tokens/",
        data={
            "csrf_token": csrf_token(client, "/tokens/"),
            "name": name,
            "scopes": list(scopes),
            "expires": expires,
        },
    )


def shown_token(response: TestResponse) -> str:
    """The new token the page shows, from its read-only field."""
    assert response.status_code == 200, response.status
    field = NEW_TOKEN_INPUT.search(text(response))
    assert field is not None, "no new token on the page"
    assert " readonly" in field.group(0)
    value = re.search(r'value="([^"]*)"', field.group(0))
    assert value is not None
    return value.group(1)


def new_token(client: FlaskClient, **form: t.Any) -> str:
    """Make a token on the page and return it."""
    return shown_token(create_token(client, **form))


def token_rows(client: FlaskClient, page: str = "/tokens/") -> list[TokenRow]:
    """The rows of the table of API tokens on ``page``, newest first."""
    response = client.get(page)
    assert response.status_code == 200, response.status
    return [
        TokenRow.parse(found.group(1), found.group(2))
        for found in TOKEN_ROW.finditer(text(response))
    ]


def revoke_token(
    client: FlaskClient, token_id: str, page: str = "/tokens/", back: str = "tokens"
) -> TestResponse:
    return submit_from(
        client, page, "/tokens/revoke", {"token": token_id, "back": back}
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def flashed(client: FlaskClient, path: str) -> list[str]:
    """The messages flashed on the page at ``path``, as HTML."""
    return re.findall(
        r'<li class="flash flash-\w+">([^<]*)</li>', text(client.get(path))
    )


def test_tokens_page_needs_login(client: FlaskClient) -> None:
    response = client.get("/tokens/")

    assert is_redirect(response)
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_tokens_page_is_linked_from_the_navigation(
    client: FlaskClient, alice: str
) -> None:
    assert 'href="/tokens/"' not in text(client.get("/"))
    login(client, "alice")
    assert '<a href="/tokens/">API tokens</a>' in text(client.get("/"))
    page = text(client.get("/tokens/"))
    assert "<h1>API tokens</h1>" in page
    assert "You have no API tokens." in page


def test_create_token_shows_it_once(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    login(client, "alice")

    response = create_token(client, "ci deploy", ["read", "deploy"], "30 days")

    token = shown_token(response)
    assert TOKEN.fullmatch(token)
    page = text(response)
    assert "Your new token “ci deploy”" in page
    assert "it is shown only this once" in page
    # The only copy of the token is kept out of caches.
    assert response.headers["Cache-Control"] == "no-store"
    # The copy button is hidden until its script shows it: without
    # JavaScript the read-only field is all there is, and it is enough.
    assert (
        '<button type="button" class="button copy" data-copy="new-token" hidden>'
        in page
    )
    assert '<script src="/static/copy.js" defer></script>' in page
    with client.get("/static/copy.js") as script:
        assert script.status_code == 200
        assert "navigator.clipboard" in script.get_data(as_text=True)
    # The form is empty again, for the next token.
    assert 'value="ci deploy"' not in page
    # The token is listed at once.
    (row,) = TOKEN_ROW.findall(page)
    assert "ci deploy" in row[1]

    # Never again: not on the page, not on the devices page.
    for path in ("/tokens/", "/devices/"):
        again = client.get(path)
        assert token not in text(again)
        assert 'id="new-token"' not in text(again)
        assert "copy.js" not in text(again)
        assert "no-store" not in again.headers.get("Cache-Control", "")
    (row,) = token_rows(client)
    assert row.name == "ci deploy"
    assert row.scopes == "deploy, read"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row.created)
    assert row.expires == "in 30 days"
    assert row.last_used == "none recorded"

    # It works on the API at once.
    response = app.test_client().get("/api/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json == {"id": 1, "username": "alice"}


def test_create_token_needs_fresh_login(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    login(client, "alice", remember=True)
    new_token(client, name="fresh")
    # The browser closes: the remember cookie logs alice in again, not fresh.
    client.delete_cookie(SESSION_COOKIE)

    # Seeing the tokens and revoking one need no password ...
    (row,) = token_rows(client)
    # ... making one does.
    response = create_token(client, name="stale")
    assert is_redirect(response)
    location = response.headers["Location"]
    assert location == "/auth/reauthenticate?next=%2Ftokens%2F"
    assert token_rows(client) == [row]
    assert is_redirect(revoke_token(client, row.id))
    assert token_rows(client) == []

    # The password again, and the form works.
    assert is_redirect(submit(client, location, {"password": PASSWORD}))
    token = new_token(client, name="fresh again")
    assert app.test_client().get("/api/me", headers=bearer(token)).status_code == 200


def test_token_list_never_shows_secrets(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    login(client, "alice")
    tokens = [
        new_token(client, name="first", scopes=["read"]),
        new_token(client, name="second", scopes=["deploy"], expires="never"),
    ]
    for token in tokens:
        assert app.test_client().get("/", headers=bearer(token)).status_code == 200

    pages = [text(client.get(path)) for path in ("/tokens/", "/devices/", "/")]

    for token in tokens:
        secret = token.removeprefix("sat_")
        for page in pages:
            assert secret not in page
            # Nor a good part of it: no page shows a token's beginning or end.
            assert secret[:12] not in page
            assert secret[-12:] not in page
    # The rows are named by the records' ids, SHA-256 hashes of the tokens.
    rows = token_rows(client)
    assert [row.name for row in rows] == ["second", "first"]
    manager = app.extensions["sessionauth"]
    with app.test_request_context():
        user = models.User.get(1)
        records = manager.tokens(user)
    assert [record.id for record in records] == [row.id for row in rows]
    for record in records:
        for token in tokens:
            assert token not in repr(record)


@pytest.mark.parametrize(
    ("expires", "shown", "days"),
    [
        ("7 days", "in 7 days", 7),
        ("30 days", "in 30 days", 30),
        ("90 days", "in 90 days", 90),
    ],
)
def test_create_token_expires(
    app: Flask, client: FlaskClient, alice: str, expires: str, shown: str, days: int
) -> None:
    clock = Clock()
    app.extensions["sessionauth"].clock = clock
    login(client, "alice")
    token = new_token(client, expires=expires)
    (row,) = token_rows(client)
    assert row.expires == shown
    api = app.test_client()

    clock.now += timedelta(days=days).total_seconds() - 60
    assert api.get("/api/me", headers=bearer(token)).status_code == 200

    clock.now += 61
    response = api.get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_token"


def test_create_token_that_never_expires(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    clock = Clock()
    app.extensions["sessionauth"].clock = clock
    login(client, "alice", remember=True)
    token = new_token(client, expires="never")
    (row,) = token_rows(client)
    assert row.expires == "never"

    clock.now += timedelta(days=10 * 365).total_seconds()
    assert app.test_client().get("/api/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        (
            {"name": "", "scopes": ["read"]},
            ["Give the token a name, such as &#34;ci deploy&#34;."],
        ),
        ({"name": "   ", "scopes": ["read"]}, ["Give the token a name"]),
        ({"name": "x" * 101, "scopes": ["read"]}, ["Use at most 100 characters."]),
        ({"name": "ci", "scopes": []}, ["Choose at least one scope."]),
        (
            {"name": "ci", "scopes": ["admin"]},
            ["&#39;admin&#39; is not a valid choice"],
        ),
        (
            {"name": "ci", "scopes": ["read"], "expires": "365 days"},
            ["Not a valid choice."],
        ),
    ],
)
def test_create_token_checks_fields(
    client: FlaskClient, alice: str, form: dict[str, t.Any], errors: list[str]
) -> None:
    login(client, "alice")

    response = create_token(client, **form)

    assert response.status_code == 200
    page = text(response)
    for error in errors:
        assert error in page
    assert 'id="new-token"' not in page
    assert token_rows(client) == []


def test_token_name_is_escaped(app: Flask, client: FlaskClient, alice: str) -> None:
    login(client, "alice")
    name = "<script>alert(1)</script>"

    page = text(create_token(client, name=name))

    assert name not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for path in ("/tokens/", "/devices/"):
        assert name not in text(client.get(path))
    (row,) = token_rows(client)
    revoke_token(client, row.id)
    page = text(client.get("/tokens/"))
    assert name not in page
    assert "The token &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34; has been" in page


def test_revoke_token(app: Flask, client: FlaskClient, alice: str) -> None:
    login(client, "alice")
    kept = new_token(client, name="kept")
    token = new_token(client, name="revoked")
    api = app.test_client()
    assert api.get("/api/me", headers=bearer(token)).status_code == 200
    revoked, _ = token_rows(client)
    assert revoked.name == "revoked"
    assert "Revoke revoked" in text(client.get("/tokens/"))

    response = revoke_token(client, revoked.id)

    assert is_redirect(response)
    assert response.headers["Location"] == "/tokens/"
    page = text(client.get("/tokens/"))
    assert (
        "The token &#34;revoked&#34; has been revoked: a client that sends it now"
        " gets 401." in page
    )
    assert [row.name for row in token_rows(client)] == ["kept"]

    # Refused on its very next request, as RFC 6750 says: invalid_token.
    response = api.get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json == {
        "error": "invalid_token",
        "message": "The API token is not valid: unknown, expired or revoked.",
    }
    assert (
        'Bearer realm="example_app", error="invalid_token"'
        in response.headers.getlist("WWW-Authenticate")
    )
    # The other token, and the browser, are untouched.
    assert api.get("/api/me", headers=bearer(kept)).status_code == 200
    assert client.get("/profile").status_code == 200

    # Revoking it again changes nothing.
    response = revoke_token(client, revoked.id)
    assert is_redirect(response)
    assert "That token was already revoked." in text(client.get("/tokens/"))


def test_revoke_token_from_the_devices_page(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    login(client, "alice")
    token = new_token(client)
    (row,) = token_rows(client, "/devices/")

    response = revoke_token(client, row.id, page="/devices/", back="devices")

    assert is_redirect(response)
    assert response.headers["Location"] == "/devices/"
    assert token_rows(client, "/devices/") == []
    assert app.test_client().get("/api/me", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("back", ["https://evil.com", "//evil.com", "", "views.home"])
def test_revoke_token_goes_back_to_its_own_pages_only(
    client: FlaskClient, alice: str, back: str
) -> None:
    login(client, "alice")
    new_token(client)
    (row,) = token_rows(client)

    response = revoke_token(client, row.id, back=back)

    assert is_redirect(response)
    assert response.headers["Location"] == "/tokens/"


def test_token_forms_need_csrf_token(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    login(client, "alice")
    token = new_token(client)
    (row,) = token_rows(client)

    form = {"name": "forged", "scopes": ["read", "deploy"], "expires": "never"}
    for data in (form, {**form, "csrf_token": "forged"}):
        response = client.post("/tokens/", data=data)
        assert response.status_code == 400
        assert "This form has expired" in text(response)
        assert token not in text(response)
        assert TOKEN.search(text(response)) is None
    for fields in ({"token": row.id}, {"token": row.id, "csrf_token": "forged"}):
        response = client.post("/tokens/revoke", data=fields)
        assert response.status_code == 400
        assert "This form has expired" in text(response)
    # GET never revokes anything.
    assert client.get("/tokens/revoke").status_code == 405
    assert client.get(f"/tokens/revoke?token={row.id}").status_code == 405

    # Nothing was made, nothing revoked.
    assert token_rows(client) == [row]
    assert app.test_client().get("/api/me", headers=bearer(token)).status_code == 200


def test_revoke_never_reaches_another_users_token(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    register(client, "bob", PASSWORD)
    bob = app.test_client()
    login(bob, "bob")
    bob_token = new_token(bob)
    (bob_row,) = token_rows(bob)
    login(client, "alice")

    # alice posts the id of bob's token: it is not one of hers.
    response = revoke_token(client, bob_row.id)

    assert is_redirect(response)
    assert "That token was already revoked." in text(client.get("/tokens/"))
    assert token_rows(bob) == [bob_row]
    response = app.test_client().get("/api/me", headers=bearer(bob_token))
    assert response.json == {"id": 2, "username": "bob"}
    # Nor does alice see it.
    assert token_rows(client) == []
    assert token_rows(client, "/devices/") == []


@pytest.mark.parametrize(
    "token_id", ["", "x" * 65, "not an id", "é" * 10, "../../etc", "a\x00b"]
)
def test_revoke_refuses_malformed_token_id(
    client: FlaskClient, alice: str, token_id: str
) -> None:
    login(client, "alice")
    new_token(client)

    response = revoke_token(client, token_id)

    assert response.status_code == 400
    assert len(token_rows(client)) == 1


def test_devices_page_lists_tokens_beside_sessions(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    clock = Clock()
    app.extensions["sessionauth"].clock = clock
    login(client, "alice")
    laptop = device_client(app, FIREFOX)
    login(laptop, "alice")
    new_token(client, name="ci read", scopes=["read"], expires="7 days")
    clock.now += 60
    token = new_token(client, name="ci deploy", scopes=["deploy"], expires="never")
    page = text(client.get("/devices/"))
    assert "You have no API tokens." not in page

    # The browsers in one table, the tokens in another: a token is no
    # device.
    assert len(device_rows(client)) == 2
    tokens = token_rows(client, "/devices/")
    newest, oldest = tokens
    assert (newest.name, newest.scopes, newest.expires) == (
        "ci deploy",
        "deploy",
        "never",
    )
    assert (oldest.name, oldest.scopes, oldest.expires) == (
        "ci read",
        "read",
        "in 7 days",
    )
    assert newest.last_used == oldest.last_used == "none recorded"
    # Each with the same revoke button as on the tokens page, back to here.
    assert page.count('action="/tokens/revoke"') == 2
    assert page.count('name="back" value="devices"') == 2

    # Last used: recorded once the token is used, at most every 5 minutes.
    api = app.test_client()
    clock.now += 60
    assert api.post("/api/deploy", json={}, headers=bearer(token)).status_code == 202
    assert token_rows(client, "/devices/")[0].last_used == "none recorded"
    clock.now += timedelta(minutes=5).total_seconds()
    assert api.post("/api/deploy", json={}, headers=bearer(token)).status_code == 202
    clock.now += timedelta(minutes=3).total_seconds()
    newest = token_rows(client, "/devices/")[0]
    assert newest.last_used == "3 minutes ago"
    # A token request is no device: no row, and no session for it.
    assert len(device_rows(client)) == 2


def test_devices_page_without_tokens(client: FlaskClient, alice: str) -> None:
    login(client, "alice")

    page = text(client.get("/devices/"))

    assert "You have no API tokens." in page
    assert "Your API tokens below stay" not in page
    assert "You are not logged in anywhere else." in page


def test_sign_out_all_other_devices_keeps_tokens(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    """A token is no device: "Sign out all other devices" leaves it, and
    says so; the token is revoked on its own."""
    login(client, "alice")
    laptop = device_client(app, FIREFOX)
    login(laptop, "alice")
    token = new_token(client)
    api = app.test_client()
    page = text(client.get("/devices/"))
    assert "Your API tokens below stay" in page

    sign_out_others(client)

    assert flashed(client, "/devices/") == ["Signed out 1 other device."]
    assert is_redirect(laptop.get("/profile"))
    assert api.get("/api/me", headers=bearer(token)).status_code == 200
    assert len(token_rows(client, "/devices/")) == 1
    assert "Your API tokens below stay" not in text(client.get("/devices/"))


def test_password_change_ends_tokens(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    login(client, "alice")
    token = new_token(client)

    change_password(client, PASSWORD, NEW_PASSWORD)

    response = app.test_client().get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_token"
    assert token_rows(client) == []


def test_password_change_can_keep_tokens(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    login(client, "alice")
    token = new_token(client)

    submit(
        client,
        "/settings",
        {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "keep_other_devices": "y",
        },
    )

    assert app.test_client().get("/api/me", headers=bearer(token)).status_code == 200
    assert len(token_rows(client)) == 1


def test_api_token_cannot_manage_tokens_or_devices(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    """A token that may only read cannot make itself one that may deploy, nor
    sign the user's browsers out."""
    login(client, "alice")
    token = new_token(client, scopes=["read"])
    (row,) = token_rows(client)
    api = app.test_client()
    # A CSRF token of the client's own session, as a script could get one.
    csrf = csrf_token(api, "/auth/login")

    for method, path, data in [
        ("GET", "/tokens/", None),
        ("GET", "/devices/", None),
        (
            "POST",
            "/tokens/",
            {"csrf_token": csrf, "name": "x", "scopes": "deploy", "expires": "never"},
        ),
        ("POST", "/tokens/revoke", {"csrf_token": csrf, "token": row.id}),
        ("POST", "/devices/sign-out-others", {"csrf_token": csrf}),
    ]:
        response = api.open(path, method=method, data=data, headers=bearer(token))
        assert response.status_code == 403, (method, path)
        assert response.json is not None
        assert response.json["error"] == "forbidden"
        assert TOKEN.search(text(response)) is None

    assert token_rows(client) == [row]
    assert client.get("/profile").status_code == 200
    assert api.get("/api/me", headers=bearer(token)).status_code == 200


def test_tokens_page_with_the_registry_off(tmp_path: Path, fast_hashes: None) -> None:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "db.sqlite"),
            "SECRET_KEY": "test",
            "LOGIN_REGISTRY": "off",
        },
        instance_path=tmp_path / "instance",
    )
    client = app.test_client()
    register(client, "alice", PASSWORD)
    login(client, "alice")

    page = text(client.get("/tokens/"))

    assert "API tokens are kept there, so this app issues none." in page
    assert '<form method="post" action="/tokens/"' not in page
    response = client.post(
        "/tokens/",
        data={"csrf_token": csrf_token(client, "/"), "name": "x", "scopes": "read"},
    )
    assert response.status_code == 404
    assert revoke_token(client, "x" * 43, page="/").status_code == 404


def test_tokens_page_while_the_registry_is_down(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    store = FlakyStore()
    app.extensions["sessionauth"].registry = store
    login(client, "alice")
    token = new_token(client)

    store.down = {"user_records"}
    response = client.get("/tokens/")
    assert response.status_code == 503
    assert "Try again soon" in text(response)

    # A token that cannot be checked is refused, never a 500: 503 for the
    # API, as for a session.
    store.down = {"all"}
    response = app.test_client().get("/api/me", headers=bearer(token))
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["error"] == "registry_unavailable"

    store.down = set()
    assert app.test_client().get("/api/me", headers=bearer(token)).status_code == 200


# The JSON API


def test_api_me_unauthorized(client: FlaskClient) -> None:
    response = client.get("/api/me")

    assert response.status_code == 401
    # Two challenges: a password (Basic) or an API token (Bearer).
    assert response.headers.getlist("WWW-Authenticate") == [
        'Basic realm="example_app"',
        'Bearer realm="example_app"',
    ]
    assert response.json == {
        "error": "unauthorized",
        "message": "Authentication required.",
    }


def test_api_me_wrong_basic_password(app: Flask, alice: str) -> None:
    client = app.test_client()

    response = client.get("/api/me", auth=("alice", "wrong password"))

    assert response.status_code == 401
    assert cookie(client, SESSION_COOKIE) is None


def test_api_basic_sets_session_cookie(client: FlaskClient, alice: str) -> None:
    response = client.get("/api/me", auth=("alice", PASSWORD))

    assert response.status_code == 200
    assert response.json == {"id": 1, "username": "alice"}
    assert cookie(client, SESSION_COOKIE)

    response = client.get("/api/me")

    assert response.status_code == 200
    assert response.json == {"id": 1, "username": "alice"}


def test_api_me_by_session_cookie_from_html_login(
    client: FlaskClient, alice: str
) -> None:
    login(client, "alice")

    response = client.get("/api/me")

    assert response.status_code == 200
    assert response.json == {"id": 1, "username": "alice"}


def test_api_me_by_remember_cookie_alone(app: Flask, alice: str) -> None:
    browser = app.test_client()
    login(browser, "alice", remember=True)
    remember = cookie(browser, REMEMBER_COOKIE)
    assert remember is not None
    api_client = app.test_client()
    api_client.set_cookie(REMEMBER_COOKIE, remember)

    response = api_client.get("/api/me")

    assert response.status_code == 200
    assert response.json == {"id": 1, "username": "alice"}


def test_api_password_flow(app: Flask, client: FlaskClient, alice: str) -> None:
    basic = ("alice", PASSWORD)
    body = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}

    response = client.post(
        "/api/password",
        json={"old_password": "wrong password", "new_password": NEW_PASSWORD},
        auth=basic,
    )
    assert response.status_code == 403
    assert response.json is not None
    assert response.json["error"] == "forbidden"
    assert client.get("/api/me", auth=basic).status_code == 200

    # What a cross-site HTML form could send: refused before anything runs.
    response = client.post("/api/password", data=body, auth=basic)
    assert response.status_code == 415
    assert response.json is not None
    assert response.json["error"] == "unsupported_media_type"
    response = client.post(
        "/api/password", data="{}", content_type="text/plain", auth=basic
    )
    assert response.status_code == 415
    assert app.test_client().get("/api/me", auth=basic).status_code == 200

    response = client.post("/api/password", json=body, auth=basic)
    assert response.status_code == 204
    assert response.get_data() == b""

    # The old password is refused; the new one works.
    fresh_client = app.test_client()
    assert fresh_client.get("/api/me", auth=basic).status_code == 401
    assert fresh_client.get("/api/me", auth=("alice", NEW_PASSWORD)).status_code == 200
    # The client that changed it stays logged in by its session cookie.
    assert client.get("/api/me").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"old_password": PASSWORD},
        {"old_password": PASSWORD, "new_password": 12345678},
        {"old_password": PASSWORD, "new_password": "short"},
        ["not", "an", "object"],
    ],
)
def test_api_password_bad_request(client: FlaskClient, alice: str, body: t.Any) -> None:
    response = client.post("/api/password", json=body, auth=("alice", PASSWORD))

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "bad_request"
    assert client.get("/api/me", auth=("alice", PASSWORD)).status_code == 200


def test_api_password_malformed_json(client: FlaskClient, alice: str) -> None:
    response = client.post(
        "/api/password",
        data="{not json",
        content_type="application/json",
        auth=("alice", PASSWORD),
    )

    assert response.status_code == 400


def test_api_password_requires_login(client: FlaskClient) -> None:
    response = client.post(
        "/api/password", json={"old_password": "x", "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="example_app"'


def test_api_password_revokes_html_sessions(app: Flask, alice: str) -> None:
    browser = app.test_client()
    login(browser, "alice", remember=True)
    api_client = app.test_client()

    response = api_client.post(
        "/api/password",
        json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        auth=("alice", PASSWORD),
    )

    assert response.status_code == 204
    assert is_redirect(browser.get("/profile"))


def test_api_logout(client: FlaskClient, alice: str) -> None:
    assert client.get("/api/me", auth=("alice", PASSWORD)).status_code == 200

    # A form post cannot log the client out.
    assert client.post("/api/logout").status_code == 415
    assert client.get("/api/me").status_code == 200

    response = client.post("/api/logout", json={})

    assert response.status_code == 204
    assert client.get("/api/me").status_code == 401


def test_api_logout_clears_remember_cookie(client: FlaskClient, alice: str) -> None:
    login(client, "alice", remember=True)

    assert client.post("/api/logout", json={}).status_code == 204

    assert cookie(client, REMEMBER_COOKIE) is None
    assert client.get("/api/me").status_code == 401


def test_api_logout_while_logged_out(client: FlaskClient) -> None:
    assert client.post("/api/logout", json={}).status_code == 204


def test_api_with_token(app: Flask, client: FlaskClient, alice: str) -> None:
    login(client, "alice")
    token = new_token(client, scopes=["read", "deploy"])
    api = app.test_client()

    response = api.get("/api/me", headers=bearer(token))

    assert response.status_code == 200
    assert response.json == {"id": 1, "username": "alice"}
    # The token alone: no session, no cookie.
    assert "Set-Cookie" not in response.headers
    assert api.get_cookie(SESSION_COOKIE) is None
    assert api.get("/api/me").status_code == 401

    response = api.post("/api/deploy", json={"ref": "v1.2"}, headers=bearer(token))

    assert response.status_code == 202
    assert response.json == {"status": "deploying", "ref": "v1.2", "by": "alice"}
    response = api.post("/api/deploy", json={}, headers=bearer(token))
    assert response.json is not None
    assert response.json["ref"] == "main"
    # Still JSON only: a form post is refused before the token is looked at.
    response = api.post("/api/deploy", data={"ref": "x"}, headers=bearer(token))
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("scopes", "method", "path", "needed"),
    [
        (["read"], "POST", "/api/deploy", "deploy"),
        (["deploy"], "GET", "/api/me", "read"),
    ],
)
def test_api_refuses_token_without_the_scope(
    app: Flask,
    client: FlaskClient,
    alice: str,
    scopes: list[str],
    method: str,
    path: str,
    needed: str,
) -> None:
    login(client, "alice")
    token = new_token(client, scopes=scopes)
    api = app.test_client()

    response = api.open(path, method=method, json={}, headers=bearer(token))

    assert response.status_code == 403
    assert response.json == {
        "error": "insufficient_scope",
        "message": f"The API token lacks the scope this needs: {needed}.",
        "scope": needed,
    }
    assert (
        f'Bearer realm="example_app", error="insufficient_scope", scope="{needed}"'
        in response.headers.getlist("WWW-Authenticate")
    )
    # The token is not ended by it: what it may do still works.
    other = "/api/me" if needed == "deploy" else "/api/deploy"
    response = api.open(
        other,
        method="GET" if needed == "deploy" else "POST",
        json={},
        headers=bearer(token),
    )
    assert response.status_code in (200, 202)


def test_api_scopes_limit_tokens_not_users(client: FlaskClient, alice: str) -> None:
    # A session login, or Basic credentials, pass every scope check.
    login(client, "alice")
    assert client.get("/api/me").status_code == 200
    assert client.post("/api/deploy", json={}).status_code == 202
    basic = ("alice", PASSWORD)
    response = client.post("/api/deploy", json={"ref": "x"}, auth=basic)
    assert response.status_code == 202


@pytest.mark.parametrize(
    "body", [["not", "an", "object"], {"ref": ""}, {"ref": 12}, {"ref": "x" * 101}]
)
def test_api_deploy_bad_request(client: FlaskClient, alice: str, body: t.Any) -> None:
    login(client, "alice")

    response = client.post("/api/deploy", json=body)

    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == "bad_request"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer ",
        "Bearer sat_",
        "Bearer sat_" + "A" * 49,
        "Bearer " + "x" * 1_000_000,
        "Bearer tökén",
        "bearer a b",
    ],
)
def test_api_refuses_bad_tokens(
    client: FlaskClient, alice: str, authorization: str
) -> None:
    login(client, "alice")

    # Even beside a good session cookie: a Bearer header decides alone.
    response = client.get("/api/me", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "invalid_token"


def test_api_deploy_requires_login(client: FlaskClient) -> None:
    response = client.post("/api/deploy", json={})

    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"] == "unauthorized"


def test_api_password_refuses_tokens(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    login(client, "alice")
    token = new_token(client, scopes=["read", "deploy"])
    api = app.test_client()

    response = api.post(
        "/api/password",
        json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(token),
    )

    assert response.status_code == 403
    assert response.json == {
        "error": "forbidden",
        "message": "An API token cannot change the password.",
    }
    # Nothing changed: the old password works, and so does the token.
    assert app.test_client().get("/api/me", auth=("alice", PASSWORD)).status_code == 200
    assert api.get("/api/me", headers=bearer(token)).status_code == 200


def test_api_logout_with_token_revokes_it(
    app: Flask, client: FlaskClient, alice: str
) -> None:
    login(client, "alice")
    token = new_token(client)
    api = app.test_client()

    assert api.post("/api/logout", json={}, headers=bearer(token)).status_code == 204

    assert api.get("/api/me", headers=bearer(token)).status_code == 401
    assert token_rows(client) == []
    assert client.get("/profile").status_code == 200


# The staff area: a second realm, with its own table, login and cookie


def test_staff_area_requires_staff_login(client: FlaskClient) -> None:
    for path in ("/staff/", "/staff/customers"):
        response = client.get(path)

        assert is_redirect(response)
        assert response.headers["Location"] == "/staff/login?" + urlencode(
            {"next": path}
        )

    page = text(client.get("/staff/login?next=%2Fstaff%2F"))
    assert "<h1>Staff login</h1>" in page
    assert "Please log in with your staff account." in page
    assert who(page) is None


def test_staff_login_shows_current_staff(client: FlaskClient, sam: str) -> None:
    response = staff_login(client, "sam", next="/staff/customers")

    assert is_redirect(response)
    assert response.headers["Location"] == "/staff/customers"
    page = text(client.get("/staff/customers"))
    assert who(page) == "sam"
    assert "Logged in to the staff area as sam." in page
    assert "<tr><td>1</td><td>alice</td></tr>" in page
    page = text(client.get("/staff/"))
    assert "<dt>Staff member</dt><dd>sam</dd>" in page
    assert "<dt>Staff id</dt><dd>1</dd>" in page
    assert "<dt>Fresh login</dt><dd>yes</dd>" in page
    assert "<dt>Remember me cookie</dt><dd>no</dd>" in page
    # The staff login page sends a logged-in staff member on.
    response = client.get("/staff/login?next=/staff/customers")
    assert is_redirect(response)
    assert response.headers["Location"] == "/staff/customers"


def test_staff_login_is_not_a_customer_login(client: FlaskClient, sam: str) -> None:
    staff_login(client, "sam", remember=True)
    assert cookie(client, STAFF_REMEMBER_COOKIE)
    assert cookie(client, REMEMBER_COOKIE) is None

    # Staff member 1 is logged in; customer 1, alice, is not.
    page = text(client.get("/"))
    assert "Hello, stranger" in page
    assert who(page) is None
    response = client.get("/profile")
    assert is_redirect(response)
    assert response.headers["Location"].startswith("/auth/login")
    assert client.get("/api/me").status_code == 401
    assert "sam" not in text(client.get("/auth/login"))

    # The staff remember cookie under the customers' name opens nothing.
    staff_remember = cookie(client, STAFF_REMEMBER_COOKIE)
    assert staff_remember is not None
    replay = client.application.test_client()
    replay.set_cookie(REMEMBER_COOKIE, staff_remember)
    assert "Hello, stranger" in text(replay.get("/"))
    assert replay.get("/api/me").status_code == 401


def test_customer_login_never_opens_staff_area(
    app: Flask, client: FlaskClient, sam: str
) -> None:
    # alice is customer 1, sam is staff member 1.
    login(client, "alice", remember=True)
    assert "Hello, alice" in text(client.get("/"))

    response = client.get("/staff/")
    assert is_redirect(response)
    assert response.headers["Location"] == "/staff/login?next=%2Fstaff%2F"
    page = text(client.get("/staff/login"))
    assert who(page) is None
    assert "alice" not in page

    # Neither alice's remember cookie alone, nor the same value under the
    # staff cookie's name, opens the staff area.
    remember = cookie(client, REMEMBER_COOKIE)
    assert remember is not None

    for name in (REMEMBER_COOKIE, STAFF_REMEMBER_COOKIE):
        replay = app.test_client()
        replay.set_cookie(name, remember)
        response = replay.get("/staff/")
        assert is_redirect(response)
        assert response.headers["Location"].startswith("/staff/login")

    # A customer's name and password do not log in to the staff area, and
    # a staff member's do not log in to the customer site.
    response = staff_login(app.test_client(), "alice", PASSWORD)
    assert response.status_code == 200
    assert "Wrong username or password." in text(response)
    response = login(app.test_client(), "sam", STAFF_PASSWORD)
    assert response.status_code == 200
    assert "Wrong username or password." in text(response)


def test_customer_and_staff_in_one_browser(client: FlaskClient, sam: str) -> None:
    login(client, "alice", remember=True)
    assert "Logged in as alice." in text(client.get("/"))
    staff_login(client, "sam", remember=True)
    assert "Logged in to the staff area as sam." in text(client.get("/staff/"))
    customer_remember = cookie(client, REMEMBER_COOKIE)
    assert customer_remember is not None
    assert cookie(client, STAFF_REMEMBER_COOKIE) is not None

    # Each area sees its own user, though both have id 1.
    page = text(client.get("/"))
    assert "Hello, alice" in page
    assert who(page) == "alice"
    assert re.search(r"\bsam\b", page) is None
    page = text(client.get("/staff/"))
    assert who(page) == "sam"
    assert re.search(r"\balice\b", page) is None
    assert client.get("/api/me").json == {"id": 1, "username": "alice"}

    # Logging the staff member out leaves the customer logged in, her
    # remember cookie untouched.
    response = staff_logout(client)

    assert is_redirect(response)
    assert response.headers["Location"] == "/staff/login"
    assert "You have been logged out of the staff area." in text(
        client.get("/staff/login")
    )
    assert cookie(client, STAFF_REMEMBER_COOKIE) is None
    assert cookie(client, REMEMBER_COOKIE) == customer_remember
    assert is_redirect(client.get("/staff/"))
    assert "Hello, alice" in text(client.get("/"))
    assert client.get("/profile").status_code == 200

    # And the other way round: a customer logout leaves the staff member.
    staff_login(client, "sam", remember=True)
    logout(client)

    assert cookie(client, REMEMBER_COOKIE) is None
    assert cookie(client, STAFF_REMEMBER_COOKIE) is not None
    assert "Hello, stranger" in text(client.get("/"))
    assert who(text(client.get("/staff/"))) == "sam"


def test_staff_remember_cookie_lasts_a_working_day(
    client: FlaskClient, sam: str
) -> None:
    response = staff_login(client, "sam", remember=True)

    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith(STAFF_REMEMBER_COOKIE + "="))
    assert "Max-Age=28800" in remember
    assert "SameSite=Lax" in remember
    assert "HttpOnly" in remember

    # The browser closes; the staff remember cookie logs sam in again, not
    # fresh.
    client.delete_cookie(SESSION_COOKIE)
    page = text(client.get("/staff/"))
    assert who(page) == "sam"
    assert "<dt>Fresh login</dt><dd>no</dd>" in page
    assert "<dt>Remember me cookie</dt><dd>yes</dd>" in page


def test_staff_login_idles_out_before_customer_login(
    app: Flask, client: FlaskClient, sam: str
) -> None:
    clock = Clock()
    realms = app.extensions["sessionauth.realms"]
    realms[None].clock = clock
    realms["staff"].clock = clock
    login(client, "alice")
    staff_login(client, "sam")

    # 20 minutes: past the staff realm's 15-minute idle timeout, within the
    # customers' 30.
    clock.now += timedelta(minutes=20).total_seconds()

    response = client.get("/staff/")
    assert is_redirect(response)
    assert response.headers["Location"].startswith("/staff/login")
    page = text(client.get(response.headers["Location"]))
    assert "Your staff session has expired" in page
    assert client.get("/profile").status_code == 200


def test_staff_logout_is_post_only_with_csrf_token(
    client: FlaskClient, sam: str
) -> None:
    staff_login(client, "sam")

    assert client.get("/staff/logout").status_code == 405
    assert client.post("/staff/logout").status_code == 400
    assert who(text(client.get("/staff/"))) == "sam"


def test_staff_logout_while_logged_out(client: FlaskClient) -> None:
    response = submit_from(client, "/staff/login", "/staff/logout")

    assert is_redirect(response)
    assert response.headers["Location"] == "/staff/login"
    assert "You have been logged out" not in text(client.get("/staff/login"))


def test_staff_login_refuses_bad_csrf_token(client: FlaskClient, sam: str) -> None:
    client.get("/staff/login")

    response = client.post(
        "/staff/login",
        data={"csrf_token": "forged", "username": "sam", "password": STAFF_PASSWORD},
    )

    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert is_redirect(client.get("/staff/"))


def test_staff_login_refuses_wrong_password(client: FlaskClient, sam: str) -> None:
    response = staff_login(client, "sam", "wrong password")

    assert response.status_code == 200
    assert "Wrong username or password." in text(response)
    assert is_redirect(client.get("/staff/"))


# The command line


def test_cli_create_user(app: Flask) -> None:
    runner = app.test_cli_runner()

    result = runner.invoke(args=["create-user", "carol", "--password", PASSWORD])

    assert result.exit_code == 0, result.output
    assert "Created user 'carol'" in result.output
    client = app.test_client()
    assert client.get("/api/me", auth=("carol", PASSWORD)).status_code == 200


def test_cli_create_user_prompts_for_password(app: Flask) -> None:
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=["create-user", "dave"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert app.test_client().get("/api/me", auth=("dave", PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-user", "carol", "--password", "short"], "at least 8"),
        (["create-user", "no way", "--password", PASSWORD], "3 to 32"),
    ],
)
def test_cli_create_user_checks_input(
    app: Flask, args: list[str], message: str
) -> None:
    result = app.test_cli_runner().invoke(args=args)

    assert result.exit_code != 0
    assert message in result.output


def test_cli_create_user_refuses_taken_name(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["create-user", "carol", "--password", PASSWORD])

    result = runner.invoke(args=["create-user", "Carol", "--password", PASSWORD])

    assert result.exit_code == 1
    assert "taken" in result.output


def test_cli_create_staff(app: Flask, alice: str) -> None:
    runner = app.test_cli_runner()

    # A staff member may have a customer's name, and is not that customer.
    result = runner.invoke(args=["create-staff", "alice", "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Created staff member 'alice' with id 1." in result.output
    result = runner.invoke(
        args=["create-staff", "sam", "--password", STAFF_PASSWORD, "--id", "7"]
    )
    assert result.exit_code == 0, result.output
    assert "Created staff member 'sam' with id 7." in result.output

    client = app.test_client()
    assert is_redirect(staff_login(client, "sam"))
    assert "<dt>Staff id</dt><dd>7</dd>" in text(client.get("/staff/"))
    client = app.test_client()
    assert staff_login(client, "alice", PASSWORD).status_code == 200
    assert is_redirect(staff_login(client, "alice", NEW_PASSWORD))
    assert who(text(client.get("/staff/"))) == "alice"
    assert "Hello, stranger" in text(client.get("/"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-staff", "SAM", "--password", PASSWORD], "The name 'SAM' is taken."),
        (["create-staff", "tom", "--password", PASSWORD, "--id", "1"], "id 1 is"),
        (["create-staff", "tom", "--password", PASSWORD, "--id", "0"], "--id"),
        (["create-staff", "tom", "--password", "short"], "at least 8"),
        (["create-staff", "t", "--password", PASSWORD], "3 to 32"),
    ],
)
def test_cli_create_staff_checks_input(
    app: Flask, sam: str, args: list[str], message: str
) -> None:
    result = app.test_cli_runner().invoke(args=args)

    assert result.exit_code != 0
    assert message in result.output


def test_cli_init_db(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["create-user", "carol", "--password", PASSWORD])

    result = runner.invoke(args=["init-db"])

    assert result.exit_code == 0
    assert "Initialized the database" in result.output
    # Without --reset, existing users are kept.
    assert app.test_client().get("/api/me", auth=("carol", PASSWORD)).status_code == 200

    result = runner.invoke(args=["init-db", "--reset"], input="n\n")
    assert result.exit_code == 1
    assert app.test_client().get("/api/me", auth=("carol", PASSWORD)).status_code == 200

    result = runner.invoke(args=["init-db", "--reset"], input="y\n")
    assert result.exit_code == 0
    assert app.test_client().get("/api/me", auth=("carol", PASSWORD)).status_code == 401


# Configuration


def test_database_created_on_first_start_with_wal(app: Flask) -> None:
    connection = connect(app.config["DATABASE"])

    try:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        tables = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        ).fetchall()
    finally:
        connection.close()

    assert mode == "wal"
    assert {"users", "staff"} <= {row[0] for row in tables}


def test_database_without_staff_table_gets_one(tmp_path: Path) -> None:
    """A database made before the staff area keeps its users and gains the
    staff table on the next start.
    """
    database = tmp_path / "db.sqlite"
    connection = connect(str(database))

    try:
        connection.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " username TEXT NOT NULL UNIQUE COLLATE NOCASE,"
            " password_hash TEXT NOT NULL, session_token TEXT NOT NULL)"
        )
        connection.execute(
            "INSERT INTO users (username, password_hash, session_token)"
            " VALUES ('alice', ?, 'token')",
            (generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),),
        )
        connection.commit()
    finally:
        connection.close()

    app = create_app(
        {"TESTING": True, "DATABASE": str(database), "SECRET_KEY": "x"},
        instance_path=tmp_path / "instance",
    )

    client = app.test_client()
    assert client.get("/api/me", auth=("alice", PASSWORD)).status_code == 200
    assert is_redirect(client.get("/staff/"))
    assert client.get("/staff/login").status_code == 200


def test_secret_key_generated_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    # The login registry off: in memory, each process would know only its own
    # logins (two processes share them in Redis: tests/test_registry_redis.py).
    config = {
        "TESTING": True,
        "DATABASE": str(tmp_path / "db.sqlite"),
        "LOGIN_REGISTRY": "off",
    }

    with caplog.at_level(logging.WARNING, logger="example_app"):
        first = create_app(config, instance_path=instance)

    key_file = instance / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) == 64
    assert "FLASK_SECRET_KEY" in caplog.text
    assert [name for name in os.listdir(instance) if name != "secret_key"] == []

    second = create_app(config, instance_path=instance)
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]

    # So a login made by one process is honoured by another.
    register(first.test_client(), "alice", PASSWORD)
    one = first.test_client()
    login(one, "alice", remember=True)
    two = second.test_client()
    for name in (SESSION_COOKIE, REMEMBER_COOKIE):
        value = cookie(one, name)
        assert value is not None
        two.set_cookie(name, value)
    assert "Hello, alice" in text(two.get("/"))


def test_configured_secret_key_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("FLASK_DATABASE", str(tmp_path / "env.sqlite"))

    app = create_app(instance_path=tmp_path / "instance")

    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["DATABASE"] == str(tmp_path / "env.sqlite")
    assert (tmp_path / "env.sqlite").is_file()
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_cookie_settings(client: FlaskClient, alice: str) -> None:
    response = login(client, "alice", remember=True)

    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith(REMEMBER_COOKIE + "="))
    session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    assert "SameSite=Lax" in remember
    assert "HttpOnly" in remember
    assert "SameSite=Lax" in session
    assert "HttpOnly" in session


def test_passwords_are_stored_hashed(tmp_path: Path) -> None:
    app = create_app(
        {"TESTING": True, "DATABASE": str(tmp_path / "db.sqlite"), "SECRET_KEY": "x"},
        instance_path=tmp_path / "instance",
    )
    runner = app.test_cli_runner()
    runner.invoke(args=["create-user", "carol", "--password", PASSWORD])
    connection = connect(app.config["DATABASE"])

    try:
        row = connection.execute("SELECT * FROM users").fetchone()
    finally:
        connection.close()

    assert row["password_hash"].startswith("scrypt:")
    assert PASSWORD not in row["password_hash"]
    assert len(row["session_token"]) >= 43
