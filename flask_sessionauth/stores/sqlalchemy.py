"""A login registry in a SQL database, through SQLAlchemy Core (``pip install
flask-sessionauth[sqlalchemy]``): one table, a row per record, tested on
SQLite.

The table (``sessionauth_logins`` by default) has a column per field of
:class:`~flask_sessionauth.stores.LoginRecord` but ``current``, with the id as
its primary key and an index on ``(realm, user_id)``. The default realm is
stored as ``''`` (a realm name is never empty), so that the index serves it
too. ``scopes`` is stored as the scopes sorted and joined by single spaces,
or NULL when there are none. Create the table with
:meth:`SQLAlchemyLoginStore.create_table`, or with the app's own migrations
from :attr:`SQLAlchemyLoginStore.table`.

Each method is one statement, or one transaction for
:meth:`~SQLAlchemyLoginStore.add`, which deletes an expired row of the new
record's id before it inserts, and for
:meth:`~SQLAlchemyLoginStore.user_records`, which deletes the user's expired
rows as it reads the others. Rows of users who are never listed again stay
until :meth:`~SQLAlchemyLoginStore.delete_expired` removes them: call it from
a periodic job.
"""

from __future__ import annotations

import contextlib
import math
import typing as t

import sqlalchemy as sa
import sqlalchemy.exc

from . import decode_scopes
from . import encode_scopes
from . import LoginRecord
from . import StoreUnavailable
from . import users_records

if t.TYPE_CHECKING:
    from collections.abc import Iterator


class SQLAlchemyLoginStore:
    """A :class:`~flask_sessionauth.stores.LoginStore` in a SQL table.

    :param engine: The engine of the database.
    :param table_name: The name of the table.
    :param metadata: The ``MetaData`` to define the table in, such as the
        app's own, so that its migrations see it; a new one by default. If it
        already has a table of that name, that table is used.
    """

    def __init__(
        self,
        engine: sa.Engine,
        table_name: str = "sessionauth_logins",
        metadata: sa.MetaData | None = None,
    ) -> None:
        self.engine = engine
        self.metadata = sa.MetaData() if metadata is None else metadata
        existing = self.metadata.tables.get(table_name)

        if existing is not None:
            self.table = existing
        else:
            self.table = sa.Table(
                table_name,
                self.metadata,
                sa.Column("id", sa.String(128), primary_key=True),
                sa.Column("realm", sa.String(64), nullable=False),
                sa.Column("user_id", sa.String(255), nullable=False),
                sa.Column("created_at", sa.Double(), nullable=False),
                sa.Column("last_seen", sa.Double(), nullable=False),
                sa.Column("expires_at", sa.Double(), nullable=False),
                sa.Column("ip", sa.Text()),
                sa.Column("user_agent", sa.Text()),
                sa.Column("method", sa.String(32), nullable=False),
                sa.Column("remember", sa.Boolean(), nullable=False),
                sa.Column("token_signature", sa.String(256)),
                sa.Column("ended", sa.String(32)),
                sa.Column("name", sa.Text()),
                sa.Column("scopes", sa.Text()),
                sa.Index(f"ix_{table_name}_realm_user_id", "realm", "user_id"),
            )

    def create_table(self) -> None:
        """Create the table and its index unless the table exists."""
        with _unavailable():
            self.table.create(self.engine, checkfirst=True)

    def get(self, record_id: str, now: float) -> LoginRecord | None:
        table = self.table
        query = sa.select(table).where(table.c.id == record_id)

        with _unavailable(), self.engine.connect() as connection:
            row = connection.execute(query).first()

        if row is None:
            return None

        record = _decode(row._mapping)

        # The id is compared again here: a database's collation may match
        # strings that differ in case.
        if record is None or record.id != record_id or record.expires_at <= now:
            return None

        return record

    def add(self, record: LoginRecord) -> bool:
        table = self.table
        row = _encode(record)
        limit = getattr(table.c.user_id.type, "length", None)

        if limit is not None and len(record.user_id) > limit:
            # Databases differ: some cut the id, some fail. Say it here.
            raise ValueError(
                f"The table {table.name!r} keeps user ids of up to {limit}"
                f" characters, and this user's has {len(record.user_id)}."
                " Give users shorter ids (get_id()), or define the table"
                " with a wider user_id column in the MetaData you pass to"
                " the store."
            )

        try:
            with _unavailable(), self.engine.begin() as connection:
                # An expired row of the same id may not be cleaned up yet.
                connection.execute(
                    sa.delete(table).where(
                        table.c.id == record.id,
                        table.c.expires_at <= float(record.created_at),
                    )
                )
                connection.execute(sa.insert(table).values(row))
        except StoreUnavailable as error:
            if isinstance(error.__cause__, sqlalchemy.exc.IntegrityError):
                # The primary key: an unexpired row holds the id, or another
                # transaction added it first.
                return False

            raise

        return True

    def touch(self, record_id: str, last_seen: float, expires_at: float) -> None:
        table = self.table
        statement = (
            sa.update(table)
            .where(
                table.c.id == record_id,
                table.c.ended.is_(None),
                # An expired record is not brought back.
                table.c.expires_at > last_seen,
            )
            .values(last_seen=last_seen, expires_at=expires_at)
        )

        with _unavailable(), self.engine.begin() as connection:
            connection.execute(statement)

    def update(self, record: LoginRecord) -> None:
        table = self.table
        statement = sa.update(table).where(table.c.id == record.id)

        # An ended record stays ended, with the reason it ended for.
        statement = statement.where(table.c.ended.is_(None))

        values = _encode(record)
        del values["id"]

        with _unavailable(), self.engine.begin() as connection:
            connection.execute(statement.values(values))

    def user_records(
        self, realm: str | None, user_id: str, now: float
    ) -> list[LoginRecord]:
        table = self.table
        user = (table.c.realm == (realm or ""), table.c.user_id == user_id)
        query = sa.select(table).where(*user).order_by(table.c.created_at)
        expired = sa.delete(table).where(*user, table.c.expires_at <= now)

        with _unavailable(), self.engine.begin() as connection:
            connection.execute(expired)
            rows = connection.execute(query).all()

        return users_records(
            (_decode(row._mapping) for row in rows), realm, user_id, now
        )

    def delete_expired(self, now: float) -> int:
        """Delete every record whose ``expires_at`` is ``now`` or earlier, of
        every user; return how many there were.
        """
        statement = sa.delete(self.table).where(self.table.c.expires_at <= now)

        with _unavailable(), self.engine.begin() as connection:
            deleted: int = connection.execute(statement).rowcount

        return deleted


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """Raise an error of the database or its driver as :exc:`StoreUnavailable`."""
    try:
        yield
    except (sqlalchemy.exc.DBAPIError, sqlalchemy.exc.TimeoutError) as error:
        raise StoreUnavailable(f"The database failed: {error}") from error


def _text(value: str | None) -> str | None:
    """``value`` made safe to encode as UTF-8 (a lone surrogate replaced)."""
    if value is None:
        return None

    return value.encode("utf-8", "replace").decode("utf-8")


def _encode(record: LoginRecord) -> dict[str, t.Any]:
    """The row of ``record``. A scope that cannot be stored is a
    :exc:`ValueError`.
    """
    return {
        "id": record.id,
        "realm": record.realm or "",
        "user_id": record.user_id,
        "created_at": float(record.created_at),
        "last_seen": float(record.last_seen),
        "expires_at": float(record.expires_at),
        "ip": _text(record.ip),
        "user_agent": _text(record.user_agent),
        "method": record.method,
        "remember": bool(record.remember),
        "token_signature": record.token_signature,
        "ended": record.ended,
        "name": _text(record.name),
        "scopes": encode_scopes(record.scopes) if record.scopes else None,
    }


def _time(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None

    number = float(value)
    return number if math.isfinite(number) else None


def _decode(row: sa.RowMapping) -> LoginRecord | None:
    """The record of a row, or None if the row holds a value of the wrong
    type (a corrupt row is treated as a missing one).
    """
    strings = ("id", "realm", "user_id", "method")
    optional = ("ip", "user_agent", "token_signature", "ended", "name", "scopes")
    created_at = _time(row["created_at"])
    last_seen = _time(row["last_seen"])
    expires_at = _time(row["expires_at"])

    if (
        created_at is None
        or last_seen is None
        or expires_at is None
        or not all(isinstance(row[name], str) for name in strings)
        or not all(row[name] is None or isinstance(row[name], str) for name in optional)
        or not isinstance(row["remember"], bool | int)
    ):
        return None

    scopes = decode_scopes(row["scopes"])

    if scopes is None:
        return None

    return LoginRecord(
        id=row["id"],
        realm=row["realm"] or None,
        user_id=row["user_id"],
        created_at=created_at,
        last_seen=last_seen,
        expires_at=expires_at,
        ip=row["ip"],
        user_agent=row["user_agent"],
        method=row["method"],
        remember=bool(row["remember"]),
        token_signature=row["token_signature"],
        ended=row["ended"],
        name=row["name"],
        scopes=scopes,
    )
