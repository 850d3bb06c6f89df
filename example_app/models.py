"""The accounts (customers and staff members), and the loaders
flask-sessionauth calls to find them."""

from __future__ import annotations

import functools
import re
import secrets
import sqlite3
import typing as t

from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from flask_sessionauth import current_user
from flask_sessionauth import UserMixin

from .db import get_db

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{3,32}")
MIN_PASSWORD_LENGTH = 8
#: Longer passwords are refused rather than hashed: hashing megabytes of
#: input on every login attempt is an easy way to tie up a worker.
MAX_PASSWORD_LENGTH = 256


class UsernameTaken(Exception):
    """Raised by :meth:`Account.create` when the name is in use."""


class IdTaken(Exception):
    """Raised by :meth:`Account.create` when the id asked for is in use."""


A = t.TypeVar("A", bound="Account")


class Account(UserMixin):
    """A row of a table of accounts: :class:`User` (a customer) or
    :class:`StaffMember`. The two tables number their rows separately, so
    customer 1 and staff member 1 are different people; each kind has a
    login manager (a realm) of its own, and no login of one is ever taken for
    the other.

    :meth:`get_session_token` makes sessions revocable: flask-sessionauth
    binds each login to the token, and :meth:`set_password` replaces it, so
    every other session and remember cookie of the account stops working.
    """

    #: The table the rows come from. A class attribute, never user input.
    table: t.ClassVar[str]

    def __init__(
        self, id: int, username: str, password_hash: str, session_token: str
    ) -> None:
        self.id = id
        self.username = username
        self.password_hash = password_hash
        self.session_token = session_token

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.username!r}>"

    @classmethod
    def _from_row(cls: type[A], row: sqlite3.Row | None) -> A | None:
        if row is None:
            return None

        return cls(
            row["id"], row["username"], row["password_hash"], row["session_token"]
        )

    @classmethod
    def get(cls: type[A], account_id: int) -> A | None:
        row = get_db().execute(f"SELECT * FROM {cls.table} WHERE id = ?", (account_id,))
        return cls._from_row(row.fetchone())

    @classmethod
    def get_by_username(cls: type[A], username: str) -> A | None:
        row = get_db().execute(
            f"SELECT * FROM {cls.table} WHERE username = ?", (username,)
        )
        return cls._from_row(row.fetchone())

    @classmethod
    def all(cls: type[A]) -> list[A]:
        """Every account of this kind, by id."""
        rows = get_db().execute(f"SELECT * FROM {cls.table} ORDER BY id")
        return [account for row in rows if (account := cls._from_row(row))]

    @classmethod
    def create(
        cls: type[A], username: str, password: str, *, id: int | None = None
    ) -> A:
        """Add an account. The caller checks the name and password first.

        :param id: The id to give it; the next free one when None.
        :raises UsernameTaken: The name is in use (in any letter case).
        :raises IdTaken: ``id`` is in use.
        """
        db = get_db()
        password_hash = generate_password_hash(password)
        token = new_session_token()

        try:
            cursor = db.execute(
                f"INSERT INTO {cls.table} (id, username, password_hash, session_token)"
                " VALUES (?, ?, ?, ?)",
                (id, username, password_hash, token),
            )
            db.commit()
        except sqlite3.IntegrityError as exc:
            db.rollback()

            if str(exc).endswith(f"{cls.table}.id"):
                raise IdTaken(id) from None

            raise UsernameTaken(username) from None

        assert cursor.lastrowid is not None
        return cls(cursor.lastrowid, username, password_hash, token)

    def get_session_token(self) -> str:
        return self.session_token

    def check_password(self, password: str) -> bool:
        if len(password) > MAX_PASSWORD_LENGTH:
            return False

        return check_password_hash(self.password_hash, password)

    def set_password(self, password: str, *, new_token: bool = True) -> None:
        """Store a new password and, unless ``new_token`` is false, a new
        session token, which logs the account out everywhere except where
        :func:`flask_sessionauth.rebind_session` is called next.

        :param new_token: False keeps the session token, and with it every
            login of the account: the user chose to stay logged in on their
            other devices.
        """
        self.password_hash = generate_password_hash(password)

        if new_token:
            self.session_token = new_session_token()

        db = get_db()
        db.execute(
            f"UPDATE {self.table} SET password_hash = ?, session_token = ?"
            " WHERE id = ?",
            (self.password_hash, self.session_token, self.id),
        )
        db.commit()


class User(Account):
    """A customer: a row of the ``users`` table, logged in through the default
    realm (``current_user``, ``login_required``).
    """

    table = "users"


class StaffMember(Account):
    """A member of staff: a row of the ``staff`` table, logged in through the
    ``staff`` realm (``current_staff`` in templates, ``@staff.login_required``).
    """

    table = "staff"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def username_problem(username: str) -> str | None:
    """What is wrong with a new username, or None if nothing is."""
    if USERNAME_PATTERN.fullmatch(username) is None:
        return "Use 3 to 32 characters: letters, digits, dots, dashes and underscores."

    return None


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, or None if nothing is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."

    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."

    return None


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def _authenticate(cls: type[A], username: str, password: str) -> A | None:
    account = cls.get_by_username(username)

    if account is None:
        # Hash anyway, so that a wrong name takes as long as a wrong password
        # and response times do not tell which names exist.
        check_password_hash(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        return None

    if not account.check_password(password):
        return None

    return account


def authenticate(username: str, password: str) -> User | None:
    """The customer with this name and password, or None.

    Registered as the :meth:`~flask_sessionauth.LoginManager.basic_auth_loader`
    and used by the login form.
    """
    return _authenticate(User, username, password)


def authenticate_staff(username: str, password: str) -> StaffMember | None:
    """The staff member with this name and password, or None. Used by the
    staff login form; customers' names and passwords are never looked at.
    """
    return _authenticate(StaffMember, username, password)


def _load(cls: type[A], account_id: str) -> A | None:
    try:
        return cls.get(int(account_id))
    except (ValueError, OverflowError):
        return None


def load_user(user_id: str) -> User | None:
    """The default realm's :meth:`~flask_sessionauth.LoginManager.user_loader`:
    the customer with the id stored in the session or the remember cookie.
    """
    return _load(User, user_id)


def load_staff(staff_id: str) -> StaffMember | None:
    """The ``staff`` realm's user loader: the staff member with the id stored
    under the staff realm's session key or in its remember cookie. It is only
    ever given ids the staff realm stored, so a customer id never reaches it.
    """
    return _load(StaffMember, staff_id)


def get_current_user() -> User:
    """The logged-in :class:`User`, typed as such. Call it only from views
    that require a login.
    """
    user = current_user._get_current_object()

    if not isinstance(user, User):
        raise RuntimeError(
            "get_current_user() needs a logged-in user. Decorate the view with"
            " @login_required."
        )

    return user
