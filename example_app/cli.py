"""``flask --app example_app create-user`` and ``create-staff``: add a
customer or a staff member from the shell.
"""

from __future__ import annotations

import typing as t

import click
from flask.cli import with_appcontext

from .models import IdTaken
from .models import password_problem
from .models import StaffMember
from .models import User
from .models import username_problem
from .models import UsernameTaken

if t.TYPE_CHECKING:
    from flask import Flask

    from .models import Account

_password_option = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password. Asked for, unechoed, when not given.",
)


def _create(
    kind: type[Account], username: str, password: str, id: int | None = None
) -> Account:
    problem = username_problem(username)

    if problem is not None:
        raise click.BadParameter(problem, param_hint="USERNAME")

    problem = password_problem(password)

    if problem is not None:
        raise click.BadParameter(problem, param_hint="'--password'")

    try:
        return kind.create(username, password, id=id)
    except UsernameTaken:
        raise click.ClickException(f"The name {username!r} is taken.") from None
    except IdTaken:
        raise click.ClickException(f"The id {id} is taken.") from None


@click.command("create-user")
@with_appcontext
@click.argument("username")
@_password_option
def create_user_command(username: str, password: str) -> None:
    """Add a customer named USERNAME."""
    user = _create(User, username, password)
    click.echo(f"Created user {user.username!r} with id {user.id}.")


@click.command("create-staff")
@with_appcontext
@click.argument("username")
@_password_option
@click.option(
    "--id",
    "staff_id",
    type=click.IntRange(min=1, max=2**63 - 1),
    help=(
        "The staff member's id; the next free one when not given. Give the id"
        " of a customer to see that equal ids never mix the two logins."
    ),
)
def create_staff_command(username: str, password: str, staff_id: int | None) -> None:
    """Add a staff member named USERNAME, who logs in at /staff/login.

    Staff members are kept apart from customers: a name may be both, and the
    two tables number their rows separately.
    """
    member = _create(StaffMember, username, password, staff_id)
    click.echo(f"Created staff member {member.username!r} with id {member.id}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_staff_command)
