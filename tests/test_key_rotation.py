"""Rotating ``SECRET_KEY`` end to end: log in under the old key, move it to
``SECRET_KEY_FALLBACKS``, then drop it.

While the old key is a fallback, cookies it signed keep working and every
cookie issued is signed with the new key only. Once it is dropped, what it
signed is refused and what the new key signed still works.

Flask reads ``SECRET_KEY_FALLBACKS`` for its own session cookie from 3.1 on.
On Flask 3.0 (the ``minimum`` tox env) a session cookie signed with the old
key is refused as soon as the key changes, whatever the fallbacks; the tests
that depend on Flask accepting it are skipped there. The remember cookie and
the session token signatures are this extension's, and it reads the fallbacks
on every Flask version, so the other tests run everywhere.
"""

from __future__ import annotations

from hashlib import sha1
from hashlib import sha256
from importlib.metadata import version

import pytest
from flask import Flask
from flask import session
from flask.sessions import session_json_serializer
from flask.testing import FlaskClient
from itsdangerous import BadSignature
from itsdangerous import Signer
from itsdangerous import URLSafeTimedSerializer

from flask_sessionauth import encode_cookie
from flask_sessionauth import LoginManager
from helpers import Clock
from helpers import cookie_value
from helpers import deletes_cookie
from helpers import make_app
from helpers import read_remember_cookie
from helpers import remember_signer
from helpers import RememberFields
from helpers import TokenUser

SESSION = "session"
REMEMBER = "remember_token"
TOKEN = "tina-session-token"
OLD = "old"
NEW = "new"
#: The default REMEMBER_COOKIE_DURATION, in seconds.
YEAR = 365 * 24 * 60 * 60

#: Whether Flask verifies its session cookie with SECRET_KEY_FALLBACKS too.
FLASK_READS_FALLBACKS = "SECRET_KEY_FALLBACKS" in Flask.default_config

needs_flask_fallbacks = pytest.mark.skipif(
    not FLASK_READS_FALLBACKS,
    reason=(
        f"Flask {version('flask')} verifies its session cookie with SECRET_KEY"
        " only; SECRET_KEY_FALLBACKS applies to it from Flask 3.1 on"
    ),
)


# Verifying cookies independently of the app. The salts and digests are part
# of the cookie format: changing them would log every user out on upgrade.
# The remember cookie's signer is helpers.remember_signer.


def token_signature(key: str, token: str) -> str:
    signer = Signer(key, salt="flask-sessionauth.session-token", digest_method=sha256)
    return signer.get_signature(token).decode("ascii")


def session_serializer(key: str) -> URLSafeTimedSerializer:
    # Flask's SecureCookieSessionInterface, with one key.
    return URLSafeTimedSerializer(
        key,
        salt="cookie-session",
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": sha1},
    )


def remember_payload(value: str, key: str) -> RememberFields:
    """What a remember cookie says, verified with ``key`` alone."""
    return read_remember_cookie(value, key)


# The app


@pytest.fixture
def tina_token() -> str:
    return TOKEN


@pytest.fixture
def app(app: Flask, tina: TokenUser) -> Flask:
    app.config["SECRET_KEY"] = OLD

    @app.route("/put/<key>/<value>")
    def put(key: str, value: str) -> str:
        session[key] = value
        return "stored"

    return app


def rotate(app: Flask) -> None:
    """Make ``new`` the key, keeping ``old`` as a fallback."""
    app.config.update(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD])


def drop_old_key(app: Flask) -> None:
    app.config.update(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[])


def cookies(client: FlaskClient) -> dict[str, str]:
    values = {}

    for name in (SESSION, REMEMBER):
        value = cookie_value(client, name)

        if value is not None:
            values[name] = value

    return values


def client_with(app: Flask, values: dict[str, str], *names: str) -> FlaskClient:
    """A new client holding the named cookies out of ``values``."""
    client = app.test_client()

    for name in names:
        client.set_cookie(name, values[name])

    return client


def log_in(app: Flask) -> dict[str, str]:
    """Log Tina in with "remember me"; return the cookies the browser got."""
    client = app.test_client()
    assert client.get("/login/7?remember=1").text == "ok"
    values = cookies(client)
    assert set(values) == {SESSION, REMEMBER}
    return values


# Before rotating: what the old key signs


def test_cookies_before_rotation_are_signed_with_the_old_key(
    app: Flask, clock: Clock
) -> None:
    values = log_in(app)

    expires_at, seconds, signature, user_id = remember_payload(values[REMEMBER], OLD)
    assert (user_id, seconds, expires_at) == ("7", YEAR, int(clock.now) + YEAR)
    assert signature == token_signature(OLD, TOKEN)
    data = session_serializer(OLD).loads(values[SESSION])
    assert data["_token_sig"] == signature

    with pytest.raises(BadSignature):
        remember_signer(NEW).unsign(values[REMEMBER])


# While the old key is a fallback


def test_remember_cookie_stays_valid_after_rotation(app: Flask) -> None:
    values = log_in(app)
    rotate(app)

    client = client_with(app, values, REMEMBER)
    response = client.get("/protected")

    assert response.text == "secret:7"
    # Accepted, and re-issued under the new key so it outlives the old one.
    reissued = cookie_value(client, REMEMBER)
    assert reissued is not None and reissued != values[REMEMBER]
    assert remember_payload(reissued, NEW).user_id == "7"
    assert not deletes_cookie(response, REMEMBER)


@needs_flask_fallbacks
def test_session_cookie_stays_valid_after_rotation(app: Flask) -> None:
    values = log_in(app)
    rotate(app)

    client = client_with(app, values, SESSION)
    assert client.get("/protected").text == "secret:7"
    # The session's token signature, made with the old key, still binds it.
    assert session_serializer(OLD).loads(values[SESSION])["_user_id"] == "7"


@needs_flask_fallbacks
def test_both_cookies_stay_valid_after_rotation(app: Flask) -> None:
    values = log_in(app)
    rotate(app)

    client = client_with(app, values, SESSION, REMEMBER)
    response = client.get("/protected")

    assert response.text == "secret:7"
    # The session logs the user in, and comes back signed with the new key
    # (its token signature was signed again). The remember cookie was not
    # needed, so it is left as it is: still valid while the old key is a
    # fallback.
    after = cookies(client)
    assert session_serializer(NEW).loads(after[SESSION])["_user_id"] == "7"
    assert after[REMEMBER] == values[REMEMBER]
    assert not deletes_cookie(response, REMEMBER)


def test_legacy_remember_cookie_stays_valid_after_rotation(app: Flask) -> None:
    # A flask-login cookie made under the old key.
    legacy = encode_cookie("7", key=OLD)
    rotate(app)

    client = app.test_client()
    client.set_cookie(REMEMBER, legacy)
    assert client.get("/protected").text == "secret:7"

    # It is replaced by a cookie in this extension's format, new key only.
    upgraded = cookie_value(client, REMEMBER)
    assert upgraded is not None
    assert upgraded != legacy
    _, seconds, signature, user_id = remember_payload(upgraded, NEW)
    assert (user_id, seconds) == ("7", YEAR)
    assert signature == token_signature(NEW, TOKEN)


def test_cookies_issued_after_rotation_use_the_new_key_only(app: Flask) -> None:
    rotate(app)
    values = log_in(app)

    _, seconds, signature, user_id = remember_payload(values[REMEMBER], NEW)
    assert (user_id, seconds) == ("7", YEAR)
    assert signature == token_signature(NEW, TOKEN)
    assert signature != token_signature(OLD, TOKEN)

    with pytest.raises(BadSignature):
        remember_signer(OLD).unsign(values[REMEMBER])

    data = session_serializer(NEW).loads(values[SESSION])
    assert data["_user_id"] == "7"
    assert data["_token_sig"] == signature

    with pytest.raises(BadSignature):
        session_serializer(OLD).loads(values[SESSION])


def test_session_restored_after_rotation_uses_the_new_key(app: Flask) -> None:
    values = log_in(app)
    rotate(app)

    client = client_with(app, values, REMEMBER)
    assert client.get("/").text == "user:7"

    restored = cookie_value(client, SESSION)
    assert restored is not None
    assert session_serializer(NEW).loads(restored)["_user_id"] == "7"

    with pytest.raises(BadSignature):
        session_serializer(OLD).loads(restored)


# After dropping the old key


def test_dropping_the_old_key_refuses_old_cookies(app: Flask) -> None:
    values = log_in(app)
    rotate(app)
    drop_old_key(app)

    client = client_with(app, values, SESSION, REMEMBER)
    response = client.get("/")

    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)
    assert cookie_value(client, REMEMBER) is None
    assert client.get("/protected").status_code == 401


def test_dropping_the_old_key_refuses_an_old_remember_cookie(app: Flask) -> None:
    values = log_in(app)
    rotate(app)
    drop_old_key(app)

    client = client_with(app, values, REMEMBER)
    response = client.get("/")

    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)


@needs_flask_fallbacks
def test_dropping_the_old_key_refuses_an_old_session_cookie(app: Flask) -> None:
    values = log_in(app)
    rotate(app)
    # Proof that the cookie was still good a moment before.
    assert client_with(app, values, SESSION).get("/").text == "user:7"
    drop_old_key(app)

    assert client_with(app, values, SESSION).get("/").text == "anonymous"


def test_dropping_the_old_key_refuses_an_old_legacy_cookie(app: Flask) -> None:
    legacy = encode_cookie("7", key=OLD)
    rotate(app)
    drop_old_key(app)

    client = app.test_client()
    client.set_cookie(REMEMBER, legacy)
    response = client.get("/")

    assert response.text == "anonymous"
    assert deletes_cookie(response, REMEMBER)


def test_dropping_the_old_key_keeps_new_cookies(app: Flask) -> None:
    rotate(app)
    values = log_in(app)
    drop_old_key(app)

    for names in ((SESSION, REMEMBER), (SESSION,), (REMEMBER,)):
        client = client_with(app, values, *names)
        response = client.get("/protected")
        assert response.text == "secret:7", names
        assert not deletes_cookie(response, REMEMBER), names


@pytest.mark.parametrize(
    "held", [REMEMBER, pytest.param(SESSION, marks=needs_flask_fallbacks)]
)
def test_login_used_during_rotation_survives_the_drop(app: Flask, held: str) -> None:
    values = log_in(app)
    rotate(app)

    # The user comes back while the old key is a fallback...
    client = client_with(app, values, held)
    assert client.get("/put/seen/1").text == "stored"
    assert client.get("/").text == "user:7"
    restored = cookie_value(client, SESSION)
    assert restored is not None
    assert session_serializer(NEW).loads(restored)["_user_id"] == "7"

    # ...so the cookies they hold now are the new key's, and survive the drop.
    drop_old_key(app)
    assert client.get("/protected").text == "secret:7"

    if held == REMEMBER:
        client.delete_cookie(SESSION)
        assert client.get("/protected").text == "secret:7"


# Misconfiguration


def test_secret_key_fallbacks_as_one_string_fails_at_init(
    login_manager: LoginManager,
) -> None:
    with pytest.raises(TypeError, match="list of keys"):
        make_app(login_manager, SECRET_KEY_FALLBACKS="old")
