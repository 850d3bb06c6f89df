"""The HTML forms. Every :class:`~flask_wtf.FlaskForm` carries a CSRF token."""

from __future__ import annotations

import typing as t
from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

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


#: The scopes a token may be given on the API tokens page, and what each
#: lets it do. A view asks for one with ``@scope_required(...)``.
TOKEN_SCOPES = {
    "read": "see your account (GET /api/me)",
    "deploy": "start a deploy (POST /api/deploy)",
}

#: How long a new token may last: what the form offers, and what
#: ``issue_token`` is given for it.
TOKEN_EXPIRIES = {
    "7 days": timedelta(days=7),
    "30 days": timedelta(days=30),
    "90 days": timedelta(days=90),
    "never": None,
}


class MultiCheckboxField(SelectMultipleField):
    """A choice of several values, as one checkbox each."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CreateTokenForm(FlaskForm):
    name = StringField(
        "Name",
        filters=[_strip],
        validators=[
            DataRequired('Give the token a name, such as "ci deploy".'),
            Length(max=100, message="Use at most 100 characters."),
        ],
        description="What it is for, so you know what to revoke later.",
    )
    # Plain strings for choices, each its own label: what every WTForms 3
    # takes without a deprecation warning.
    scopes = MultiCheckboxField(
        "Scopes",
        choices=list(TOKEN_SCOPES),
        validators=[DataRequired("Choose at least one scope.")],
    )
    # The default is the shortest that is usually enough: a token that
    # expires on its own is one less to forget.
    expires = SelectField(
        "Expires after", choices=list(TOKEN_EXPIRIES), default="30 days"
    )
    submit = SubmitField("Create token")
