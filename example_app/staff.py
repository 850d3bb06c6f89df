"""The staff area under ``/staff``: a second kind of user beside the customers,
with a login of its own.

Staff members are rows of the ``staff`` table, not of ``users``, and the two
tables number their rows separately: customer 1 and staff member 1 are two
different people. They log in through a realm of their own,
``LoginManager(app, realm="staff")``, which keeps its login under its own
session keys (``_user_id.staff``, ...) and its own remember cookie
(``remember_token_staff``). So, in one browser:

- a customer and a staff member can be logged in at the same time, each area
  seeing only its own user (``current_user`` on the site, ``current_staff``
  in the staff templates);
- logging out of one area leaves the other logged in;
- no customer login, cookie or id ever opens the staff area, even when the
  staff member with the same id exists.

The blueprint is built per app, by :func:`init_app`, because its views are
guarded by that app's staff manager (``@staff.login_required``): one manager
per app, as for the customers, so that apps in one process share no state.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for

from flask_sessionauth import login_remembered
from flask_sessionauth import LoginManager
from flask_sessionauth.redirects import get_next_url

from .forms import LoginForm
from .forms import text
from .models import authenticate_staff
from .models import load_staff
from .models import StaffMember
from .models import User

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.typing import ResponseReturnValue

    from flask_sessionauth.stores import LoginStore

#: The realm's name: its session keys end in ``.staff``, its remember cookie
#: is ``remember_token_staff``, and templates see its user as ``current_staff``.
REALM = "staff"


def init_app(app: Flask, registry: LoginStore | None = None) -> LoginManager:
    """Register the staff realm and the staff blueprint on ``app``, and return
    the realm's manager.

    :param registry: The store of the realm's login registry, or None.
    """
    staff = LoginManager(app, realm=REALM, registry=registry)
    staff.user_loader(load_staff)
    staff.login_view = "staff.login"
    staff.login_message = "Please log in with your staff account."
    staff.login_message_category = "info"
    staff.session_expired_message = (
        "Your staff session has expired: 15 minutes without activity, or 12"
        " hours since you logged in. Please log in again."
    )
    app.register_blueprint(create_blueprint(staff))
    return staff


def create_blueprint(staff: LoginManager) -> Blueprint:
    """The staff pages, guarded by ``staff``, the app's staff manager."""
    bp = Blueprint("staff", __name__, url_prefix="/staff")

    def current_member() -> StaffMember:
        """The logged-in :class:`StaffMember`, typed as such. Only for views
        behind ``@staff.login_required``.
        """
        member = staff.current_user._get_current_object()

        if not isinstance(member, StaffMember):
            raise RuntimeError("current_member() needs @staff.login_required.")

        return member

    @bp.route("/")
    @staff.login_required
    def dashboard() -> ResponseReturnValue:
        return render_template(
            "staff/dashboard.html",
            member=current_member(),
            fresh=staff.login_fresh(),
            remembered=login_remembered(realm=REALM),
        )

    @bp.route("/customers")
    @staff.login_required
    def customers() -> ResponseReturnValue:
        return render_template("staff/customers.html", customers=User.all())

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        """Log a staff member in. Whether a customer is logged in in this
        browser makes no difference, either way.
        """
        if staff.current_user.is_authenticated:
            return redirect(get_next_url(default=url_for("staff.dashboard")))

        form = LoginForm()

        if form.validate_on_submit():
            member = authenticate_staff(text(form.username), text(form.password))

            if member is None:
                flash("Wrong username or password.", "error")
            else:
                staff.login_user(member, remember=bool(form.remember.data))
                flash(f"Logged in to the staff area as {member.username}.", "success")
                return redirect(get_next_url(default=url_for("staff.dashboard")))

        return render_template("staff/login.html", form=form)

    @bp.route("/logout", methods=["POST"])
    def logout() -> ResponseReturnValue:
        """Log the staff member out: the staff realm's session keys and its
        remember cookie go; a customer logged in in this browser stays. POST
        only, and CSRF-checked, like the customers' logout.
        """
        if staff.current_user.is_authenticated:
            staff.logout_user()
            flash("You have been logged out of the staff area.", "success")

        return redirect(url_for("staff.login"))

    return bp
