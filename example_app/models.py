"""The user model, and the loaders flask-sessionauth calls to find users."""

from __future__ import annotations

import functools
import re
import secrets
import sqlite3

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
    """Raised by :meth:`User.create` when the name is in use."""


class User(UserMixin):
    """A row of the ``users`` table.

    :meth:`get_session_token` makes sessions revocable: flask-sessionauth
    binds each login to the token, and :meth:`set_password` replaces it, so
    every other session and remember cookie of the user stops working.
    """

    def __init__(
        self, id: int, username: str, password_hash: str, session_token: str
    ) -> None:
        self.id = id
        self.username = username
        self.password_hash = password_hash
        self.session_token = session_token

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"

    @classmethod
    def _from_row(cls, row: sqlite3.Row | None) -> User | None:
        if row is None:
            return None

        return cls(
            row["id"], row["username"], row["password_hash"], row["session_token"]
        )

    @classmethod
    def get(cls, user_id: int) -> User | None:
        row = get_db().execute("SELECT * FROM users WHERE id = ?", (user_id,))
        return cls._from_row(row.fetchone())

    @classmethod
    def get_by_username(cls, username: str) -> User | None:
        row = get_db().execute("SELECT * FROM users WHERE username = ?", (username,))
        return cls._from_row(row.fetchone())

    @classmethod
    def create(cls, username: str, password: str) -> User:
        """Add a user. The caller checks the name and password first.

        :raises UsernameTaken: The name is in use (in any letter case).
        """
        db = get_db()
        password_hash = generate_password_hash(password)
        token = new_session_token()

        try:
            cursor = db.execute(
                "INSERT INTO users (username, password_hash, session_token)"
                " VALUES (?, ?, ?)",
                (username, password_hash, token),
            )
            db.commit()
        except sqlite3.IntegrityError:
            db.rollback()
            raise UsernameTaken(username) from None

        assert cursor.lastrowid is not None
        return cls(cursor.lastrowid, username, password_hash, token)

    def get_session_token(self) -> str:
        return self.session_token

    def check_password(self, password: str) -> bool:
        if len(password) > MAX_PASSWORD_LENGTH:
            return False

        return check_password_hash(self.password_hash, password)

    def set_password(self, password: str) -> None:
        """Store a new password and a new session token, which logs the user
        out everywhere except where :func:`flask_sessionauth.rebind_session`
        is called next.
        """
        self.password_hash = generate_password_hash(password)
        self.session_token = new_session_token()
        db = get_db()
        db.execute(
            "UPDATE users SET password_hash = ?, session_token = ? WHERE id = ?",
            (self.password_hash, self.session_token, self.id),
        )
        db.commit()


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


def authenticate(username: str, password: str) -> User | None:
    """The user with this name and password, or None.

    Registered as the :meth:`~flask_sessionauth.LoginManager.basic_auth_loader`
    and used by the login form.
    """
    user = User.get_by_username(username)

    if user is None:
        # Hash anyway, so that a wrong name takes as long as a wrong password
        # and response times do not tell which names exist.
        check_password_hash(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        return None

    if not user.check_password(password):
        return None

    return user


def load_user(user_id: str) -> User | None:
    """The :meth:`~flask_sessionauth.LoginManager.user_loader`: the user with
    the id stored in the session or the remember cookie.
    """
    try:
        return User.get(int(user_id))
    except (ValueError, OverflowError):
        return None


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
