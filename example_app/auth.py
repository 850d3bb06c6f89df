"""Registering, logging in and out, and confirming a login again."""

from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for

from flask_sessionauth import confirm_login
from flask_sessionauth import current_user
from flask_sessionauth import login_required
from flask_sessionauth import login_user
from flask_sessionauth import logout_user
from flask_sessionauth.redirects import get_next_url

from .forms import add_error
from .forms import LoginForm
from .forms import ReauthenticateForm
from .forms import RegisterForm
from .forms import text
from .models import authenticate
from .models import get_current_user
from .models import User
from .models import UsernameTaken

if t.TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    form = RegisterForm()

    if form.validate_on_submit():
        try:
            user = User.create(text(form.username), text(form.password))
        except UsernameTaken:
            add_error(form.username, "That name is taken.")
        else:
            flash(f"Welcome, {user.username}! Please log in.", "success")
            return redirect(url_for("auth.login"))

    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log in. The form posts back to this URL, query string included, so a
    ``next`` that :func:`~flask_sessionauth.login_required` added is still
    there; :func:`get_next_url` follows it only if it stays on this site.
    """
    if current_user.is_authenticated:
        return redirect(get_next_url(default=url_for("views.home")))

    form = LoginForm()

    if form.validate_on_submit():
        user = authenticate(text(form.username), text(form.password))

        if user is None:
            flash("Wrong username or password.", "error")
        else:
            login_user(user, remember=bool(form.remember.data))
            flash(f"Logged in as {user.username}.", "success")
            return redirect(get_next_url(default=url_for("views.home")))

    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Log out. POST only, and CSRF-checked, so that no link or image on
    another site can log a user out.
    """
    if current_user.is_authenticated:
        logout_user()
        flash("You have been logged out.", "success")

    return redirect(url_for("views.home"))


@bp.route("/reauthenticate", methods=["GET", "POST"])
@login_required
def reauthenticate() -> ResponseReturnValue:
    """The ``refresh_view``: a user whose login is not fresh (restored from the
    remember cookie, or older than ``SESSIONAUTH_FRESH_LOGIN_MAX_AGE``) proves
    who they are again before a sensitive page opens.
    """
    form = ReauthenticateForm()
    user = get_current_user()

    if form.validate_on_submit():
        if user.check_password(text(form.password)):
            confirm_login()
            flash("Thanks. Your login is confirmed.", "success")
            return redirect(get_next_url(default=url_for("views.home")))

        flash("Wrong password.", "error")

    return render_template("auth/reauthenticate.html", form=form, user=user)
