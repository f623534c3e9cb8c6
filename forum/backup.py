"""`forum backup` and `forum restore`: one archive with a consistent snapshot of the
database, the instance's secret key, its configuration and a manifest with checksums.

SQLite is copied with the online backup API (it sees every committed transaction,
including those still in the WAL; a plain copy of forum.db misses them). PostgreSQL is
dumped with `pg_dump` in its custom format, inside a snapshot exported from a
repeatable-read transaction, so the manifest's row counts describe exactly the rows
dumped. The forum stores no uploaded files, so there are none to archive.

A restore checks the whole archive (manifest, format, every checksum, the snapshot's
own integrity and row counts) before it changes anything.

`forum backup --scheduled` (the daily timer) writes instance/backups/scheduled-<time>.tar.gz
and then keeps the newest FORUM_BACKUP_KEEP of those; nothing else there is ever deleted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import create_engine
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.engine import make_url

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
KEY_FILE = "secret_key"
CONFIG_FILE = "forum.cfg"
# Tables whose rows make a forum "not empty": `forum init` alone leaves none in them.
CONTENT_TABLES = ("users", "boards", "topics", "posts")
# Largest member accepted from an archive (a damaged header must not fill the disk).
MAX_MEMBER_BYTES = 64 * 1024**3


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message is one line for the admin."""


@dataclass(frozen=True)
class Summary:
    """What a backup or restore did, for the command to print."""

    path: Path
    backend: str
    revision: str | None
    rows: dict[str, int]


# --- helpers -------------------------------------------------------------------------


def _backend(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return "sqlite"
    if url.get_backend_name() == "postgresql":
        return "postgresql"
    raise BackupError(f"backups support SQLite and PostgreSQL, not {url.get_backend_name()}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _forum_version() -> str:
    try:
        return metadata.version("forum")
    except metadata.PackageNotFoundError:  # pragma: no cover - always installed
        return "unknown"


def _count_rows(conn: Connection) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision and the rows per table, as this connection sees them."""
    names = sorted(inspect(conn).get_table_names())
    rows = {
        name: int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in names
    }
    revision = None
    if "alembic_version" in names:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return revision, rows


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/psql, and the environment with the password
    (a password on the command line would show in `ps`)."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"`{name}` is not installed; install the PostgreSQL client tools"
            " (Debian: apt install postgresql-client)"
        )
    return found


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Archived files are the owner's only (the key among them), with no owner names."""
    info.mode = 0o600
    info.uname = info.gname = ""
    return info


def _private_file(path: Path) -> int:
    """Open a new file readable by its owner only."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


# --- backup --------------------------------------------------------------------------


def _snapshot_sqlite(url: URL, target: Path) -> tuple[str | None, dict[str, int]]:
    source_path = url.database
    if not source_path or source_path == ":memory:" or not Path(source_path).is_file():
        raise BackupError(f"there is no SQLite database at {source_path}")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # The online backup API copies a consistent state, WAL content included; done in
        # one step it holds a read transaction only, so writers carry on meanwhile.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        source.close()
        copy.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return _count_rows(conn)
    finally:
        engine.dispose()


def _snapshot_postgres(url: URL, target: Path) -> tuple[str | None, dict[str, int]]:
    pg_dump = _tool("pg_dump")
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            # Counted in the same snapshot that pg_dump copies, so they agree exactly.
            revision, rows = _count_rows(conn)
            dsn, env = _libpq(url)
            done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}", dsn],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            conn.rollback()
    finally:
        engine.dispose()
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {_first_line(done.stderr)}")
    return revision, rows


def _first_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def create_backup(database_url: str, instance_path: Path, destination: Path) -> Summary:
    """Write a backup archive (mode 0600) of the database, key and configuration."""
    url = make_url(database_url)
    backend = _backend(url)
    destination = destination.resolve()
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".forum-backup-") as tmp:
        work = Path(tmp)
        files: list[str] = []
        if backend == "sqlite":
            revision, rows = _snapshot_sqlite(url, work / SQLITE_FILE)
            files.append(SQLITE_FILE)
        else:
            revision, rows = _snapshot_postgres(url, work / PG_FILE)
            files.append(PG_FILE)
        for name in (KEY_FILE, CONFIG_FILE):
            source = instance_path / name
            if source.is_file():
                shutil.copyfile(source, work / name)
                files.append(name)
        manifest = {
            "format_version": FORMAT_VERSION,
            "forum_version": _forum_version(),
            "alembic_revision": revision,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "backend": backend,
            "rows": rows,
            "uploads": "none (this forum stores no uploaded files)",
            "files": {name: _sha256(work / name) for name in files},
        }
        # Written under a hidden name and renamed only when complete: a crash leaves at
        # worst a `.<name>.partial` that nothing mistakes for an archive.
        partial = destination.with_name(f".{destination.name}.partial")
        partial.unlink(missing_ok=True)
        try:
            _write_archive(partial, work, manifest, files)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, destination)
        _fsync_folder(destination.parent)
    return Summary(destination, backend, revision, rows)


def _write_archive(path: Path, work: Path, manifest: dict[str, Any], files: list[str]) -> None:
    with os.fdopen(_private_file(path), "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz") as archive:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(datetime.now(UTC).timestamp())
            archive.addfile(info, io.BytesIO(data))
            for name in files:
                archive.add(work / name, arcname=name, recursive=False, filter=_private)
        raw.flush()
        os.fsync(raw.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make a rename in the folder durable: after a power cut the archive is there (an
    older archive is pruned only once the new one is)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- restore -------------------------------------------------------------------------


@contextmanager
def verified_archive(path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Unpack the archive into a private temporary folder and check it whole; yields the
    folder and the manifest. Raises BackupError, naming the problem, if anything is off."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    with tempfile.TemporaryDirectory(prefix=".forum-restore-", dir=path.parent) as tmp:
        work = Path(tmp)
        try:
            _unpack(path, work)
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise BackupError(f"{path} is damaged or not a forum backup ({exc})") from exc
        manifest = _read_manifest(work, path)
        yield work, manifest


def _unpack(path: Path, work: Path) -> None:
    known = {MANIFEST, SQLITE_FILE, PG_FILE, KEY_FILE, CONFIG_FILE}
    with tarfile.open(path, mode="r:gz") as archive:
        for member in archive:
            # Only the names a backup writes, as plain files: nothing lands outside `work`.
            if member.name not in known or not member.isfile():
                raise ValueError(f"unexpected entry {member.name!r}")
            if member.size > MAX_MEMBER_BYTES:
                raise ValueError(f"entry {member.name!r} is too large")
            source = archive.extractfile(member)
            if source is None:
                raise ValueError(f"entry {member.name!r} cannot be read")
            with os.fdopen(_private_file(work / member.name), "wb") as out:
                shutil.copyfileobj(source, out)


def _read_manifest(work: Path, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path} has no manifest.json; it is not a forum backup") from None
    except ValueError as exc:
        raise BackupError(f"{path} has a damaged manifest.json ({exc})") from exc
    if not isinstance(manifest, dict):
        raise BackupError(f"{path} has a damaged manifest.json")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path} has backup format {manifest.get('format_version')!r}; this forum"
            f" reads format {FORMAT_VERSION}"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not isinstance(manifest.get("rows"), dict):
        raise BackupError(f"{path} has a damaged manifest.json")
    present = {p.name for p in work.iterdir()} - {MANIFEST}
    if present != set(files):
        missing = sorted(set(files) - present) or sorted(present - set(files))
        raise BackupError(f"{path} does not match its manifest (file {missing[0]})")
    for name, expected in files.items():
        if _sha256(work / name) != expected:
            raise BackupError(f"{path} is damaged: the checksum of {name} does not match")
    database = SQLITE_FILE if manifest.get("backend") == "sqlite" else PG_FILE
    if manifest.get("backend") not in ("sqlite", "postgresql") or database not in files:
        raise BackupError(f"{path} holds no database snapshot")
    return manifest


def holds_data(database_url: str) -> bool:
    """True if the database has members, boards, topics or posts."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and (
        not url.database or not Path(url.database).is_file()
    ):
        return False
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            return any(
                conn.execute(select(literal(1)).select_from(table(name)).limit(1)).first()
                is not None
                for name in CONTENT_TABLES
                if name in names
            )
    finally:
        engine.dispose()


def _check_sqlite_snapshot(snapshot: Path, manifest: dict[str, Any]) -> None:
    engine = create_engine(f"sqlite:///{snapshot}")
    try:
        with engine.connect() as conn:
            verdict = conn.execute(text("PRAGMA integrity_check")).scalar()
            if verdict != "ok":
                raise BackupError(f"the archived database fails its integrity check: {verdict}")
            _, rows = _count_rows(conn)
    finally:
        engine.dispose()
    if rows != manifest["rows"]:
        raise BackupError("the archived database's row counts differ from its manifest")


def _restore_sqlite(snapshot: Path, url: URL) -> None:
    target_path = url.database
    if not target_path or target_path == ":memory:":
        raise BackupError("the target database must be an SQLite file")
    Path(target_path).parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(snapshot)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        # Copied page by page through SQLite's own locking, in one step: other
        # connections see the old database or the restored one, never a mix.
        target.execute("PRAGMA journal_mode=WAL")
        source.backup(target)
    finally:
        source.close()
        target.close()
    os.chmod(target_path, 0o600)


def _restore_postgres(dump: Path, url: URL) -> None:
    pg_restore = _tool("pg_restore")
    psql = _tool("psql")
    dsn, env = _libpq(url)
    script = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [pg_restore, "--no-owner", "--no-privileges", "--file=-", str(dump)],
        env=env,
        capture_output=True,
        check=False,
    )
    if script.returncode != 0:
        raise BackupError(f"pg_restore cannot read the dump: {_first_line(script.stderr.decode())}")
    # One transaction: the old schema is dropped and the dump loaded, or nothing changes.
    prelude = b"DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n"
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [psql, "--quiet", "--no-psqlrc", "--single-transaction", "-v", "ON_ERROR_STOP=1", dsn],
        input=prelude + script.stdout,
        env=env,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        reason = _first_line(done.stderr.decode())
        raise BackupError(f"loading the dump failed, nothing changed: {reason}")


def _rows_after_restore(url: URL) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return _count_rows(conn)[1]
    finally:
        engine.dispose()


def _write_private(path: Path, data: bytes) -> None:
    """Replace a file atomically with a 0600 one."""
    partial = path.with_name(f".{path.name}.restoring")
    partial.unlink(missing_ok=True)
    with os.fdopen(_private_file(partial), "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


@dataclass(frozen=True)
class Restored:
    """What a restore did, for the command to print."""

    backend: str
    revision: str | None
    rows: dict[str, int]
    notes: list[str]


def _same_backend(archive: Path, manifest: dict[str, Any], url: URL) -> str:
    backend = _backend(url)
    if manifest["backend"] != backend:
        raise BackupError(
            f"{archive} is a {manifest['backend']} backup and this forum uses {backend};"
            " restore into the same kind of database (`forum migrate-to` moves between them)"
        )
    return backend


def check_restorable(
    archive: Path, database_url: str, manifest: dict[str, Any], work: Path
) -> None:
    """The checks that need more than the manifest, made before anything changes: the
    backend matches, and an SQLite snapshot passes integrity_check with the manifest's
    row counts (a PostgreSQL dump is loaded in one transaction and counted after)."""
    if _same_backend(archive, manifest, make_url(database_url)) == "sqlite":
        _check_sqlite_snapshot(work / SQLITE_FILE, manifest)


def restore_archive(
    archive: Path, database_url: str, instance_path: Path, manifest: dict[str, Any], work: Path
) -> Restored:
    """Load a verified archive (see verified_archive and check_restorable) into the
    database and instance folder. The caller has already checked that the target may be
    overwritten."""
    url = make_url(database_url)
    backend = _same_backend(archive, manifest, url)
    if backend == "sqlite":
        _restore_sqlite(work / SQLITE_FILE, url)
    else:
        _restore_postgres(work / PG_FILE, url)
    rows = _rows_after_restore(url)
    if rows != manifest["rows"]:
        raise BackupError("the restored database's row counts differ from the manifest")
    notes: list[str] = []
    instance_path.mkdir(parents=True, exist_ok=True)
    os.chmod(instance_path, 0o700)
    if (work / KEY_FILE).is_file():
        _write_private(instance_path / KEY_FILE, (work / KEY_FILE).read_bytes())
        if os.environ.get("FORUM_SECRET_KEY"):
            notes.append(
                "FORUM_SECRET_KEY is set in the environment and wins over the restored"
                " instance/secret_key; unset it, or recovery codes and sessions stop working"
            )
    if (work / CONFIG_FILE).is_file():
        current = instance_path / CONFIG_FILE
        archived = (work / CONFIG_FILE).read_bytes()
        if not current.is_file():
            _write_private(current, archived)
        elif current.read_bytes() != archived:
            # The current file names this machine's database; the old one may not.
            aside = instance_path / f"{CONFIG_FILE}.from-backup"
            _write_private(aside, archived)
            notes.append(f"kept the current {current}; the archived one is in {aside}")
    return Restored(backend, manifest.get("alembic_revision"), rows, notes)


def backups_folder(instance_path: Path) -> Path:
    """instance/backups/, created if missing; private (0700) like the instance folder."""
    folder = instance_path / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def _fresh_path(folder: Path, prefix: str, now: datetime | None = None) -> Path:
    """folder/<prefix><UTC time>.tar.gz, with -2, -3... if that second is taken.

    The counter goes past the highest one of that second still there, never back to a
    free lower one: the rotation may have deleted `-1`, and a newer archive must never
    get an older-looking name (the rotation and "restore the newest" go by the name).
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    same_second = re.compile(re.escape(f"{prefix}{stamp}") + r"(?:-(\d+))?\.tar\.gz")
    taken = [
        int(match.group(1) or 1)
        for path in (folder.iterdir() if folder.is_dir() else ())
        if (match := same_second.fullmatch(path.name))
    ]
    counter = max(taken, default=0) + 1
    suffix = "" if counter == 1 else f"-{counter}"
    return folder / f"{prefix}{stamp}{suffix}.tar.gz"


def pre_restore_path(instance_path: Path) -> Path:
    """Where the backup of a forum about to be replaced goes."""
    return _fresh_path(backups_folder(instance_path), "before-restore-")


def backup_before_migrations(database_url: str, instance_path: Path, head: str) -> Path | None:
    """Back up a forum with data whose database is behind `head`, into instance/backups/,
    before `forum init` migrates it; the archive's path, or None if there was no need."""
    if not holds_data(database_url):
        return None
    engine = create_engine(make_url(database_url))
    try:
        with engine.connect() as conn:
            if "alembic_version" not in inspect(conn).get_table_names():
                return None
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    if revision is None or revision == head:
        return None
    path = _fresh_path(backups_folder(instance_path), f"before-migrate-{revision}-")
    return create_backup(database_url, instance_path, path).path


# --- scheduled backups (the daily timer) -------------------------------------------------

SCHEDULED_PREFIX = "scheduled-"
# The only names the rotation ever deletes: what scheduled_path writes. A partial archive
# (`.scheduled-....tar.gz.partial`, renamed only once complete), a backup taken before a
# migration or a restore, and anything the admin put here never match.
SCHEDULED_NAME = re.compile(r"scheduled-(\d{8}-\d{6})(?:-(\d+))?\.tar\.gz")


def parse_keep(value: object) -> int:
    """FORUM_BACKUP_KEEP as a whole number of archives, at least 1."""
    text_value = str(value).strip()
    if not text_value.isdigit() or int(text_value) < 1:
        raise BackupError(
            f"FORUM_BACKUP_KEEP={value!r} is not a number of archives to keep (1 or more)"
        )
    return int(text_value)


def scheduled_path(instance_path: Path, now: datetime | None = None) -> Path:
    """A new archive's path in instance/backups/: scheduled-<UTC time>.tar.gz."""
    return _fresh_path(backups_folder(instance_path), SCHEDULED_PREFIX, now)


def _age_key(path: Path) -> tuple[str, int]:
    match = SCHEDULED_NAME.fullmatch(path.name)
    if match is None:
        return "", 0
    return match.group(1), int(match.group(2) or 1)


def scheduled_archives(folder: Path) -> list[Path]:
    """The scheduled archives in the folder, newest first (by the time in the name, not
    the file's mtime, which a copy or a restore of the folder changes)."""
    if not folder.is_dir():
        return []
    found = [
        path
        for path in folder.iterdir()
        if SCHEDULED_NAME.fullmatch(path.name) and path.is_file() and not path.is_symlink()
    ]
    return sorted(found, key=_age_key, reverse=True)


def prune_scheduled(folder: Path, keep: int, written: Path) -> list[Path]:
    """Delete scheduled archives beyond the newest `keep`, counting `written` (the archive
    just made) among them whatever its name says (the clock may have gone back); returns
    the deleted paths. Nothing else in the folder is touched."""
    if keep < 1:
        raise BackupError("keep at least one archive")
    others = [path for path in scheduled_archives(folder) if path.name != written.name]
    doomed = others[keep - 1 :]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def partial_leftovers(folder: Path) -> list[Path]:
    """What an interrupted backup left (a partial archive, its working folder): never
    counted as archives and never deleted automatically; the command reports them."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.name.startswith((f".{SCHEDULED_PREFIX}", ".forum-backup-"))
    )
