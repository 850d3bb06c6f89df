"""``flask --app example_app create-user``: add a user from the shell."""

from __future__ import annotations

import typing as t

import click
from flask.cli import with_appcontext

from .models import password_problem
from .models import User
from .models import username_problem
from .models import UsernameTaken

if t.TYPE_CHECKING:
    from flask import Flask


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password. Asked for, unechoed, when not given.",
)
def create_user_command(username: str, password: str) -> None:
    """Add a user named USERNAME."""
    problem = username_problem(username)

    if problem is not None:
        raise click.BadParameter(problem, param_hint="USERNAME")

    problem = password_problem(password)

    if problem is not None:
        raise click.BadParameter(problem, param_hint="'--password'")

    try:
        user = User.create(username, password)
    except UsernameTaken:
        raise click.ClickException(f"The name {username!r} is taken.") from None

    click.echo(f"Created user {user.username!r} with id {user.id}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user_command)
