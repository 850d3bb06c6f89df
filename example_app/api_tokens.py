"""The "API tokens" page: personal access tokens for scripts and CI jobs,
which call the JSON API (``api.py``) with ``Authorization: Bearer <token>``
instead of a password or a cookie.

The page makes a token with a name, scopes and an expiry
(:meth:`LoginManager.issue_token
<flask_sessionauth.LoginManager.issue_token>`), for a fresh login only,
and shows it once, in a
read-only field with a copy button: the login registry keeps only its
SHA-256, so nobody, this app included, can show it again. Below the form,
the user's tokens (:meth:`~flask_sessionauth.LoginManager.tokens`: name,
scopes, dates, never the token), each with a button that revokes it
(:meth:`~flask_sessionauth.LoginManager.revoke_token`). A revoked token is
refused on its very next request, with 401 ``invalid_token``.

Both forms are POST forms with a CSRF token. A request that sends an API
token is refused here, as on the devices page
(:func:`~example_app.devices.browser_only`): a token never makes or revokes
tokens.
"""

from __future__ import annotations

import typing as t

from flask import abort
from flask import Blueprint
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from flask_sessionauth import login_fresh
from flask_sessionauth import login_required

from .devices import browser_only
from .devices import customer_manager
from .devices import RECORD_ID
from .devices import registry_manager
from .devices import Token
from .forms import CreateTokenForm
from .forms import text
from .forms import TOKEN_EXPIRIES
from .forms import TOKEN_SCOPES
from .models import get_current_user

if t.TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

bp = Blueprint("tokens", __name__, url_prefix="/tokens")
bp.before_request(browser_only)

#: Where the revoke button may send the browser back to: the page it is on.
BACK = {"tokens": "tokens.index", "devices": "devices.index"}


@bp.route("/", methods=["GET", "POST"])
@login_required
def index() -> ResponseReturnValue:
    manager = customer_manager()

    if manager.registry is None:
        if request.method == "POST":
            abort(404)

        return render_template("tokens.html", form=None, tokens=None)

    if request.method == "POST" and not login_fresh():
        # A token is a new way into the account: making one needs the
        # password typed within 15 minutes, as the settings page does.
        # Seeing and revoking tokens do not.
        refresh: ResponseReturnValue = manager.needs_refresh()
        return refresh

    user = get_current_user()
    form = CreateTokenForm()
    new_token = new_token_name = None

    if form.validate_on_submit():
        new_token_name = text(form.name)
        new_token = manager.issue_token(
            user,
            name=new_token_name,
            scopes=set(form.scopes.data),
            expires_in=TOKEN_EXPIRIES[form.expires.data],
        )
        # An empty form for the next token.
        form = CreateTokenForm(formdata=None)

    now = manager.clock()
    tokens = [Token.of(record, now) for record in manager.tokens(user)]
    response = make_response(
        render_template(
            "tokens.html",
            form=form,
            tokens=tokens,
            new_token=new_token,
            new_token_name=new_token_name,
            scope_help=TOKEN_SCOPES,
        )
    )

    if new_token is not None:
        # The only copy of the token: keep it out of every cache, the
        # browser's back-forward cache included.
        response.headers["Cache-Control"] = "no-store"

    return response


@bp.post("/revoke")
@login_required
def revoke() -> ResponseReturnValue:
    """Revoke one token: the one whose record id the form sends."""
    manager = registry_manager()

    token_id = request.form.get("token", "")

    if RECORD_ID.fullmatch(token_id) is None:
        abort(400)

    back = url_for(BACK.get(request.form.get("back", ""), "tokens.index"))
    user = get_current_user()
    # Only for the message: revoke_token itself checks that the token is
    # one of this user's.
    name = next(
        (record.name for record in manager.tokens(user) if record.id == token_id),
        None,
    )

    if manager.revoke_token(user, token_id):
        flash(
            f'The token "{name}" has been revoked: a client that sends it now'
            " gets 401.",
            "success",
        )
    else:
        flash("That token was already revoked.", "info")

    return redirect(back)
