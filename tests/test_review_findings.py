"""The third outside review's findings N2-N8 (issue 14), and the two
flask-login compatibility items that came with it, each pinned by a test
that fails on the code the review read. N1 is in test_request_isolation.py.

Each test builds its own app with :func:`review_app`, which sets the config
before ``init_app``, as an app factory does: a change of config (a key
rotation, a timeout turned on) is a second app with the same secret key and
the same clock, as it is a restart in production.
"""

from __future__ import annotations

import dataclasses
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from cachelib import SimpleCache
from flask import after_this_request
from flask import Flask
from flask import request
from flask import Response
from flask_session import Session
from werkzeug.http import parse_date
from werkzeug.test import TestResponse

from flask_sessionauth import current_user
from flask_sessionauth import encode_cookie
from flask_sessionauth import login_fresh
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import rebind_session
from helpers import Clock
from helpers import session_data
from helpers import TokenUser
from helpers import User

SECRET = "review-findings-secret"
OLD_KEY = "review-findings-old-key"
NEW_KEY = "review-findings-new-key"
REMEMBER = "remember_token"
SESSION = "session"
DAY = 24 * 3600
#: The remember cookie's duration in these tests: 10 days.
DURATION = 10 * DAY
#: How long after the login a remember cookie is re-issued, in the N2 tests.
ELAPSED = 3 * DAY
IDLE = 1800
ABSOLUTE = 12 * 3600
#: Two real User-Agent strings that agree on their first 40 characters.
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"
    " (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
)
#: flask-login's words for a bad ``REMEMBER_COOKIE_DURATION``.
DURATION_MESSAGE = (
    "REMEMBER_COOKIE_DURATION must be a datetime.timedelta, instead got: "
)


def review_app(
    users: dict[str, User],
    clock: Clock,
    *,
    manager: LoginManager | None = None,
    **config: t.Any,
) -> Flask:
    """An app with its config set before ``init_app``: the remember cookie
    lasts :data:`DURATION` unless ``config`` says otherwise.
    """
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        TESTING=True,
        REMEMBER_COOKIE_DURATION=timedelta(seconds=DURATION),
    )
    app.config.update(config)

    if manager is None:
        manager = LoginManager()

    manager.clock = clock

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

    @app.route("/")
    def index() -> str:
        if current_user.is_authenticated:
            return f"user:{current_user.get_id()}"

        return "anonymous"

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(users[user_id], remember=request.args.get("remember") == "1")
        return "ok"

    @app.route("/logout")
    def logout() -> str:
        logout_user()
        return "bye"

    @app.route("/protected")
    @login_required
    def protected() -> str:
        return f"secret:{current_user.get_id()}"

    @app.route("/fresh")
    def fresh() -> str:
        # login_fresh() before anything has read current_user.
        return "fresh" if login_fresh() else "stale"

    @app.route("/user-then-fresh")
    def user_then_fresh() -> str:
        user = current_user.get_id() if current_user.is_authenticated else "anonymous"
        return f"{user} {'fresh' if login_fresh() else 'stale'}"

    manager.init_app(app)
    return app


@dataclasses.dataclass
class SetCookie:
    """One ``Set-Cookie`` header of a response."""

    name: str
    value: str
    #: Attribute names in lower case; a flag such as ``HttpOnly`` maps to "".
    attrs: dict[str, str]

    @property
    def max_age(self) -> int | None:
        value = self.attrs.get("max-age")
        return None if value is None else int(value)

    @property
    def expires(self) -> float | None:
        """The ``Expires`` attribute, in seconds since the epoch."""
        value = parse_date(self.attrs.get("expires"))
        return None if value is None else value.timestamp()

    @property
    def deletes(self) -> bool:
        """Whether it tells the browser to drop the cookie. Compared with the
        epoch, not with now: the tests run the manager's clock in the past.
        """
        expires = self.expires
        return (
            self.value in ("", '""')
            or self.max_age == 0
            or (expires is not None and expires < DAY)
        )

    def header(self) -> str:
        attrs = "".join(f"; {k}={v}" if v else f"; {k}" for k, v in self.attrs.items())
        return f"{self.name}={self.value}{attrs}"


def set_cookies(response: TestResponse, name: str = REMEMBER) -> list[SetCookie]:
    """The ``Set-Cookie`` headers of ``response`` for the cookie ``name``."""
    found = []

    for header in response.headers.getlist("Set-Cookie"):
        pair, *params = header.split(";")
        key, _, value = pair.partition("=")

        if key.strip() != name:
            continue

        attrs: dict[str, str] = {}

        for param in params:
            attr, _, attr_value = param.partition("=")
            attrs[attr.strip().lower()] = attr_value.strip()

        found.append(SetCookie(name, value.strip(), attrs))

    return found


def issued(response: TestResponse, name: str = REMEMBER) -> SetCookie:
    """The one cookie ``name`` that ``response`` sets (not deletes)."""
    found = [cookie for cookie in set_cookies(response, name) if not cookie.deletes]
    assert len(found) == 1, (
        f"expected the response to set one {name} cookie; its Set-Cookie"
        f" headers: {response.headers.getlist('Set-Cookie')}"
    )
    return found[0]


def send(
    app: Flask,
    path: str = "/",
    cookies: t.Mapping[str, str] | None = None,
    *,
    headers: dict[str, str] | None = None,
    environ_base: dict[str, t.Any] | None = None,
) -> TestResponse:
    """GET ``path`` from a client that sends exactly ``cookies`` and keeps
    none of the cookies the response sets.
    """
    sent = dict(headers or {})

    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())

    client = app.test_client(use_cookies=False)

    if environ_base is None:
        return client.get(path, headers=sent)

    return client.get(path, headers=sent, environ_base=environ_base)


# N2: a re-issued remember cookie keeps the expiry of the one it replaces


#: The ways a remember cookie gets re-issued without a new login.
REISSUES = ["key-rotation", "binding", "rebind"]


def reissue(
    case: str, users: dict[str, User], clock: Clock, tina: TokenUser
) -> tuple[Flask, str, SetCookie, SetCookie, float]:
    """Log in with "remember me" now, let :data:`ELAPSED` pass, then use the
    remember cookie on its own where it is re-issued: after a key rotation,
    when binding a cookie issued while the user had no session token, or by
    :func:`~flask_sessionauth.rebind_session` after the user's token changed.

    :return: The app that re-issued it, the user's id, the original cookie,
        the re-issued one, and when the original expires.
    """
    path, answer = "/", "user:{}"

    if case == "key-rotation":
        before = review_app(users, clock, SECRET_KEY=OLD_KEY)
        after = review_app(
            users, clock, SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]
        )
        user_id = "1"
    elif case == "binding":
        tina.token = None
        before = after = review_app(
            users, clock, SESSIONAUTH_ACCEPT_UNBOUND_SESSIONS=True
        )
        user_id = tina.id
    else:
        before = after = review_app(users, clock)
        user_id = tina.id
        path, answer = "/change-token", "rebound:{}"

        @after.route("/change-token")
        @login_required
        def change_token() -> str:
            tina.token = "changed-token"
            rebind_session()
            return f"rebound:{current_user.get_id()}"

    original_expiry = clock.now + DURATION
    original = issued(send(before, f"/login/{user_id}?remember=1"))
    assert original.max_age == DURATION

    if case == "binding":
        tina.token = "tina-token"

    clock.advance(ELAPSED)
    response = send(after, path, {REMEMBER: original.value})
    assert response.text == answer.format(user_id)
    return after, user_id, original, issued(response), original_expiry


@pytest.mark.parametrize("case", REISSUES)
def test_reissued_remember_cookie_keeps_the_original_expiry(
    case: str, users: dict[str, User], clock: Clock, tina: TokenUser
) -> None:
    """Review N2: a remember cookie re-issued after a key rotation, to bind
    it to the user's session token, or by ``rebind_session()``, lasts only
    as long as the original had left, in its Max-Age and its Expires, not a
    full new duration.
    """
    _, _, _, reissued, original_expiry = reissue(case, users, clock, tina)
    remaining = original_expiry - clock.now

    assert reissued.max_age is not None
    assert abs(reissued.max_age - remaining) <= 1, (
        f"the re-issued cookie has Max-Age={reissued.max_age}, but the cookie"
        f" it replaces had {remaining:g} s left: {reissued.header()}"
    )
    assert reissued.expires is not None
    assert abs(reissued.expires - original_expiry) <= 1, (
        f"the re-issued cookie expires {reissued.expires - original_expiry:+g} s"
        f" after the cookie it replaces: {reissued.header()}"
    )


@pytest.mark.parametrize("case", REISSUES)
def test_reissued_remember_cookie_stops_working_at_the_original_expiry(
    case: str, users: dict[str, User], clock: Clock, tina: TokenUser
) -> None:
    """Review N2: the server refuses a re-issued remember cookie once the
    cookie it replaced would have expired, so that a stolen cookie replayed
    after each rotation does not live forever.
    """
    app, user_id, _, reissued, original_expiry = reissue(case, users, clock, tina)

    clock.now = original_expiry - 60
    assert send(app, "/", {REMEMBER: reissued.value}).text == f"user:{user_id}"

    clock.now = original_expiry + 1
    seen = send(app, "/", {REMEMBER: reissued.value}).text
    assert seen == "anonymous", (
        "a re-issued remember cookie still logs in after the cookie it"
        f" replaced expired: {seen!r}"
    )


def test_rolling_key_swap_does_not_renew_the_remember_cookie(
    users: dict[str, User], clock: Clock
) -> None:
    """Review N2: during a rolling key swap, two servers each take the other's
    key as a fallback and re-issue each other's cookies; a login used on both
    every day must still end when its first cookie expires.
    """
    server_a = review_app(
        users, clock, SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]
    )
    server_b = review_app(
        users, clock, SECRET_KEY=OLD_KEY, SECRET_KEY_FALLBACKS=[NEW_KEY]
    )
    start = clock.now
    cookie = issued(send(server_b, "/login/1?remember=1")).value
    reissues = 0
    # Half a day later, so that no visit falls on the expiry itself.
    clock.advance(DAY / 2)

    for day in range(1, DURATION // DAY + 3):
        clock.advance(DAY)
        server = server_a if day % 2 else server_b
        response = send(server, "/", {REMEMBER: cookie})

        if clock.now - start < DURATION:
            assert response.text == "user:1", f"day {day}"
        else:
            assert response.text == "anonymous", (
                f"day {day}, {(clock.now - start) / DAY:g} days after the login:"
                f" the cookie, re-issued {reissues} times by the two servers,"
                f" outlived the {DURATION // DAY}-day cookie it started as"
            )
            return

        renewed = [c for c in set_cookies(response) if not c.deletes]

        if renewed:
            cookie = renewed[0].value
            reissues += 1


def test_reissued_legacy_remember_cookie_lasts_at_most_the_duration(
    users: dict[str, User], clock: Clock
) -> None:
    """Review N2: a flask-login cookie replaced by the signed format lasts at
    most ``REMEMBER_COOKIE_DURATION`` from the replacement.
    """
    # A flask-login cookie carries no date, so its expiry is unknown: "keeps
    # the original expiry" cannot be checked here, only that the replacement
    # does not outlive a full duration from now.
    app = review_app(users, clock)
    legacy = encode_cookie("1", key=SECRET)
    response = send(app, "/", {REMEMBER: legacy})
    assert response.text == "user:1"
    reissued = issued(response)

    assert reissued.max_age is not None
    assert reissued.max_age <= DURATION
    assert reissued.expires is not None
    assert reissued.expires <= clock.now + DURATION + 1

    clock.advance(DURATION + 1)
    assert send(app, "/", {REMEMBER: reissued.value}).text == "anonymous"


# N3: a login without a lifetime stamp


TIMEOUTS: dict[str, dict[str, t.Any]] = {
    "idle": {"SESSIONAUTH_SESSION_IDLE_TIMEOUT": IDLE},
    "absolute": {"SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT": ABSOLUTE},
    "both": {
        "SESSIONAUTH_SESSION_IDLE_TIMEOUT": IDLE,
        "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT": ABSOLUTE,
    },
}


def unstamped_login(
    users: dict[str, User], clock: Clock, *, remember: bool = False
) -> TestResponse:
    """Log user 1 in on an app with no session timeout: the session's login
    has no lifetime stamp, as a login made before the timeouts were turned
    on (or by flask-login) has none.
    """
    app = review_app(users, clock)
    response = send(app, f"/login/1{'?remember=1' if remember else ''}")
    assert response.text == "ok"
    return response


@pytest.mark.parametrize("timeouts", list(TIMEOUTS), ids=list(TIMEOUTS))
def test_unstamped_login_is_refused_once_a_timeout_is_on(
    timeouts: str, users: dict[str, User], clock: Clock
) -> None:
    """Review N3: by default, a session login without a lifetime stamp is
    refused as soon as a session timeout is on, rather than stamped "now"
    (which a replayed copy would get again on every request).
    """
    stolen = issued(unstamped_login(users, clock), SESSION).value
    app = review_app(users, clock, **TIMEOUTS[timeouts])

    seen = send(app, "/", {SESSION: stolen}).text
    assert seen == "anonymous", (
        f"a session login without a lifetime stamp was accepted ({seen!r})"
        " with a timeout on: it is stamped now on each replay, so a copy never"
        " expires"
    )
    assert send(app, "/protected", {SESSION: stolen}).status_code == 401


@pytest.mark.parametrize("kind", ["unix-time", "aware-datetime"])
def test_replayed_unstamped_login_dies_at_the_migration_deadline(
    kind: str, users: dict[str, User], clock: Clock
) -> None:
    """Review N3: with ``SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL`` set, a session
    login without a lifetime stamp is accepted until that deadline and
    refused after it, even when the same unstamped copy is replayed.
    """
    stolen = issued(unstamped_login(users, clock), SESSION).value
    deadline = clock.now + 7 * DAY + 3600
    value: object = (
        deadline
        if kind == "unix-time"
        else datetime.fromtimestamp(deadline, tz=timezone.utc)
    )
    app = review_app(
        users, clock, SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL=value, **TIMEOUTS["both"]
    )
    refused_before: list[str] = []
    accepted_after: list[str] = []

    # Replayed every 6 hours for two days past the deadline, each time from
    # the original unstamped cookie.
    while clock.now < deadline + 2 * DAY:
        seen = send(app, "/", {SESSION: stolen}).text
        when = f"{(clock.now - deadline) / 3600:+g} h from the deadline: {seen!r}"

        if clock.now < deadline and seen != "user:1":
            refused_before.append(when)
        elif clock.now > deadline and seen != "anonymous":
            accepted_after.append(when)

        clock.advance(6 * 3600)

    assert not accepted_after, (
        "a replayed unstamped login was accepted after the deadline:\n"
        + "\n".join(accepted_after)
    )
    assert not refused_before, (
        "an unstamped login was refused before the deadline:\n"
        + "\n".join(refused_before)
    )


def test_remember_cookie_starts_a_stamped_login_over_an_unstamped_one(
    users: dict[str, User], clock: Clock
) -> None:
    """Review N3: a user with a remember cookie and an unstamped session
    login stays logged in once a timeout is on, with a login that carries a
    lifetime stamp.
    """
    response = unstamped_login(users, clock, remember=True)
    app = review_app(users, clock, **TIMEOUTS["both"])
    client = app.test_client()
    client.set_cookie(SESSION, issued(response, SESSION).value)
    client.set_cookie(REMEMBER, issued(response).value)

    assert client.get("/").text == "user:1"
    assert "_lifetime" in session_data(client)


# N4: a custom identifier generator that returns plain text


def user_agent_only() -> str:
    """A session protection identifier that is the User-Agent, as text."""
    return request.headers.get("User-Agent", "")


@pytest.mark.parametrize("mode", ["strong", "basic"])
def test_plain_text_identifier_is_compared_in_full(
    mode: str, users: dict[str, User], clock: Clock
) -> None:
    """Review N4: with an ``identifier_generator`` that returns the
    User-Agent as plain text, a Chrome login replayed from Firefox is another
    client (ended under "strong", not fresh under "basic"), although both
    User-Agents share their first 32 characters.
    """
    assert CHROME[:40] == FIREFOX[:40]
    manager = LoginManager()
    manager.identifier_generator = user_agent_only
    app = review_app(users, clock, manager=manager, SESSION_PROTECTION=mode)
    client = app.test_client()
    assert client.get("/login/1", headers={"User-Agent": CHROME}).text == "ok"
    assert (
        client.get("/user-then-fresh", headers={"User-Agent": CHROME}).text == "1 fresh"
    )

    seen = client.get("/user-then-fresh", headers={"User-Agent": FIREFOX}).text
    expected = "anonymous stale" if mode == "strong" else "1 stale"
    assert seen == expected, (
        f"a login made from Chrome was served to Firefox as {seen!r} under"
        f" {mode!r} protection: only the identifiers' first 32 characters"
        " were compared"
    )


@pytest.mark.parametrize(
    "agent",
    [
        "0x" + "0" * 126,
        "-" + "0" * 127,
        "+" + "0" * 127,
        " " + "0" * 127,
        "0_" * 64,
        "00 " * 42 + "00",
        "A" * 128,
        "0" * 127 + "\u00e9",
    ],
    ids=["0x", "minus", "plus", "space", "underscores", "spaced", "upper", "non-ascii"],
)
@pytest.mark.parametrize("mode", ["strong", "basic"])
def test_plain_text_identifier_shaped_like_a_digest_is_no_server_error(
    mode: str, agent: str, users: dict[str, User], clock: Clock
) -> None:
    """A plain-text identifier of 128 characters that integer or hex parsing
    would half accept is hashed like any other text: logging in and using
    the login from that client works, and another client is another client.
    """
    manager = LoginManager()
    manager.identifier_generator = user_agent_only
    app = review_app(users, clock, manager=manager, SESSION_PROTECTION=mode)
    client = app.test_client()
    assert client.get("/login/1", headers={"User-Agent": agent}).text == "ok"
    assert client.get("/user-then-fresh", headers={"User-Agent": agent}).text == (
        "1 fresh"
    )
    other = client.get("/user-then-fresh", headers={"User-Agent": "0" * 128})
    assert other.status_code == 200
    assert other.text == ("anonymous stale" if mode == "strong" else "1 stale")


# N5: login_fresh() answers for a login protection has judged


@pytest.mark.parametrize(
    "thief",
    [
        {"headers": {"User-Agent": "Thief/1.0"}},
        {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}},
    ],
    ids=["other-user-agent", "other-address"],
)
def test_login_fresh_before_current_user_sees_a_copied_session(
    thief: dict[str, t.Any], users: dict[str, User], clock: Clock
) -> None:
    """Review N5: under "basic" protection, a session copied to another
    client is not fresh, even when the view asks ``login_fresh()`` before
    anything has read ``current_user``.
    """
    app = review_app(users, clock, SESSION_PROTECTION="basic")
    owner = app.test_client()
    response = owner.get("/login/1")
    assert response.text == "ok"
    assert owner.get("/fresh").text == "fresh"
    stolen = issued(response, SESSION).value

    seen = send(app, "/fresh", {SESSION: stolen}, **thief).text
    assert seen == "stale", (
        "login_fresh() called before current_user said a session copied to"
        " another client is fresh: it read the session before session"
        " protection had judged the login"
    )


# N6: "strong" under Flask-Session


def test_strong_protection_ends_a_copied_flask_session_login(
    users: dict[str, User], clock: Clock
) -> None:
    """Review N6: under Flask-Session, which makes every session permanent,
    "strong" protection still ends a login whose session id is used by
    another client.
    """
    app = review_app(
        users,
        clock,
        SESSION_PROTECTION="strong",
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=SimpleCache(),
    )
    Session(app)
    owner = app.test_client()
    assert owner.get("/login/1", headers={"User-Agent": CHROME}).text == "ok"
    assert owner.get("/", headers={"User-Agent": CHROME}).text == "user:1"
    cookie = owner.get_cookie(SESSION)
    assert cookie is not None
    session_id = cookie.value

    seen = send(app, "/", {SESSION: session_id}, headers={"User-Agent": FIREFOX}).text
    assert seen == "anonymous", (
        f"a Flask-Session session id used from another client was {seen!r}"
        " under 'strong' protection: the permanent session got 'basic'"
    )
    response = send(
        app, "/protected", {SESSION: session_id}, headers={"User-Agent": FIREFOX}
    )
    assert response.status_code == 401


# N7: the compatibility _set_cookie checks the login


@pytest.mark.parametrize("timeout", ["absolute", "idle"])
@pytest.mark.parametrize("where", ["after_request", "after_this_request"])
def test_compat_set_cookie_mints_nothing_for_an_expired_login(
    where: str, timeout: str, users: dict[str, User], clock: Clock
) -> None:
    """Review N7: ``login_manager._set_cookie(response)``, flask-login's
    private method, mints no remember cookie for a login that outlived the
    session timeouts, on a request that never read ``current_user``.
    """
    manager = LoginManager()
    key = (
        "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT"
        if timeout == "absolute"
        else "SESSIONAUTH_SESSION_IDLE_TIMEOUT"
    )
    app = review_app(users, clock, manager=manager, **{key: IDLE})

    @app.route("/hook")
    def hook() -> str:
        return "plain"

    @app.after_request
    def mint_in_hook(response: Response) -> Response:
        if request.path == "/hook":
            manager._set_cookie(response)

        return response

    @app.route("/view")
    def view() -> str:
        @after_this_request
        def mint(response: Response) -> Response:
            manager._set_cookie(response)
            return response

        return "plain"

    client = app.test_client()
    assert client.get("/login/1").text == "ok"
    clock.advance(3 * IDLE)

    response = client.get("/hook" if where == "after_request" else "/view")
    assert response.text == "plain"
    minted = [c.header() for c in set_cookies(response) if not c.deletes]
    assert not minted, (
        f"_set_cookie minted a remember cookie for a login that had expired: {minted}"
    )
    assert client.get("/").text == "anonymous"


# N8: logout deletes the remember cookie wherever it lives


def test_logout_outside_the_cookie_path_deletes_the_remember_cookie(
    users: dict[str, User], clock: Clock
) -> None:
    """Review N8: with ``REMEMBER_COOKIE_PATH="/app"``, a logout at
    ``/logout``, where the browser does not send the remember cookie, still
    deletes it, with ``Path=/app``, so that the next visit to ``/app`` is
    anonymous.
    """
    app = review_app(users, clock, REMEMBER_COOKIE_PATH="/app")

    @app.route("/app")
    def app_home() -> str:
        if current_user.is_authenticated:
            return f"user:{current_user.get_id()}"

        return "anonymous"

    @app.route("/app/login")
    def app_login() -> str:
        login_user(users["1"], remember=True)
        return "ok"

    @app.route("/signout")
    def signout() -> str:
        sent = REMEMBER in request.cookies
        logout_user()
        return "sent" if sent else "not sent"

    client = app.test_client()
    response = client.get("/app/login")
    assert issued(response).attrs.get("path") == "/app"
    assert client.get("/app").text == "user:1"

    response = client.get("/signout")
    # The scenario: the browser did not send the cookie to a path outside it.
    assert response.text == "not sent"
    deleted = [
        c for c in set_cookies(response) if c.deletes and c.attrs.get("path") == "/app"
    ]
    assert deleted, (
        "the logout response does not delete the remember cookie at Path=/app;"
        f" its Set-Cookie headers: {response.headers.getlist('Set-Cookie')}"
    )
    assert client.get("/app").text == "anonymous"


# Also: REMEMBER_COOKIE_DURATION misuse, in flask-login's words


def test_remember_cookie_duration_string_fails_at_init_app(
    users: dict[str, User], clock: Clock
) -> None:
    """Review, also: a ``REMEMBER_COOKIE_DURATION`` that is not a duration
    raises at ``init_app`` with flask-login's message.
    """
    with pytest.raises(Exception, match=r"REMEMBER_COOKIE_DURATION") as info:
        review_app(users, clock, REMEMBER_COOKIE_DURATION="123")

    message = str(info.value)
    assert message.startswith(DURATION_MESSAGE), message
    assert "123" in message[len(DURATION_MESSAGE) :]


def test_remember_cookie_duration_string_set_later_fails_on_login(
    users: dict[str, User], clock: Clock
) -> None:
    """Review, also: a ``REMEMBER_COOKIE_DURATION`` that is not a duration,
    set after ``init_app``, raises with flask-login's message on the login
    that sets the remember cookie.
    """
    app = review_app(users, clock)
    app.config["REMEMBER_COOKIE_DURATION"] = "123"

    with pytest.raises(Exception, match=r"REMEMBER_COOKIE_DURATION") as info:
        app.test_client().get("/login/1?remember=1")

    message = str(info.value)
    assert message.startswith(DURATION_MESSAGE), message
    assert "123" in message[len(DURATION_MESSAGE) :]


# Also: flask-login methods that subclasses override


def test_load_user_override_is_not_silently_ignored(
    users: dict[str, User], clock: Clock
) -> None:
    """Review, also: a ``LoginManager`` subclass that overrides flask-login's
    ``_load_user`` is either called when the user is loaded or refused at
    ``init_app`` with a message naming it.
    """
    calls: list[str] = []

    class Manager(LoginManager):
        def _load_user(self) -> t.Any:
            calls.append("_load_user")
            base: t.Any = super()
            return base._load_user()

    try:
        app = review_app(users, clock, manager=Manager())
    except (TypeError, RuntimeError) as exc:
        assert "_load_user" in str(exc)
        return

    client = app.test_client()
    assert client.get("/login/1").text == "ok"
    assert client.get("/").text == "user:1"
    assert calls, "the subclass's _load_user was silently ignored"


def test_session_protection_failed_override_is_not_silently_ignored(
    users: dict[str, User], clock: Clock
) -> None:
    """Review, also: a ``LoginManager`` subclass that overrides flask-login's
    ``_session_protection_failed`` is either obeyed when a login is checked
    or refused at ``init_app`` with a message naming it.
    """
    calls: list[str] = []

    class Manager(LoginManager):
        def _session_protection_failed(self) -> bool:
            calls.append("_session_protection_failed")
            return True  # this app refuses every session it is asked about

    try:
        app = review_app(users, clock, manager=Manager(), SESSION_PROTECTION="basic")
    except (TypeError, RuntimeError) as exc:
        assert "_session_protection_failed" in str(exc)
        return

    owner = app.test_client()
    response = owner.get("/login/1")
    assert response.text == "ok"
    # Used from another client, so that protection has a login to judge.
    seen = send(
        app,
        "/",
        {SESSION: issued(response, SESSION).value},
        headers={"User-Agent": "x"},
    ).text

    assert calls, "the subclass's _session_protection_failed was silently ignored"
    assert seen == "anonymous", (
        "the subclass's _session_protection_failed said the login failed"
        f" protection, and the request was still served as {seen!r}"
    )


# Configuration keys: the SESSIONAUTH_ prefix


OLD_NAMES: dict[str, t.Any] = {
    "SESSION_IDLE_TIMEOUT": 60,
    "SESSION_ABSOLUTE_TIMEOUT": 3600,
    "SESSION_IDLE_GRANULARITY": 30,
    "BASIC_AUTH_LOGIN": False,
    "ACCEPT_UNBOUND_SESSIONS": False,
    "ALLOWED_REDIRECT_HOSTS": ["example.com"],
    "REDIRECT_REQUIRE_HTTPS": True,
    "FRESH_LOGIN_MAX_AGE": 600,
    "LOGOUT_CLEAR_SESSION": True,
    "REMEMBER_COOKIE_ACCEPT_LEGACY": False,
}


@pytest.mark.parametrize("old", list(OLD_NAMES))
def test_old_unprefixed_config_key_fails_at_init_app(
    old: str, users: dict[str, User], clock: Clock
) -> None:
    """Issue 14, section 3: a config key under its old, unprefixed name
    raises at ``init_app``, naming the new ``SESSIONAUTH_`` name, rather than
    being silently ignored.
    """
    new = f"SESSIONAUTH_{old}"

    with pytest.raises((ValueError, TypeError, KeyError, RuntimeError)) as info:
        review_app(users, clock, **{old: OLD_NAMES[old]})

    assert new in str(info.value)


def test_flask_basicauth_realm_key_is_left_alone(
    users: dict[str, User], clock: Clock
) -> None:
    """Issue 14, section 3: ``BASIC_AUTH_REALM`` is Flask-BasicAuth's key, so
    an app may set it for that extension: ``init_app`` accepts it, and the
    realm of this extension's 401 stays ``SESSIONAUTH_BASIC_AUTH_REALM``'s.
    """
    manager = LoginManager()

    @manager.basic_auth_loader
    def check_password(username: str, password: str) -> User | None:
        return None

    app = review_app(
        users, clock, manager=manager, BASIC_AUTH_REALM="Flask-BasicAuth's realm"
    )
    response = send(app, "/protected", headers={"Accept": "application/json"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Login required"'


INVALID_VALUES: dict[str, t.Any] = {
    "SESSIONAUTH_SESSION_IDLE_TIMEOUT": "soon",
    "SESSIONAUTH_SESSION_ABSOLUTE_TIMEOUT": "soon",
    # Invalid even while no timeout is on, which is when it is not used.
    "SESSIONAUTH_SESSION_IDLE_GRANULARITY": "soon",
    "SESSIONAUTH_FRESH_LOGIN_MAX_AGE": "soon",
    "SESSIONAUTH_UNSTAMPED_LOGINS_UNTIL": "soon",
}


@pytest.mark.parametrize("key", list(INVALID_VALUES))
def test_invalid_prefixed_config_value_fails_at_init_app(
    key: str, users: dict[str, User], clock: Clock
) -> None:
    """Issue 14, section 3: an invalid value of a ``SESSIONAUTH_`` key raises
    at ``init_app`` with a message that names the key and the value.
    """
    with pytest.raises((ValueError, TypeError)) as info:
        review_app(users, clock, **{key: INVALID_VALUES[key]})

    message = str(info.value)
    assert key in message, message
    assert "soon" in message, message
