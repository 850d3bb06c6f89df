"""Property-based fuzzing, with Hypothesis, of what a client controls: the
remember cookie, the session's contents, the ``Authorization`` header and
the ``next`` target of a login.

Whatever is sent, the answer is never a server error, and the request is
either anonymous or made by exactly the user the input validly names. Each
property runs as a function inside its test, so the fixtures are built once
per test, and the test can check afterwards how many examples really ran. The
counts, and what came of the examples, are printed in the terminal summary.
"""

from __future__ import annotations

import base64
import hmac
import re
import typing as t
from collections import Counter
from urllib.parse import unquote

import pytest
from flask import Flask
from flask import jsonify
from flask import redirect
from flask import request
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from itsdangerous import BadData
from itsdangerous.encoding import base64_decode
from itsdangerous.encoding import base64_encode
from werkzeug.http import dump_cookie
from werkzeug.test import TestResponse

from flask_sessionauth import current_user
from flask_sessionauth import encode_cookie
from flask_sessionauth import login_fresh
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth.protection import create_identifier
from flask_sessionauth.redirects import get_next_url
from helpers import Clock
from helpers import deletes_cookie
from helpers import encode_user_id
from helpers import is_redirect
from helpers import remember_payload
from helpers import short_identifier_of
from helpers import signed_remember_cookie
from helpers import TokenUser
from helpers import User

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from flask.typing import ResponseReturnValue

REMEMBER = "remember_token"
SECRET = "test-secret"
TOKEN = "tina-token"
#: The default REMEMBER_COOKIE_DURATION, in seconds.
YEAR = 365 * 24 * 60 * 60
#: Basic credentials: username -> (password, user id). Carol is inactive.
CREDENTIALS = {
    "alice": ("open sesame", "1"),
    "bob": ("hunter2", "2"),
    "carol": ("pa:ss wörd", "3"),
}

# What a WSGI server can hand the app as a header value: latin-1 text without
# line breaks (it decodes the raw bytes as latin-1, and a line break would end
# the header).
HEADER_CHARS = st.characters(max_codepoint=0xFF, exclude_characters="\r\n")
header_text = st.text(HEADER_CHARS, max_size=200)

json_leaves = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
)
#: Values a JSON session serializer can hold; small, so the session cookie
#: stays far below the 4 KB browsers allow.
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def fuzz(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None)


# The app


class ExampleCounts:
    """A plugin that prints how many examples each property ran, and what
    came of them.
    """

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter
    ) -> None:
        if not self.counts:
            return

        terminalreporter.section("test_fuzz.py: examples run")

        for name, outcomes in self.counts.items():
            detail = ", ".join(f"{key}: {n}" for key, n in sorted(outcomes.items()))
            terminalreporter.write_line(f"{name}: {outcomes.total()} ({detail})")


@pytest.fixture(scope="module")
def example_counts(request: pytest.FixtureRequest) -> dict[str, Counter[str]]:
    plugin = ExampleCounts()
    request.config.pluginmanager.register(plugin, f"{__name__}-example-counts")
    return plugin.counts


@pytest.fixture
def tina_token() -> str:
    return TOKEN


@pytest.fixture
def app(
    app: Flask,
    login_manager: LoginManager,
    users: dict[str, User],
    tina: TokenUser,
) -> Flask:
    @login_manager.basic_auth_loader
    def check_password(username: str, password: str) -> User | None:
        entry = CREDENTIALS.get(username)

        if entry is None:
            return None

        expected, user_id = entry

        if not hmac.compare_digest(expected.encode(), password.encode()):
            return None

        return users[user_id]

    @app.route("/whoami")
    def whoami() -> ResponseReturnValue:
        # Who was loaded, active or not: an inactive user is loaded but not
        # authenticated, and must still be the right one.
        user = current_user.get_id()

        try:
            auth = request.authorization
        except Exception:
            auth = None

        sent = None

        if auth is not None and auth.type == "basic":
            sent = [auth.username, auth.password]

        return jsonify(
            user=user,
            authenticated=current_user.is_authenticated,
            fresh=login_fresh(),
            had_cookie=REMEMBER in request.cookies,
            cookie=request.cookies.get(REMEMBER),
            sent=sent,
        )

    @app.route("/identifier")
    def identifier() -> str:
        return create_identifier()

    @app.route("/signin", methods=["GET", "POST"])
    def signin() -> ResponseReturnValue:
        login_user(users["1"])
        return redirect(get_next_url())

    return app


def check(response: TestResponse) -> dict[str, t.Any]:
    """The body of a ``/whoami`` response, after checking it is no error."""
    assert response.status_code == 200, response.text
    body = response.json
    assert isinstance(body, dict)
    return body


# (a) Remember cookies


@pytest.fixture
def valid_cookies(app: Flask) -> list[tuple[str, str]]:
    """Valid remember cookies, with the id of the user each belongs to."""
    cookies = []

    for user_id in ("1", "7"):
        client = app.test_client()
        client.get(f"/login/{user_id}?remember=1")
        cookie = client.get_cookie(REMEMBER)
        assert cookie is not None
        cookies.append((user_id, cookie.value))

    with app.test_request_context():
        cookies.append(("1", encode_cookie("1")))

    return cookies


def swap_user(value: str, user_id: str) -> str:
    """Put another user id into a cookie, keeping its signature."""
    _, sep, digest = value.rpartition("|")

    if sep and len(digest) == 128:
        return f"{user_id}|{digest}"

    payload, sep, signature = value.rpartition(".")
    fields = payload.split("~")

    if not sep or len(fields) != 4:
        return value

    fields[3] = encode_user_id(user_id)
    return "~".join(fields) + "." + signature


MUTATIONS = (
    "flip",
    "truncate",
    "append",
    "insert",
    "delete",
    "swap_user",
    "swap_case",
    "double",
    "separator",
)


@st.composite
def mutated(draw: st.DrawFn, value: str) -> str:
    """``value`` changed one to three times."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(MUTATIONS))
        at = draw(st.integers(0, len(value)))

        if kind == "flip":
            char = draw(HEADER_CHARS)
            value = value[:at] + char + value[at + 1 :]
        elif kind == "truncate":
            value = value[:at]
        elif kind == "append":
            value += draw(st.text(HEADER_CHARS, max_size=10))
        elif kind == "insert":
            value = value[:at] + draw(st.text(HEADER_CHARS, max_size=5)) + value[at:]
        elif kind == "delete":
            value = value[:at] + value[at + draw(st.integers(1, 10)) :]
        elif kind == "swap_user":
            other = draw(st.sampled_from(["1", "2", "3", "7", "0", "1 ", ""]))
            value = swap_user(value, other)
        elif kind == "swap_case":
            value = value.swapcase()
        elif kind == "double":
            value += value
        else:
            value = value.replace(".", "|", 1) if "." in value else value + "."

    return value


@st.composite
def remember_cookies(
    draw: st.DrawFn, valid: list[tuple[str, str]]
) -> tuple[str | None, str]:
    """A cookie value and the only user it may log in (None: nobody)."""
    kind = draw(st.sampled_from(["text", "bytes", "signed-shape", "mutated"]))

    if kind == "text":
        return None, draw(header_text)

    if kind == "bytes":
        raw = draw(st.binary(max_size=200))
        return None, raw.decode("latin-1").replace("\r", "").replace("\n", "")

    if kind == "signed-shape":
        # Four "~"-separated fields and a signature, as this extension's
        # cookies are: digits, a number, base64, base64, then base64.
        b64 = st.binary(max_size=40).map(lambda b: base64_encode(b).decode())
        expires = st.integers(0, 10**13).map(str)
        seconds = st.integers(-10, 2 * YEAR).map(str)
        fields = draw(st.tuples(expires, seconds, b64, b64))
        return None, "~".join(fields) + "." + draw(b64)

    owner, value = draw(st.sampled_from(valid))
    return owner, draw(mutated(value))


def test_fuzz_remember_cookie(
    app: Flask,
    valid_cookies: list[tuple[str, str]],
    example_counts: dict[str, Counter[str]],
) -> None:
    client = app.test_client(use_cookies=False)

    outcomes = example_counts["remember_cookie"] = Counter()

    @fuzz(1000)
    @given(remember_cookies(valid_cookies))
    def holds(case: tuple[str | None, str]) -> None:
        owner, value = case
        response = client.get("/whoami", headers={"Cookie": f"{REMEMBER}={value}"})
        body = check(response)
        outcomes[f"user {body['user']}"] += 1

        assert body["user"] in (None, owner), value

        if body["user"] is None and body["had_cookie"]:
            # An invalid remember cookie is deleted, not left to come back.
            assert deletes_cookie(response, REMEMBER), value

    holds()
    assert outcomes.total() >= 1000


#: Durations that once overflowed the cookie's expiry date or never expired
#: (see test_signed_remember_cookie_with_unusable_duration), as the cookie's
#: text would say them.
EXTREME_DURATIONS = {
    "zero": "0",
    "minus-zero": "-0.0",
    "year-10000": "251702300800.0",
    "1e300": "1e300",
    "10**400": str(10**400),
    "infinity": "inf",
    "minus-infinity": "-inf",
    "nan": "nan",
}


def send_remember(client: FlaskClient, value: str) -> dict[str, t.Any]:
    """The ``/whoami`` body of a request with the remember cookie ``value``,
    quoted as Werkzeug quotes a cookie it sets, so that any text reaches the
    app as it is.
    """
    header = dump_cookie(REMEMBER, value, max_size=0).partition(";")[0]
    response = client.get("/whoami", headers={"Cookie": header})
    body = check(response)
    assert body["cookie"] == value

    if body["user"] is None:
        # A refused cookie is deleted, not left to come back.
        assert deletes_cookie(response, REMEMBER), value

    return body


def named_user(payload: str) -> str | None:
    """The user id a payload's last field names, if it has four fields and
    the last decodes as URL-safe base64 of UTF-8.
    """
    fields = payload.split("~")

    if len(fields) != 4:
        return None

    uid = fields[3]

    try:
        return base64.urlsafe_b64decode(uid + "=" * (-len(uid) % 4)).decode("utf-8")
    except ValueError:
        return None


def test_fuzz_remember_cookie_contents(
    app: Flask, clock: Clock, example_counts: dict[str, Counter[str]]
) -> None:
    # What the extension does with a correctly signed cookie whose contents
    # are not what it writes: as if the format changed, or the key leaked.
    client = app.test_client(use_cookies=False)
    now = int(clock())
    user_ids = st.sampled_from(["1", "2", "3", "7", "9", ""]) | st.text(max_size=20)
    expires = (
        st.integers(now - 2 * YEAR, now + 2 * YEAR)
        | st.integers(-10, 10**13)
        | st.sampled_from([now - 1, now, now + 60, now + 61])
    ).map(str) | st.text(max_size=14)
    seconds = (
        st.integers(-10, 2 * YEAR).map(str)
        | st.floats().map(repr)
        | st.sampled_from(list(EXTREME_DURATIONS.values()))
        | st.text(max_size=34)
    )
    # An empty signature is no signature: user 7's login is then unbound.
    signatures = st.sampled_from(["", "x"]) | st.text(max_size=300)
    uids = user_ids.map(encode_user_id) | st.text(max_size=30)
    four_fields = st.tuples(expires, seconds, signatures, uids).map("~".join)
    other_shapes = st.lists(st.text(max_size=10), max_size=6).map("~".join)
    # What this extension writes, so that valid cookies are among the examples:
    # (user id, expiry from now, duration).
    proper = st.tuples(
        st.sampled_from(["1", "2", "3", "7"]),
        st.integers(-600, 2 * YEAR),
        st.integers(1, 2 * YEAR),
    )

    outcomes = example_counts["remember_cookie_contents"] = Counter()

    @fuzz(400)
    @given(proper | four_fields | other_shapes | st.text(max_size=50))
    def holds(case: tuple[str, int, int] | str) -> None:
        if isinstance(case, tuple):
            user_id, left, duration = case
            payload = remember_payload(user_id, now + left, duration)
        else:
            payload = case

        value = signed_remember_cookie(SECRET, payload)
        body = send_remember(client, value)
        outcomes[f"user {body['user']}"] += 1

        if body["user"] is not None:
            assert body["user"] == named_user(payload)

        if isinstance(case, tuple):
            user_id, left, duration = case
            # Valid until its expiry, and issued no later than now (give or
            # take a minute's clock skew).
            valid = 0 <= left and left - duration <= 60

            if user_id in ("1", "2") and valid:
                assert body["user"] == user_id
            elif not valid:
                assert body["user"] is None

    holds()
    assert outcomes.total() >= 400


@pytest.mark.parametrize(
    "seconds", list(EXTREME_DURATIONS.values()), ids=list(EXTREME_DURATIONS)
)
def test_signed_remember_cookie_with_unusable_duration(
    app: Flask, clock: Clock, seconds: str
) -> None:
    # Found by test_fuzz_remember_cookie_contents. Only a holder of the key
    # can sign such a cookie, but bad input must still fail soft. Refreshed on
    # each request, an accepted cookie would be issued again for its
    # duration: a duration out of range must not get that far.
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    client = app.test_client(use_cookies=False)
    payload = f"{int(clock()) + 3600}~{seconds}~~{encode_user_id('1')}"
    value = signed_remember_cookie(SECRET, payload)

    assert send_remember(client, value)["user"] is None


def test_signed_remember_cookie_with_the_longest_duration(
    app: Flask, clock: Clock
) -> None:
    # The control for the test above: a hundred years, the longest duration
    # a cookie may say, is accepted and issued again without error.
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = True
    client = app.test_client(use_cookies=False)
    hundred_years = 100 * 365 * 24 * 3600
    payload = remember_payload("1", int(clock()) + 3600, hundred_years)
    header = f"{REMEMBER}={signed_remember_cookie(SECRET, payload)}"
    response = client.get("/whoami", headers={"Cookie": header})

    assert check(response)["user"] == "1"
    assert any(
        h.startswith(f"{REMEMBER}=") for h in response.headers.getlist("Set-Cookie")
    )
    assert not deletes_cookie(response, REMEMBER)


# (b) Session contents


@pytest.fixture
def identifiers(app: Flask) -> tuple[str, str, str]:
    """The test client's session-protection identifier as sessions store it:
    short (this extension), full (flask-login) and the first 32 hex digits
    (this extension's 0.1.0).
    """
    client = app.test_client()
    client.get("/login/1")

    with client.session_transaction() as sess:
        short = sess["_id"]

    full = client.get("/identifier").text
    assert short == short_identifier_of(full)
    return short, full, full[:32]


def same_bytes(signature: str, expected: str) -> bool:
    try:
        return base64_decode(signature) == base64_decode(expected)
    except BadData:
        return False


def session_outcomes(
    data: dict[str, t.Any],
    mode: str | None,
    identifiers: tuple[str, str, str],
    users: dict[str, User],
    token_signature: str,
) -> set[str | None]:
    """The users a request with this session may be made by."""
    if "_user_id" not in data:
        return {None}

    if mode == "strong" and data.get("_id") not in identifiers:
        if not data.get("_permanent"):
            return {None}

    user_id = data["_user_id"]

    # An int id reaches the loader as an int, as in flask-login; this app's
    # loader only knows str ids.
    if not isinstance(user_id, str):
        return {None}

    if not 0 < len(user_id) <= 1024 or user_id not in users:
        return {None}

    signature = data.get("_token_sig")

    if user_id == "7" and signature is not None and signature != token_signature:
        # Base64 decoding is lenient (the last character's unused bits,
        # stray characters), so a few other strings decode to the same
        # signature; anything else is refused.
        if isinstance(signature, str) and same_bytes(signature, token_signature):
            return {None, "7"}

        return {None}

    return {user_id}


@pytest.mark.parametrize("mode", [None, "basic", "strong"])
def test_fuzz_session_contents(
    app: Flask,
    users: dict[str, User],
    identifiers: tuple[str, str, str],
    mode: str | None,
    example_counts: dict[str, Counter[str]],
) -> None:
    app.config["SESSION_PROTECTION"] = mode
    client = app.test_client()

    tina_client = app.test_client()
    tina_client.get("/login/7")

    with tina_client.session_transaction() as sess:
        token_signature = sess["_token_sig"]

    ids = st.sampled_from(["1", "2", "3", "7", "9", "", " 1", "x" * 1025])
    sessions = st.fixed_dictionaries(
        {},
        optional={
            "_user_id": ids | st.integers(0, 10) | json_values,
            "_fresh": st.booleans() | json_values,
            "_id": st.sampled_from(identifiers) | json_values,
            "_remember_seconds": st.integers() | json_values,
            "_fresh_at": st.integers() | json_values,
            "_token_sig": st.sampled_from([token_signature, token_signature + "!"])
            | json_values,
            "_permanent": st.booleans() | json_values,
            "next": st.text(max_size=30) | json_values,
        },
    )

    outcomes = example_counts[f"session_contents[{mode}]"] = Counter()

    @fuzz(300)
    @given(sessions)
    def holds(data: dict[str, t.Any]) -> None:
        with client.session_transaction() as sess:
            sess.clear()
            sess.update(data)

        body = check(client.get("/whoami"))
        outcomes[f"user {body['user']}"] += 1
        expected = session_outcomes(data, mode, identifiers, users, token_signature)
        assert body["user"] in expected, data

        if body["fresh"]:
            assert data.get("_fresh") is True

    holds()
    assert outcomes.total() >= 300


# (c) Authorization headers


def basic(username: str | bytes, password: str | bytes) -> str:
    if isinstance(username, str):
        username = username.encode()

    if isinstance(password, str):
        password = password.encode()

    return "Basic " + base64.b64encode(username + b":" + password).decode()


VALID_HEADERS = [basic(name, entry[0]) for name, entry in CREDENTIALS.items()]


@st.composite
def authorization_headers(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(
            ["text", "scheme", "basic-bytes", "basic-text", "mutated", "password"]
        )
    )

    if kind == "text":
        return draw(header_text)

    if kind == "scheme":
        scheme = draw(st.sampled_from(["Basic", "basic", "BASIC", "Bearer", "Digest"]))
        return f"{scheme}{draw(st.sampled_from(['', ' ', '  ']))}{draw(header_text)}"

    if kind == "basic-bytes":
        return "Basic " + base64.b64encode(draw(st.binary(max_size=60))).decode()

    if kind == "basic-text":
        username = draw(st.sampled_from(list(CREDENTIALS)) | st.text(max_size=20))
        return basic(username, draw(st.text(max_size=20)))

    if kind == "mutated":
        return draw(mutated(draw(st.sampled_from(VALID_HEADERS))))

    # A known username with its password slightly wrong.
    username = draw(st.sampled_from(list(CREDENTIALS)))
    password = draw(mutated(CREDENTIALS[username][0]))
    return basic(username, password)


def test_fuzz_authorization_header(
    app: Flask, example_counts: dict[str, Counter[str]]
) -> None:
    client = app.test_client(use_cookies=False)

    outcomes = example_counts["authorization_header"] = Counter()

    # The header as it comes, and, to be sure the oracle sees logins at all,
    # each valid header once.
    @fuzz(1000)
    @given(authorization_headers() | st.sampled_from(VALID_HEADERS))
    def holds(header: str) -> None:
        body = check(client.get("/whoami", headers={"Authorization": header}))
        outcomes[f"user {body['user']}"] += 1
        sent = body["sent"]
        # Carol's account is inactive: her password opens nothing.
        valid = (
            sent is not None
            and sent[0] in CREDENTIALS
            and sent[0] != "carol"
            and CREDENTIALS[sent[0]][0] == sent[1]
        )

        if valid:
            assert body["user"] == CREDENTIALS[sent[0]][1], header
        else:
            assert body["user"] is None, header

    holds()
    assert outcomes.total() >= 1000


def test_valid_basic_headers_log_in(app: Flask) -> None:
    # The fuzz target's oracle depends on these working.
    client = app.test_client(use_cookies=False)

    for header, (name, (_, user_id)) in zip(
        VALID_HEADERS, CREDENTIALS.items(), strict=True
    ):
        body = check(client.get("/whoami", headers={"Authorization": header}))
        # Carol's account is inactive, so her right password is refused.
        assert body["user"] == (None if name == "carol" else user_id)


# (d) The next target of a login

HOST = "localhost"
#: Pieces that open redirects are made of.
URL_PIECES = [
    "/",
    "//",
    "///",
    "\\",
    "/\\",
    "\\\\",
    ".",
    "..",
    "./",
    "../",
    "?",
    "#",
    "@",
    ":",
    "%2F",
    "%2f",
    "%5C",
    "%252F",
    "%09",
    "%00",
    "\t",
    "\n",
    "\x00",
    " ",
    "\u3000",
    "\uff0f",
    "\u2215",
    "\u200b",
    "http:",
    "https:",
    "HTTP:",
    "javascript:",
    "data:",
    "http://",
    "https://",
    HOST,
    f"{HOST}:80",
    f"{HOST}:8080",
    f"{HOST}.",
    "evil.example",
    "evil.example:80",
    f"{HOST}.evil.example",
    f"evil.example@{HOST}",
    f"{HOST}@evil.example",
    "[::1]",
    "127.0.0.1",
    "xn--80ak6aa92e.com",
    "ex\u0430mple.com",
    "profile",
    "a:b",
]

next_targets = st.text(max_size=60) | st.lists(
    st.sampled_from(URL_PIECES) | st.text(max_size=3), min_size=1, max_size=6
).map("".join)


def leaves_site(location: str) -> bool:
    """Whether a browser at ``http://localhost/signin`` following this
    ``Location`` could end up on another host. Deliberately pessimistic: it
    reads the value the way the most forgiving browsers do (controls and
    spaces trimmed, tabs and newlines removed, ``\\`` as ``/``, any number of
    slashes after ``http:``).
    """
    for form in (location, unquote(location), unquote(unquote(location))):
        text = form.strip("".join(map(chr, range(0x21))))
        text = re.sub("[\t\n\r]", "", text).replace("\\", "/")
        scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", text)

        if scheme is None:
            if text.startswith("//"):
                return True

            continue

        if scheme.group().lower() not in ("http:", "https:"):
            return True

        authority = text[scheme.end() :].lstrip("/")
        host = re.split("[/?#]", authority, maxsplit=1)[0].lower()

        if host not in (HOST, f"{HOST}:80"):
            return True

    return False


def test_leaves_site_oracle() -> None:
    # The oracle itself, on the well-known cases.
    for target in ("/", "/a?b#c", "profile", f"http://{HOST}/x", "?x"):
        assert not leaves_site(target), target

    for target in (
        "//evil.example",
        "\\\\evil.example",
        "/\\evil.example",
        " //evil.example",
        "\t//evil.example",
        "http://evil.example",
        "https:evil.example",
        "http:/\\evil.example",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
        f"http://{HOST}@evil.example",
    ):
        assert leaves_site(target), target


@pytest.mark.parametrize("source", ["query", "form", "session"])
def test_fuzz_next_target(
    app: Flask, source: str, example_counts: dict[str, Counter[str]]
) -> None:
    app.config["USE_SESSION_FOR_NEXT"] = True
    client = app.test_client()
    send: Callable[[t.Any], TestResponse]
    targets: st.SearchStrategy[t.Any]

    if source == "query":
        targets = next_targets

        def send(target: t.Any) -> TestResponse:
            return client.get("/signin", query_string={"next": target})

    elif source == "form":
        targets = next_targets

        def send(target: t.Any) -> TestResponse:
            return client.post("/signin", data={"next": target})

    else:
        targets = next_targets | json_values

        def send(target: t.Any) -> TestResponse:
            with client.session_transaction() as sess:
                sess["next"] = target

            return client.get("/signin")

    outcomes = example_counts[f"next_target[{source}]"] = Counter()

    @fuzz(300)
    @given(targets)
    def holds(target: t.Any) -> None:
        response = send(target)
        assert is_redirect(response), response.text
        location = response.headers["Location"]
        outcomes["default" if location == "/" else "next"] += 1
        assert not leaves_site(location), (target, location)

    holds()
    assert outcomes.total() >= 300
