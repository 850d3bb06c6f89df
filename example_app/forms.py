"""The HTML forms. Every :class:`~flask_wtf.FlaskForm` carries a CSRF token."""

from __future__ import annotations

import typing as t

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import PasswordField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import ValidationError

from .models import password_problem
from .models import username_problem


def _checked_by(
    problem: t.Callable[[str], str | None],
) -> t.Callable[[FlaskForm, t.Any], None]:
    """A WTForms validator that reports what ``problem`` finds."""

    def validate(form: FlaskForm, field: t.Any) -> None:
        message = problem(field.data or "")

        if message is not None:
            raise ValidationError(message)

    return validate


def text(field: t.Any) -> str:
    """The value of a validated text field, as a :class:`str`."""
    return str(field.data or "")


def add_error(field: t.Any, message: str) -> None:
    """Show ``message`` under ``field``, for a check made after validation."""
    field.errors = [*field.errors, message]


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class RegisterForm(FlaskForm):
    username = StringField(
        "Username",
        filters=[_strip],
        validators=[DataRequired(), _checked_by(username_problem)],
    )
    password = PasswordField(
        "Password", validators=[DataRequired(), _checked_by(password_problem)]
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
    )
    submit = SubmitField("Create account")


class LoginForm(FlaskForm):
    username = StringField("Username", filters=[_strip], validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Remember me on this computer")
    submit = SubmitField("Log in")


class ReauthenticateForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Confirm")


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password", validators=[DataRequired(), _checked_by(password_problem)]
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", "The passwords differ.")],
    )
    # Unticked by default, and a form sent without it signs the other devices
    # out: only a user who asks keeps them.
    keep_other_devices = BooleanField("Keep me logged in on my other devices")
    submit = SubmitField("Change password")
