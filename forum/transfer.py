"""`forum migrate-to URL`: move an SQLite forum into an empty PostgreSQL database.

One pass, all or nothing on the target:

1. refuse unless the source is SQLite at the newest migration with exactly the tables
   the code knows, and the target is a PostgreSQL database none of whose tables hold
   rows (nothing is changed on a refusal);
2. in ONE transaction on the target: create the schema with the Alembic migrations (the
   same head as the source; on PostgreSQL that includes the postgres search backend's
   `search_documents` table), copy every table in foreign-key order, in primary-key
   order, batch by batch (streamed: memory stays flat however big the forum), keeping
   every primary key; set every sequence past the largest id ever handed out; then read
   every table back and compare row counts and checksums with what was read;
3. commit only if every table matches and the source did not change meanwhile.

The source is read in one read transaction (a consistent snapshot, even if something
writes) and the copy is refused if anything was committed to it during the copy: those
writes would be missing from the new database, so the forum must be stopped first.

Checksums are computed from the Python values SQLAlchemy hands back through the models'
own column types, the same way on both sides: each row is normalised (datetimes to UTC
ISO 8601, booleans, bytes as hex, JSON with sorted keys, enums by value), hashed with
SHA-256, and the hashes are added up modulo 2**256 - so the sum does not depend on the
order rows come back in (text keys sort differently in SQLite and PostgreSQL), and a
duplicated row does not cancel out as with XOR.
"""

from __future__ import annotations

import enum
import hashlib
import json
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import Table
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.engine import URL
from sqlalchemy.engine import make_url

from forum.extensions import MIGRATIONS_PATH
from forum.extensions import db

# Rows read and written per batch: big enough that a statement carries many rows (one
# round trip each), small enough that a batch of long posts stays a few megabytes.
BATCH = 2000
# Tables of the source that are SQLite's own or Alembic's, not the forum's rows.
_SQLITE_INTERNAL_PREFIX = "sqlite_"
_ALEMBIC_TABLE = "alembic_version"
_MOD = 2**256


class TransferError(Exception):
    """A migration that cannot go ahead or did not hold; one line for the admin."""


# --- checksums -----------------------------------------------------------------------


def normalise(value: Any) -> Any:
    """A value as plain JSON data that reads the same from SQLite and from PostgreSQL."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return normalise(value.value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, Decimal):
        return {"decimal": str(value.normalize())}
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return {"datetime": aware.astimezone(UTC).isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, dtime):
        return {"time": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, Mapping):
        return {"json": {str(k): normalise(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    raise TypeError(f"no checksum form for a {type(value).__name__}")


def _encode_datetime(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return f"d{aware.astimezone(UTC).isoformat()}"


# The kinds nearly every value is, encoded without a detour through JSON.
_FAST: dict[type, Callable[[Any], str]] = {
    type(None): lambda _value: "n",
    str: lambda value: f"s{len(value)}:{value}",
    int: lambda value: f"i{value}",
    bool: lambda value: "t" if value else "f",
    datetime: _encode_datetime,
    date: lambda value: f"D{value.isoformat()}",
}


def _encode(value: Any) -> str:
    """One value as self-delimiting text: its kind, then its normalised form (a string's
    and a structure's length first, so no value can pass for two)."""
    fast = _FAST.get(type(value))
    if fast is not None:
        return fast(value)
    if isinstance(value, enum.Enum):
        return _encode(value.value)
    plain = json.dumps(normalise(value), sort_keys=True, separators=(",", ":"))
    return f"j{len(plain)}:{plain}"


def row_digest(values: Sequence[Any]) -> int:
    """One row's SHA-256 (of its normalised values in column order), as an integer.

    The common kinds (text, integers, booleans, nulls) are encoded directly, the rest
    through `normalise`: a 40,000-post forum is hashed twice, so this is the copy's
    largest cost after the database itself."""
    encoded = "\x1e".join([_encode(v) for v in values]).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(encoded).digest(), "big")


@dataclass
class Checksum:
    """Rows counted and their digests summed (order-independent)."""

    rows: int = 0
    total: int = 0

    def add(self, values: Sequence[Any]) -> None:
        """Count one row."""
        self.rows += 1
        self.total = (self.total + row_digest(values)) % _MOD

    @property
    def hexdigest(self) -> str:
        """The sum as 64 hex digits."""
        return f"{self.total:064x}"


def table_checksum(conn: Connection, table: Table, *, batch: int = BATCH) -> Checksum:
    """Count and checksum every row of `table` as `conn` sees it (streamed)."""
    checksum = Checksum()
    for rows in _stream(conn, table, batch):
        for row in rows:
            checksum.add(tuple(row))
    return checksum


@dataclass(frozen=True)
class TableCheck:
    """One table's rows and checksum on both sides."""

    table: str
    source: Checksum
    target: Checksum

    @property
    def ok(self) -> bool:
        """True when the count and the checksum agree."""
        return (self.source.rows, self.source.total) == (self.target.rows, self.target.total)


def verify(
    source: Mapping[str, Checksum], conn: Connection, tables: Iterable[Table], *, batch: int = BATCH
) -> list[TableCheck]:
    """Compare what was read from the source with every table as `conn` now reads it."""
    return [
        TableCheck(table.name, source[table.name], table_checksum(conn, table, batch=batch))
        for table in tables
    ]


def report_lines(checks: Sequence[TableCheck]) -> list[str]:
    """The verification as a fixed-width table, one line per table."""
    width = max([len("table"), *(len(c.table) for c in checks)])
    lines = [f"{'table':<{width}}  {'source':>9}  {'target':>9}  checksum (first 12)  result"]
    for check in checks:
        result = "ok" if check.ok else "MISMATCH"
        digest = check.source.hexdigest[:12]
        if check.source.total != check.target.total:
            digest = f"{digest}/{check.target.hexdigest[:12]}"
        lines.append(
            f"{check.table:<{width}}  {check.source.rows:>9}  {check.target.rows:>9}"
            f"  {digest:<19}  {result}"
        )
    return lines


# --- engines and checks before anything changes --------------------------------------


def forum_tables() -> list[Table]:
    """The forum's tables, parents before children (foreign-key order)."""
    from forum import models  # noqa: F401 - registers every table on the metadata

    return list(db.metadata.sorted_tables)


def head_revision() -> str:
    """The newest migration this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_PATH)).get_current_head()
    if head is None:  # pragma: no cover - the project always has migrations
        raise TransferError("no migrations found")
    return head


def check_urls(source_url: str, target_url: str) -> tuple[URL, URL]:
    """Parsed URLs, if the source is SQLite (a file) and the target PostgreSQL."""
    try:
        source = make_url(source_url)
        target = make_url(target_url)
    except Exception as exc:  # noqa: BLE001 - a bad URL is the admin's typo
        raise TransferError(f"not a database URL: {exc}") from None
    if source.get_backend_name() != "sqlite":
        raise TransferError(
            f"this forum's database is {source.get_backend_name()}, not SQLite;"
            " `forum migrate-to` moves an SQLite forum to PostgreSQL"
        )
    if source.database in (None, "", ":memory:"):
        raise TransferError("this forum's SQLite database is not a file")
    if not Path(str(source.database)).is_file():
        # Opening it would create an empty one.
        raise TransferError(f"there is no SQLite database at {source.database}")
    if target.get_backend_name() != "postgresql":
        raise TransferError(
            f"the target must be PostgreSQL (postgresql+psycopg://user@host/db), not"
            f" {target.get_backend_name()}"
        )
    if target.drivername == "postgresql":
        # The forum's driver is psycopg 3; plain "postgresql://" means psycopg2.
        target = target.set(drivername="postgresql+psycopg")
    return source, target


def _source_engine(url: URL) -> Engine:
    """An SQLite engine whose transactions really begin (a deferred BEGIN: a read
    snapshot from the first SELECT) and that refuses to write."""
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module starts no transaction before a SELECT: each would read the
        # newest data, and tables copied one after another could disagree.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def _check_source(conn: Connection, tables: Sequence[Table]) -> str:
    """The source's revision, if it is at head with exactly the models' tables and columns."""
    head = head_revision()
    names = set(inspect(conn).get_table_names())
    revision = None
    if _ALEMBIC_TABLE in names:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if revision != head:
        raise TransferError(
            f"this forum's database is at migration {revision or 'none'}, not the newest"
            f" ({head}): run `forum init` first, then `forum migrate-to` again"
        )
    known = {table.name for table in tables}
    unknown = sorted(
        n for n in names - known - {_ALEMBIC_TABLE} if not n.startswith(_SQLITE_INTERNAL_PREFIX)
    )
    if unknown:
        raise TransferError(
            f"this forum's database has tables the forum does not know ({', '.join(unknown)});"
            " they would not be copied, so nothing is done"
        )
    for table in tables:
        if table.name not in names:
            raise TransferError(f"this forum's database lacks the table {table.name}")
        columns = {c["name"] for c in inspect(conn).get_columns(table.name)}
        if columns != set(table.columns.keys()):
            raise TransferError(
                f"the table {table.name} has other columns than this version of the forum"
                " expects; run `forum init` first"
            )
    return head


def occupied_tables(conn: Connection) -> list[str]:
    """The target's tables that hold rows (Alembic's version row aside)."""
    names = sorted(inspect(conn).get_table_names())
    full = []
    for name in names:
        if name == _ALEMBIC_TABLE:
            continue
        quoted = conn.dialect.identifier_preparer.quote(name)
        if conn.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {quoted})").scalar():  # noqa: S608
            full.append(name)
    return full


def _sqlite_sequences(conn: Connection) -> dict[str, int]:
    """The highest id each AUTOINCREMENT table ever handed out (deleted rows included)."""
    # Not through inspect(): SQLAlchemy leaves SQLite's own tables out of its lists.
    exists = conn.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
    ).scalar()
    if not exists:
        return {}
    rows = conn.execute(text("SELECT name, seq FROM sqlite_sequence")).all()
    return {str(name): int(seq or 0) for name, seq in rows}


def _data_version(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA data_version").scalar_one())


# --- the copy ------------------------------------------------------------------------


def _stream(conn: Connection, table: Table, batch: int) -> Iterator[Sequence[Any]]:
    """The table's rows in primary-key order, `batch` at a time."""
    order = list(table.primary_key.columns) or list(table.columns)
    result = conn.execution_options(yield_per=batch).execute(select(table).order_by(*order))
    try:
        yield from result.partitions()
    finally:
        result.close()


def _self_references(table: Table) -> list[str]:
    """Columns of `table` that point at its own integer primary key (a board's parent, a
    post's reply_to)."""
    pk = list(table.primary_key.columns)
    if len(pk) != 1:
        return []
    return [
        fk.parent.name
        for fk in table.foreign_keys
        if fk.column.table is table and fk.column is pk[0]
    ]


def _copy_table(
    src: Connection, dst: Connection, table: Table, batch: int, on_batch: Callable[[int], None]
) -> Checksum:
    """Copy one table with COPY FROM STDIN, keeping its keys; the checksum of the rows
    read. Values go through the columns' own bind processing (enums to their stored
    text, datetimes to UTC), as an INSERT through the models would send them."""
    checksum = Checksum()
    columns = list(table.columns)
    names = [c.name for c in columns]
    dialect = dst.dialect
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    own = [names.index(name) for name in _self_references(table)]
    key = names.index(table.primary_key.columns.values()[0].name) if own else -1
    later: list[tuple[Any, str, Any]] = []
    quote = dialect.identifier_preparer.quote
    copy_sql = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"  # noqa: S608
    raw = dst.connection.driver_connection
    if raw is None:  # pragma: no cover - a live connection always has one
        raise TransferError("the target connection is closed")
    for rows in _stream(src, table, batch):
        chunk = []
        for row in rows:
            values = list(row)
            checksum.add(values)
            for index in own:
                # Rows come in id order: a reference to a later row (a board moved under
                # a newer one) is set once that row exists.
                target = values[index]
                if target is not None and target >= values[key]:
                    later.append((values[key], names[index], target))
                    values[index] = None
            chunk.append(
                [
                    v if p is None or v is None else p(v)
                    for v, p in zip(values, processors, strict=True)
                ]
            )
        if chunk:
            with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for record in chunk:
                    copy.write_row(record)
            on_batch(len(chunk))
    for row_key, column, target in later:
        dst.execute(update(table).where(table.c[names[key]] == row_key).values({column: target}))
    return checksum


def _reset_sequences(dst: Connection, highest_ever: Mapping[str, int]) -> int:
    """Point every sequence of the target's schema past the largest id in its column
    (and past the largest an SQLite AUTOINCREMENT table ever handed out: the outbox never
    reuses an id). Returns how many were set."""
    owned = dst.execute(
        text(
            "SELECT seq.oid::regclass::text, tab.relname, att.attname"
            " FROM pg_class seq"
            " JOIN pg_namespace ns ON ns.oid = seq.relnamespace"
            " JOIN pg_depend dep ON dep.objid = seq.oid"
            "  AND dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass"
            "  AND dep.deptype IN ('a', 'i')"
            " JOIN pg_class tab ON tab.oid = dep.refobjid"
            " JOIN pg_attribute att ON att.attrelid = tab.oid AND att.attnum = dep.refobjsubid"
            " WHERE seq.relkind = 'S' AND ns.nspname = current_schema()"
        )
    ).all()
    for sequence, table_name, column in owned:
        quote = dst.dialect.identifier_preparer.quote
        largest = dst.exec_driver_sql(
            f"SELECT max({quote(column)}) FROM {quote(table_name)}"  # noqa: S608 - catalog names
        ).scalar()
        following = max(int(largest or 0), highest_ever.get(table_name, 0)) + 1
        dst.execute(
            text("SELECT setval(CAST(:sequence AS regclass), :value, false)"),
            {"sequence": sequence, "value": following},
        )
    return len(owned)


def _upgrade_schema(dst: Connection) -> None:
    """Run the migrations on the target inside the caller's transaction (needs an app
    context with Flask-Migrate bound: migrations/env.py reads its settings)."""
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config(str(MIGRATIONS_PATH / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    config.attributes["connection"] = dst
    try:
        command.upgrade(config, "head")
    except CommandError as exc:  # e.g. the target names a migration this code lacks
        raise TransferError(f"the target's schema cannot be migrated: {exc}") from None


@dataclass
class Transfer:
    """What a migration did, for the command to print."""

    revision: str
    checks: list[TableCheck]
    sequences: int
    seconds: float
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if every table verified and nothing else went wrong."""
        return not self.problems and all(check.ok for check in self.checks)


class VerificationFailed(TransferError):
    """The copy did not read back the same; nothing was committed."""

    def __init__(self, message: str, transfer: Transfer) -> None:
        super().__init__(message)
        self.transfer = transfer


@contextmanager
def _engines(source: URL, target: URL) -> Iterator[tuple[Engine, Engine]]:
    source_engine = _source_engine(source)
    target_engine = create_engine(target)
    try:
        yield source_engine, target_engine
    finally:
        source_engine.dispose()
        target_engine.dispose()


def migrate(
    source_url: str,
    target_url: str,
    *,
    batch: int = BATCH,
    progress: Callable[[str, int], None] | None = None,
    before_verify: Callable[[Connection], None] | None = None,
) -> Transfer:
    """Copy the SQLite forum at `source_url` into the empty PostgreSQL database at
    `target_url` and verify it; commits only if everything matches (see the module's
    docstring). Needs an app context with the migrations bound (init_migrations).

    `progress(table, rows_so_far)` is called after each batch; `before_verify(target)` runs
    on the target's connection between the copy and the verification (tests use it)."""
    source, target = check_urls(source_url, target_url)
    tables = forum_tables()
    started = time.monotonic()
    with _engines(source, target) as (source_engine, target_engine):
        with source_engine.connect() as src, target_engine.connect() as dst:
            before = _data_version(src)
            src.commit()  # the next statement begins the one read transaction
            revision = _check_source(src, tables)
            occupied = occupied_tables(dst)
            if occupied:
                dst.rollback()
                raise TransferError(
                    f"the target database is not empty ({', '.join(occupied)} hold rows);"
                    " give an empty database (nothing was changed)"
                )
            _upgrade_schema(dst)
            read: dict[str, Checksum] = {}
            copied = 0
            for table in tables:
                done = 0

                def _advance(count: int, name: str = table.name) -> None:
                    nonlocal done, copied
                    done += count
                    copied += count
                    if progress is not None:
                        progress(name, done)

                read[table.name] = _copy_table(src, dst, table, batch, _advance)
            sequences = _reset_sequences(dst, _sqlite_sequences(src))
            if before_verify is not None:
                before_verify(dst)
            checks = verify(read, dst, tables, batch=batch)
            src.commit()  # ends the read snapshot
            transfer = Transfer(
                revision=revision,
                checks=checks,
                sequences=sequences,
                seconds=time.monotonic() - started,
                rows=copied,
            )
            if _data_version(src) != before:
                transfer.problems.append(
                    "the forum's database was written to during the copy (stop the forum"
                    " first, or those writes would be lost)"
                )
            if not transfer.ok:
                dst.rollback()
                failed = [check.table for check in checks if not check.ok]
                reason = (
                    f"the copy does not match the source in {', '.join(failed)}"
                    if failed
                    else transfer.problems[0]
                )
                raise VerificationFailed(f"{reason}; nothing was committed", transfer)
            dst.commit()
            transfer.seconds = time.monotonic() - started
            return transfer
