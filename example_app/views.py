"""The pages: home, profile (needs a login) and settings (needs a fresh one).
The devices page is in devices.py."""

from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for

from flask_sessionauth import fresh_login_required
from flask_sessionauth import login_fresh
from flask_sessionauth import login_remembered
from flask_sessionauth import login_required
from flask_sessionauth import rebind_session

from .forms import add_error
from .forms import ChangePasswordForm
from .forms import text
from .models import get_current_user

if t.TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

bp = Blueprint("views", __name__)


@bp.route("/")
def home() -> ResponseReturnValue:
    return render_template("home.html")


@bp.route("/profile")
@login_required
def profile() -> ResponseReturnValue:
    return render_template(
        "profile.html",
        user=get_current_user(),
        fresh=login_fresh(),
        remembered=login_remembered(),
    )


@bp.route("/settings", methods=["GET", "POST"])
@fresh_login_required
def settings() -> ResponseReturnValue:
    form = ChangePasswordForm()

    if form.validate_on_submit():
        user = get_current_user()

        if user.check_password(text(form.old_password)):
            if form.keep_other_devices.data:
                # The user chose to stay logged in elsewhere: same session
                # token, so every login stays. "Your devices" lists them, to
                # sign out any that should not be there.
                user.set_password(text(form.new_password), new_token=False)
                flash(
                    "Your password has been changed. Your other devices are"
                    " still logged in: sign out any you do not recognise.",
                    "success",
                )
                return redirect(url_for("devices.index"))

            user.set_password(text(form.new_password))
            # The new session token has just logged the user out everywhere,
            # here included; bind this session (and its remember cookie) to
            # the new token so that only this browser stays logged in. With
            # the login registry on, this also ends the other devices'
            # records: none of their remember cookies logs in again.
            rebind_session()
            flash(
                "Your password has been changed. Every other session has been"
                " logged out.",
                "success",
            )
            return redirect(url_for("views.settings"))

        add_error(form.old_password, "That is not your current password.")

    return render_template("settings.html", form=form)
