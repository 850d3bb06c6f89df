"""The "remember me" cookie: how it is written, read, refused, refreshed,
deleted, and how flask-login's cookies are accepted and upgraded.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import typing as t
from datetime import timedelta

import flask_login.utils
import pytest
from flask import Flask
from flask import Request
from flask import request
from flask import Response
from flask.testing import FlaskClient
from werkzeug.http import dump_cookie
from werkzeug.http import parse_date
from werkzeug.test import TestResponse

from flask_sessionauth import current_user
from flask_sessionauth import decode_cookie
from flask_sessionauth import encode_cookie
from flask_sessionauth import login_fresh
from flask_sessionauth import login_remembered
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import user_loaded_from_cookie
from helpers import Clock
from helpers import cookie_value
from helpers import deletes_cookie
from helpers import encode_user_id
from helpers import make_app
from helpers import recording
from helpers import remember_payload
from helpers import signed_remember_cookie
from helpers import User

COOKIE = "remember_token"
REMEMBER = COOKIE
#: The time on the tests' clock when a test starts (``helpers.Clock``).
NOW = int(Clock().now)
DAY = 24 * 3600


@dataclasses.dataclass
class SetCookie:
    """One ``Set-Cookie`` header, split into its value and attributes."""

    name: str
    value: str
    #: Attribute names in lower case; flags such as ``secure`` map to None.
    attrs: dict[str, str | None]

    @property
    def deleted(self) -> bool:
        """Whether the header tells the browser to drop the cookie."""
        if self.attrs.get("max-age") == "0":
            return True

        # Werkzeug deletes with an epoch expiry. Compare with the epoch, not
        # with now: tests run the server's clock in the past.
        expires = parse_date(self.attrs.get("expires"))
        return expires is not None and expires.timestamp() < 86400

    def same_scope(self) -> tuple[str | None, str | None, bool, str | None]:
        """The attributes a browser matches when it replaces or deletes."""
        return (
            self.attrs.get("domain"),
            self.attrs.get("path"),
            "secure" in self.attrs,
            self.attrs.get("samesite"),
        )


def set_cookies(response: TestResponse, name: str = COOKIE) -> list[SetCookie]:
    found = []

    for header in response.headers.getlist("Set-Cookie"):
        pair, *params = header.split(";")
        key, _, value = pair.partition("=")

        if key.strip() != name:
            continue

        attrs: dict[str, str | None] = {}

        for param in params:
            attr, sep, attr_value = param.partition("=")
            attrs[attr.strip().lower()] = attr_value.strip() if sep else None

        found.append(SetCookie(key.strip(), value.strip(), attrs))

    return found


def only_set_cookie(response: TestResponse, name: str = COOKIE) -> SetCookie:
    found = set_cookies(response, name)
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


def visit(
    app: Flask,
    path: str = "/",
    cookies: t.Mapping[str, str] | None = None,
) -> TestResponse:
    """A request from a client that sends exactly ``cookies`` and keeps none."""
    client = app.test_client(use_cookies=False)
    headers = {}

    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())

    return client.get(path, headers=headers)


def remember_cookie(
    app: Flask, path: str = "/login/1?remember=1", name: str = COOKIE
) -> str:
    """Log in with "remember me" and return the remember cookie's value."""
    response = app.test_client(use_cookies=False).get(path)
    cookie = only_set_cookie(response, name)
    assert not cookie.deleted
    return cookie.value


def flip(value: str, index: int) -> str:
    """``value`` with the character at ``index`` replaced by another one that
    is valid both in hex and in URL-safe base64.
    """
    index %= len(value)
    other = "0" if value[index] != "0" else "f"
    return value[:index] + other + value[index + 1 :]


@pytest.fixture(autouse=True)
def extra_routes(app: Flask, users: dict[str, User]) -> None:
    @app.route("/fresh")
    def fresh() -> str:
        return f"{current_user.get_id()}:{login_fresh()}"

    @app.route("/remembered")
    def remembered() -> str:
        return str(login_remembered())

    @app.route("/login-for/<user_id>/<int:seconds>")
    def login_for(user_id: str, seconds: int) -> str:
        login_user(users[user_id], remember=True, duration=timedelta(seconds=seconds))
        return "ok"

    @app.route("/cookie-as-read")
    def cookie_as_read() -> str:
        # The remember cookie as the app reads it, without loading a user.
        return request.cookies.get(COOKIE, "")


# Writing the cookie


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(
            {},
            {
                "name": "remember_token",
                "domain": None,
                "path": "/",
                "secure": False,
                "httponly": True,
                "samesite": None,
            },
            id="defaults",
        ),
        pytest.param(
            {
                "REMEMBER_COOKIE_NAME": "keep_me",
                "REMEMBER_COOKIE_DOMAIN": "example.test",
                "REMEMBER_COOKIE_PATH": "/app",
                "REMEMBER_COOKIE_SECURE": True,
                "REMEMBER_COOKIE_HTTPONLY": False,
                "REMEMBER_COOKIE_SAMESITE": "Strict",
            },
            {
                "name": "keep_me",
                "domain": "example.test",
                "path": "/app",
                "secure": True,
                "httponly": False,
                "samesite": "Strict",
            },
            id="all-custom",
        ),
        pytest.param(
            {"REMEMBER_COOKIE_SAMESITE": "Lax", "REMEMBER_COOKIE_SECURE": True},
            {
                "name": "remember_token",
                "domain": None,
                "path": "/",
                "secure": True,
                "httponly": True,
                "samesite": "Lax",
            },
            id="lax-secure",
        ),
    ],
)
def test_remember_cookie_attributes(
    app: Flask, config: dict[str, t.Any], expected: dict[str, t.Any]
) -> None:
    app.config.update(config)
    response = app.test_client().get("/login/1?remember=1")
    cookie = only_set_cookie(response, expected["name"])

    assert cookie.value
    assert not cookie.deleted
    assert cookie.attrs.get("domain") == expected["domain"]
    assert cookie.attrs.get("path") == expected["path"]
    assert ("secure" in cookie.attrs) is expected["secure"]
    assert ("httponly" in cookie.attrs) is expected["httponly"]
    assert cookie.attrs.get("samesite") == expected["samesite"]


@pytest.mark.parametrize(
    ("config", "path", "seconds"),
    [
        pytest.param({}, "/login/1?remember=1", 365 * 86400, id="default-365-days"),
        pytest.param(
            {"REMEMBER_COOKIE_DURATION": timedelta(days=3)},
            "/login/1?remember=1",
            3 * 86400,
            id="config-timedelta",
        ),
        pytest.param(
            {"REMEMBER_COOKIE_DURATION": 7200},
            "/login/1?remember=1",
            7200,
            id="config-int-seconds",
        ),
        pytest.param(
            {"REMEMBER_COOKIE_DURATION": timedelta(days=3)},
            "/login-for/1/600",
            600,
            id="login-user-duration",
        ),
    ],
)
def test_remember_cookie_expiry(
    app: Flask, clock: Clock, config: dict[str, t.Any], path: str, seconds: int
) -> None:
    # The browser's expiry is wall-clock time: run the owned clock at it.
    clock.now = time.time()
    app.config.update(config)
    cookie = only_set_cookie(app.test_client().get(path))

    expires = parse_date(cookie.attrs.get("expires"))
    assert expires is not None
    assert expires.timestamp() - time.time() == pytest.approx(seconds, abs=60)

    if "max-age" in cookie.attrs:
        assert int(cookie.attrs["max-age"] or 0) == pytest.approx(seconds, abs=1)


def test_no_remember_cookie_without_remember(app: Flask) -> None:
    response = app.test_client().get("/login/1")

    assert response.text == "ok"
    assert set_cookies(response) == []


@pytest.mark.parametrize("value", ["lax", "Strict", "none"])
def test_samesite_in_any_case(login_manager: LoginManager, value: str) -> None:
    app = make_app(login_manager, REMEMBER_COOKIE_SAMESITE=value)

    @app.route("/in")
    def log_in() -> str:
        login_user(User("1", "alice"), remember=True)
        return "in"

    response = app.test_client().get("/in")
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(REMEMBER)
    )

    assert f"SameSite={value.title()}" in header


def test_samesite_nonsense_fails_at_init(login_manager: LoginManager) -> None:
    with pytest.raises(ValueError, match="REMEMBER_COOKIE_SAMESITE"):
        make_app(login_manager, REMEMBER_COOKIE_SAMESITE="sometimes")


# Reading the cookie


def test_returning_visitor_is_restored_from_cookie(
    app: Flask, users: dict[str, User]
) -> None:
    value = remember_cookie(app)
    client = app.test_client()
    client.set_cookie(COOKIE, value)

    with recording(user_loaded_from_cookie) as calls:
        response = client.get("/fresh")

    assert response.text == "1:False"
    assert calls == [(app, {"user": users["1"]})]
    assert cookie_value(client, "session") is not None
    # The session now carries the login: it works without the cookie.
    client.delete_cookie(COOKIE)
    assert client.get("/fresh").text == "1:False"


def test_cookie_under_custom_name(app: Flask) -> None:
    app.config["REMEMBER_COOKIE_NAME"] = "keep_me"
    value = remember_cookie(app, name="keep_me")

    assert visit(app, cookies={"keep_me": value}).text == "user:1"
    assert visit(app, cookies={COOKIE: value}).text == "anonymous"


DURATION_SOURCES = [
    pytest.param(
        {"REMEMBER_COOKIE_DURATION": timedelta(hours=1)},
        "/login/1?remember=1",
        id="config-timedelta",
    ),
    pytest.param(
        {"REMEMBER_COOKIE_DURATION": 3600}, "/login/1?remember=1", id="config-int"
    ),
    pytest.param({}, "/login-for/1/3600", id="login-user-duration"),
]


@pytest.mark.parametrize(("config", "path"), DURATION_SOURCES)
@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        pytest.param(3600 - 60, "user:1", id="within"),
        pytest.param(3600 + 1, "anonymous", id="expired"),
    ],
)
def test_server_enforces_cookie_age(
    app: Flask,
    clock: Clock,
    config: dict[str, t.Any],
    path: str,
    elapsed: int,
    expected: str,
) -> None:
    app.config.update(config)
    value = remember_cookie(app, path)
    # The browser still sends it: only the server can refuse it.
    clock.advance(elapsed)
    response = visit(app, cookies={COOKIE: value})

    assert response.status_code == 200
    assert response.text == expected

    if expected == "anonymous":
        assert only_set_cookie(response).deleted


def _unsigned_payload(valid: str, legacy: str) -> str:
    # What a valid cookie says, written by hand, with no signature at all.
    return remember_payload("1", NOW + 3600, 3600)


MALFORMED: list[t.Any] = [
    pytest.param(lambda v, lg: "garbage", id="garbage"),
    pytest.param(lambda v, lg: "1", id="bare-id"),
    pytest.param(lambda v, lg: "1|", id="id-and-pipe"),
    pytest.param(lambda v, lg: "|", id="pipe"),
    pytest.param(lambda v, lg: "1|deadbeef", id="short-digest"),
    pytest.param(lambda v, lg: "1|" + "0" * 128, id="zero-digest"),
    pytest.param(lambda v, lg: "1|" + "z" * 128, id="non-hex-digest"),
    pytest.param(lambda v, lg: flip(lg, -1), id="legacy-flipped-digest"),
    pytest.param(lambda v, lg: "2" + lg[1:], id="legacy-other-payload"),
    pytest.param(lambda v, lg: lg.upper(), id="legacy-upper-case"),
    pytest.param(
        lambda v, lg: flask_login.utils.encode_cookie("1", key="not-the-key"),
        id="legacy-other-key",
    ),
    pytest.param(lambda v, lg: flip(v, 0), id="flipped-first"),
    pytest.param(lambda v, lg: flip(v, len(v) // 2), id="flipped-middle"),
    pytest.param(lambda v, lg: flip(v, -5), id="flipped-signature"),
    pytest.param(lambda v, lg: v[: len(v) // 2], id="truncated-half"),
    pytest.param(lambda v, lg: v[:-3], id="truncated-end"),
    pytest.param(lambda v, lg: v + "x", id="extra-suffix"),
    pytest.param(lambda v, lg: v.rsplit(".", 1)[0], id="no-signature"),
    pytest.param(lambda v, lg: f"{v}.{v}", id="doubled"),
    pytest.param(_unsigned_payload, id="unsigned-payload"),
    pytest.param(lambda v, lg: v + "A" * 5000, id="oversized-valid-prefix"),
    pytest.param(lambda v, lg: "A" * 5000, id="oversized-garbage"),
    pytest.param(lambda v, lg: "1|" + "a" * 4200, id="oversized-legacy-shape"),
    pytest.param(lambda v, lg: "\xff\xfe\xfd", id="non-utf8"),
    pytest.param(lambda v, lg: v[:10] + "\xe9" + v[10:], id="non-utf8-in-valid"),
    pytest.param(lambda v, lg: "\xe9" + lg, id="non-utf8-in-legacy"),
]


@pytest.mark.parametrize("make", MALFORMED)
def test_malformed_cookie_is_anonymous_and_deleted(
    app: Flask, make: t.Callable[[str, str], str]
) -> None:
    valid = remember_cookie(app)

    with app.app_context():
        legacy = encode_cookie("1")

    value = make(valid, legacy)
    assert value not in (valid, legacy)
    response = visit(app, "/fresh", cookies={COOKIE: value})

    assert response.status_code == 200
    assert response.text == "None:False"
    assert only_set_cookie(response).deleted


def test_empty_cookie_is_anonymous(app: Flask) -> None:
    response = visit(app, "/fresh", cookies={COOKIE: ""})

    assert response.status_code == 200
    assert response.text == "None:False"
    assert all(cookie.deleted for cookie in set_cookies(response))


def test_cookie_for_unknown_user_is_anonymous(
    app: Flask, users: dict[str, User]
) -> None:
    users["9"] = User("9", "gone")
    value = remember_cookie(app, "/login/9?remember=1")
    del users["9"]
    response = visit(app, cookies={COOKIE: value})

    assert response.status_code == 200
    assert response.text == "anonymous"


def test_remember_cookie_without_a_secret_key_is_ignored(
    users: dict[str, User],
) -> None:
    manager = LoginManager()

    @manager.request_loader
    def from_request(request: t.Any) -> User | None:
        return users.get(request.headers.get("X-User", ""))

    app = Flask(__name__)
    manager.init_app(app)

    @app.route("/")
    def index() -> str:
        return f"user:{current_user.get_id()}"

    client = app.test_client()
    client.set_cookie(REMEMBER, "whatever")

    assert client.get("/").text == "user:None"
    assert client.get("/", headers={"X-User": "1"}).text == "user:1"


# F4, a flaw found in a security review: a correctly signed remember cookie
# with odd contents (a timestamp over 8 bytes, JSON nested deeply enough to
# exhaust the recursion limit) was a 500.
#
# The cookie is no longer JSON with a timestamp: it is the text
# ``expires~seconds~token signature~user id`` (helpers.remember_payload)
# signed by an itsdangerous Signer. The tests below sign the same kinds of
# odd contents in that format, as a holder of the key could: times and
# numbers out of range or not numbers, the wrong number of fields, fields
# too long, a user id that is not base64 or not UTF-8, text that is not
# ASCII.

#: Redirect statuses: Flask 3.2 redirects with 303 by default, earlier with 302.
REDIRECTS = {302, 303}
#: The longest duration a cookie may say, in seconds.
HUNDRED_YEARS = 100 * 365 * DAY


def signed_cookie(app: Flask, payload: str) -> str:
    """A remember cookie signed with the app's key, as a holder of the key
    could make it: ``payload.signature``, whatever ``payload`` says.
    """
    assert app.secret_key is not None
    return signed_remember_cookie(app.secret_key, payload)


def fields(
    expires: str = str(NOW + DAY),
    seconds: str = str(DAY),
    signature: str = "",
    uid: str = encode_user_id("1"),
) -> str:
    """The payload of a cookie of user 1 issued at ``NOW`` for a day, with
    the fields given replaced by other text.
    """
    return "~".join((expires, seconds, signature, uid))


def visit_quoted(app: Flask, path: str, value: str) -> TestResponse:
    """A request that sends ``value`` as the remember cookie, quoted as
    Werkzeug quotes a cookie it sets, so that any text (quotes, commas,
    spaces, non-ASCII) reaches the app as it is.
    """
    # What the app reads is the value; only the header is longer.
    header = dump_cookie(REMEMBER, value, max_size=0).partition(";")[0]
    return app.test_client(use_cookies=False).get(path, headers={"Cookie": header})


def assert_anonymous_and_deleted(app: Flask, value: str) -> None:
    """The cookie logs nobody in, is deleted, and causes no error page."""
    # The app reads the very text that was signed: the signature holds, and
    # what is refused is what the cookie says.
    assert visit_quoted(app, "/cookie-as-read", value).text == value

    response = visit_quoted(app, "/", value)
    assert response.status_code == 200
    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)

    response = visit_quoted(app, "/protected", value)
    assert response.status_code == 401 or response.status_code in REDIRECTS
    assert deletes_cookie(response, REMEMBER)


def test_signed_cookie_builder_matches_the_format(app: Flask, clock: Clock) -> None:
    # The control for the F4 tests: a well-formed cookie made this way logs
    # in, so the odd ones below differ from it only in their contents. It is
    # the very cookie the app issues for the same login.
    assert clock.now == NOW
    value = signed_cookie(app, fields())
    assert fields() == remember_payload("1", NOW + DAY, DAY)
    assert remember_cookie(app, f"/login-for/1/{DAY}") == value
    assert visit(app, "/cookie-as-read", {REMEMBER: value}).text == value
    assert visit(app, "/", {REMEMBER: value}).text == "user:1"


@pytest.mark.parametrize(
    ("expires", "seconds"),
    [
        # The latest moment each may say: a cookie issued 60 seconds ahead
        # (clocks differ between servers), and one that expires now.
        pytest.param(NOW + 60 + DAY, DAY, id="issued-60-seconds-ahead"),
        pytest.param(NOW, DAY, id="expires-now"),
        pytest.param(NOW + 1, HUNDRED_YEARS, id="hundred-years"),
    ],
)
def test_signed_times_at_the_limits_log_in(
    app: Flask, clock: Clock, expires: int, seconds: int
) -> None:
    # The control for the hostile times below.
    assert clock.now == NOW
    value = signed_cookie(app, fields(expires=str(expires), seconds=str(seconds)))
    assert visit(app, "/", {REMEMBER: value}).text == "user:1"


@pytest.mark.parametrize(
    "expires",
    [str(2**64), "1" + "0" * 12, "9" * 12, "9" * 1000, "9" * 4000],
    ids=["2**64", "13-digits", "12-nines", "1000-digits", "4000-digits"],
)
def test_huge_expiry_is_anonymous(app: Flask, expires: str) -> None:
    """F4: a signed timestamp over 8 bytes raised ``struct.error``. Its
    place is now the expiry: one too long, or too far ahead, is refused.
    """
    value = signed_cookie(app, fields(expires=expires))
    assert len(value) <= 4096
    assert_anonymous_and_deleted(app, value)


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 1500 + "]" * 1500,
        fields(signature="[" * 1480 + "]" * 1480),
        "~" * 4000,
    ],
    ids=["bare-list", "list-in-signature-field", "most-fields"],
)
def test_deeply_nested_contents_are_anonymous(app: Flask, payload: str) -> None:
    """F4: JSON nested about 1,400 deep raised ``RecursionError``; these nest
    as deep as a cookie of at most 4,096 characters allows. Nothing is
    nested in the current format: a payload signed as it is, with as many
    fields as fit, is refused all the same.
    """
    value = signed_cookie(app, payload)
    # Still short enough to be read, not refused for its length.
    assert len(value) <= 4096
    assert_anonymous_and_deleted(app, value)


def nested_dict(depth: int) -> str:
    return '{"":' * depth + "0" + "}" * depth


HOSTILE_PAYLOADS = {
    # Not the format at all.
    "old-format-json": '["1",86400,null]',
    "object": '{"id":"1","seconds":86400}',
    "deep-dict": nested_dict(600),
    "not-the-format": "not the format",
    "empty": "",
    # The wrong number of fields.
    "one-field": encode_user_id("1"),
    "three-fields": f"{NOW + DAY}~{DAY}~{encode_user_id('1')}",
    "five-fields": fields() + "~",
    "five-fields-in-front": "1~" + fields(),
    "separators-only": "~~~",
    # Expiry times that are not ASCII digits.
    "empty-expires": fields(expires=""),
    "word-expires": fields(expires="tomorrow"),
    "negative-expires": fields(expires=f"-{NOW + DAY}"),
    "plus-expires": fields(expires=f"+{NOW + DAY}"),
    "underscore-expires": fields(expires=f"{NOW + DAY:_}"),
    "float-expires": fields(expires=f"{NOW + DAY}.0"),
    "exponent-expires": fields(expires="1.7e9"),
    "hex-expires": fields(expires=hex(NOW + DAY)),
    "arabic-indic-expires": fields(expires="١٧٠٠٠٨٦٤٠٠"),
    # Durations that are not numbers, or out of range.
    "empty-seconds": fields(seconds=""),
    "word-seconds": fields(seconds="day"),
    "nan-seconds": fields(seconds="nan"),
    "NaN-seconds": fields(seconds="NaN"),
    "inf-seconds": fields(seconds="inf"),
    "infinity-seconds": fields(seconds="Infinity"),
    "minus-inf-seconds": fields(seconds="-inf"),
    "overflowing-seconds": fields(seconds="1e400"),
    "underflowing-seconds": fields(seconds="1e-400"),
    "zero-seconds": fields(seconds="0"),
    "minus-zero-seconds": fields(seconds="-0.0"),
    "negative-seconds": fields(seconds=f"-{DAY}"),
    "over-100-years": fields(seconds=str(HUNDRED_YEARS + 1)),
    "33-char-seconds": fields(seconds="0" * 28 + str(DAY)),
    "huge-int-seconds": fields(seconds="9" * 1000),
    "two-points-seconds": fields(seconds="86400.5.5"),
    "hex-seconds": fields(seconds="0x15180"),
    # Token signatures too long, or not ASCII.
    "257-char-signature": fields(signature="a" * 257),
    "300-char-signature": fields(signature="a" * 300),
    "non-ascii-signature": fields(signature="sig\xe9"),
    # User ids that are not base64, not UTF-8, empty or too long.
    "empty-uid": fields(uid=""),
    "not-base64-uid": fields(uid="!!!!"),
    "one-char-uid": fields(uid="M"),
    "non-utf8-uid": fields(uid=base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode()),
    "surrogate-uid": fields(uid=base64.urlsafe_b64encode(b"\xed\xa0\x80").decode()),
    "1025-char-user-id": fields(uid=encode_user_id("1" * 1025)),
    "2kb-uid": fields(uid=encode_user_id("1" * 1536)),
    "non-ascii-uid": fields(uid="M\xe9"),
    # Text that is not ASCII.
    "fullwidth-separators": "\uff5e".join(fields().split("~")),
    "latin-1": "\xe9" * 100,
    "emoji": fields() + "\U0001f36a",
}


@pytest.mark.parametrize(
    "payload", list(HOSTILE_PAYLOADS.values()), ids=list(HOSTILE_PAYLOADS)
)
def test_hostile_signed_contents_are_anonymous(app: Flask, payload: str) -> None:
    """F4: other hostile contents a key holder could sign: JSON that is not a
    list, the wrong length, huge or non-finite numbers, wrong types, nested
    dicts, not JSON at all. In the current format: not the format, the wrong
    number of fields, fields that are not what they should be or too long,
    text that is not ASCII.
    """
    assert_anonymous_and_deleted(app, signed_cookie(app, payload))


@pytest.mark.parametrize(
    ("expires", "seconds"),
    [
        ("", DAY),
        ("0", DAY),
        ("000000000000", DAY),
        ("1", DAY),
        (str(NOW - 1), DAY),
        (str(NOW + 61 + DAY), DAY),
        (str(NOW + 2 * 365 * DAY), DAY),
        ("999999999999", HUNDRED_YEARS),
    ],
    ids=[
        "empty",
        "epoch",
        "12-zeros",
        "epoch+1",
        "expired-a-second-ago",
        "issued-61-seconds-ahead",
        "issued-2-years-ahead",
        "latest-12-digits",
    ],
)
def test_hostile_signed_timestamps_are_anonymous(
    app: Flask, expires: str, seconds: int
) -> None:
    """F4: timestamps of 8 bytes or fewer that are out of range: empty, the
    epoch, or so far in the future that the age is hugely negative. In the
    current format the time is the expiry: empty, at the epoch, just past,
    or so far ahead that the cookie was issued in the future.
    """
    value = signed_cookie(app, fields(expires=expires, seconds=str(seconds)))
    assert_anonymous_and_deleted(app, value)


def test_deep_nesting_refused_for_length(app: Flask) -> None:
    # Nested deeper than fits in a browser's cookie: refused unread.
    payload = "[" * 3000 + "]" * 3000
    value = signed_cookie(app, payload)
    assert len(value) > 4096
    assert_anonymous_and_deleted(app, value)


def test_hostile_cookie_does_not_hide_other_credentials(
    app: Flask, login_manager: LoginManager
) -> None:
    """F4: after an odd cookie, a request loader still gets its turn."""

    @login_manager.request_loader
    def from_api_key(req: Request) -> User | None:
        return User("5", "api") if req.headers.get("X-Api-Key") == "k" else None

    value = signed_cookie(app, fields(expires=str(2**64)))
    client = app.test_client(use_cookies=False)
    response = client.get(
        "/", headers={"Cookie": f"{REMEMBER}={value}", "X-Api-Key": "k"}
    )
    assert response.text == "user:5"
    assert deletes_cookie(response, REMEMBER)


def test_json_helpers_are_what_we_think() -> None:
    # The nested payloads are valid JSON of the intended depth, so what the
    # tests above exercise is depth, not a syntax error.
    assert json.loads(nested_dict(3)) == {"": {"": {"": 0}}}
    assert json.loads("[" * 3 + "]" * 3) == [[[]]]


# Deleting the cookie


LOGOUT_CONFIGS = [
    pytest.param({}, id="defaults"),
    pytest.param(
        {
            "REMEMBER_COOKIE_DOMAIN": "example.test",
            "REMEMBER_COOKIE_SECURE": True,
            "REMEMBER_COOKIE_SAMESITE": "Strict",
        },
        id="domain-secure-strict",
    ),
    pytest.param(
        {
            "REMEMBER_COOKIE_NAME": "keep_me",
            "REMEMBER_COOKIE_SECURE": True,
            "REMEMBER_COOKIE_SAMESITE": "None",
            "REMEMBER_COOKIE_HTTPONLY": False,
        },
        id="name-samesite-none",
    ),
    pytest.param(
        {"REMEMBER_COOKIE_DOMAIN": ".example.test", "REMEMBER_COOKIE_SAMESITE": "Lax"},
        id="dotted-domain-lax",
    ),
    pytest.param(
        {"REMEMBER_COOKIE_PATH": "/app", "REMEMBER_COOKIE_SECURE": True},
        id="path-secure",
    ),
]


@pytest.mark.parametrize("config", LOGOUT_CONFIGS)
def test_logout_deletes_cookie_with_same_attributes(
    app: Flask, config: dict[str, t.Any]
) -> None:
    app.config.update(config)
    name = app.config.get("REMEMBER_COOKIE_NAME", COOKIE)
    client = app.test_client(use_cookies=False)
    login = client.get("/login/1?remember=1")
    issued = only_set_cookie(login, name)
    session = only_set_cookie(login, "session")

    logout = client.get(
        "/logout",
        headers={"Cookie": f"session={session.value}; {name}={issued.value}"},
    )
    deleted = only_set_cookie(logout, name)

    assert logout.text == "bye"
    assert deleted.deleted
    assert deleted.value in ("", '""')
    assert deleted.same_scope() == issued.same_scope()


def test_logout_forgets_remembered_user(app: Flask, client: FlaskClient) -> None:
    client.get("/login/1?remember=1")
    assert cookie_value(client, COOKIE) is not None

    client.get("/logout")

    assert cookie_value(client, COOKIE) is None
    assert client.get("/").text == "anonymous"


# The cookie work of a request, whatever the app's hooks and contexts do


def test_logout_in_an_after_request_hook_deletes_the_remember_cookie(
    app: Flask, client: FlaskClient
) -> None:
    # An app hook may end a login (an account locked mid-request, say); the
    # extension's own hook runs after the app's, so the cookie still goes.
    @app.after_request
    def lock_out(response: Response) -> Response:
        if request.args.get("lock"):
            logout_user()
        return response

    client.get("/login/1?remember=1")
    response = client.get("/?lock=1")

    assert any(
        h.startswith(f"{REMEMBER}=") and "Max-Age=0" in h
        for h in response.headers.getlist("Set-Cookie")
    )
    assert client.get("/").text == "anonymous"


def test_cookie_work_lands_on_a_response_an_app_hook_replaced(
    app: Flask, client: FlaskClient
) -> None:
    @app.after_request
    def wrap(response: Response) -> Response:
        return app.response_class(response.get_data(), status=response.status)

    response = client.get("/login/1?remember=1")
    assert any(
        h.startswith(f"{REMEMBER}=") and "Max-Age=0" not in h
        for h in response.headers.getlist("Set-Cookie")
    )

    response = client.get("/logout")
    assert any(
        h.startswith(f"{REMEMBER}=") and "Max-Age=0" in h
        for h in response.headers.getlist("Set-Cookie")
    )
    client.delete_cookie("session")
    assert client.get("/").text == "anonymous"


def test_requests_in_one_app_context_each_do_their_cookie_work(
    app: Flask,
) -> None:
    # Up to Flask 3.1 an app context pushed around several requests (as a
    # test fixture or a CLI command may do) shares one g between them; each
    # request must still set and delete its own remember cookie.
    with app.app_context():
        first = app.test_client()
        second = app.test_client()

        for client in (first, second):
            response = client.get("/login/1?remember=1")
            assert any(
                h.startswith(f"{REMEMBER}=") and "Max-Age=0" not in h
                for h in response.headers.getlist("Set-Cookie")
            )

        for client in (first, second):
            response = client.get("/logout")
            assert any(
                h.startswith(f"{REMEMBER}=") and "Max-Age=0" in h
                for h in response.headers.getlist("Set-Cookie")
            )


# flask-login's cookies


@pytest.mark.parametrize("payload", ["1", "42", "user@example.com", "a|b", "\xfcn\xef"])
@pytest.mark.parametrize("key", [None, "another-key", b"bytes-key"])
def test_encode_cookie_matches_flask_login(
    app: Flask, payload: str, key: str | bytes | None
) -> None:
    with app.app_context():
        ours = encode_cookie(payload, key=key)
        theirs = flask_login.utils.encode_cookie(payload, key=key)

    assert ours == theirs
    assert ours.startswith(f"{payload}|")


def test_encode_cookie_str_and_bytes_keys_agree() -> None:
    assert encode_cookie("1", key="k\xe9y") == encode_cookie("1", key=b"k\xe9y")
    assert encode_cookie("1", key="one") != encode_cookie("1", key="two")


@pytest.mark.parametrize("payload", ["1", "42", "user@example.com", "a|b", "\xfcn\xef"])
def test_decode_cookie_roundtrip(app: Flask, payload: str) -> None:
    with app.app_context():
        assert decode_cookie(encode_cookie(payload)) == payload
        assert decode_cookie(flask_login.utils.encode_cookie(payload)) == payload

    assert decode_cookie(encode_cookie(payload, key="k"), key="k") == payload


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda good: flip(good, -1), id="flipped-digest"),
        pytest.param(lambda good: "2" + good[1:], id="other-payload"),
        pytest.param(lambda good: good.replace("|", ""), id="no-separator"),
        pytest.param(lambda good: good[:-1], id="short-digest"),
        pytest.param(lambda good: good.upper(), id="upper-case-digest"),
        pytest.param(lambda good: good[:-1] + "\xe9", id="non-ascii-digest"),
        pytest.param(lambda good: "", id="empty"),
        pytest.param(lambda good: good + "|", id="trailing-pipe"),
    ],
)
def test_decode_cookie_rejects_tampered(
    app: Flask, make: t.Callable[[str], str]
) -> None:
    with app.app_context():
        good = encode_cookie("1")
        assert decode_cookie(good) == "1"
        assert decode_cookie(make(good)) is None


def test_decode_cookie_key_parameter(app: Flask) -> None:
    signed = encode_cookie("7", key="side-key")

    assert decode_cookie(signed, key="side-key") == "7"
    assert decode_cookie(signed, key=b"side-key") == "7"
    assert decode_cookie(signed, key="other-key") is None

    with app.app_context():
        # Without a key the app's SECRET_KEY is used, which did not sign it.
        assert decode_cookie(signed) is None


@pytest.mark.parametrize("maker", ["flask_login", "flask_sessionauth"])
def test_legacy_cookie_logs_in_and_is_upgraded(
    app: Flask, users: dict[str, User], maker: str
) -> None:
    with app.app_context():
        if maker == "flask_login":
            legacy = flask_login.utils.encode_cookie("1")
        else:
            legacy = encode_cookie("1")

    with recording(user_loaded_from_cookie) as calls:
        response = visit(app, "/fresh", cookies={COOKIE: legacy})

    assert response.text == "1:False"
    assert calls == [(app, {"user": users["1"]})]

    upgraded = only_set_cookie(response)
    assert not upgraded.deleted
    assert upgraded.value != legacy

    with app.app_context():
        assert flask_login.utils.decode_cookie(upgraded.value) is None

    assert visit(app, cookies={COOKIE: upgraded.value}).text == "user:1"


def test_legacy_cookie_refused_when_legacy_disabled(app: Flask) -> None:
    app.config["SESSIONAUTH_REMEMBER_COOKIE_ACCEPT_LEGACY"] = False

    with app.app_context():
        legacy = flask_login.utils.encode_cookie("1")

    response = visit(app, cookies={COOKIE: legacy})

    assert response.status_code == 200
    assert response.text == "anonymous"
    assert only_set_cookie(response).deleted
    # New cookies still work with legacy support off.
    assert visit(app, cookies={COOKIE: remember_cookie(app)}).text == "user:1"


# Key rotation


def test_cookie_signed_with_fallback_key_still_works(app: Flask) -> None:
    old = remember_cookie(app)
    app.config["SECRET_KEY"] = "new-secret"
    app.config["SECRET_KEY_FALLBACKS"] = ["test-secret"]

    assert visit(app, cookies={COOKIE: old}).text == "user:1"


def test_cookie_signed_with_retired_key_is_refused(app: Flask) -> None:
    old = remember_cookie(app)
    app.config["SECRET_KEY"] = "new-secret"
    response = visit(app, cookies={COOKIE: old})

    assert response.text == "anonymous"
    assert only_set_cookie(response).deleted


def test_new_cookies_are_signed_with_current_key(app: Flask) -> None:
    app.config["SECRET_KEY"] = "new-secret"
    app.config["SECRET_KEY_FALLBACKS"] = ["test-secret"]
    new = remember_cookie(app)

    app.config["SECRET_KEY_FALLBACKS"] = []
    assert visit(app, cookies={COOKIE: new}).text == "user:1"

    app.config["SECRET_KEY"] = "test-secret"
    app.config["SECRET_KEY_FALLBACKS"] = ["new-secret-not-this-one"]
    assert visit(app, cookies={COOKIE: new}).text == "anonymous"


# REMEMBER_COOKIE_REFRESH_EACH_REQUEST


def test_refresh_each_request_reissues_valid_cookie(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config.update(
        REMEMBER_COOKIE_REFRESH_EACH_REQUEST=True, REMEMBER_COOKIE_DURATION=3600
    )
    client.get("/login/1?remember=1")
    first = cookie_value(client, COOKIE)
    assert first is not None

    clock.advance(3000)
    response = client.get("/")
    refreshed = only_set_cookie(response)

    assert response.text == "user:1"
    assert not refreshed.deleted
    assert refreshed.value != first

    # 6000 s after the first cookie, 3000 s after the refreshed one.
    clock.advance(3000)
    assert visit(app, cookies={COOKIE: refreshed.value}).text == "user:1"
    assert visit(app, cookies={COOKIE: first}).text == "anonymous"


def test_refresh_each_request_keeps_login_user_duration(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    client.get("/login-for/1/600")
    refreshed = only_set_cookie(client.get("/"))
    max_age = refreshed.attrs.get("max-age")

    if max_age is not None:
        assert int(max_age) == pytest.approx(600, abs=1)

    clock.advance(601)
    assert visit(app, cookies={COOKIE: refreshed.value}).text == "anonymous"


def test_refresh_each_request_does_not_remember_plain_login(
    app: Flask, client: FlaskClient
) -> None:
    # flask-login #424: the flag turned every login into a remembered one.
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    client.get("/login/1")
    response = client.get("/")

    assert response.text == "user:1"
    assert set_cookies(response) == []
    assert cookie_value(client, COOKIE) is None


def test_refresh_each_request_does_not_reissue_invalid_cookie(
    app: Flask, client: FlaskClient
) -> None:
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    client.get("/login/1")
    client.set_cookie(COOKIE, "garbage")
    response = client.get("/")

    assert response.text == "user:1"
    assert all(cookie.deleted for cookie in set_cookies(response))


def test_no_refresh_without_the_flag(app: Flask, client: FlaskClient) -> None:
    client.get("/login/1?remember=1")
    response = client.get("/")

    assert response.text == "user:1"
    assert set_cookies(response) == []


def test_refresh_never_renews_a_cookie_for_another_user() -> None:
    # A stale session login of user 1 and user 1's remember cookie, but the
    # user of the request comes from the request loader: user 2. Refreshing
    # must not judge user 1's cookie by user 2's session token.
    manager = LoginManager()
    manager.request_loader(lambda request: User("2", "bob"))
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="test-secret", REMEMBER_COOKIE_REFRESH_EACH_REQUEST=True
    )
    manager.init_app(app)

    @app.route("/")
    def index() -> str:
        return f"user:{current_user.get_id()}"

    @app.route("/plant")
    def plant() -> str:
        login_user(User("1", "alice"), remember=True)
        return "ok"

    client = app.test_client()
    client.get("/plant")
    response = client.get("/")

    assert response.text == "user:2"
    assert not any(
        h.startswith(f"{REMEMBER}=") for h in response.headers.getlist("Set-Cookie")
    )


# login_remembered()


def test_login_remembered_after_remembered_login(client: FlaskClient) -> None:
    client.get("/login/1?remember=1")

    assert client.get("/remembered").text == "True"


def test_login_remembered_false_for_plain_login(client: FlaskClient) -> None:
    client.get("/login/1")

    assert client.get("/remembered").text == "False"


def test_login_remembered_when_restored_from_cookie(app: Flask) -> None:
    value = remember_cookie(app)

    assert visit(app, "/remembered", cookies={COOKIE: value}).text == "True"


@pytest.mark.parametrize("value", ["garbage", "1|" + "0" * 128, ""])
def test_login_remembered_false_for_invalid_cookie(app: Flask, value: str) -> None:
    assert visit(app, "/remembered", cookies={COOKIE: value}).text == "False"


def test_login_remembered_false_for_expired_cookie(app: Flask, clock: Clock) -> None:
    app.config["REMEMBER_COOKIE_DURATION"] = 60
    value = remember_cookie(app)
    clock.advance(61)

    assert visit(app, "/remembered", cookies={COOKIE: value}).text == "False"


def test_login_remembered_true_when_request_has_remember_cookie(
    site_client: FlaskClient,
) -> None:
    site_client.get("/login/1?remember=1")

    assert site_client.get("/state").text == "fresh=True remembered=True"


def test_login_remembered_false_without_remember_cookie(
    site_client: FlaskClient,
) -> None:
    site_client.get("/login/1")

    assert site_client.get("/state").text == "fresh=True remembered=False"


def test_login_remembered_false_for_a_forged_cookie(
    site_client: FlaskClient,
) -> None:
    site_client.set_cookie("remember_token", "1|not-a-valid-signature")

    assert site_client.get("/state").text == "fresh=False remembered=False"


# Session protection and restored users (flask-login #241, #569)


@pytest.mark.parametrize("mode", ["basic", "strong", None])
def test_user_restored_from_cookie_stays_logged_in(
    app: Flask, mode: str | None
) -> None:
    app.config["SESSION_PROTECTION"] = mode
    value = remember_cookie(app)
    client = app.test_client()
    client.set_cookie(COOKIE, value)

    first = client.get("/fresh")
    assert first.text == "1:False"
    assert cookie_value(client, "session") is not None

    # A real second request with what the first response set.
    second = client.get("/fresh")
    assert second.text == "1:False"
    assert all(not cookie.deleted for cookie in set_cookies(second))
    assert cookie_value(client, COOKIE) is not None

    # And the session alone carries the login.
    client.delete_cookie(COOKIE)
    assert client.get("/fresh").text == "1:False"
