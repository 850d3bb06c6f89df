"""The example app in a real browser: real cookies, real redirects, real forms
with their CSRF tokens, as a user sees them.
"""

from __future__ import annotations

import re
import time
import typing as t
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest

from helpers import read_lifetime

from .conftest import SESSION_COOKIE

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Cookie
    from playwright.sync_api import Dialog
    from playwright.sync_api import Page
    from playwright.sync_api import Response

    from .conftest import LiveServer
    from .conftest import OpenPage

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple battery horse"
REMEMBER_COOKIE = "remember_token"
USER_ID = "_user_id"


def new_username() -> str:
    # One server serves every test, so each test registers a user of its own.
    return f"user-{uuid.uuid4().hex[:12]}"


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def heading(page: Page) -> str:
    return page.locator("h1").inner_text()


def flashes(page: Page) -> list[str]:
    return page.locator(".flash").all_inner_texts()


def facts(page: Page) -> dict[str, str]:
    """The terms and values of the profile page's list of facts."""
    terms = page.locator("dl.facts dt").all_inner_texts()
    values = page.locator("dl.facts dd").all_inner_texts()
    return dict(zip(terms, values, strict=True))


def cookies(page: Page) -> dict[str, Cookie]:
    return {cookie["name"]: cookie for cookie in page.context.cookies()}


def submit(page: Page, button: str) -> Response:
    """Click a submit button and wait for the page it leads to."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=True).click()

    return navigation.value


def register(page: Page, username: str) -> None:
    page.goto("/auth/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    assert submit(page, "Create account").ok
    assert path_of(page) == "/auth/login"
    assert flashes(page) == [f"Welcome, {username}! Please log in."]


def fill_login(page: Page, username: str, password: str, *, remember: bool) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Remember me on this computer").set_checked(remember)


def log_in(page: Page, username: str, password: str, *, remember: bool) -> Response:
    """Fill in and send the login form of the page the browser is on."""
    fill_login(page, username, password, remember=remember)
    return submit(page, "Log in")


def tamper_csrf_token(page: Page, form: str) -> None:
    page.evaluate(
        "form => { document.querySelector(form + ' input[name=csrf_token]')"
        ".value = 'tampered' }",
        form,
    )


def test_remember_cookie_then_password_change_revokes_it(
    new_page: Callable[[], Page], live_server: LiveServer
) -> None:
    first = new_page()
    username = new_username()
    register(first, username)

    # Log in with "remember me": a browser-session cookie with the login, and
    # a remember cookie that outlives the browser.
    log_in(first, username, PASSWORD, remember=True)
    assert path_of(first) == "/"
    assert heading(first) == f"Hello, {username}"
    assert flashes(first) == [f"Logged in as {username}."]
    jar = cookies(first)
    assert jar[SESSION_COOKIE]["expires"] == -1
    remember = jar[REMEMBER_COOKIE]
    assert remember["expires"] > time.time() + timedelta(days=29).total_seconds()
    assert remember["httpOnly"]
    assert remember["sameSite"] == "Lax"
    user_id = live_server.session(first)[USER_ID]

    # The browser loses its session cookie, as when it is restarted. The
    # remember cookie logs the user in again, with a new session.
    first.context.clear_cookies(name=SESSION_COOKIE)
    assert SESSION_COOKIE not in cookies(first)
    first.reload()
    assert heading(first) == f"Hello, {username}"
    assert live_server.session(first)[USER_ID] == user_id
    assert cookies(first)[REMEMBER_COOKIE]["value"] == remember["value"]

    # A login restored from the cookie is not fresh: settings asks for the
    # password again.
    first.goto("/profile")
    assert facts(first)["User id"] == user_id
    assert facts(first)["Fresh login"].startswith("no")
    assert facts(first)["Remember me cookie"] == "yes"
    first.goto("/settings")
    assert path_of(first) == "/auth/reauthenticate"
    assert flashes(first) == ["Please enter your password again to open this page."]
    first.goto("/")
    assert heading(first) == f"Hello, {username}"

    # In a second browser the same user logs in, fresh, and changes the
    # password.
    second = new_page()
    second.goto("/auth/login")
    log_in(second, username, PASSWORD, remember=True)
    assert heading(second) == f"Hello, {username}"
    second_remember = cookies(second)[REMEMBER_COOKIE]["value"]
    second.goto("/settings")
    assert heading(second) == "Settings"
    second.get_by_label("Current password").fill(PASSWORD)
    second.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    second.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    submit(second, "Change password")
    assert path_of(second) == "/settings"
    assert flashes(second) == [
        "Your password has been changed. Every other session has been logged out."
    ]
    # The browser that made the change stays logged in, its remember cookie
    # re-issued for the new password.
    assert second.locator(".who").inner_text() == username
    assert live_server.session(second)[USER_ID] == user_id
    assert cookies(second)[REMEMBER_COOKIE]["value"] != second_remember

    # The first browser is logged out, and its remember cookie deleted.
    first.reload()
    assert heading(first) == "Hello, stranger"
    assert USER_ID not in live_server.session(first)
    assert REMEMBER_COOKIE not in cookies(first)
    first.goto("/profile")
    assert path_of(first) == "/auth/login"

    # The first browser's old remember cookie is refused wherever it turns up.
    replay = new_page()
    replay.context.add_cookies(
        [{"name": REMEMBER_COOKIE, "value": remember["value"], "url": live_server.url}]
    )
    replay.goto("/")
    assert heading(replay) == "Hello, stranger"
    assert USER_ID not in live_server.session(replay)
    assert REMEMBER_COOKIE not in cookies(replay)

    # The second browser's new remember cookie works on its own.
    second.context.clear_cookies(name=SESSION_COOKIE)
    second.goto("/")
    assert heading(second) == f"Hello, {username}"
    assert live_server.session(second)[USER_ID] == user_id

    # Logging out with the button ends the login and deletes the cookie.
    submit(second, "Log out")
    assert path_of(second) == "/"
    assert heading(second) == "Hello, stranger"
    assert flashes(second) == ["You have been logged out."]
    assert USER_ID not in live_server.session(second)
    assert REMEMBER_COOKIE not in cookies(second)
    second.goto("/profile")
    assert path_of(second) == "/auth/login"


def test_protected_page_returns_there_after_login(
    page: Page, live_server: LiveServer
) -> None:
    username = new_username()
    register(page, username)

    page.goto("/profile")
    url = urlsplit(page.url)
    assert url.path == "/auth/login"
    assert parse_qs(url.query) == {"next": ["/profile"]}
    assert flashes(page) == ["Please log in to access this page."]
    assert USER_ID not in live_server.session(page)

    log_in(page, username, PASSWORD, remember=False)
    assert path_of(page) == "/profile"
    assert heading(page) == "Profile"
    profile = facts(page)
    assert profile["Username"] == username
    assert profile["User id"] == live_server.session(page)[USER_ID]
    assert profile["Fresh login"] == "yes"
    assert profile["Remember me cookie"] == "no"
    assert REMEMBER_COOKIE not in cookies(page)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\\evil.example",
        "/%2F%2Fevil.example",
    ],
    ids=["scheme-relative", "absolute", "javascript", "backslash", "encoded"],
)
def test_hostile_next_lands_on_home(
    page: Page, live_server: LiveServer, target: str
) -> None:
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    username = new_username()
    register(page, username)

    page.goto(f"/auth/login?{urlencode({'next': target})}")
    assert log_in(page, username, PASSWORD, remember=False).ok
    url = urlsplit(page.url)
    assert f"{url.scheme}://{url.netloc}" == live_server.url
    assert url.path == "/"
    assert heading(page) == f"Hello, {username}"
    assert dialogs == []


def test_login_with_tampered_csrf_token_is_refused(
    page: Page, live_server: LiveServer
) -> None:
    username = new_username()
    register(page, username)

    tamper_csrf_token(page, "form.card")
    response = log_in(page, username, PASSWORD, remember=True)
    assert response.status == 400
    assert heading(page) == "This form has expired"
    assert "The CSRF token is invalid." in page.locator("main").inner_text()
    assert USER_ID not in live_server.session(page)
    assert REMEMBER_COOKIE not in cookies(page)

    page.goto("/")
    assert heading(page) == "Hello, stranger"


def test_logout_with_tampered_csrf_token_is_refused(
    page: Page, live_server: LiveServer
) -> None:
    username = new_username()
    register(page, username)
    log_in(page, username, PASSWORD, remember=True)
    user_id = live_server.session(page)[USER_ID]

    tamper_csrf_token(page, "form.inline")
    response = submit(page, "Log out")
    assert response.status == 400
    assert heading(page) == "This form has expired"

    page.goto("/")
    assert heading(page) == f"Hello, {username}"
    assert live_server.session(page)[USER_ID] == user_id
    assert REMEMBER_COOKIE in cookies(page)


EXPIRED_MESSAGE = (
    "Your session has expired: 30 minutes without activity, or 12 hours since"
    " you logged in. Please log in again."
)


def test_idle_login_expires_and_the_user_is_told_why(
    page: Page, live_server: LiveServer
) -> None:
    """The example app's 30-minute idle timeout, walked through with the app's
    clock moved forward rather than waited for.
    """
    username = new_username()
    register(page, username)
    log_in(page, username, PASSWORD, remember=False)
    page.goto("/profile")
    assert path_of(page) == "/profile"
    first = live_server.session(page)
    sent = cookies(page)[SESSION_COOKIE]["value"]

    # Within the idle granularity (3 minutes) the session is not rewritten:
    # the browser keeps the very cookie it had.
    live_server.advance_clock(60)
    page.goto("/profile")
    assert path_of(page) == "/profile"
    assert cookies(page)[SESSION_COOKIE]["value"] == sent

    # Active every 29 minutes, the login outlives the idle timeout; each of
    # these requests moves the recorded last use forward.
    for _ in range(2):
        live_server.advance_clock(29 * 60)
        page.goto("/profile")
        assert path_of(page) == "/profile"

    later = live_server.session(page)
    assert later[USER_ID] == first[USER_ID]
    first_made, first_seen = read_lifetime(first["_lifetime"])
    later_made, later_seen = read_lifetime(later["_lifetime"])
    assert later_seen >= first_seen + 58 * 60
    assert later_made == first_made

    # 34 minutes without a request: the login is over, and the login page
    # says why.
    live_server.advance_clock(34 * 60)
    page.goto("/profile")
    assert path_of(page) == "/auth/login"
    assert flashes(page) == [EXPIRED_MESSAGE]
    assert USER_ID not in live_server.session(page)

    # Logging in again leads back to the page the user wanted.
    log_in(page, username, PASSWORD, remember=False)
    assert path_of(page) == "/profile"
    assert live_server.session(page)[USER_ID] == first[USER_ID]


# The staff area: a second realm in the same app, with its own users (whose
# ids overlap the customers'), its own login page, session keys and remember
# cookie.

STAFF_REMEMBER_COOKIE = "remember_token_staff"
STAFF_USER_ID = "_user_id.staff"


def new_staff_member(live_server: LiveServer, staff_id: str) -> str:
    """Add a staff member with the id ``staff_id`` from the shell, as the
    app's administrator would, and return the name.
    """
    username = f"staff-{uuid.uuid4().hex[:12]}"
    output = live_server.flask(
        "create-staff", username, "--password", PASSWORD, "--id", staff_id
    )
    assert f"Created staff member {username!r} with id {staff_id}." in output
    return username


def who(page: Page) -> str | None:
    """The name in the navigation bar: the logged-in user of the area the page
    belongs to, or None.
    """
    names = page.locator(".who").all_inner_texts()
    assert len(names) <= 1
    return names[0] if names else None


def staff_login_next(page: Page) -> list[str]:
    """The page must be the staff login page; returns its ``next`` values."""
    url = urlsplit(page.url)
    assert url.path == "/staff/login"
    assert heading(page) == "Staff login"
    assert who(page) is None
    return parse_qs(url.query).get("next", [])


def test_customer_and_staff_in_one_browser(page: Page, live_server: LiveServer) -> None:
    """A customer and a staff member with the same id, logged in at once in
    one browser: each area sees only its own user, the staff logout leaves the
    customer, and nothing of the customer's opens the staff area.
    """
    customer = new_username()
    register(page, customer)
    log_in(page, customer, PASSWORD, remember=True)
    assert heading(page) == f"Hello, {customer}"
    customer_id = live_server.session(page)[USER_ID]
    customer_remember = cookies(page)[REMEMBER_COOKIE]["value"]
    # The staff member has the customer's id: the two tables number their
    # rows separately, so ids overlap.
    member = new_staff_member(live_server, customer_id)

    # The customer's login does not open the staff area.
    page.goto("/staff/")
    assert staff_login_next(page) == ["/staff/"]
    assert flashes(page) == ["Please log in with your staff account."]
    assert customer not in page.content()
    assert STAFF_USER_ID not in live_server.session(page)

    # Nor does the customer's remember cookie under the staff cookie's name:
    # it is signed for the default realm only.
    page.context.add_cookies(
        [
            {
                "name": STAFF_REMEMBER_COOKIE,
                "value": customer_remember,
                "url": live_server.url,
            }
        ]
    )
    page.goto("/staff/customers")
    assert staff_login_next(page) == ["/staff/customers"]
    assert STAFF_USER_ID not in live_server.session(page)
    assert STAFF_REMEMBER_COOKIE not in cookies(page)
    # The customer is still logged in, by the same cookies.
    page.goto("/")
    assert heading(page) == f"Hello, {customer}"
    assert cookies(page)[REMEMBER_COOKIE]["value"] == customer_remember

    # The staff member logs in, in the same browser, with "remember me".
    page.goto("/staff/")
    log_in(page, member, PASSWORD, remember=True)
    assert path_of(page) == "/staff/"
    assert heading(page) == "Staff dashboard"
    assert flashes(page) == [f"Logged in to the staff area as {member}."]
    session = live_server.session(page)
    assert session[USER_ID] == session[STAFF_USER_ID] == customer_id
    jar = cookies(page)
    assert jar[REMEMBER_COOKIE]["value"] == customer_remember
    staff_remember = jar[STAFF_REMEMBER_COOKIE]
    assert staff_remember["value"] != customer_remember
    assert staff_remember["httpOnly"]
    assert staff_remember["sameSite"] == "Lax"
    # The staff realm's own REMEMBER_COOKIE_DURATION: 8 hours, not 30 days.
    assert (
        time.time() + timedelta(hours=7).total_seconds()
        < staff_remember["expires"]
        < time.time() + timedelta(hours=9).total_seconds()
    )

    # Each area shows its own user, and only that one.
    assert who(page) == member
    assert facts(page) == {
        "Staff member": member,
        "Staff id": customer_id,
        "Fresh login": "yes",
        "Remember me cookie": "yes",
    }
    assert customer not in page.content()
    page.goto("/")
    assert heading(page) == f"Hello, {customer}"
    assert who(page) == customer
    assert member not in page.content()
    page.goto("/profile")
    assert facts(page)["Username"] == customer
    assert facts(page)["User id"] == customer_id
    assert member not in page.content()
    api = page.request.get("/api/me")
    assert api.json() == {"id": int(customer_id), "username": customer}

    # The staff member logs out. The customer stays logged in.
    page.goto("/staff/")
    submit(page, "Log out")
    assert staff_login_next(page) == []
    assert flashes(page) == ["You have been logged out of the staff area."]
    session = live_server.session(page)
    assert STAFF_USER_ID not in session
    assert session[USER_ID] == customer_id
    jar = cookies(page)
    assert STAFF_REMEMBER_COOKIE not in jar
    assert jar[REMEMBER_COOKIE]["value"] == customer_remember
    page.goto("/staff/")
    assert staff_login_next(page) == ["/staff/"]
    page.goto("/profile")
    assert path_of(page) == "/profile"
    assert who(page) == customer

    # The browser restarts: its session cookie goes. The customer's remember
    # cookie logs the customer in again, and the staff area still refuses,
    # with that cookie copied under the staff cookie's name too.
    page.context.clear_cookies(name=SESSION_COOKIE)
    page.context.add_cookies(
        [
            {
                "name": STAFF_REMEMBER_COOKIE,
                "value": customer_remember,
                "url": live_server.url,
            }
        ]
    )
    page.goto("/staff/")
    assert staff_login_next(page) == ["/staff/"]
    assert STAFF_USER_ID not in live_server.session(page)
    assert STAFF_REMEMBER_COOKIE not in cookies(page)
    page.goto("/")
    assert heading(page) == f"Hello, {customer}"
    assert live_server.session(page)[USER_ID] == customer_id


def test_staff_remember_cookie_is_the_staff_members_alone(
    new_page: Callable[[], Page], live_server: LiveServer
) -> None:
    """The other way round: a staff login, its session and its remember
    cookie, never make a customer of the customer with the same id.
    """
    first = new_page()
    customer = new_username()
    register(first, customer)
    log_in(first, customer, PASSWORD, remember=False)
    customer_id = live_server.session(first)[USER_ID]
    submit(first, "Log out")
    member = new_staff_member(live_server, customer_id)

    # Only the staff member logs in in this browser.
    staff = new_page()
    staff.goto("/staff/login")
    log_in(staff, member, PASSWORD, remember=True)
    assert who(staff) == member
    staff_remember = cookies(staff)[STAFF_REMEMBER_COOKIE]["value"]
    staff.goto("/")
    assert heading(staff) == "Hello, stranger"
    assert who(staff) is None
    staff.goto("/profile")
    assert path_of(staff) == "/auth/login"
    assert USER_ID not in live_server.session(staff)

    # The staff remember cookie under the customers' cookie name, in a
    # browser of its own, logs nobody in.
    replay = new_page()
    replay.context.add_cookies(
        [{"name": REMEMBER_COOKIE, "value": staff_remember, "url": live_server.url}]
    )
    replay.goto("/")
    assert heading(replay) == "Hello, stranger"
    assert USER_ID not in live_server.session(replay)
    assert REMEMBER_COOKIE not in cookies(replay)
    replay.goto("/staff/")
    assert staff_login_next(replay) == ["/staff/"]

    # Under its own name it brings the staff member back, not fresh.
    replay.context.add_cookies(
        [
            {
                "name": STAFF_REMEMBER_COOKIE,
                "value": staff_remember,
                "url": live_server.url,
            }
        ]
    )
    replay.goto("/staff/")
    assert path_of(replay) == "/staff/"
    assert who(replay) == member
    assert facts(replay)["Staff id"] == customer_id
    assert facts(replay)["Fresh login"] == "no"
    replay.goto("/")
    assert heading(replay) == "Hello, stranger"


def device_rows(page: Page) -> list[str]:
    """The text of each row of the devices page the browser is on."""
    return page.locator("tr.device").all_inner_texts()


def test_one_device_signs_another_out(
    new_page: Callable[[], Page], live_server: LiveServer
) -> None:
    """Two browsers of one user, both with "remember me": the first signs the
    second out from "Your devices". The second is anonymous on its very next
    request, and its remember cookie never logs it in again.
    """
    username = new_username()
    laptop = new_page()
    register(laptop, username)
    log_in(laptop, username, PASSWORD, remember=True)
    phone = new_page()
    phone.goto("/auth/login")
    log_in(phone, username, PASSWORD, remember=True)
    assert heading(phone) == f"Hello, {username}"
    phone_remember = cookies(phone)[REMEMBER_COOKIE]
    phone_session = cookies(phone)[SESSION_COOKIE]

    # The laptop opens its devices page from the navigation: two rows, newest
    # first, its own marked, each with the browser, the address, when it
    # was last seen and how it logged in.
    laptop.get_by_role("link", name="Your devices").click()
    assert path_of(laptop) == "/devices/"
    assert heading(laptop) == "Your devices"
    rows = device_rows(laptop)
    assert len(rows) == 2
    newest, oldest = rows
    assert "This device" in oldest
    assert "This device" not in newest
    for row in rows:
        assert "Chrome (headless)" in row
        assert "on Linux" in row
        assert "127.0.0.1" in row
        assert "just now" in row
        assert "password, remembered" in row
    # This device has no sign-out button of its own: one per other device.
    assert laptop.locator("tr.device.current button").count() == 0

    submit(
        laptop,
        f"Sign out Chrome (headless) {chrome_version(newest)} on Linux,"
        " last seen just now",
    )
    assert path_of(laptop) == "/devices/"
    assert flashes(laptop) == ["That device has been signed out."]
    (row,) = device_rows(laptop)
    assert "This device" in row
    assert laptop.get_by_text("You are not logged in anywhere else.").is_visible()

    # The phone's very next request is anonymous, and the server deletes its
    # remember cookie.
    phone.reload()
    assert heading(phone) == "Hello, stranger"
    assert USER_ID not in live_server.session(phone)
    assert REMEMBER_COOKIE not in cookies(phone)
    phone.goto("/profile")
    assert path_of(phone) == "/auth/login"

    # The phone's old cookies, put back as a copy would bring them, are
    # refused: the session and the remember cookie together ...
    put_back(phone, phone_session, phone_remember)
    phone.goto("/")
    assert heading(phone) == "Hello, stranger"
    assert USER_ID not in live_server.session(phone)
    assert REMEMBER_COOKIE not in cookies(phone)

    # ... and the remember cookie alone, as after a browser restart, reload
    # after reload.
    for _ in range(2):
        phone.context.clear_cookies(name=SESSION_COOKIE)
        put_back(phone, phone_remember)
        assert SESSION_COOKIE not in cookies(phone)
        phone.reload()
        assert heading(phone) == "Hello, stranger"
        assert USER_ID not in live_server.session(phone)
        assert REMEMBER_COOKIE not in cookies(phone)
    phone.goto("/profile")
    assert path_of(phone) == "/auth/login"

    # The laptop stays logged in, also from its remember cookie alone.
    laptop.context.clear_cookies(name=SESSION_COOKIE)
    laptop.goto("/")
    assert heading(laptop) == f"Hello, {username}"
    laptop.goto("/devices/")
    assert len(device_rows(laptop)) == 1

    # The phone can log in again with the password, as a new device.
    phone.goto("/auth/login")
    log_in(phone, username, PASSWORD, remember=False)
    assert heading(phone) == f"Hello, {username}"
    laptop.reload()
    assert len(device_rows(laptop)) == 2


def test_sign_out_all_other_devices(
    new_page: Callable[[], Page], live_server: LiveServer
) -> None:
    username = new_username()
    first = new_page()
    register(first, username)
    log_in(first, username, PASSWORD, remember=True)
    others = [new_page(), new_page()]
    for other in others:
        other.goto("/auth/login")
        log_in(other, username, PASSWORD, remember=True)

    first.goto("/devices/")
    assert len(device_rows(first)) == 3
    submit(first, "Sign out all other devices")
    assert flashes(first) == ["Signed out 2 other devices."]
    assert len(device_rows(first)) == 1

    for other in others:
        other.context.clear_cookies(name=SESSION_COOKIE)
        other.reload()
        assert heading(other) == "Hello, stranger"
        assert REMEMBER_COOKIE not in cookies(other)
    first.goto("/")
    assert heading(first) == f"Hello, {username}"


def test_sign_out_with_tampered_csrf_token_is_refused(
    new_page: Callable[[], Page], live_server: LiveServer
) -> None:
    username = new_username()
    first = new_page()
    register(first, username)
    log_in(first, username, PASSWORD, remember=False)
    second = new_page()
    second.goto("/auth/login")
    log_in(second, username, PASSWORD, remember=False)

    first.goto("/devices/")
    tamper_csrf_token(first, "tr.device:not(.current) form")
    with first.expect_navigation() as navigation:
        first.locator("tr.device:not(.current) button").click()
    assert navigation.value.status == 400
    assert heading(first) == "This form has expired"

    second.reload()
    assert heading(second) == f"Hello, {username}"
    first.goto("/devices/")
    assert len(device_rows(first)) == 2


def chrome_version(row: str) -> str:
    """The major version of Chrome a row of the devices page names."""
    found = re.search(r"Chrome \(headless\) (\d+)", row)
    assert found is not None, row
    return found.group(1)


def put_back(page: Page, *jar: Cookie) -> None:
    """Put cookies the server deleted back into ``page``'s browser, as a copy
    of them would bring them."""
    page.context.add_cookies(
        [
            {
                "name": cookie["name"],
                "value": cookie["value"],
                "domain": cookie["domain"],
                "path": cookie["path"],
                "expires": cookie["expires"],
                "httpOnly": cookie["httpOnly"],
                "secure": cookie["secure"],
                "sameSite": cookie["sameSite"],
            }
            for cookie in jar
        ]
    )


# API tokens: made and revoked in the browser, used by a real HTTP client
# against the app under gunicorn

TOKEN = re.compile(r"sat_[0-9A-Za-z]{49}")


@dataclass
class Reply:
    """What the HTTP client got back."""

    status: int
    challenges: list[str]
    set_cookies: list[str]
    json: t.Any


def call_api(
    server: LiveServer, method: str, path: str, token: str, body: t.Any = None
) -> Reply:
    """Call the app's API as a script would, with ``requests``:
    ``Authorization: Bearer``, no cookies, JSON in and out. The session
    ignores proxies set in the environment (``trust_env``).
    """
    # Imported here, as Playwright is in the fixtures: the other tox envs
    # collect this module without the browser requirements installed.
    import requests

    with requests.Session() as client:
        client.trust_env = False
        response = client.request(
            method,
            server.url + path,
            json=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "deploy-script/1.0",
            },
            timeout=10,
            allow_redirects=False,
        )

    # requests joins repeated headers into one; the raw ones stay apart.
    raw = response.raw.headers
    return Reply(
        response.status_code,
        raw.getlist("WWW-Authenticate"),
        raw.getlist("Set-Cookie"),
        response.json(),
    )


def create_token(page: Page, name: str, scopes: list[str], expires: str) -> str:
    """Fill in and send the form of the API tokens page the browser is on;
    return the new token, read from its read-only field.
    """
    page.get_by_label("Name").fill(name)
    for scope in ("read", "deploy"):
        page.get_by_role("checkbox", name=scope).set_checked(scope in scopes)
    page.get_by_label("Expires after").select_option(label=expires)
    assert submit(page, "Create token").ok
    assert path_of(page) == "/tokens/"
    field = page.get_by_label("New API token")
    assert field.is_editable() is False
    assert field.get_attribute("readonly") is not None
    token = field.input_value()
    assert TOKEN.fullmatch(token), token
    return token


def token_rows(page: Page) -> list[str]:
    """The text of each row of the table of tokens the browser is on."""
    return page.locator("tr.token").all_inner_texts()


def test_api_token_made_in_the_browser_used_by_a_script(
    new_page: OpenPage, gunicorn_server: LiveServer
) -> None:
    """The whole life of API tokens: made on the page and shown once, copied
    with the button, used by a script for data, refused a scope it lacks,
    and revoked on the page, after which the script gets invalid_token.
    """
    server = gunicorn_server
    username = new_username()
    page = new_page(server)
    register(page, username)
    log_in(page, username, PASSWORD, remember=False)
    page.get_by_role("link", name="API tokens").click()
    assert path_of(page) == "/tokens/"
    assert heading(page) == "API tokens"
    assert page.get_by_text("You have no API tokens.").is_visible()

    # A token that may read, shown once, with a copy button that works.
    reader = create_token(page, "ci read", ["read"], "30 days")
    assert page.get_by_role("heading", name="Your new token “ci read”").is_visible()
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=server.url
    )
    page.get_by_role("button", name="Copy", exact=True).click()
    expect_text(page, ".copy-status", "Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == reader
    (row,) = token_rows(page)
    assert row.split("\t")[:2] == ["ci read", "read"]

    # The script gets data with it, and no cookie.
    reply = call_api(server, "GET", "/api/me", reader)
    assert reply.status == 200
    assert reply.json["username"] == username
    assert reply.set_cookies == []

    # It may not deploy: 403, insufficient_scope, as RFC 6750 says.
    reply = call_api(server, "POST", "/api/deploy", reader, {"ref": "main"})
    assert reply.status == 403
    assert reply.json["error"] == "insufficient_scope"
    assert reply.json["scope"] == "deploy"
    assert (
        'Bearer realm="example_app", error="insufficient_scope", scope="deploy"'
        in reply.challenges
    )

    # A token that may deploy does.
    deployer = create_token(page, "ci deploy", ["read", "deploy"], "7 days")
    reply = call_api(server, "POST", "/api/deploy", deployer, {"ref": "v1.2"})
    assert reply.status == 202
    assert reply.json == {"status": "deploying", "ref": "v1.2", "by": username}

    # Shown once: the page, opened again, lists both tokens and shows
    # neither.
    page.goto("/tokens/")
    assert page.locator("#new-token").count() == 0
    html = page.content()
    assert reader not in html
    assert deployer not in html
    rows = token_rows(page)
    assert [row.split("\t")[:2] for row in rows] == [
        ["ci deploy", "deploy, read"],
        ["ci read", "read"],
    ]
    assert "in 7 days" in rows[0]
    assert "in 30 days" in rows[1]

    # Revoked on the page: the script's next request gets invalid_token.
    submit(page, "Revoke ci read")
    assert path_of(page) == "/tokens/"
    assert flashes(page) == [
        'The token "ci read" has been revoked: a client that sends it now gets 401.'
    ]
    assert [row.split("\t")[0] for row in token_rows(page)] == ["ci deploy"]
    reply = call_api(server, "GET", "/api/me", reader)
    assert reply.status == 401
    assert reply.json["error"] == "invalid_token"
    assert 'Bearer realm="example_app", error="invalid_token"' in reply.challenges
    # The other token still works.
    assert call_api(server, "GET", "/api/me", deployer).status == 200

    # "Your devices" lists it beside this browser, and revokes it too.
    page.get_by_role("link", name="Your devices").click()
    assert len(device_rows(page)) == 1
    (row,) = token_rows(page)
    assert row.startswith("ci deploy\tdeploy, read")
    submit(page, "Revoke ci deploy")
    assert path_of(page) == "/devices/"
    assert token_rows(page) == []
    reply = call_api(server, "POST", "/api/deploy", deployer, {"ref": "v1.3"})
    assert reply.status == 401
    assert reply.json["error"] == "invalid_token"
    # The browser is still logged in.
    assert page.locator(".who").inner_text() == username


def test_api_token_is_shown_without_javascript(
    new_page: OpenPage, gunicorn_server: LiveServer
) -> None:
    """Without JavaScript the copy button stays hidden, and the token is in a
    read-only field, whole, ready to be selected and copied by hand.
    """
    username = new_username()
    page = new_page(gunicorn_server, java_script_enabled=False)
    register(page, username)
    log_in(page, username, PASSWORD, remember=False)
    page.goto("/tokens/")

    token = create_token(page, "by hand", ["read"], "never")

    assert page.get_by_label("New API token").is_visible()
    button = page.locator("button[data-copy]")
    assert button.count() == 1
    assert button.is_hidden()
    reply = call_api(gunicorn_server, "GET", "/api/me", token)
    assert reply.status == 200
    (row,) = token_rows(page)
    assert row.split("\t")[:4][-1] == "never"


def expect_text(page: Page, selector: str, text: str) -> None:
    """Wait until the element shows ``text``: the copy is asynchronous."""
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.textContent === text",
        arg=[selector, text],
    )
