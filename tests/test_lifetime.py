"""Session lifetime: ``SESSIONAUTH_SESSION_IDLE_TIMEOUT`` ends a login left unused for
too long, ``SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT`` one that is too old however active,
and neither makes every response re-send the session cookie.
"""

from __future__ import annotations

import math
import typing as t
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import flash
from flask import Flask
from flask import get_flashed_messages
from flask import session
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_sessionauth import current_user
from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_fresh
from flask_sessionauth import LoginManager
from flask_sessionauth import session_expired
from flask_sessionauth import SessionAuthClient
from flask_sessionauth import user_loaded_from_cookie
from flask_sessionauth.testing import login_test_client
from helpers import Clock
from helpers import cookie_value
from helpers import deletes_cookie
from helpers import is_redirect
from helpers import lifetime_stamp
from helpers import read_lifetime
from helpers import recording
from helpers import session_data
from helpers import User

IDLE = 1800  # 30 minutes: the default granularity is a tenth, 180 s
GRANULARITY = 180
ABSOLUTE = 12 * 3600
REMEMBER = "remember_token"


@pytest.fixture
def app(app: Flask, login_manager: LoginManager) -> Flask:
    app.config.update(
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(seconds=IDLE),
        SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=timedelta(seconds=ABSOLUTE),
    )
    login_manager.login_view = "login_page"
    login_manager.refresh_view = "login_page"

    @app.route("/login-page")
    def login_page() -> str:
        messages = t.cast(
            "list[tuple[str, str]]", get_flashed_messages(with_categories=True)
        )
        return " | ".join(f"{category}:{message}" for category, message in messages)

    @app.route("/put")
    def put() -> str:
        session["cart"] = "3 apples"
        return "put"

    @app.route("/cart")
    def cart() -> str:
        return str(session.get("cart"))

    @app.route("/fresh")
    def fresh() -> str:
        return "fresh" if login_fresh() else "stale"

    @app.route("/fresh-only")
    @fresh_login_required
    def fresh_only() -> str:
        return "fresh-only"

    @app.route("/flash-then-protected")
    def flash_then() -> str:
        flash("kept")
        return "flashed"

    return app


def login(client: FlaskClient, *, remember: bool = False) -> None:
    assert client.get("/login/1" + ("?remember=1" if remember else "")).text == "ok"


def login_times(client: FlaskClient) -> tuple[int, int]:
    """When the client's login was made and last seen, from ``_lifetime``."""
    return read_lifetime(session_data(client)["_lifetime"])


def sets_session_cookie(response: TestResponse) -> bool:
    return any(
        header.startswith("session=")
        for header in response.headers.getlist("Set-Cookie")
    )


# Configuration


@pytest.mark.parametrize(
    "key",
    [
        "SESSIONAUTH_SESSION_IDLE_TIMEOUT",
        "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT",
        "SESSIONAUTH_SESSION_IDLE_GRANULARITY",
    ],
)
@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("30m", TypeError),
        (True, TypeError),
        ([60], TypeError),
        (0, ValueError),
        (-60, ValueError),
        (timedelta(seconds=-1), ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (timedelta(days=365 * 200), ValueError),
    ],
)
def test_bad_durations_fail_at_init_app(key: str, value: object, error: type) -> None:
    app = Flask(__name__)
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = 3600
    app.config[key] = value

    with pytest.raises(error, match=key):
        LoginManager(app)


def test_granularity_longer_than_the_idle_timeout_fails() -> None:
    app = Flask(__name__)
    app.config.update(
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=600, SESSIONAUTH_SESSION_IDLE_GRANULARITY=601
    )

    with pytest.raises(ValueError, match="must not be longer than"):
        LoginManager(app)


@pytest.mark.parametrize("value", [600, 600.0, timedelta(minutes=10), None])
def test_good_durations_pass(value: object) -> None:
    app = Flask(__name__)
    app.config.update(
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=value,
        SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=value,
    )
    LoginManager(app)


def test_off_by_default_writes_no_timestamps(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config.update(
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=None, SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=None
    )
    login(client)
    assert "_lifetime" not in session_data(client)
    clock.advance(10 * 365 * 24 * 3600)
    assert client.get("/").text == "user:1"


def test_login_writes_both_timestamps(client: FlaskClient, clock: Clock) -> None:
    login(client)
    now = int(clock.now)
    assert session_data(client)["_lifetime"] == lifetime_stamp(now, now)
    assert login_times(client) == (int(clock.now), int(clock.now))


@pytest.mark.parametrize(
    "off", ["SESSIONAUTH_SESSION_IDLE_TIMEOUT", "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT"]
)
def test_one_timeout_on_writes_the_times_too(
    app: Flask, client: FlaskClient, clock: Clock, off: str
) -> None:
    app.config[off] = None
    login(client)
    assert login_times(client) == (int(clock.now), int(clock.now))


# The idle timeout


def test_activity_keeps_a_login_alive_past_the_idle_timeout(
    client: FlaskClient, clock: Clock
) -> None:
    login(client)

    for _ in range(10):
        clock.advance(IDLE - 1)
        assert client.get("/").text == "user:1"

    assert client.get("/").text == "user:1"


def test_a_request_within_the_granularity_sends_no_cookie(
    client: FlaskClient, clock: Clock
) -> None:
    login(client)
    clock.advance(GRANULARITY - 1)
    response = client.get("/")
    assert response.text == "user:1"
    assert response.headers.getlist("Set-Cookie") == []


def test_a_request_past_the_granularity_rewrites_seen_at_once(
    client: FlaskClient, clock: Clock
) -> None:
    login(client)
    clock.advance(GRANULARITY)
    response = client.get("/")
    assert response.text == "user:1"
    assert sets_session_cookie(response)
    assert login_times(client)[1] == int(clock.now)
    assert client.get("/").headers.getlist("Set-Cookie") == []


@pytest.mark.parametrize(
    ("idle_for", "alive"),
    [
        (IDLE, True),
        (IDLE + GRANULARITY, True),
        (IDLE + GRANULARITY + 1, False),
    ],
)
def test_an_unused_login_ends_after_idle_plus_granularity(
    client: FlaskClient, clock: Clock, idle_for: int, alive: bool
) -> None:
    login(client)
    clock.advance(idle_for)
    assert client.get("/").text == ("user:1" if alive else "anonymous")


@pytest.mark.parametrize("last_stamp_age", [0, GRANULARITY - 1])
def test_the_login_ends_between_idle_and_idle_plus_granularity_after_last_use(
    client: FlaskClient, clock: Clock, last_stamp_age: int
) -> None:
    """The documented precision: with the last request at T, the login holds
    at T + idle and is gone after T + idle + granularity, wherever T falls
    within the granularity.
    """
    login(client)
    clock.advance(last_stamp_age)
    assert client.get("/").text == "user:1"  # the last use, T
    last_use = clock.now

    clock.now = last_use + IDLE
    assert client.get("/").text == "user:1"

    login(client)
    clock.advance(last_stamp_age)
    assert client.get("/").text == "user:1"
    last_use = clock.now
    clock.now = last_use + IDLE + GRANULARITY + 1
    assert client.get("/").text == "anonymous"


def test_configured_granularity(app: Flask, client: FlaskClient, clock: Clock) -> None:
    app.config["SESSIONAUTH_SESSION_IDLE_GRANULARITY"] = timedelta(seconds=10)
    login(client)
    clock.advance(10)
    assert sets_session_cookie(client.get("/"))
    clock.advance(IDLE + 11)
    assert client.get("/").text == "anonymous"


def test_default_granularity_is_at_least_a_minute_and_at_most_the_timeout(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = 30  # shorter than a minute
    login(client)
    clock.advance(29)
    assert client.get("/").headers.getlist("Set-Cookie") == []
    clock.advance(1)
    assert sets_session_cookie(client.get("/"))
    clock.advance(61)
    assert client.get("/").text == "anonymous"

    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = 300  # a tenth would be 30 s
    login(client)
    clock.advance(59)
    assert client.get("/").headers.getlist("Set-Cookie") == []
    clock.advance(1)
    assert sets_session_cookie(client.get("/"))


# The absolute lifetime


def test_activity_does_not_extend_the_absolute_lifetime(
    client: FlaskClient, clock: Clock
) -> None:
    login(client)
    used = 0

    while used + IDLE - 1 <= ABSOLUTE:
        clock.advance(IDLE - 1)
        used += IDLE - 1
        assert client.get("/").text == "user:1"

    clock.now += ABSOLUTE - used + 1
    assert client.get("/").text == "anonymous"


def test_absolute_lifetime_alone(app: Flask, client: FlaskClient, clock: Clock) -> None:
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = None
    login(client)
    clock.advance(ABSOLUTE)
    response = client.get("/")
    assert response.text == "user:1"
    assert response.headers.getlist("Set-Cookie") == []
    clock.advance(1)
    assert client.get("/").text == "anonymous"


# What an ended login leaves


@pytest.mark.parametrize(
    ("advance", "reason"),
    [(IDLE + GRANULARITY + 1, "idle"), (ABSOLUTE + 1, "absolute")],
)
def test_expiry_removes_the_login_and_sends_the_signal(
    app: Flask,
    client: FlaskClient,
    clock: Clock,
    users: dict[str, User],
    advance: int,
    reason: str,
) -> None:
    login(client)
    client.get("/put")

    if reason == "absolute":
        # Active all along, so only the absolute lifetime can end it.
        for _ in range(advance // (IDLE - 1)):
            clock.advance(IDLE - 1)
            client.get("/")

        clock.now += advance % (IDLE - 1)
    else:
        clock.advance(advance)

    with recording(session_expired) as calls:
        response = client.get("/")

    assert response.text == "anonymous"
    assert calls == [(app, {"user": users["1"], "reason": reason})]
    data = session_data(client)
    assert data == {"cart": "3 apples"}
    # Only once: the next request finds no login to end.
    with recording(session_expired) as calls:
        assert client.get("/").text == "anonymous"
    assert calls == []


def test_signal_user_is_none_when_the_user_is_gone(
    app: Flask, client: FlaskClient, clock: Clock, users: dict[str, User]
) -> None:
    login(client)
    del users["1"]
    clock.advance(IDLE + GRANULARITY + 1)

    with recording(session_expired) as calls:
        assert client.get("/").text == "anonymous"

    assert calls == [(app, {"user": None, "reason": "idle"})]


def test_login_required_says_the_session_expired(
    client: FlaskClient, clock: Clock
) -> None:
    login(client)
    clock.advance(IDLE + GRANULARITY + 1)
    response = client.get("/protected")
    assert is_redirect(response)
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login-page"
    assert parse_qs(location.query)["next"] == ["/protected"]
    assert (
        client.get("/login-page").text
        == "message:Your session has expired. Please log in again."
    )

    # A later refusal is an ordinary one.
    client.get("/protected")
    assert (
        client.get("/login-page").text == "message:Please log in to access this page."
    )


def test_expired_message_is_localised_and_takes_its_category(
    client: FlaskClient, clock: Clock, login_manager: LoginManager
) -> None:
    login_manager.localize_callback = str.upper
    login_manager.login_message_category = "info"
    login(client)
    clock.advance(IDLE + GRANULARITY + 1)
    client.get("/protected")
    assert (
        client.get("/login-page").text
        == "info:YOUR SESSION HAS EXPIRED. PLEASE LOG IN AGAIN."
    )

    login_manager.session_expired_message = "Timed out."
    login_manager.session_expired_message_category = "warning"
    login(client)
    clock.advance(IDLE + GRANULARITY + 1)
    client.get("/protected")
    assert client.get("/login-page").text == "warning:TIMED OUT."


def test_api_request_gets_session_expired_json(
    client: FlaskClient, clock: Clock
) -> None:
    login(client)
    clock.advance(ABSOLUTE + 1)
    response = client.get("/protected", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json == {
        "error": "session_expired",
        "message": "Your session has expired. Please log in again.",
    }
    response = client.get("/protected", headers={"Accept": "application/json"})
    assert response.json is not None
    assert response.json["error"] == "unauthorized"


def test_an_expired_login_is_never_fresh(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = timedelta(days=1)
    login(client)
    assert client.get("/fresh").text == "fresh"
    clock.advance(IDLE + GRANULARITY + 1)
    assert client.get("/fresh").text == "stale"
    assert is_redirect(client.get("/fresh-only"))


def test_fresh_login_max_age_works_alongside(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = 600
    login(client)
    clock.advance(599)
    assert client.get("/fresh-only").text == "fresh-only"
    clock.advance(2)
    assert client.get("/").text == "user:1"
    assert is_redirect(client.get("/fresh-only"))


# The remember cookie


def test_remember_cookie_restores_a_new_login_that_is_not_fresh(
    app: Flask, client: FlaskClient, clock: Clock, users: dict[str, User]
) -> None:
    login(client, remember=True)
    clock.advance(IDLE + GRANULARITY + 1)

    with (
        recording(session_expired) as expired,
        recording(user_loaded_from_cookie) as restored,
    ):
        response = client.get("/fresh")

    assert response.text == "stale"
    assert not deletes_cookie(response, REMEMBER)
    assert cookie_value(client, REMEMBER) is not None
    assert expired == [(app, {"user": users["1"], "reason": "idle"})]
    assert restored == [(app, {"user": users["1"]})]
    data = session_data(client)
    assert login_times(client) == (int(clock.now), int(clock.now))
    assert data["_fresh"] is False
    assert client.get("/").text == "user:1"


def test_remember_cookie_duration_bounds_the_restores(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=2)
    login(client, remember=True)

    for _ in range(3):
        clock.advance(ABSOLUTE + 1)
        assert client.get("/").text == "user:1"

    clock.advance(ABSOLUTE + 1)  # the cookie is over two days old
    assert client.get("/").text == "anonymous"


def test_a_logged_out_user_is_not_restored(client: FlaskClient, clock: Clock) -> None:
    login(client, remember=True)
    client.get("/logout")
    clock.advance(IDLE + GRANULARITY + 1)
    assert client.get("/").text == "anonymous"


# Logins from before the timeouts, and hostile values


def test_a_login_without_timestamps_is_refused(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    """Review N3: a flask-login session (or one made before the timeouts were
    on) has no known age; with a timeout on it ends, rather than being
    stamped "now" on every replay.
    """
    with client.session_transaction() as sess:
        sess.update(_user_id="1", _fresh=True, _id="whatever")

    app.config["SESSION_PROTECTION"] = None

    with recording(session_expired) as calls:
        assert client.get("/").text == "anonymous"

    assert "_user_id" not in session_data(client)
    assert [kwargs["reason"] for _, kwargs in calls] == ["absolute"]


def test_a_login_without_timestamps_counts_from_now_until_the_deadline(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    """With ``SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL`` still to come, a login
    without times is stamped on its first request and lives by the timeouts
    from then on.
    """
    app.config["SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL"] = clock.now + 7 * 24 * 3600

    with client.session_transaction() as sess:
        sess.update(_user_id="1", _fresh=True, _id="whatever")

    app.config["SESSION_PROTECTION"] = None
    response = client.get("/")
    assert response.text == "user:1"
    assert login_times(client) == (int(clock.now), int(clock.now))
    clock.advance(IDLE)
    assert client.get("/").text == "user:1"
    clock.advance(IDLE + GRANULARITY + 1)
    assert client.get("/").text == "anonymous"


def test_a_login_without_timestamps_is_refused_after_the_deadline(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config["SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL"] = clock.now - 1

    with client.session_transaction() as sess:
        sess.update(_user_id="1", _fresh=True, _id="whatever")

    app.config["SESSION_PROTECTION"] = None
    assert client.get("/").text == "anonymous"


@pytest.mark.parametrize("deadline", [False, True])
def test_turning_the_timeouts_on_keeps_existing_logins_only_until_the_deadline(
    app: Flask, client: FlaskClient, clock: Clock, deadline: bool
) -> None:
    app.config.update(
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=None, SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=None
    )
    login(client)
    clock.advance(30 * 24 * 3600)
    app.config.update(
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=IDLE,
        SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT=ABSOLUTE,
    )

    if deadline:
        app.config["SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL"] = clock.now + 3600
        assert client.get("/").text == "user:1"
        clock.advance(ABSOLUTE + 1)

    assert client.get("/").text == "anonymous"


NOW = 1_700_000_000
#: The latest time the stamp can hold, early in 2106.
LAST_TIME = 2**32 - 1
STAMP = lifetime_stamp(NOW, NOW)


def test_a_stamp_written_by_hand_keeps_the_login(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    # The control for the hostile values below: a stamp in the format,
    # written into the session as they are, is read as the times it holds.
    app.config["SESSION_PROTECTION"] = None
    clock.now = NOW
    login(client)

    with client.session_transaction() as sess:
        sess["_lifetime"] = lifetime_stamp(NOW - ABSOLUTE + 10, NOW - 20)

    with recording(session_expired) as calls:
        assert client.get("/").text == "user:1"

    assert calls == []
    assert login_times(client) == (NOW - ABSOLUTE + 10, NOW - 20)
    clock.advance(11)
    assert client.get("/").text == "anonymous"


@pytest.mark.parametrize("idle_on", [True, False])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        # Not a string.
        pytest.param(1700000000, None, id="int"),
        pytest.param(True, None, id="bool"),
        pytest.param(math.nan, None, id="nan"),
        pytest.param([NOW, NOW], None, id="list"),
        pytest.param({"t": NOW}, None, id="dict"),
        pytest.param(STAMP.encode(), None, id="bytes"),
        # Not 11 characters.
        pytest.param("", None, id="empty"),
        pytest.param(f"{NOW}:{NOW}", None, id="decimal"),
        pytest.param(STAMP[:-1], None, id="10-chars"),
        pytest.param(STAMP + "=", None, id="padded"),
        pytest.param(STAMP + "A", None, id="12-chars"),
        pytest.param("9" * 5000, None, id="5000-chars"),
        # 11 characters, not the base64 of 8 bytes.
        pytest.param("!" * 11, None, id="punctuation"),
        pytest.param("-" + STAMP[1:], None, id="url-safe-alphabet"),
        pytest.param(" " + STAMP[1:], None, id="space"),
        pytest.param("\xe9" + STAMP[1:], None, id="non-ascii"),
        pytest.param(STAMP[:8] + "===", None, id="inner-padding"),
        # Times that cannot be.
        pytest.param(lifetime_stamp(NOW + 3600, NOW + 3600), None, id="made-ahead"),
        pytest.param(lifetime_stamp(NOW, NOW + 3600), None, id="seen-ahead"),
        pytest.param(lifetime_stamp(NOW, NOW - 10), None, id="seen-before-made"),
        pytest.param(lifetime_stamp(LAST_TIME, LAST_TIME), None, id="year-2106"),
        # The earliest times the stamp holds: a login far too old.
        pytest.param(lifetime_stamp(0, 0), "absolute", id="epoch"),
        pytest.param(lifetime_stamp(0, NOW), "absolute", id="made-at-epoch"),
    ],
)
def test_hostile_times_end_the_login(
    app: Flask,
    client: FlaskClient,
    clock: Clock,
    value: object,
    reason: str | None,
    idle_on: bool,
) -> None:
    app.config["SESSION_PROTECTION"] = None

    if not idle_on:
        app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = None

    clock.now = NOW
    login(client)

    with client.session_transaction() as sess:
        sess["_lifetime"] = value

    with recording(session_expired) as calls:
        response = client.get("/")

    assert response.status_code == 200
    assert response.text == "anonymous"

    if reason is None:
        # A stamp that is not one, or times that cannot be.
        reason = "idle" if idle_on else "absolute"

    assert [kwargs["reason"] for _, kwargs in calls] == [reason]
    assert "_lifetime" not in session_data(client)


@pytest.mark.parametrize("deadline", [False, True])
def test_null_times_are_a_login_without_times(
    app: Flask, client: FlaskClient, clock: Clock, deadline: bool
) -> None:
    login(client)

    with client.session_transaction() as sess:
        sess["_lifetime"] = None

    if deadline:
        app.config["SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL"] = clock.now + 60
        assert client.get("/").text == "user:1"
        assert login_times(client) == (int(clock.now), int(clock.now))
    else:
        assert client.get("/").text == "anonymous"


def test_a_small_clock_skew_is_tolerated(client: FlaskClient, clock: Clock) -> None:
    login(client)
    clock.advance(-30)  # this server's clock is behind the one that stamped
    assert client.get("/").text == "user:1"


# The test helpers


def test_login_test_client_makes_an_idle_login(
    app: Flask, client: FlaskClient, users: dict[str, User]
) -> None:
    login_test_client(client, users["1"], idle=timedelta(seconds=IDLE + GRANULARITY))
    assert client.get("/").text == "user:1"
    login_test_client(
        client, users["1"], idle=timedelta(seconds=IDLE + GRANULARITY + 1)
    )
    response = client.get("/protected")
    assert is_redirect(response)
    assert client.get("/login-page").text.endswith(
        "Your session has expired. Please log in again."
    )


def test_login_test_client_makes_an_old_login(
    app: Flask, client: FlaskClient, users: dict[str, User]
) -> None:
    app.config["SESSIONAUTH_FRESH_LOGIN_MAX_AGE"] = 3600
    login_test_client(client, users["1"], age=timedelta(hours=1, seconds=1))
    assert client.get("/fresh").text == "stale"  # the fresh window is over too
    login_test_client(client, users["1"], age=timedelta(seconds=ABSOLUTE + 1))
    assert client.get("/").text == "anonymous"


def test_session_auth_client_takes_login_age_and_idle(
    app: Flask, users: dict[str, User]
) -> None:
    app.test_client_class = SessionAuthClient
    young = app.test_client(user=users["1"], login_age=timedelta(hours=11))
    assert young.get("/").text == "user:1"
    old = app.test_client(user=users["1"], login_age=timedelta(hours=13))
    assert old.get("/").text == "anonymous"
    idle = app.test_client(user=users["1"], login_idle=timedelta(hours=1))
    assert idle.get("/").text == "anonymous"


@pytest.mark.parametrize(
    ("age", "idle"),
    [
        (timedelta(seconds=-1), None),
        (None, timedelta(seconds=-1)),
        (timedelta(minutes=1), timedelta(minutes=2)),
    ],
)
def test_login_test_client_refuses_impossible_ages(
    client: FlaskClient,
    users: dict[str, User],
    age: timedelta | None,
    idle: timedelta | None,
) -> None:
    with pytest.raises(ValueError):
        login_test_client(client, users["1"], age=age, idle=idle)


# Server-side sessions


class FakeServerSide:
    """Stands for Flask-Session: only whether ``regenerate`` exists matters."""

    def regenerate(self, sess: t.Any) -> None:
        pass


def test_server_side_store_must_outlive_the_idle_timeout() -> None:
    app = Flask(__name__)
    app.session_interface = FakeServerSide()  # type: ignore[assignment]
    app.config.update(
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(minutes=30),
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=32),
    )

    with pytest.raises(ValueError, match="PERMANENT_SESSION_LIFETIME") as info:
        LoginManager(app)

    assert "timedelta(seconds=1980)" in str(info.value)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=33)
    LoginManager(app)


def test_signed_cookie_sessions_need_no_store_lifetime() -> None:
    app = Flask(__name__)
    app.config.update(
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(hours=2),
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=1),
    )
    LoginManager(app)


# The settings, read on each request: a change at run time applies at
# once, and each app keeps its own


def test_lifetime_settings_changed_at_run_time_apply_at_once(
    app: Flask, clock: Clock
) -> None:
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = timedelta(hours=1)
    client = app.test_client()
    client.get("/login/1")
    clock.advance(30 * 60)
    assert client.get("/").text == "user:1"

    # Ten minutes, and so a granularity of one: ended 11 minutes on.
    app.config["SESSIONAUTH_SESSION_IDLE_TIMEOUT"] = timedelta(minutes=10)
    clock.advance(11 * 60 + 1)
    assert client.get("/").text == "anonymous"


def test_two_apps_with_different_lifetimes(users: dict[str, User]) -> None:
    clock = Clock()
    apps = []

    for minutes in (5, 60):
        app = Flask(__name__)
        app.config.update(
            SECRET_KEY="k", SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(minutes=minutes)
        )
        manager = LoginManager(app)
        manager.clock = clock
        manager.user_loader(users.get)

        @app.route("/login")
        def login() -> str:
            from flask_sessionauth import login_user

            login_user(users["1"])
            return "ok"

        @app.route("/")
        def index() -> str:
            return str(current_user.get_id())

        apps.append(app)

    clients = [app.test_client() for app in apps]

    for client in clients:
        client.get("/login")

    clock.advance(10 * 60)
    # Alternating between the apps, each keeps its own settings.
    for _ in range(2):
        assert [c.get("/").text for c in clients] == ["None", "1"]
