"""Realms: several login managers on one app (customers and staff), each with
its own user table, session keys, remember cookie, settings and handlers
(issue 15). The two user tables here share ids on purpose: customer 1 is
alice and staff member 1 is sam, so a login that leaked from one realm into
the other would show.
"""

from __future__ import annotations

import base64
import hashlib
import typing as t
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from cachelib import FileSystemCache
from flask import Blueprint
from flask import Flask
from flask import get_flashed_messages
from flask import jsonify
from flask import render_template_string
from flask import request
from flask import session
from flask.testing import FlaskClient
from flask_session import Session
from itsdangerous import BadSignature
from itsdangerous import Signer
from werkzeug.test import TestResponse

import flask_sessionauth
from flask_sessionauth import api_view
from flask_sessionauth import confirm_login
from flask_sessionauth import current_user
from flask_sessionauth import encode_cookie
from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_fresh
from flask_sessionauth import login_remembered
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_all
from flask_sessionauth import logout_user
from flask_sessionauth import rebind_session
from flask_sessionauth import session_expired
from flask_sessionauth import session_protected
from flask_sessionauth import session_revoked
from flask_sessionauth import SessionAuthClient
from flask_sessionauth import set_login_view
from flask_sessionauth import UnknownRealmError
from flask_sessionauth import user_loaded_from_cookie
from flask_sessionauth import user_logged_in
from flask_sessionauth import user_logged_out
from flask_sessionauth import user_login_confirmed
from flask_sessionauth import user_unauthorized
from flask_sessionauth.testing import login_test_client
from helpers import Clock
from helpers import cookie_value
from helpers import deletes_cookie
from helpers import empties_cookie
from helpers import is_redirect
from helpers import lifetime_stamp
from helpers import read_remember_cookie
from helpers import recording
from helpers import remember_payload
from helpers import session_data
from helpers import signed_remember_cookie
from helpers import TokenUser
from helpers import User

if t.TYPE_CHECKING:
    from pathlib import Path

    from flask.typing import ResponseReturnValue

SECRET = "realm-secret"
COOKIE = "remember_token"
STAFF_COOKIE = "remember_token_staff"
SESSION = "session"
#: The itsdangerous salt of the staff realm's remember cookie (the spec).
STAFF_SALT = "flask-sessionauth.remember.staff"
NOW = int(Clock().now)
DAY = 24 * 3600
YEAR = 365 * DAY
HOME = {"REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "HomeBrowser/1.0"}
THIEF = {"REMOTE_ADDR": "10.9.9.9", "HTTP_USER_AGENT": "Thief/6.6"}
JSON = {"Accept": "application/json"}
#: Flask-Session's default prefix of the storage keys.
STORE_PREFIX = "session:"

#: flask-login's session keys, which the default realm keeps byte for byte,
#: with this extension's own three.
DEFAULT_KEYS = frozenset(
    {
        "_user_id",
        "_fresh",
        "_id",
        "_remember",
        "_remember_seconds",
        "_fresh_at",
        "_token_sig",
        "_lifetime",
    }
)
#: The staff realm's keys: the same names with ``.staff`` appended.
STAFF_KEYS = frozenset(f"{key}.staff" for key in DEFAULT_KEYS)

NOBODY = "customer=- staff=-"


def name_of(user: object) -> str:
    """The name of a logged-in user, or ``-`` for an anonymous one."""
    if t.cast(User, user).is_authenticated:
        return t.cast(User, user).name

    return "-"


def flag(name: str, default: str = "0") -> bool:
    return request.args.get(name, default) == "1"


def duration_arg() -> timedelta | None:
    days = request.args.get("days")
    return None if days is None else timedelta(days=int(days))


# The users and the managers


@pytest.fixture
def customers() -> dict[str, User]:
    return {
        "1": TokenUser("1", "alice", token="alice-token"),
        "2": User("2", "bob"),
        "3": User("3", "carol", active=False),
    }


@pytest.fixture
def staff_members() -> dict[str, User]:
    return {
        "1": TokenUser("1", "sam", token="sam-token"),
        "4": User("4", "dora", active=False),
        "5": TokenUser("5", "tess", token="tess-token"),
    }


@pytest.fixture
def shop(customers: dict[str, User], clock: Clock) -> LoginManager:
    """The default realm's manager: the customers."""
    manager = LoginManager()
    manager.clock = clock
    manager.login_view = "signin"

    @manager.user_loader
    def load_customer(user_id: str) -> User | None:
        return customers.get(user_id)

    return manager


@pytest.fixture
def staff(staff_members: dict[str, User], clock: Clock) -> LoginManager:
    """The "staff" realm's manager."""
    manager = LoginManager(realm="staff")
    manager.clock = clock
    manager.login_view = "staff_signin"
    manager.refresh_view = "staff_reauth"

    @manager.user_loader
    def load_staff(user_id: str) -> User | None:
        return staff_members.get(user_id)

    return manager


def add_staff_routes(
    app: Flask, staff: LoginManager, staff_members: dict[str, User]
) -> None:
    """The staff side of a test app; works without a default realm."""

    @app.route("/staff/login/<user_id>")
    def staff_login(user_id: str) -> str:
        ok = staff.login_user(
            staff_members[user_id],
            remember=flag("remember"),
            duration=duration_arg(),
            force=flag("force"),
            fresh=flag("fresh", "1"),
        )
        return "ok" if ok else "inactive"

    @app.route("/staff/login-kw/<user_id>")
    def staff_login_kw(user_id: str) -> str:
        ok = login_user(
            staff_members[user_id],
            remember=flag("remember"),
            fresh=flag("fresh", "1"),
            realm="staff",
        )
        return "ok" if ok else "inactive"

    @app.route("/staff/logout")
    def staff_logout() -> str:
        logout_user(realm="staff")
        return "bye"

    @app.route("/staff/logout-m")
    def staff_logout_m() -> str:
        staff.logout_user()
        return "bye"

    @app.route("/staff/whoami")
    def staff_whoami() -> str:
        return name_of(staff.current_user)

    @app.route("/staff/id")
    def staff_id() -> str:
        return str(staff.current_user.get_id())

    @app.route("/staff/area")
    @staff.login_required
    def staff_area() -> str:
        return f"staff:{staff.current_user.get_id()}"

    @app.route("/staff/fresh-area")
    @staff.fresh_login_required
    def staff_fresh_area() -> str:
        return f"staff-fresh:{staff.current_user.get_id()}"

    @app.route("/staff/api")
    @api_view
    @staff.login_required
    def staff_api() -> ResponseReturnValue:
        return jsonify(id=staff.current_user.get_id())

    @app.route("/staff/signin")
    def staff_signin() -> str:
        return "staff sign-in"

    @app.route("/staff/reauth")
    def staff_reauth() -> str:
        return "staff re-auth"

    @app.route("/staff/state")
    def staff_state() -> str:
        return (
            f"fresh={login_fresh(realm='staff')} m_fresh={staff.login_fresh()}"
            f" remembered={login_remembered(realm='staff')}"
        )

    @app.route("/staff/confirm")
    def staff_confirm() -> str:
        staff.confirm_login()
        return f"fresh={staff.login_fresh()}"

    @app.route("/staff/confirm-kw")
    def staff_confirm_kw() -> str:
        confirm_login(realm="staff")
        return f"fresh={login_fresh(realm='staff')}"

    @app.route("/staff/change-token/<token>")
    def staff_change_token(token: str) -> str:
        # Load the user before the token changes, as rebind_session asks.
        member = t.cast(TokenUser, staff.current_user._get_current_object())
        member.token = token

        if flag("method"):
            staff.rebind_session()
        else:
            rebind_session(realm="staff")

        return "rebound"

    @app.route("/put/<key>/<value>")
    def put(key: str, value: str) -> str:
        session[key] = value
        return "stored"

    @app.route("/flashes")
    def flashes() -> str:
        return "|".join(t.cast("list[str]", get_flashed_messages()))


def make_realm_app(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
    **config: t.Any,
) -> Flask:
    """An app with the customers' default realm and the "staff" realm."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True, **config)
    shop.init_app(app)
    staff.init_app(app)

    @app.route("/")
    def index() -> str:
        return f"customer={name_of(current_user)} staff={name_of(staff.current_user)}"

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        ok = login_user(
            customers[user_id],
            remember=flag("remember"),
            duration=duration_arg(),
            fresh=flag("fresh", "1"),
        )
        return "ok" if ok else "inactive"

    @app.route("/logout")
    def logout() -> str:
        logout_user()
        return "bye"

    @app.route("/logout-all")
    def logout_everyone() -> str:
        logout_all()
        return "bye all"

    @app.route("/protected")
    @login_required
    def protected() -> str:
        return f"customer:{current_user.get_id()}"

    @app.route("/fresh-area")
    @fresh_login_required
    def fresh_area() -> str:
        return f"customer-fresh:{current_user.get_id()}"

    @app.route("/signin")
    def signin() -> str:
        return "customer sign-in"

    @app.route("/state")
    def state() -> str:
        return f"customer={login_fresh()} staff={login_fresh(realm='staff')}"

    @app.route("/template")
    def template() -> str:
        return render_template_string(
            "{{ current_user.name }}|{{ current_staff.name }}"
        )

    add_staff_routes(app, staff, staff_members)
    return app


@pytest.fixture
def app(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> Flask:
    return make_realm_app(shop, staff, customers, staff_members)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get(client: FlaskClient, path: str, **kwargs: t.Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.text


def login_both(client: FlaskClient, *, remember: bool = False, **kwargs: t.Any) -> None:
    query = "?remember=1" if remember else ""
    assert get(client, f"/login/1{query}", **kwargs) == "ok"
    assert get(client, f"/staff/login/1{query}", **kwargs) == "ok"
    assert get(client, "/", **kwargs) == "customer=alice staff=sam"


def location(response: TestResponse) -> tuple[str, dict[str, list[str]]]:
    """The path and query of a redirect."""
    assert is_redirect(response), (response.status_code, response.text)
    url = urlsplit(response.headers["Location"])
    return url.path, parse_qs(url.query)


def staff_signer(key: str = SECRET) -> Signer:
    return Signer(key, salt=STAFF_SALT, digest_method=hashlib.sha256)


def fresh_client(app: Flask, **cookies: str) -> FlaskClient:
    """A new client that holds only ``cookies``."""
    client = app.test_client()

    for name, value in cookies.items():
        client.set_cookie(name, value)

    return client


# Creating realms


def test_manager_realm_attribute() -> None:
    assert LoginManager().realm is None
    assert LoginManager(realm="staff").realm == "staff"
    assert LoginManager(realm=None).realm is None


def test_two_realms_are_registered_in_extensions(
    app: Flask, shop: LoginManager, staff: LoginManager
) -> None:
    assert app.extensions["sessionauth"] is shop
    assert app.extensions["sessionauth.realms"] == {None: shop, "staff": staff}


def test_realm_given_with_the_app_registers_at_once(
    staff_members: dict[str, User],
) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    shop = LoginManager(app)
    staff = LoginManager(app, realm="staff")
    staff.user_loader(staff_members.get)
    add_staff_routes(app, staff, staff_members)

    assert app.extensions["sessionauth.realms"] == {None: shop, "staff": staff}
    client = app.test_client()
    assert get(client, "/staff/login/1") == "ok"
    assert get(client, "/staff/whoami") == "sam"


def test_default_manager_current_user_is_the_global_proxy(
    shop: LoginManager, staff: LoginManager
) -> None:
    assert shop.current_user is current_user
    assert staff.current_user is not current_user


# Separation of the two realms


def test_a_customer_login_is_not_a_staff_login(client: FlaskClient) -> None:
    assert get(client, "/") == NOBODY
    assert get(client, "/login/1") == "ok"

    assert get(client, "/") == "customer=alice staff=-"
    assert get(client, "/staff/whoami") == "-"
    assert get(client, "/protected") == "customer:1"
    path, query = location(client.get("/staff/area"))
    assert path == "/staff/signin"
    assert query["next"] == ["/staff/area"]


def test_a_staff_login_is_not_a_customer_login(client: FlaskClient) -> None:
    assert get(client, "/staff/login/1") == "ok"

    assert get(client, "/") == "customer=- staff=sam"
    assert get(client, "/staff/area") == "staff:1"
    path, query = location(client.get("/protected"))
    assert path == "/signin"
    assert query["next"] == ["/protected"]


def test_both_realms_logged_in_at_once_each_see_their_own_user(
    client: FlaskClient,
) -> None:
    login_both(client)

    assert get(client, "/protected") == "customer:1"
    assert get(client, "/staff/area") == "staff:1"
    assert get(client, "/template") == "alice|sam"


def test_a_login_in_one_realm_leaves_the_other_realms_login(
    client: FlaskClient,
) -> None:
    login_both(client)
    before = {k: v for k, v in session_data(client).items() if k in STAFF_KEYS}

    # Another customer logs in over alice: the staff login is not touched.
    assert get(client, "/login/2") == "ok"
    assert get(client, "/") == "customer=bob staff=sam"
    after = {k: v for k, v in session_data(client).items() if k in STAFF_KEYS}
    assert after == before

    # And the other way round.
    customer_before = {
        k: v for k, v in session_data(client).items() if k in DEFAULT_KEYS
    }
    assert get(client, "/staff/login/5") == "ok"
    assert get(client, "/") == "customer=bob staff=tess"
    customer_after = {
        k: v for k, v in session_data(client).items() if k in DEFAULT_KEYS
    }
    assert customer_after == customer_before


def test_login_user_with_realm_and_the_manager_shortcut_are_the_same(
    app: Flask, staff: LoginManager, staff_members: dict[str, User]
) -> None:
    via_kw = app.test_client()
    via_manager = app.test_client()

    assert get(via_kw, "/staff/login-kw/1") == "ok"
    assert get(via_manager, "/staff/login/1") == "ok"

    for client in (via_kw, via_manager):
        assert get(client, "/") == "customer=- staff=sam"
        assert set(session_data(client)) <= STAFF_KEYS


def test_login_user_in_a_request_sets_that_realms_user_only(
    app: Flask,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    with app.test_request_context():
        assert current_user.is_anonymous
        assert staff.current_user.is_anonymous
        assert login_user(staff_members["1"], realm="staff") is True

        assert staff.current_user.is_authenticated
        assert name_of(staff.current_user) == "sam"
        assert current_user.is_anonymous
        assert session["_user_id.staff"] == "1"
        assert "_user_id" not in session

        assert staff.login_user(staff_members["5"]) is True
        assert name_of(staff.current_user) == "tess"
        assert current_user.is_anonymous

        assert login_user(customers["2"]) is True
        assert name_of(current_user) == "bob"
        assert name_of(staff.current_user) == "tess"


def test_inactive_staff_member_is_refused(
    client: FlaskClient,
) -> None:
    assert get(client, "/staff/login/4") == "inactive"
    assert get(client, "/") == NOBODY
    assert session_data(client) == {}

    assert get(client, "/staff/login/4?force=1") == "ok"
    # UserMixin counts an inactive user as not authenticated; the id shows.
    assert get(client, "/staff/id") == "4"
    assert session_data(client)["_user_id.staff"] == "4"
    assert "_user_id" not in session_data(client)


def test_templates_get_current_user_and_current_staff(client: FlaskClient) -> None:
    assert get(client, "/template") == "|"
    get(client, "/login/1")
    assert get(client, "/template") == "alice|"
    get(client, "/logout")
    get(client, "/staff/login/1")
    assert get(client, "/template") == "|sam"


# The session layout


def test_default_realm_session_keys_are_flask_logins(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config.update(
        SESSIONAUTH_FRESH_LOGIN_MAX_AGE=3600,
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(hours=1),
    )
    assert get(client, "/login/1?remember=1&days=2") == "ok"
    data = session_data(client)

    assert set(data) == DEFAULT_KEYS - {"_remember"}
    assert data["_user_id"] == "1"
    assert data["_fresh"] is True
    assert isinstance(data["_id"], str)
    assert data["_remember_seconds"] == 2 * DAY
    assert data["_fresh_at"] == NOW
    assert isinstance(data["_token_sig"], str)
    assert data["_lifetime"] == lifetime_stamp(NOW, NOW)


def test_staff_session_keys_have_the_staff_suffix(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    app.config.update(
        SESSIONAUTH_FRESH_LOGIN_MAX_AGE=3600,
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(hours=1),
    )
    assert get(client, "/staff/login/1?remember=1&days=2") == "ok"
    data = session_data(client)

    assert set(data) == STAFF_KEYS - {"_remember.staff"}
    assert data["_user_id.staff"] == "1"
    assert data["_fresh.staff"] is True
    assert isinstance(data["_id.staff"], str)
    assert data["_remember_seconds.staff"] == 2 * DAY
    assert data["_fresh_at.staff"] == NOW
    assert isinstance(data["_token_sig.staff"], str)
    assert data["_lifetime.staff"] == lifetime_stamp(NOW, NOW)


def test_both_realms_in_one_session(app: Flask, client: FlaskClient) -> None:
    client.get("/put/cart/apples")
    login_both(client, remember=True)
    data = session_data(client)

    assert set(data) - DEFAULT_KEYS - STAFF_KEYS == {"cart"}
    assert data["_user_id"] == "1"
    assert data["_user_id.staff"] == "1"
    # The same client, so the same session-protection identifier.
    assert data["_id.staff"] == data["_id"]
    # Different users with different tokens.
    assert data["_token_sig.staff"] != data["_token_sig"]


def test_remember_cookie_names(client: FlaskClient) -> None:
    response = client.get("/staff/login/1?remember=1")
    names = {h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")}
    assert STAFF_COOKIE in names
    assert COOKIE not in names

    response = client.get("/login/1?remember=1")
    names = {h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")}
    assert COOKIE in names
    assert STAFF_COOKIE not in names

    assert cookie_value(client, COOKIE)
    assert cookie_value(client, STAFF_COOKIE)


def test_staff_cookie_is_signed_with_its_own_salt(client: FlaskClient) -> None:
    get(client, "/staff/login/1?remember=1")
    value = cookie_value(client, STAFF_COOKIE)
    assert value is not None

    fields = read_remember_cookie(value)
    assert fields.user_id == "1"
    assert fields.expires_at == NOW + YEAR
    assert staff_signer().unsign(value)

    # Not with the default realm's salt.
    with pytest.raises(BadSignature):
        read_remember_cookie(value, SECRET)


def test_staff_remember_cookie_restores_the_staff_login_only(
    app: Flask, client: FlaskClient, staff_members: dict[str, User]
) -> None:
    get(client, "/staff/login/1?remember=1")
    value = cookie_value(client, STAFF_COOKIE)
    assert value is not None

    restored = fresh_client(app, **{STAFF_COOKIE: value})

    with recording(user_loaded_from_cookie) as calls:
        assert get(restored, "/") == "customer=- staff=sam"

    assert calls == [(app, {"user": staff_members["1"], "realm": "staff"})]
    data = session_data(restored)
    assert data["_user_id.staff"] == "1"
    assert data["_fresh.staff"] is False
    assert not set(data) & DEFAULT_KEYS
    assert get(restored, "/staff/state") == "fresh=False m_fresh=False remembered=True"


def test_a_cookie_made_with_the_staff_salt_is_accepted(app: Flask) -> None:
    # The format written out from the spec: the payload of the default
    # realm's cookie, signed with the staff realm's salt.
    payload = remember_payload("1", NOW + DAY, DAY)
    value = staff_signer().sign(payload.encode()).decode()

    assert (
        get(fresh_client(app, **{STAFF_COOKIE: value}), "/") == "customer=- staff=sam"
    )
    # The same payload signed for the default realm opens only that realm.
    default = signed_remember_cookie(SECRET, payload)
    assert get(fresh_client(app, **{STAFF_COOKIE: default}), "/") == NOBODY
    assert get(fresh_client(app, **{COOKIE: default}), "/") == "customer=alice staff=-"


def test_customer_cookie_under_the_staff_name_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    get(client, "/login/1?remember=1")
    customer_cookie = cookie_value(client, COOKIE)
    assert customer_cookie is not None

    # Under its own name it restores alice: the cookie is good.
    assert get(fresh_client(app, **{COOKIE: customer_cookie}), "/") == (
        "customer=alice staff=-"
    )

    thief = fresh_client(app, **{STAFF_COOKIE: customer_cookie})
    assert get(thief, "/") == NOBODY
    assert thief.get("/staff/area").status_code != 200
    assert not set(session_data(thief)) & (STAFF_KEYS | DEFAULT_KEYS)


def test_staff_cookie_under_the_customer_name_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    get(client, "/staff/login/1?remember=1")
    staff_cookie = cookie_value(client, STAFF_COOKIE)
    assert staff_cookie is not None

    assert get(fresh_client(app, **{STAFF_COOKIE: staff_cookie}), "/") == (
        "customer=- staff=sam"
    )

    thief = fresh_client(app, **{COOKIE: staff_cookie})
    assert get(thief, "/") == NOBODY
    assert thief.get("/protected").status_code != 200
    assert not set(session_data(thief)) & (STAFF_KEYS | DEFAULT_KEYS)


def test_both_cookies_swapped_open_nothing(app: Flask, client: FlaskClient) -> None:
    login_both(client, remember=True)
    customer_cookie = cookie_value(client, COOKIE)
    staff_cookie = cookie_value(client, STAFF_COOKIE)
    assert customer_cookie is not None and staff_cookie is not None

    swapped = fresh_client(app, **{COOKIE: staff_cookie, STAFF_COOKIE: customer_cookie})
    assert get(swapped, "/") == NOBODY

    kept = fresh_client(app, **{COOKIE: customer_cookie, STAFF_COOKIE: staff_cookie})
    assert get(kept, "/") == "customer=alice staff=sam"


@pytest.mark.parametrize("user_id", ["1", "5"])
def test_legacy_flask_login_cookie_is_never_accepted_for_a_named_realm(
    app: Flask, user_id: str
) -> None:
    with app.test_request_context():
        legacy = encode_cookie(user_id)

    assert get(fresh_client(app, **{STAFF_COOKIE: legacy}), "/") == NOBODY

    # The same cookie under the default name is accepted (flask-login
    # compatibility) when the id is a customer's: the cookie itself is good.
    if user_id == "1":
        assert get(fresh_client(app, **{COOKIE: legacy}), "/") == (
            "customer=alice staff=-"
        )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "1|" + "0" * 128,
        "x" * 10_000,
        "1~2~3~4.sig",
    ],
)
def test_garbage_staff_cookie_is_anonymous(app: Flask, value: str) -> None:
    # Sent as a header: the test client refuses to store an oversized cookie.
    client = app.test_client(use_cookies=False)

    for path in ("/", "/staff/state"):
        response = client.get(path, headers={"Cookie": f"{STAFF_COOKIE}={value}"})
        assert response.status_code == 200

    response = client.get("/", headers={"Cookie": f"{STAFF_COOKIE}={value}"})
    assert response.text == NOBODY


# Logging out


def test_logout_user_logs_out_the_default_realm_only(
    app: Flask, client: FlaskClient, customers: dict[str, User]
) -> None:
    login_both(client, remember=True)
    client.get("/put/cart/apples")

    with recording(user_logged_out) as calls:
        response = client.get("/logout")

    assert calls == [(app, {"user": customers["1"]})]
    assert deletes_cookie(response, COOKIE)
    assert not deletes_cookie(response, STAFF_COOKIE)
    assert get(client, "/") == "customer=- staff=sam"
    data = session_data(client)
    assert not set(data) & DEFAULT_KEYS
    assert data["_user_id.staff"] == "1"
    assert data["cart"] == "apples"
    assert cookie_value(client, STAFF_COOKIE) is not None

    # The staff login also survives losing the session, through its cookie.
    client.delete_cookie(SESSION)
    assert get(client, "/") == "customer=- staff=sam"


@pytest.mark.parametrize("path", ["/staff/logout", "/staff/logout-m"])
def test_logout_user_with_realm_logs_out_that_realm_only(
    app: Flask, client: FlaskClient, staff_members: dict[str, User], path: str
) -> None:
    login_both(client, remember=True)

    with client.session_transaction() as sess:
        # flask-login's pending cookie work, only ever removed.
        sess["_remember.staff"] = "set"

    with recording(user_logged_out) as calls:
        response = client.get(path)

    assert calls == [(app, {"user": staff_members["1"], "realm": "staff"})]
    assert deletes_cookie(response, STAFF_COOKIE)
    assert not deletes_cookie(response, COOKIE)
    assert get(client, "/") == "customer=alice staff=-"
    data = session_data(client)
    assert not set(data) & STAFF_KEYS
    assert data["_user_id"] == "1"
    assert cookie_value(client, COOKIE) is not None

    client.delete_cookie(SESSION)
    assert get(client, "/") == "customer=alice staff=-"


def test_logout_all_logs_out_every_realm(
    app: Flask,
    client: FlaskClient,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    login_both(client, remember=True)
    client.get("/put/cart/apples")

    with recording(user_logged_out) as calls:
        response = client.get("/logout-all")

    assert sorted(calls, key=lambda call: "realm" in call[1]) == [
        (app, {"user": customers["1"]}),
        (app, {"user": staff_members["1"], "realm": "staff"}),
    ]
    assert deletes_cookie(response, COOKIE)
    assert deletes_cookie(response, STAFF_COOKIE)
    assert get(client, "/") == NOBODY
    assert session_data(client) == {"cart": "apples"}
    assert cookie_value(client, COOKIE) is None
    assert cookie_value(client, STAFF_COOKIE) is None


def test_logout_all_deletes_cookies_of_realms_not_logged_in(
    client: FlaskClient,
) -> None:
    # A remember cookie may be out of reach of the request (its own path);
    # logout_all deletes every realm's anyway, as logout_user does its own.
    response = client.get("/logout-all")
    assert deletes_cookie(response, COOKIE)
    assert deletes_cookie(response, STAFF_COOKIE)
    assert get(client, "/") == NOBODY


@pytest.mark.parametrize("path", ["/logout", "/staff/logout", "/logout-all"])
def test_logout_clear_session_logs_every_realm_out(
    app: Flask,
    client: FlaskClient,
    customers: dict[str, User],
    staff_members: dict[str, User],
    path: str,
) -> None:
    app.config["SESSIONAUTH_LOGOUT_CLEAR_SESSION"] = True
    login_both(client, remember=True)
    client.get("/put/cart/apples")

    with recording(user_logged_out) as calls:
        response = client.get(path)

    assert deletes_cookie(response, COOKIE)
    assert deletes_cookie(response, STAFF_COOKIE)
    assert session_data(client) == {}
    assert get(client, "/") == NOBODY
    # Every realm's user is told of, with the user who was logged in.
    assert sorted(calls, key=lambda call: "realm" in call[1]) == [
        (app, {"user": customers["1"]}),
        (app, {"user": staff_members["1"], "realm": "staff"}),
    ]


# Freshness and confirmation per realm


def test_freshness_is_per_realm(app: Flask, client: FlaskClient) -> None:
    get(client, "/login/1")
    get(client, "/staff/login/1?fresh=0")
    assert get(client, "/state") == "customer=True staff=False"
    assert get(client, "/staff/state") == "fresh=False m_fresh=False remembered=False"

    with recording(user_login_confirmed) as calls:
        assert get(client, "/staff/confirm") == "fresh=True"

    assert calls == [(app, {"realm": "staff"})]
    assert get(client, "/state") == "customer=True staff=True"


def test_confirm_login_with_realm(client: FlaskClient) -> None:
    get(client, "/login/1?fresh=0")
    get(client, "/staff/login/1?fresh=0")
    assert get(client, "/staff/confirm-kw") == "fresh=True"
    assert get(client, "/state") == "customer=False staff=True"


# Decorators, views and handlers per realm


def test_staff_login_required_redirects_to_the_staff_login_view(
    app: Flask, client: FlaskClient
) -> None:
    with recording(user_unauthorized) as calls:
        response = client.get("/staff/area")

    path, query = location(response)
    assert path == "/staff/signin"
    assert query["next"] == ["/staff/area"]
    assert calls == [(app, {"realm": "staff"})]

    with recording(user_unauthorized) as calls:
        path, query = location(client.get("/protected"))

    assert path == "/signin"
    assert query["next"] == ["/protected"]
    assert calls == [(app, {})]


def test_staff_messages_are_the_staff_managers(
    staff: LoginManager, shop: LoginManager, client: FlaskClient
) -> None:
    staff.login_message = "Staff only."
    shop.login_message = "Customers, please sign in."

    client.get("/staff/area")
    assert get(client, "/flashes") == "Staff only."
    client.get("/protected")
    assert get(client, "/flashes") == "Customers, please sign in."


def test_staff_fresh_login_required(
    app: Flask, client: FlaskClient, staff: LoginManager
) -> None:
    # A fresh customer login does not make a staff login fresh.
    get(client, "/login/1")
    get(client, "/staff/login/1?fresh=0")

    assert get(client, "/fresh-area") == "customer-fresh:1"
    path, query = location(client.get("/staff/fresh-area"))
    assert path == "/staff/reauth"
    assert query["next"] == ["/staff/fresh-area"]
    # The staff login itself still passes login_required.
    assert get(client, "/staff/area") == "staff:1"

    get(client, "/staff/confirm")
    assert get(client, "/staff/fresh-area") == "staff-fresh:1"


def test_staff_fresh_login_required_when_anonymous_goes_to_the_staff_login(
    client: FlaskClient,
) -> None:
    get(client, "/login/1")
    path, _ = location(client.get("/staff/fresh-area"))
    assert path == "/staff/signin"


def test_needs_refresh_handler_per_realm(
    client: FlaskClient, staff: LoginManager
) -> None:
    @staff.needs_refresh_handler
    def staff_refresh() -> tuple[str, int]:
        return "staff must re-enter the password", 403

    get(client, "/login/1?fresh=0")
    get(client, "/staff/login/1?fresh=0")

    response = client.get("/staff/fresh-area")
    assert response.status_code == 403
    assert response.text == "staff must re-enter the password"

    # The default realm has no handler and no refresh view: 401.
    assert client.get("/fresh-area").status_code == 401


def test_unauthorized_handler_per_realm(
    client: FlaskClient, staff: LoginManager
) -> None:
    called: list[str] = []

    @staff.unauthorized_handler
    def staff_unauthorized() -> tuple[str, int]:
        called.append(request.path)
        return "staff says no", 403

    response = client.get("/staff/area")
    assert response.status_code == 403
    assert response.text == "staff says no"

    path, _ = location(client.get("/protected"))
    assert path == "/signin"
    assert called == ["/staff/area"]


def test_blueprint_login_views_per_realm(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    admin = Blueprint("admin", __name__, url_prefix="/admin")
    shop_bp = Blueprint("shop", __name__, url_prefix="/shop")

    @admin.route("/signin")
    def signin() -> str:
        return "admin sign-in"

    @admin.route("/staff-page")
    @staff.login_required
    def admin_staff_page() -> str:
        return "admin staff page"

    @admin.route("/customer-page")
    @login_required
    def admin_customer_page() -> str:
        return "admin customer page"

    @shop_bp.route("/signin", endpoint="signin")
    def shop_signin() -> str:
        return "shop sign-in"

    @shop_bp.route("/staff-page")
    @staff.login_required
    def shop_staff_page() -> str:
        return "shop staff page"

    @shop_bp.route("/customer-page")
    @login_required
    def shop_customer_page() -> str:
        return "shop customer page"

    staff.blueprint_login_views = {"admin": "admin.signin"}
    shop.blueprint_login_views = {"shop": "shop.signin"}
    app = make_realm_app(shop, staff, customers, staff_members)
    app.register_blueprint(admin)
    app.register_blueprint(shop_bp)
    client = app.test_client()

    assert location(client.get("/admin/staff-page"))[0] == "/admin/signin"
    # The customers' realm has no login view for the admin blueprint.
    assert location(client.get("/admin/customer-page"))[0] == "/signin"
    assert location(client.get("/shop/customer-page"))[0] == "/shop/signin"
    # Nor the staff realm for the shop blueprint.
    assert location(client.get("/shop/staff-page"))[0] == "/staff/signin"

    get(client, "/staff/login/1")
    assert get(client, "/admin/staff-page") == "admin staff page"
    assert location(client.get("/admin/customer-page"))[0] == "/signin"


def test_set_login_view_with_realm(app: Flask, staff: LoginManager) -> None:
    with app.app_context():
        set_login_view("staff_reauth", realm="staff")

    assert staff.login_view == "staff_reauth"
    assert location(app.test_client().get("/staff/area"))[0] == "/staff/reauth"
    assert location(app.test_client().get("/protected"))[0] == "/signin"


def test_staff_api_request_gets_401_json(client: FlaskClient) -> None:
    get(client, "/login/1")

    for response in (
        client.get("/staff/area", headers=JSON),
        client.get("/staff/api"),
    ):
        assert response.status_code == 401
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert isinstance(body, dict)
        assert body["error"] == "unauthorized"
        assert isinstance(body["message"], str) and body["message"]

    get(client, "/staff/login/1")
    response = client.get("/staff/api")
    assert response.status_code == 200
    assert response.get_json() == {"id": "1"}


def test_staff_api_blueprints(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    api = Blueprint("staff_api", __name__, url_prefix="/staff-api")

    @api.route("/thing")
    @staff.login_required
    def thing() -> str:
        return "thing"

    staff.api_blueprints = {"staff_api"}
    app = make_realm_app(shop, staff, customers, staff_members)
    app.register_blueprint(api)
    response = app.test_client().get("/staff-api/thing")
    assert response.status_code == 401
    assert response.mimetype == "application/json"


# Loaders, anonymous users and per-realm settings of the pipeline


def test_request_and_header_loaders_are_per_realm(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    @staff.request_loader
    def staff_by_key(req: t.Any) -> User | None:
        return staff_members["1"] if req.headers.get("X-Staff-Key") == "k" else None

    @staff.header_loader
    def staff_by_header(value: str) -> User | None:
        return staff_members["5"] if value == "staff-token" else None

    @shop.header_loader
    def customer_by_header(value: str) -> User | None:
        return customers["1"] if value == "customer-token" else None

    app = make_realm_app(
        shop,
        staff,
        customers,
        staff_members,
        SESSIONAUTH_REALMS={"staff": {"AUTH_HEADER_NAME": "X-Staff-Token"}},
    )
    client = app.test_client(use_cookies=False)

    assert get(client, "/", headers={"X-Staff-Key": "k"}) == "customer=- staff=sam"
    assert (
        get(client, "/", headers={"X-Staff-Token": "staff-token"})
        == "customer=- staff=tess"
    )
    assert (
        get(client, "/", headers={"Authorization": "customer-token"})
        == "customer=alice staff=-"
    )
    # Each realm reads its own header only.
    assert get(client, "/", headers={"Authorization": "staff-token"}) == NOBODY
    assert get(client, "/", headers={"X-Staff-Token": "customer-token"}) == NOBODY


def test_basic_auth_loader_per_realm(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    @staff.basic_auth_loader
    def check(username: str, password: str) -> User | None:
        return staff_members["1"] if (username, password) == ("sam", "pw") else None

    app = make_realm_app(
        shop,
        staff,
        customers,
        staff_members,
        SESSIONAUTH_REALMS={"staff": {"SESSIONAUTH_BASIC_AUTH_REALM": "Staff area"}},
    )
    client = app.test_client()
    credentials = {"Authorization": "Basic " + base64.b64encode(b"sam:pw").decode()}

    response = client.get("/staff/api")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Staff area"'
    # The customers' realm has no basic auth loader: no Basic challenge.
    response = client.get("/protected", headers=JSON)
    assert response.status_code == 401
    assert "WWW-Authenticate" not in response.headers

    assert get(client, "/staff/area", headers=credentials) == "staff:1"
    # Logged in to the staff realm, and to it only.
    data = session_data(client)
    assert data["_user_id.staff"] == "1"
    assert not set(data) & DEFAULT_KEYS
    assert get(client, "/") == "customer=- staff=sam"


def test_anonymous_user_per_realm(
    client: FlaskClient, app: Flask, staff: LoginManager
) -> None:
    class Visitor(flask_sessionauth.AnonymousUserMixin):
        name = "visitor"

    staff.anonymous_user = Visitor

    with app.test_request_context():
        assert isinstance(staff.current_user._get_current_object(), Visitor)
        assert not isinstance(current_user._get_current_object(), Visitor)

    assert get(client, "/template") == "|visitor"


def test_staff_fresh_login_max_age(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
    clock: Clock,
) -> None:
    app = make_realm_app(
        shop,
        staff,
        customers,
        staff_members,
        SESSIONAUTH_REALMS={"staff": {"SESSIONAUTH_FRESH_LOGIN_MAX_AGE": 600}},
    )
    client = app.test_client()
    login_both(client)
    data = session_data(client)
    assert data["_fresh_at.staff"] == NOW
    assert "_fresh_at" not in data

    clock.advance(300)
    assert get(client, "/state") == "customer=True staff=True"
    clock.advance(600)
    assert get(client, "/state") == "customer=True staff=False"
    assert get(client, "/staff/area") == "staff:1"
    assert location(client.get("/staff/fresh-area"))[0] == "/staff/reauth"


def test_staff_remember_cookie_path(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    app = make_realm_app(
        shop,
        staff,
        customers,
        staff_members,
        SESSIONAUTH_REALMS={"staff": {"REMEMBER_COOKIE_PATH": "/staff"}},
    )
    client = app.test_client()
    staff_set = client.get("/staff/login/1?remember=1").headers.getlist("Set-Cookie")
    customer_set = client.get("/login/1?remember=1").headers.getlist("Set-Cookie")

    staff_header = next(h for h in staff_set if h.startswith(f"{STAFF_COOKIE}="))
    customer_header = next(h for h in customer_set if h.startswith(f"{COOKIE}="))
    assert "Path=/staff" in staff_header.split("; ")
    assert "Path=/" in customer_header.split("; ")


def test_session_protected_signal_names_the_realm(
    app: Flask, client: FlaskClient
) -> None:
    app.config["SESSION_PROTECTION"] = "basic"
    login_both(client, environ_base=HOME)

    with recording(session_protected) as calls:
        get(client, "/staff/whoami", environ_base=THIEF)

    assert calls == [(app, {"realm": "staff"})]

    other = app.test_client()
    login_both(other, environ_base=HOME)

    with recording(session_protected) as calls:
        get(other, "/protected", environ_base=THIEF)

    assert calls == [(app, {})]


def test_a_request_that_does_not_touch_a_realm_does_not_load_its_user(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    loaded: list[str] = []

    @staff.user_loader
    def load_staff(user_id: str) -> User | None:
        loaded.append(user_id)
        return staff_members.get(user_id)

    app = make_realm_app(shop, staff, customers, staff_members)
    client = app.test_client()
    login_both(client)
    loaded.clear()

    assert get(client, "/protected") == "customer:1"
    assert loaded == []
    assert get(client, "/staff/area") == "staff:1"
    assert loaded == ["1"]


# An app with only named realms


@pytest.fixture
def staff_only_app(staff: LoginManager, staff_members: dict[str, User]) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    staff.init_app(app)
    add_staff_routes(app, staff, staff_members)

    @app.route("/customer")
    def customer() -> str:
        return str(current_user.is_authenticated)

    @app.route("/protected")
    @login_required
    def protected() -> str:
        return "protected"

    @app.route("/login-default")
    def login_default() -> str:
        login_user(staff_members["1"])
        return "ok"

    @app.route("/template")
    def template() -> str:
        return render_template_string("staff={{ current_staff.name }}")

    return app


def test_an_app_with_only_a_named_realm_works(
    staff_only_app: Flask, staff: LoginManager
) -> None:
    assert "sessionauth" not in staff_only_app.extensions
    assert staff_only_app.extensions["sessionauth.realms"] == {"staff": staff}
    client = staff_only_app.test_client()

    path, _ = location(client.get("/staff/area"))
    assert path == "/staff/signin"
    assert get(client, "/staff/login/1?remember=1") == "ok"
    assert get(client, "/staff/whoami") == "sam"
    assert get(client, "/staff/area") == "staff:1"
    assert get(client, "/template") == "staff=sam"
    # Besides the message flashed when the staff area sent us to sign in.
    assert set(session_data(client)) - {"_flashes"} <= STAFF_KEYS

    value = cookie_value(client, STAFF_COOKIE)
    assert value is not None
    restored = fresh_client(staff_only_app, **{STAFF_COOKIE: value})
    assert get(restored, "/staff/whoami") == "sam"

    assert get(client, "/staff/logout") == "bye"
    assert get(client, "/staff/whoami") == "-"


@pytest.mark.parametrize("path", ["/customer", "/protected", "/login-default"])
def test_default_realm_api_without_a_default_realm_says_so(
    staff_only_app: Flask, path: str
) -> None:
    client = staff_only_app.test_client()

    with pytest.raises(RuntimeError) as info:
        client.get(path)

    message = str(info.value)
    assert "default realm" in message
    assert "'staff'" in message


def test_current_user_without_a_default_realm_in_a_request(
    staff_only_app: Flask,
) -> None:
    with staff_only_app.test_request_context():
        with pytest.raises(RuntimeError, match="default realm"):
            current_user.get_id()

        with pytest.raises(RuntimeError, match="default realm"):
            logout_user()


# Bad input


@pytest.mark.parametrize(
    "name",
    [
        "",
        "1x",
        "a-b",
        "user",
        "staff ",
        "st.aff",
        "sta\u00ebff",
        "x" * 33,
    ],
)
def test_bad_realm_name_is_value_error(name: str) -> None:
    with pytest.raises(ValueError) as info:
        LoginManager(realm=name)

    message = str(info.value)
    assert repr(name) in message
    # It says what to write.
    assert "realm=" in message


def test_too_long_realm_name_says_the_limit() -> None:
    with pytest.raises(ValueError, match="32"):
        LoginManager(realm="x" * 33)


def test_user_realm_name_says_why() -> None:
    with pytest.raises(ValueError, match="current_user"):
        LoginManager(realm="user")


@pytest.mark.parametrize("name", [1, b"staff", ["staff"], object()])
def test_realm_name_that_is_not_a_str_is_type_error(name: object) -> None:
    with pytest.raises(TypeError) as info:
        LoginManager(realm=name)  # type: ignore[arg-type]

    assert "realm" in str(info.value)


def test_bad_realm_name_with_an_app_registers_nothing() -> None:
    app = Flask(__name__)

    with pytest.raises(ValueError):
        LoginManager(app, realm="a-b")

    assert not app.extensions.get("sessionauth.realms")
    assert "sessionauth" not in app.extensions


@pytest.mark.parametrize("name", ["staff", "_x", "A1", "x" * 32, "users", "Staff"])
def test_good_realm_names(name: str) -> None:
    app = Flask(__name__)
    manager = LoginManager(app, realm=name)
    assert manager.realm == name
    assert app.extensions["sessionauth.realms"] == {name: manager}


def test_duplicate_realm_name_on_one_app_is_value_error() -> None:
    app = Flask(__name__)
    first = LoginManager(app, realm="staff")

    with pytest.raises(ValueError, match="staff"):
        LoginManager(app, realm="staff")

    second = LoginManager(realm="staff")

    with pytest.raises(ValueError, match="staff"):
        second.init_app(app)

    assert app.extensions["sessionauth.realms"] == {"staff": first}


def test_same_manager_registered_twice_is_a_no_op(
    app: Flask, shop: LoginManager, staff: LoginManager
) -> None:
    staff.init_app(app)
    shop.init_app(app)
    assert app.extensions["sessionauth.realms"] == {None: shop, "staff": staff}
    assert app.extensions["sessionauth"] is shop


def test_another_default_manager_replaces_the_default_only(
    app: Flask, staff: LoginManager, customers: dict[str, User]
) -> None:
    other = LoginManager(app)
    other.user_loader(customers.get)

    assert app.extensions["sessionauth"] is other
    assert app.extensions["sessionauth.realms"] == {None: other, "staff": staff}
    client = app.test_client()
    login_both(client)


def test_one_named_manager_may_serve_two_apps(
    staff: LoginManager, staff_members: dict[str, User]
) -> None:
    apps = []

    for _ in range(2):
        app = Flask(__name__)
        app.config.update(SECRET_KEY=SECRET, TESTING=True)
        staff.init_app(app)
        add_staff_routes(app, staff, staff_members)
        apps.append(app)

    for app in apps:
        client = app.test_client()
        assert get(client, "/staff/login/1") == "ok"
        assert get(client, "/staff/whoami") == "sam"


UNKNOWN_REALM_CALLS: dict[str, t.Callable[[User], object]] = {
    "login_user": lambda user: login_user(user, realm="nope"),
    "logout_user": lambda user: logout_user(realm="nope"),
    "confirm_login": lambda user: confirm_login(realm="nope"),
    "login_fresh": lambda user: login_fresh(realm="nope"),
    "login_remembered": lambda user: login_remembered(realm="nope"),
    "rebind_session": lambda user: rebind_session(realm="nope"),
    "set_login_view": lambda user: set_login_view("signin", realm="nope"),
}


@pytest.mark.parametrize("call", UNKNOWN_REALM_CALLS.values(), ids=UNKNOWN_REALM_CALLS)
def test_unknown_realm_is_unknown_realm_error(
    app: Flask, customers: dict[str, User], call: t.Callable[[User], object]
) -> None:
    with app.test_request_context():
        with pytest.raises(UnknownRealmError) as info:
            call(customers["1"])

        assert current_user.is_anonymous

    message = str(info.value)
    assert "nope" in message
    assert "'staff'" in message
    assert "LoginManager(app, realm=" in message


def test_unknown_realm_error_is_a_lookup_value_and_runtime_error() -> None:
    assert issubclass(UnknownRealmError, LookupError)
    assert issubclass(UnknownRealmError, ValueError)
    assert issubclass(UnknownRealmError, RuntimeError)
    assert flask_sessionauth.UnknownRealmError is UnknownRealmError
    assert "UnknownRealmError" in flask_sessionauth.__all__
    assert "logout_all" in flask_sessionauth.__all__


def test_a_realm_manager_on_an_app_without_that_realm(
    staff: LoginManager,
) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, TESTING=True)
    LoginManager(app)

    with app.test_request_context():
        with pytest.raises(UnknownRealmError, match="staff"):
            staff.current_user.get_id()


HOSTILE_STAFF_SESSIONS = [
    pytest.param({"_user_id.staff": [1]}, id="id-list"),
    pytest.param({"_user_id.staff": ["1"]}, id="id-list-of-str"),
    pytest.param({"_user_id.staff": {"id": "1"}}, id="id-dict"),
    pytest.param({"_user_id.staff": 1}, id="id-int"),
    pytest.param({"_user_id.staff": True}, id="id-bool"),
    pytest.param({"_user_id.staff": 1.0}, id="id-float"),
    pytest.param({"_user_id.staff": None}, id="id-none"),
    pytest.param({"_user_id.staff": ""}, id="id-empty"),
    pytest.param({"_user_id.staff": "1" * 10_000}, id="id-10kB"),
    pytest.param({"_user_id.staff": "9", "_fresh.staff": True}, id="id-unknown"),
    pytest.param(
        {"_fresh.staff": True, "_id.staff": "x", "_token_sig.staff": "y"},
        id="keys-without-id",
    ),
]


@pytest.mark.parametrize("data", HOSTILE_STAFF_SESSIONS)
@pytest.mark.parametrize("protection", ["basic", "strong"])
def test_hostile_staff_session_values_give_an_anonymous_staff_user(
    app: Flask, client: FlaskClient, data: dict[str, t.Any], protection: str
) -> None:
    app.config.update(
        SESSION_PROTECTION=protection,
        SESSIONAUTH_FRESH_LOGIN_MAX_AGE=3600,
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(hours=1),
    )
    get(client, "/login/1")

    with client.session_transaction() as sess:
        # This client's identifier, so that session protection passes and
        # only the hostile values are judged.
        sess["_id.staff"] = sess["_id"]
        sess.update(data)

    for path in ("/", "/staff/area", "/staff/state", "/staff/api", "/template"):
        response = client.get(path)
        assert response.status_code in (200, 302, 303, 401), (path, response.text)

    assert get(client, "/") == "customer=alice staff=-"
    assert get(client, "/staff/state") == "fresh=False m_fresh=False remembered=False"
    assert get(client, "/protected") == "customer:1"


#: Hostile values beside a good staff user id: whether the customer's login
#: stays fresh. A staff identifier that is not this client's fails session
#: protection, which then judges the customer's login too, by its own
#: identifier: this client's, so it stays fresh.
HOSTILE_OTHER_STAFF_KEYS = [
    pytest.param({"_fresh.staff": "yes"}, True, id="fresh-str"),
    pytest.param({"_fresh.staff": [True]}, True, id="fresh-list"),
    pytest.param({"_fresh.staff": 1}, True, id="fresh-int"),
    pytest.param({"_fresh_at.staff": "yesterday"}, True, id="fresh-at-str"),
    pytest.param({"_fresh_at.staff": [1]}, True, id="fresh-at-list"),
    pytest.param({"_remember_seconds.staff": "forever"}, True, id="remember-s-str"),
    pytest.param({"_remember_seconds.staff": {"s": 1}}, True, id="remember-s-dict"),
    pytest.param({"_token_sig.staff": 12}, True, id="token-sig-int"),
    pytest.param({"_token_sig.staff": "x" * 10_000}, True, id="token-sig-10kB"),
    pytest.param({"_lifetime.staff": ["a"]}, True, id="lifetime-list"),
    pytest.param({"_lifetime.staff": "not a stamp"}, True, id="lifetime-str"),
    pytest.param({"_id.staff": ["x"]}, True, id="identifier-list"),
    pytest.param({"_id.staff": "x" * 10_000}, True, id="identifier-10kB"),
]


@pytest.mark.parametrize(("data", "customer_fresh"), HOSTILE_OTHER_STAFF_KEYS)
def test_hostile_staff_values_never_fail_and_keep_the_customer(
    app: Flask, client: FlaskClient, data: dict[str, t.Any], customer_fresh: bool
) -> None:
    app.config.update(
        SESSION_PROTECTION="basic",
        SESSIONAUTH_FRESH_LOGIN_MAX_AGE=3600,
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(hours=1),
    )
    login_both(client)

    with client.session_transaction() as sess:
        sess.update(data)

    for path in ("/", "/staff/area", "/staff/fresh-area", "/staff/state", "/state"):
        response = client.get(path)
        assert response.status_code in (200, 302, 303, 401), (path, response.text)

    staff_name = get(client, "/staff/whoami")
    assert staff_name in ("sam", "-")
    assert get(client, "/") == f"customer=alice staff={staff_name}"
    staff_fresh = get(client, "/staff/state").split()[0].removeprefix("fresh=")

    if "_fresh.staff" in data or staff_name == "-":
        # Only True is fresh.
        assert staff_fresh == "False"

    assert get(client, "/state") == f"customer={customer_fresh} staff={staff_fresh}"
    assert get(client, "/protected") == "customer:1"


def test_the_default_realms_values_copied_under_staff_keys(
    app: Flask, client: FlaskClient
) -> None:
    # Bob is a customer; no staff member has his id.
    get(client, "/login/2?remember=1")
    data = session_data(client)

    with client.session_transaction() as sess:
        for key in DEFAULT_KEYS & set(data):
            sess[f"{key}.staff"] = data[key]

    response = client.get("/")
    assert response.status_code == 200
    assert response.text == "customer=bob staff=-"
    assert client.get("/staff/area").status_code != 200

    # The customer's remember cookie, copied too, opens nothing either.
    value = cookie_value(client, COOKIE)
    assert value is not None
    client.set_cookie(STAFF_COOKIE, value)
    assert get(client, "/") == "customer=bob staff=-"


def test_a_customers_bound_login_copied_to_an_existing_staff_id_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    # Alice's login is bound to her session token; copied under the staff
    # keys with tess's id (a staff member with a token of her own), the
    # binding does not hold.
    get(client, "/login/1")
    data = session_data(client)

    with client.session_transaction() as sess:
        for key in DEFAULT_KEYS & set(data):
            sess[f"{key}.staff"] = data[key]

        sess["_user_id.staff"] = "5"

    response = client.get("/")
    assert response.status_code == 200
    assert response.text == "customer=alice staff=-"


# Per-realm config


def test_staff_remember_cookie_duration(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
    clock: Clock,
) -> None:
    app = make_realm_app(
        shop,
        staff,
        customers,
        staff_members,
        SESSIONAUTH_REALMS={"staff": {"REMEMBER_COOKIE_DURATION": timedelta(hours=8)}},
    )
    client = app.test_client()
    login_both(client, remember=True)

    staff_cookie = cookie_value(client, STAFF_COOKIE)
    customer_cookie = cookie_value(client, COOKIE)
    assert staff_cookie is not None and customer_cookie is not None
    assert read_remember_cookie(staff_cookie).expires_at == NOW + 8 * 3600
    assert read_remember_cookie(customer_cookie).expires_at == NOW + YEAR

    response = client.get("/staff/login/1?remember=1")
    header = next(
        h
        for h in response.headers.getlist("Set-Cookie")
        if h.startswith(f"{STAFF_COOKIE}=")
    )
    assert "Max-Age=28800" in header

    # Nine hours later only the customer is remembered.
    clock.advance(9 * 3600)
    both = fresh_client(app, **{COOKIE: customer_cookie, STAFF_COOKIE: staff_cookie})
    assert get(both, "/") == "customer=alice staff=-"


def test_staff_idle_timeout(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
    clock: Clock,
) -> None:
    app = make_realm_app(
        shop,
        staff,
        customers,
        staff_members,
        SESSIONAUTH_REALMS={
            "staff": {"SESSIONAUTH_SESSION_IDLE_TIMEOUT": timedelta(minutes=15)}
        },
    )
    client = app.test_client()
    login_both(client)
    data = session_data(client)
    assert "_lifetime.staff" in data
    assert "_lifetime" not in data

    clock.advance(10 * 60)
    assert get(client, "/") == "customer=alice staff=sam"

    clock.advance(20 * 60)

    with recording(session_expired) as calls:
        assert get(client, "/") == "customer=alice staff=-"

    assert calls == [
        (app, {"user": staff_members["1"], "reason": "idle", "realm": "staff"})
    ]
    assert not set(session_data(client)) & STAFF_KEYS

    # A day later the customer, who has no timeout, is still there.
    clock.advance(DAY)
    assert get(client, "/") == "customer=alice staff=-"


def test_default_idle_timeout_does_not_end_a_staff_login_with_a_longer_one(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
    clock: Clock,
) -> None:
    app = make_realm_app(
        shop,
        staff,
        customers,
        staff_members,
        SESSIONAUTH_SESSION_IDLE_TIMEOUT=timedelta(minutes=15),
        SESSIONAUTH_REALMS={
            "staff": {"SESSIONAUTH_SESSION_IDLE_TIMEOUT": timedelta(hours=8)}
        },
    )
    client = app.test_client()
    login_both(client)
    clock.advance(3600)
    assert get(client, "/") == "customer=- staff=sam"


def test_staff_remember_cookie_name_override(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    app = make_realm_app(
        shop,
        staff,
        customers,
        staff_members,
        SESSIONAUTH_REALMS={"staff": {"REMEMBER_COOKIE_NAME": "staff_remember"}},
    )
    client = app.test_client()
    get(client, "/staff/login/1?remember=1")
    assert cookie_value(client, "staff_remember") is not None
    assert cookie_value(client, STAFF_COOKIE) is None
    assert cookie_value(client, COOKIE) is None


def test_staff_cookie_name_follows_the_apps_remember_cookie_name(
    shop: LoginManager,
    staff: LoginManager,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    app = make_realm_app(
        shop, staff, customers, staff_members, REMEMBER_COOKIE_NAME="keep"
    )
    client = app.test_client()
    login_both(client, remember=True)
    assert cookie_value(client, "keep") is not None
    assert cookie_value(client, "keep_staff") is not None


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"SESSION_PROTECTION": "strong"}, id="session-protection"),
        pytest.param({"LOGIN_DISABLED": True}, id="login-disabled"),
        pytest.param({"SESSIONAUTH_LOGOUT_CLEAR_SESSION": True}, id="clear-session"),
        pytest.param({"USE_SESSION_FOR_NEXT": True}, id="session-for-next"),
        pytest.param({"NOT_A_SETTING": 1}, id="unknown"),
    ],
)
def test_a_key_a_realm_cannot_set_is_value_error_at_init_app(
    overrides: dict[str, t.Any],
) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SESSIONAUTH_REALMS={"staff": overrides})
    LoginManager(app)  # the default realm does not read it
    staff = LoginManager(realm="staff")

    with pytest.raises(ValueError) as info:
        staff.init_app(app)

    assert next(iter(overrides)) in str(info.value)
    assert "staff" not in app.extensions["sessionauth.realms"]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"REMEMBER_COOKIE_DURATION": "8 hours"}, id="duration-str"),
        pytest.param(
            {"REMEMBER_COOKIE_DURATION": timedelta(seconds=-1)}, id="duration-negative"
        ),
        pytest.param(
            {"SESSIONAUTH_SESSION_IDLE_TIMEOUT": "15 minutes"}, id="idle-timeout-str"
        ),
        pytest.param({"REMEMBER_COOKIE_SAMESITE": "Sometimes"}, id="samesite"),
    ],
)
def test_a_bad_realm_value_fails_at_init_app(overrides: dict[str, t.Any]) -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SESSIONAUTH_REALMS={"staff": overrides})

    with pytest.raises((TypeError, ValueError)) as info:
        LoginManager(app, realm="staff")

    assert next(iter(overrides)) in str(info.value)


def test_a_realm_entry_that_is_not_a_dict_fails_at_init_app() -> None:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SESSIONAUTH_REALMS={"staff": "8 hours"})

    with pytest.raises((TypeError, ValueError)):
        LoginManager(app, realm="staff")


@pytest.mark.parametrize("default_first", [True, False])
def test_two_realms_with_the_same_cookie_name_is_value_error(
    default_first: bool,
) -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        SESSIONAUTH_REALMS={"staff": {"REMEMBER_COOKIE_NAME": "remember_token"}},
    )

    if default_first:
        LoginManager(app)

        with pytest.raises(ValueError, match="remember_token"):
            LoginManager(app, realm="staff")
    else:
        LoginManager(app, realm="staff")

        with pytest.raises(ValueError, match="remember_token"):
            LoginManager(app)


def test_a_realm_named_so_its_default_cookie_is_anothers_is_value_error() -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        SESSIONAUTH_REALMS={"a": {"REMEMBER_COOKIE_NAME": "remember_token_b"}},
    )
    LoginManager(app, realm="a")

    with pytest.raises(ValueError, match="remember_token_b"):
        LoginManager(app, realm="b")

    assert set(app.extensions["sessionauth.realms"]) == {"a"}


# Session protection covers the whole session


def test_strong_protection_ends_every_realms_login(
    app: Flask, client: FlaskClient
) -> None:
    app.config["SESSION_PROTECTION"] = "strong"
    client.get("/put/cart/apples", environ_base=HOME)
    login_both(client, remember=True, environ_base=HOME)

    response = client.get("/", environ_base=THIEF)
    assert response.status_code == 200
    assert response.text == NOBODY
    assert empties_cookie(response, COOKIE) or deletes_cookie(response, COOKIE)
    assert empties_cookie(response, STAFF_COOKIE) or deletes_cookie(
        response, STAFF_COOKIE
    )
    assert cookie_value(client, COOKIE) is None
    assert cookie_value(client, STAFF_COOKIE) is None
    assert not set(session_data(client)) & (DEFAULT_KEYS | STAFF_KEYS)

    # Gone for good, not only for the other client.
    assert get(client, "/", environ_base=HOME) == NOBODY


@pytest.mark.parametrize("path", ["/protected", "/staff/area"])
def test_strong_protection_from_a_view_of_one_realm_ends_both(
    app: Flask, client: FlaskClient, path: str
) -> None:
    app.config["SESSION_PROTECTION"] = "strong"
    login_both(client, remember=True, environ_base=HOME)

    assert client.get(path, environ_base=THIEF).status_code != 200
    assert get(client, "/", environ_base=HOME) == NOBODY
    assert cookie_value(client, COOKIE) is None
    assert cookie_value(client, STAFF_COOKIE) is None


def test_basic_protection_marks_every_realm_not_fresh(
    app: Flask, client: FlaskClient
) -> None:
    app.config["SESSION_PROTECTION"] = "basic"
    login_both(client, remember=True, environ_base=HOME)
    assert get(client, "/state", environ_base=HOME) == "customer=True staff=True"

    response = client.get("/state", environ_base=THIEF)
    assert response.text == "customer=False staff=False"
    assert get(client, "/", environ_base=HOME) == "customer=alice staff=sam"
    assert get(client, "/state", environ_base=HOME) == "customer=False staff=False"
    assert cookie_value(client, COOKIE) is not None
    assert cookie_value(client, STAFF_COOKIE) is not None


@pytest.mark.parametrize("path", ["/protected", "/staff/area"])
def test_basic_protection_from_a_view_of_one_realm_marks_both(
    app: Flask, client: FlaskClient, path: str
) -> None:
    app.config["SESSION_PROTECTION"] = "basic"
    login_both(client, environ_base=HOME)

    assert client.get(path, environ_base=THIEF).status_code == 200
    assert get(client, "/state", environ_base=HOME) == "customer=False staff=False"


@pytest.mark.parametrize("tampered", ["_id", "_id.staff"])
@pytest.mark.parametrize("protection", ["basic", "strong"])
def test_a_login_this_client_made_holds_when_another_realms_check_fails(
    app: Flask, client: FlaskClient, tampered: str, protection: str
) -> None:
    # Only one realm's identifier is not this client's: the other realm's
    # login is judged too, by its own identifier, and holds.
    app.config["SESSION_PROTECTION"] = protection
    login_both(client, environ_base=HOME)

    with client.session_transaction() as sess:
        sess[tampered] = "A" * 22

    assert client.get("/", environ_base=HOME).status_code == 200
    customer_hit = tampered == "_id"

    if protection == "strong":
        expected = "customer=- staff=sam" if customer_hit else "customer=alice staff=-"
        assert get(client, "/", environ_base=HOME) == expected
    else:
        assert get(client, "/", environ_base=HOME) == "customer=alice staff=sam"
        assert get(client, "/state", environ_base=HOME) == (
            f"customer={not customer_hit} staff={customer_hit}"
        )


@pytest.mark.parametrize("protection", ["basic", "strong"])
def test_a_login_made_in_the_request_survives_another_realms_failed_check(
    app: Flask, client: FlaskClient, protection: str
) -> None:
    # A customer login made on another client, then a staff login here: the
    # customer check fails, and the staff login, this client's, holds.
    app.config["SESSION_PROTECTION"] = protection
    get(client, "/login/1", environ_base=THIEF)
    get(client, "/staff/login/1", environ_base=HOME)
    assert get(client, "/", environ_base=HOME) in (
        "customer=- staff=sam",
        "customer=alice staff=sam",
    )
    assert get(client, "/staff/whoami", environ_base=HOME) == "sam"


def test_protection_off_leaves_both_logins(app: Flask, client: FlaskClient) -> None:
    app.config["SESSION_PROTECTION"] = None
    login_both(client, environ_base=HOME)
    assert get(client, "/state", environ_base=THIEF) == "customer=True staff=True"


# Revocation per realm


@pytest.mark.parametrize("remember", [False, True])
def test_changing_a_staff_token_ends_the_staff_login_only(
    app: Flask,
    client: FlaskClient,
    staff_members: dict[str, User],
    remember: bool,
) -> None:
    login_both(client, remember=remember)
    before = {k: v for k, v in session_data(client).items() if k in DEFAULT_KEYS}
    sam = t.cast(TokenUser, staff_members["1"])
    sam.token = "sam-new-token"

    with recording(session_revoked) as calls:
        response = client.get("/")

    assert response.text == "customer=alice staff=-"
    assert calls == [(app, {"user": sam, "realm": "staff"})]
    data = session_data(client)
    assert not set(data) & STAFF_KEYS
    assert {k: v for k, v in data.items() if k in DEFAULT_KEYS} == before

    if remember:
        assert deletes_cookie(response, STAFF_COOKIE)
        assert not deletes_cookie(response, COOKIE)
        assert cookie_value(client, COOKIE) is not None

    assert cookie_value(client, STAFF_COOKIE) is None
    client.delete_cookie(SESSION)
    expected = "customer=alice staff=-" if remember else NOBODY
    assert get(client, "/") == expected


def test_changing_a_customer_token_leaves_the_staff_login(
    client: FlaskClient, customers: dict[str, User]
) -> None:
    login_both(client, remember=True)
    t.cast(TokenUser, customers["1"]).token = "alice-new-token"

    assert get(client, "/") == "customer=- staff=sam"
    assert cookie_value(client, STAFF_COOKIE) is not None
    client.delete_cookie(SESSION)
    assert get(client, "/") == "customer=- staff=sam"


@pytest.mark.parametrize("method", [False, True])
def test_rebind_session_in_the_staff_realm(
    app: Flask, client: FlaskClient, method: bool
) -> None:
    login_both(client, remember=True)
    before = session_data(client)
    customer_cookie = cookie_value(client, COOKIE)

    response = client.get(f"/staff/change-token/sam-2{'?method=1' if method else ''}")
    assert response.text == "rebound"

    after = session_data(client)
    assert after["_token_sig.staff"] != before["_token_sig.staff"]
    assert {k: v for k, v in after.items() if k in DEFAULT_KEYS} == {
        k: v for k, v in before.items() if k in DEFAULT_KEYS
    }
    # The staff cookie is re-issued, bound to the new token; the customer's
    # is not touched.
    names = {h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")}
    assert STAFF_COOKIE in names
    assert COOKIE not in names
    assert cookie_value(client, COOKIE) == customer_cookie

    assert get(client, "/") == "customer=alice staff=sam"
    client.delete_cookie(SESSION)
    assert get(client, "/") == "customer=alice staff=sam"


def test_rebind_session_without_a_staff_login_leaves_the_customer(
    app: Flask, client: FlaskClient
) -> None:
    get(client, "/login/1")
    before = session_data(client)

    # No staff login: the staff rebind refuses, the customer's login stays.
    with pytest.raises(RuntimeError):
        client.get("/staff/change-token/x")

    assert session_data(client) == before
    assert get(client, "/") == "customer=alice staff=-"


# Server-side sessions


@pytest.fixture
def store(tmp_path: Path) -> FileSystemCache:
    return FileSystemCache(str(tmp_path / "sessions"))


@pytest.fixture
def server_app(app: Flask, store: FileSystemCache) -> Flask:
    app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=store)
    Session(app)
    return app


def sid(client: FlaskClient) -> str:
    value = cookie_value(client, SESSION)
    assert value is not None
    return value


def stored(store: FileSystemCache, session_id: str) -> dict[str, t.Any] | None:
    data = store.get(STORE_PREFIX + session_id)
    assert data is None or isinstance(data, dict)
    return data


@pytest.mark.parametrize("first", ["/staff/login/1", "/login/1"])
def test_a_login_in_either_realm_renews_the_server_side_session_id(
    server_app: Flask, store: FileSystemCache, first: str
) -> None:
    client = server_app.test_client()
    get(client, "/put/cart/apples")
    ids = [sid(client)]
    second = "/login/1" if first != "/login/1" else "/staff/login/1"

    for path in (first, second):
        assert get(client, path) == "ok"
        ids.append(sid(client))
        assert ids[-1] != ids[-2]
        assert stored(store, ids[-2]) is None

    data = stored(store, ids[-1])
    assert data is not None
    assert data["cart"] == "apples"
    assert data["_user_id"] == "1"
    assert data["_user_id.staff"] == "1"
    assert get(client, "/") == "customer=alice staff=sam"


def test_staff_cookie_restore_renews_the_server_side_session_id(
    server_app: Flask, store: FileSystemCache
) -> None:
    client = server_app.test_client()
    get(client, "/staff/login/1?remember=1")
    value = cookie_value(client, STAFF_COOKIE)
    assert value is not None

    planted = server_app.test_client()
    get(planted, "/put/cart/apples")
    before = sid(planted)
    planted.set_cookie(STAFF_COOKIE, value)

    assert get(planted, "/") == "customer=- staff=sam"
    assert sid(planted) != before
    assert stored(store, before) is None


# Signals


def test_signals_carry_the_realm_only_for_a_named_realm(
    app: Flask,
    client: FlaskClient,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    with recording(user_logged_in) as calls:
        get(client, "/login/1")
        get(client, "/staff/login/1")

    assert calls == [
        (app, {"user": customers["1"]}),
        (app, {"user": staff_members["1"], "realm": "staff"}),
    ]

    with recording(user_logged_out) as calls:
        get(client, "/staff/logout")
        get(client, "/logout")

    assert calls == [
        (app, {"user": staff_members["1"], "realm": "staff"}),
        (app, {"user": customers["1"]}),
    ]


def test_flask_login_style_receivers_keep_working(
    app: Flask, client: FlaskClient, customers: dict[str, User]
) -> None:
    """A receiver written for flask-login takes exactly ``(sender, user)``;
    default-realm logins must not send it a ``realm``.
    """
    seen: list[object] = []

    def on_login(sender: object, user: object) -> None:
        seen.append(user)

    with user_logged_in.connected_to(on_login, app):
        get(client, "/login/1")

    assert seen == [customers["1"]]


# The test client


def test_login_test_client_with_realm(
    app: Flask, client: FlaskClient, staff_members: dict[str, User]
) -> None:
    with recording(user_logged_in) as calls:
        login_test_client(client, staff_members["1"], realm="staff")

    assert calls == []
    assert get(client, "/") == "customer=- staff=sam"
    assert get(client, "/staff/area") == "staff:1"
    assert set(session_data(client)) <= STAFF_KEYS

    login_test_client(client, staff_members["5"], realm="staff", fresh=False)
    assert get(client, "/") == "customer=- staff=tess"
    assert get(client, "/state") == "customer=False staff=False"


def test_login_test_client_default_and_staff_together(
    app: Flask,
    client: FlaskClient,
    customers: dict[str, User],
    staff_members: dict[str, User],
) -> None:
    app.config["SESSION_PROTECTION"] = "strong"
    login_test_client(client, customers["1"])
    login_test_client(client, staff_members["1"], realm="staff")
    assert get(client, "/") == "customer=alice staff=sam"
    assert get(client, "/protected") == "customer:1"
    assert get(client, "/staff/area") == "staff:1"


def test_login_test_client_unknown_realm(
    client: FlaskClient, staff_members: dict[str, User]
) -> None:
    with pytest.raises(UnknownRealmError):
        login_test_client(client, staff_members["1"], realm="nope")


def test_session_auth_client_with_realm(
    app: Flask, staff_members: dict[str, User]
) -> None:
    app.test_client_class = SessionAuthClient
    client = app.test_client(user=staff_members["1"], realm="staff")
    assert get(client, "/") == "customer=- staff=sam"

    default = app.test_client(user=staff_members["5"])
    # Logged in to the default realm as id 5, which no customer has.
    assert session_data(default)["_user_id"] == "5"
    assert "_user_id.staff" not in session_data(default)
