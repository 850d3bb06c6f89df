"""The SQLite database: one connection per request, kept on :data:`flask.g`."""

from __future__ import annotations

import sqlite3
import typing as t
from importlib import resources

import click
from flask import current_app
from flask import g
from flask.cli import with_appcontext

if t.TYPE_CHECKING:
    from flask import Flask

#: How long a connection waits for another process (a second gunicorn
#: worker) to release a lock before it gives up, in seconds.
BUSY_TIMEOUT = 10.0

#: The tables schema.sql creates.
TABLES = ("users", "staff")


def connect(database: str) -> sqlite3.Connection:
    """Open a connection that returns rows addressable by column name."""
    connection = sqlite3.connect(database, timeout=BUSY_TIMEOUT)
    connection.row_factory = sqlite3.Row
    return connection


def get_db() -> sqlite3.Connection:
    """The connection of the current request, opened on first use."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])

    return t.cast(sqlite3.Connection, g.db)


def close_db(exc: BaseException | None = None) -> None:
    """Close the request's connection, if it opened one."""
    connection = g.pop("db", None)

    if connection is not None:
        connection.close()


def create_schema(connection: sqlite3.Connection, *, reset: bool = False) -> None:
    """Create the tables that are missing; with ``reset``, drop them first,
    deleting every user and staff member.
    """
    # WAL lets readers go on while a worker writes. The setting is stored in
    # the database file, so setting it once is enough.
    connection.execute("PRAGMA journal_mode=WAL")

    if reset:
        for table in TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {table}")

        connection.commit()

    schema = resources.files(__package__).joinpath("schema.sql")
    connection.executescript(schema.read_text(encoding="utf-8"))


def has_schema(connection: sqlite3.Connection) -> bool:
    """Whether every table exists. A database made before the staff area had
    only ``users``; it gets the ``staff`` table on the next start.
    """
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return set(TABLES) <= {row[0] for row in rows}


@click.command("init-db")
@with_appcontext
@click.option(
    "--reset",
    is_flag=True,
    help="Drop the existing tables first. Deletes every user and staff member.",
)
def init_db_command(reset: bool) -> None:
    """Create the database tables."""
    if reset:
        click.confirm(
            "Delete every user and staff member and start afresh?", abort=True
        )

    create_schema(get_db(), reset=reset)
    click.echo(f"Initialized the database at {current_app.config['DATABASE']}.")


def init_app(app: Flask) -> None:
    """Register the teardown and the CLI command, and create the tables on the
    first start so that ``flask run`` works without ``init-db``.
    """
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)

    with app.app_context():
        connection = get_db()

        # Every statement in schema.sql says IF NOT EXISTS, so workers that
        # start together and all find a table missing do no harm.
        if not has_schema(connection):
            create_schema(connection)
