"""How an app uses the extension's types. This module must pass
``mypy --strict``; ``test_typing.py`` runs mypy on it and also imports it, so
every line here is real, working code.
"""

from __future__ import annotations

import typing as t

from flask import Flask

from flask_sessionauth import current_user
from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import LoginManager
from flask_sessionauth import logout_user
from flask_sessionauth import UserMixin
from flask_sessionauth import UserProtocol

if t.TYPE_CHECKING:
    from typing_extensions import assert_type


class Account(UserMixin):
    def __init__(self, id: int, email: str) -> None:
        self.id = id
        self.email = email


ACCOUNTS = {"1": Account(1, "ada@example.com")}

app = Flask(__name__)
app.secret_key = "typing-sample"
login_manager = LoginManager(app)
login_manager.login_view = None
login_manager.clock = lambda: 1_700_000_000.0


@login_manager.user_loader
def load_account(user_id: str) -> Account | None:
    return ACCOUNTS.get(user_id)


@app.route("/")
def index() -> str:
    if current_user.is_authenticated:
        return f"hello {current_user.get_id()}"
    return "hello stranger"


@app.route("/login/<user_id>")
def login(user_id: str) -> str:
    ok: bool = login_user(ACCOUNTS[user_id], remember=True)
    return "ok" if ok else "refused"


@app.route("/logout")
def logout() -> str:
    done: bool = logout_user()
    return str(done)


@login_required
def invoice(number: int, *, currency: str = "EUR") -> str:
    return f"{number} {currency}"


@fresh_login_required
async def close_account(reason: str) -> bool:
    return bool(reason)


@app.route("/invoice/<int:number>")
def show_invoice(number: int) -> str:
    return invoice(number, currency="USD")


@app.route("/close")
async def close() -> str:
    closed = await close_account("moving away")
    return str(closed)


@app.route("/me")
@login_required
def me() -> str:
    account = t.cast(Account, current_user._get_current_object())
    proxied = t.cast(Account, current_user)
    return f"{account.email} {proxied.email}"


def describe(user: UserProtocol) -> str:
    return "anonymous" if user.is_anonymous else f"user {user.get_id()}"


if t.TYPE_CHECKING:
    assert_type(current_user.is_authenticated, bool)
    assert_type(current_user.get_id(), str | None)
    assert_type(current_user._get_current_object(), UserProtocol)
    assert_type(invoice(1), str)
    assert_type(load_account("1"), Account | None)
    assert_type(describe(ACCOUNTS["1"]), str)

    async def _await_close() -> None:
        assert_type(await close_account("x"), bool)
