"""The `forum` command: init, create-user, serve, demo, backup and restore, and
maintenance chores (prune, trust, reindex, outbox)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import click
from flask import Flask

if TYPE_CHECKING:
    from forum.backup import Summary

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _app_context(config: dict[str, Any] | None = None, *, drain: bool = True) -> Iterator[Flask]:
    """An app context for one command; what it queued is delivered and its connections
    are closed at the end."""
    from forum import create_app
    from forum.extensions import db
    from forum.senders import SenderError

    try:
        app = create_app(config)
    except SenderError as exc:
        # A setting's mistake, said in a line (`forum init` is where it is first seen).
        raise click.ClickException(str(exc)) from exc
    with app.app_context():
        try:
            yield app
            if drain:
                _drain_outbox(app)
        finally:
            db.session.remove()
            db.engine.dispose()


def _drain_outbox(app: Flask) -> None:
    """Deliver what the command queued (index demo posts, re-rendered posts; mail): web
    workers drain only after their own commits, and a forum with readers only would
    wait for one."""
    from forum import outbox

    try:
        result = outbox.drain_all(app)
    except Exception as exc:  # noqa: BLE001 - the command's own work is committed
        click.echo(f"Warning: the outbox was not delivered ({exc}); it will be later.")
        return
    if result.failed:
        click.echo(
            f"Warning: {result.failed} outbox deliveries failed; they are retried later"
            " (see `forum outbox status`)."
        )


@contextmanager
def _periodic_job(name: str, command: str) -> Iterator[Flask | None]:
    """An app context for a job the timers start on every app server, holding the job's
    lock (forum.jobs) while it runs; None if the job is running already, here or on
    another server: the command then says so and exits 0, as nothing is wrong."""
    from forum import jobs

    with _app_context(drain=False) as app, jobs.once(name) as got:
        if not got:
            click.echo(f"`forum {command}` is already running (here or on another server).")
            yield None
            return
        yield app
        _drain_outbox(app)


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _base_url_configured() -> bool:
    """True if FORUM_BASE_URL is set in the environment or in instance/forum.cfg."""
    from forum import config

    return "FORUM_BASE_URL" in config.overrides(config.instance_path_from_env())


def _served_at(host: str, port: int) -> str:
    """The address `forum serve --host H --port P` answers on, for printed links and mail."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _port_from_env() -> int:
    """$PORT (as `make run` and `forum serve` use it), default 8000."""
    raw = os.environ.get("PORT", "8000")
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        _fail(f"PORT={raw!r} is not a port number (1-65535)")
    return int(raw)


def _default_base_url(host: str, port: int) -> dict[str, Any]:
    """Config for a command: without a configured FORUM_BASE_URL, links printed and mailed
    use the port served (`forum init` and the workers of `forum serve` agree; before,
    `make run` told `init` only, so a forum on PORT=8100 mailed :8000 links)."""
    if _base_url_configured():
        return {}
    return {"FORUM_BASE_URL": _served_at(host, port)}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Run and look after the forum."""


DIFFERENT_KEY_MESSAGE = (
    "this server's secret key is not the one this forum's database was set up with."
    " Every app server needs the same key: copy instance/secret_key (mode 0600) from the"
    " server where `forum init` first ran, or set the same FORUM_SECRET_KEY on each."
    " If the old key is lost for good, `forum init --accept-new-secret-key` takes this"
    " one: every member is logged out and recovery codes made before stop working."
)


@main.command()
@click.option(
    "--accept-new-secret-key",
    is_flag=True,
    help="Take this server's secret key although the database was set up with another.",
)
@click.option(
    "--allow-root",
    is_flag=True,
    envvar="FORUM_ALLOW_ROOT",
    help="Run even as root (or FORUM_ALLOW_ROOT=1); the files made belong to root.",
)
def init(accept_new_secret_key: bool, allow_root: bool) -> None:
    """Create or upgrade the database; print the first admin's set-up link if needed."""
    from flask_migrate import upgrade

    from forum import jobs
    from forum.extensions import MIGRATIONS_PATH
    from forum.extensions import db
    from forum.extensions import init_migrations
    from forum.services.setup import create_setup_token
    from forum.services.setup import has_admin
    from forum.services.setup import secret_key_matches

    _refuse_root(allow_root)
    with (
        _app_context(_default_base_url("127.0.0.1", _port_from_env())) as app,
        # Every server runs `forum init` before it starts (ExecStartPre): two restarted
        # together after an upgrade take turns, and the second finds the work done.
        jobs.once("init", wait=True),
    ):
        init_migrations(app)
        _backup_before_migrations(app)
        upgrade(directory=str(MIGRATIONS_PATH))
        click.echo(f"Database is up to date ({db.engine.url.render_as_string()}).")
        if not secret_key_matches(str(app.secret_key), accept_new=accept_new_secret_key):
            _fail(DIFFERENT_KEY_MESSAGE)
        db.session.commit()
        _warn_about_a_local_index(app)
        _repair_search_index(app)
        _warn_open_instance(Path(app.instance_path))
        if has_admin():
            return
        token = create_setup_token()
        db.session.commit()
        base = str(app.config["FORUM_BASE_URL"]).rstrip("/")
        click.echo("")
        click.echo("No admin yet. Open this one-time link (valid 24 hours) to create one:")
        click.echo(f"    {base}/setup/{token}")
        click.echo("Running `forum init` again makes a new link and retires this one.")


def _warn_about_a_local_index(app: Flask) -> None:
    """Say so when a forum set up for several app servers searches a local index."""
    if app.config.get("FORUM_REDIS_URL") and app.config["FORUM_SEARCH_BACKEND"] == "whoosh":
        click.echo(
            "Note: FORUM_REDIS_URL is set (for several app servers?) but search uses Whoosh,"
            " an index on this machine only; with more than one app server set"
            " FORUM_SEARCH_BACKEND=postgres (see the README, Two app servers)."
        )


def _refuse_root(allow_root: bool) -> None:
    """Before anything is created: files root makes in the instance folder (the database,
    its -wal, the index, the key) would be root's, and the forum's own user, which the
    service runs as, could no longer open them."""
    if allow_root or os.geteuid() != 0:
        return
    _fail(
        "refusing to run as root: the files it makes would belong to root and the forum's"
        " service (User=forum) could not open them. Run it as the forum's system user"
        " (sudo -u forum -H .venv/bin/forum init), or add --allow-root"
        " (or FORUM_ALLOW_ROOT=1) if root is the forum's user here, as in a container."
    )


def _warn_open_instance(instance: Path) -> None:
    """One line on stderr per file or folder in the instance that other users could open."""
    from forum.instance import open_paths

    found = open_paths(instance)
    for item in found[:WARNINGS_SHOWN]:
        click.echo(item.warning(), err=True)
    if len(found) > WARNINGS_SHOWN:
        click.echo(
            f"Warning: and {len(found) - WARNINGS_SHOWN} more in {instance}; make them all"
            f" private at once: chmod -R go-rwx {instance}",
            err=True,
        )


# An old index or a folder of backups can hold dozens of files: the first few, then a count.
WARNINGS_SHOWN = 10


def _backup_before_migrations(app: Flask) -> None:
    """A forum with data whose database is behind the code is backed up before migrating."""
    from alembic.script import ScriptDirectory

    from forum.backup import BackupError
    from forum.backup import backup_before_migrations
    from forum.extensions import MIGRATIONS_PATH

    head = ScriptDirectory(str(MIGRATIONS_PATH)).get_current_head()
    if head is None:
        return
    try:
        saved = backup_before_migrations(
            str(app.config["SQLALCHEMY_DATABASE_URI"]), Path(app.instance_path), head
        )
    except BackupError as exc:
        _fail(f"cannot back up before migrating ({exc}); nothing was changed")
    if saved is not None:
        click.echo(f"Backed up the forum before migrating it: {saved}")


def _repair_search_index(app: Flask) -> None:
    """Rebuild the search index when it cannot serve this forum (see index_problem)."""
    import time

    from forum.search.service import index_problem
    from forum.search.service import reindex as rebuild_index

    problem = index_problem(app)
    if problem is None:
        return
    click.echo(f"Rebuilding the search index: {problem} ...")
    started = time.monotonic()
    try:
        count = rebuild_index(app)
    except Exception as exc:  # noqa: BLE001 - the forum starts; searches answer 503
        # `forum init` runs before the server starts (ExecStartPre, `make run`): a failed
        # rebuild must not keep the forum down. The error's type, not a traceback.
        click.echo(
            f"The search index could not be rebuilt ({exc.__class__.__name__}: {exc}); "
            "searches answer 503 until `forum reindex` succeeds.",
            err=True,
        )
        return
    click.echo(f"Search index rebuilt: {count} posts in {time.monotonic() - started:.1f} s.")


@main.command("create-user")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user a site admin.")
@click.option("--moderator", is_flag=True, help="Make the user a site moderator.")
@click.option("--password", "password", default=None, help="The password (visible in ps!).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(
    name: str, admin: bool, moderator: bool, password: str | None, password_stdin: bool
) -> None:
    """Make an account without e-mail (scripts and first set-up)."""
    from forum.errors import ForumError
    from forum.errors import Invalid
    from forum.extensions import db
    from forum.services import accounts

    if (password is None) == (not password_stdin):
        _fail("give exactly one of --password PW or --password-stdin")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    with _app_context():
        try:
            user = accounts.create_user(
                username=name, password=password, is_admin=admin, is_moderator=moderator
            )
            if admin:
                user.trust_level = 4
            db.session.commit()
        except Invalid as exc:
            _fail("; ".join(f"{k}: {v}" for k, v in exc.fields.items()))
        except ForumError as exc:
            _fail(exc.message)
        role = "admin" if admin else "moderator" if moderator else "member"
        click.echo(f"Created {role} {user.username}.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve the forum with gunicorn on wsgi:app."""
    if not 0 < port < 65536:
        _fail(f"port {port} is out of range")
    # The workers inherit the environment: mail links name the port actually served.
    os.environ.update(_default_base_url(host, port))
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--chdir",
        str(PROJECT_ROOT),
        "--workers",
        str(workers),
        "--bind",
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        # No access log: it would record every member's IP address and the pages read.
        "--error-logfile",
        "-",
        "wsgi:app",
    ]
    click.echo(f"Serving on http://{host}:{port} with {workers} workers.")
    os.execv(sys.executable, args)  # noqa: S606 - replaces this process with gunicorn


@main.command()
def demo() -> None:
    """Fill an empty forum with a small, realistic demo community."""
    from forum.demo import fill_demo
    from forum.errors import ForumError

    with _app_context():
        try:
            summary = fill_demo()
        except ForumError as exc:
            _fail(exc.message)
        click.echo(summary)


@main.command()
def rerender() -> None:
    """Re-render stored posts after the Markdown renderer or sanitiser changed."""
    from forum.maintenance import rerender_stale_posts

    with _app_context():
        click.echo(f"Re-rendered {rerender_stale_posts()} posts.")


@main.command()
def prune() -> None:
    """Delete hashed IP addresses older than 14 days, ended sessions, idle API tokens and
    chat messages past their room's retention (run daily from cron)."""
    from forum.maintenance import prune_chat_messages
    from forum.maintenance import prune_idle_api_tokens
    from forum.maintenance import prune_sessions
    from forum.maintenance import prune_throttle_events

    with _periodic_job("prune", "prune") as app:
        if app is None:
            return
        click.echo(f"Deleted {prune_throttle_events()} old throttle entries.")
        click.echo(f"Deleted {prune_sessions()} ended or expired sessions.")
        click.echo(f"Deleted {prune_idle_api_tokens()} API tokens unused for too long.")
        click.echo(f"Deleted {prune_chat_messages()} chat messages past their room's retention.")


@main.command()
def trust() -> None:
    """Recompute every member's trust level (run daily from cron or a systemd timer)."""
    from forum.extensions import db
    from forum.services.trust import recompute_all

    with _periodic_job("trust", "trust") as app:
        if app is None:
            return
        # Committed batch by batch: no single transaction holds the write lock for long.
        counts = recompute_all(after_batch=db.session.commit)
        db.session.commit()
        click.echo(
            f"checked {counts['checked']}, promoted {counts['promoted']}, "
            f"demoted {counts['demoted']}"
        )


@main.command()
def reindex() -> None:
    """Rebuild the search index from the database (searches keep working meanwhile)."""
    import time

    from forum.search.service import reindex as rebuild_index

    with _app_context() as app:
        started = time.monotonic()
        count = rebuild_index(app)
        click.echo(f"indexed {count} posts in {time.monotonic() - started:.1f} s")


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--scheduled",
    is_flag=True,
    help="Write instance/backups/scheduled-<time>.tar.gz, then keep only the newest"
    " FORUM_BACKUP_KEEP of those (the daily timer).",
)
def backup(file: Path | None, scheduled: bool) -> None:
    """Write one archive (mode 0600) with a consistent snapshot of the database, the
    secret key and the configuration; safe while the forum serves."""
    from forum import jobs
    from forum.backup import BackupError
    from forum.backup import create_backup

    if (file is None) == (not scheduled):
        _fail("give exactly one of FILE or --scheduled")
    url, instance = _database_and_instance()
    try:
        if file is None:
            # The timer runs on every app server: one dump of a shared database at a time.
            with jobs.once("backup", database_url=url, instance_path=instance) as got:
                if not got:
                    click.echo(
                        "`forum backup --scheduled` is already running (here or on another server)."
                    )
                    return
                summary = _scheduled_backup(url, instance)
        else:
            summary = create_backup(url, instance, file)
    except BackupError as exc:
        _fail(str(exc))
    except OSError as exc:  # a full disk, a folder it may not write: one line, no traceback
        _fail(f"the backup failed and was removed, nothing else changed: {exc}")
    click.echo(
        f"Backed up {summary.rows.get('posts', 0)} posts and"
        f" {summary.rows.get('users', 0)} members to {summary.path}."
    )
    click.echo("The archive holds the secret key: keep it as safe as the server.")


def _scheduled_backup(url: str, instance: Path) -> Summary:
    """A timestamped archive in instance/backups/, then the rotation: the newest
    FORUM_BACKUP_KEEP scheduled archives stay (the new one always among them)."""
    from forum import config
    from forum.backup import create_backup
    from forum.backup import parse_keep
    from forum.backup import partial_leftovers
    from forum.backup import prune_scheduled
    from forum.backup import scheduled_path

    # Checked before anything is written: a typo must not cost the night's backup later.
    keep = parse_keep(
        config.overrides(instance).get("FORUM_BACKUP_KEEP", config.BaseConfig.FORUM_BACKUP_KEEP)
    )
    summary = create_backup(url, instance, scheduled_path(instance))
    # Only after the new archive is complete and on disk: a failed backup deletes nothing.
    for path in prune_scheduled(summary.path.parent, keep, summary.path):
        click.echo(f"Deleted {path.name} (keeping the newest {keep}).")
    for path in partial_leftovers(summary.path.parent):
        click.echo(
            f"Warning: {path} was left by an interrupted backup (unless one is running"
            " now); it is not a backup: delete it.",
            err=True,
        )
    return summary


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a forum that has data (backed up first).")
def restore(file: Path, force: bool) -> None:
    """Restore a `forum backup` archive into this instance, then migrate and reindex."""
    from forum.backup import BackupError
    from forum.backup import check_restorable
    from forum.backup import create_backup
    from forum.backup import holds_data
    from forum.backup import pre_restore_path
    from forum.backup import restore_archive
    from forum.backup import verified_archive

    url, instance = _database_and_instance()
    try:
        with verified_archive(file.resolve()) as (work, manifest):
            _check_revision_known(manifest.get("alembic_revision"))
            check_restorable(file, url, manifest, work)
            if holds_data(url):
                if not force:
                    _fail(
                        "this forum already has data; restore with --force to replace it"
                        " (it is backed up first)"
                    )
                saved = create_backup(url, instance, pre_restore_path(instance))
                click.echo(f"Backed up the current forum to {saved.path}.")
            restored = restore_archive(file, url, instance, manifest, work)
    except BackupError as exc:
        _fail(str(exc))
    for note in restored.notes:
        click.echo(f"Note: {note}.")
    _migrate_and_reindex()
    click.echo(
        f"Restored {restored.rows.get('posts', 0)} posts and"
        f" {restored.rows.get('users', 0)} members from {file}."
    )


def _database_and_instance() -> tuple[str, Path]:
    """The database URL and instance folder, found as create_app finds them but without
    its side effects (it would create a secret key before the archive is checked); what
    the command creates is private, as under create_app."""
    from forum import config
    from forum.instance import restrict_umask

    restrict_umask()
    instance = config.instance_path_from_env()
    url = config.overrides(instance).get("FORUM_DATABASE_URL")
    return url or f"sqlite:///{instance / 'forum.db'}", instance


def _check_revision_known(revision: str | None) -> None:
    """Refuse, before anything changes, an archive from a newer forum than this code."""
    if revision is None:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from forum.extensions import MIGRATIONS_PATH

    try:
        ScriptDirectory(str(MIGRATIONS_PATH)).get_revision(revision)
    except CommandError:
        _fail(
            f"the archive's database is at migration {revision}, which this version of the"
            " forum does not know; upgrade the forum's code first"
        )


def _migrate_and_reindex() -> None:
    """After a restore: bring an older database up to date and rebuild the search index
    so it holds exactly the restored posts."""
    from flask_migrate import upgrade

    from forum.extensions import MIGRATIONS_PATH
    from forum.extensions import init_migrations
    from forum.search.service import reindex as rebuild_index

    with _app_context(drain=False) as app:
        init_migrations(app)
        upgrade(directory=str(MIGRATIONS_PATH))
        click.echo(f"Search index rebuilt: {rebuild_index(app)} posts.")


@main.command("migrate-to")
@click.argument("url")
def migrate_to(url: str) -> None:
    """Copy this SQLite forum into an empty PostgreSQL database at URL and verify it
    (every table's rows and checksum); stop the forum first."""
    from sqlalchemy.exc import SQLAlchemyError

    from forum.extensions import init_migrations
    from forum.transfer import TransferError
    from forum.transfer import VerificationFailed
    from forum.transfer import check_urls
    from forum.transfer import migrate
    from forum.transfer import report_lines

    source_url, instance = _database_and_instance()
    try:
        source, target = check_urls(source_url, url)
    except TransferError as exc:
        _fail(str(exc))
    shown = target.render_as_string(hide_password=True)
    click.echo(f"Copying {source.database} into {shown} ...")
    full_target = target.render_as_string(hide_password=False)
    with _app_context({"FORUM_DATABASE_URL": full_target}, drain=False) as app:
        init_migrations(app)
        try:
            transfer = migrate(source_url, full_target, progress=_copy_progress)
        except VerificationFailed as exc:
            for line in report_lines(exc.transfer.checks):
                click.echo(line)
            _fail(str(exc))
        except TransferError as exc:
            _fail(str(exc))
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            detail = str(cause).strip().splitlines()
            _fail(
                f"the copy failed ({exc.__class__.__name__}: {detail[0] if detail else ''});"
                " nothing was committed"
            )
    for line in report_lines(transfer.checks):
        click.echo(line)
    rate = transfer.rows / transfer.seconds if transfer.seconds > 0 else 0.0
    click.echo(
        f"Verified {len(transfer.checks)} tables: {transfer.rows} rows copied in"
        f" {transfer.seconds:.1f} s ({rate:,.0f} rows/s), {transfer.sequences} sequences set,"
        f" schema at migration {transfer.revision}."
    )
    click.echo("")
    click.echo("The PostgreSQL database now holds this forum. Next steps:")
    click.echo("  1. Keep the forum and its timers stopped: the old database takes no more writes.")
    if "FORUM_DATABASE_URL" in os.environ:
        click.echo("  2. FORUM_DATABASE_URL is set in the environment (a systemd install: in")
        click.echo("     /etc/forum/forum.env); change it there to")
    else:
        click.echo(f"  2. In {instance / 'forum.cfg'} set")
    click.echo(f"         FORUM_DATABASE_URL={shown}")
    if target.password is not None:
        click.echo("     with the real password in place of ***.")
    click.echo("  3. Search: for several app servers also set FORUM_SEARCH_BACKEND=postgres;")
    click.echo("     its index is built in PostgreSQL by `forum init` (step 4) or `forum reindex`.")
    click.echo("     With one app server FORUM_SEARCH_BACKEND=whoosh may stay: the index in")
    click.echo("     instance/search/ still fits (every post keeps its id).")
    click.echo("  4. Run `forum init` (systemd's forum.service runs it on start), then start the")
    click.echo("     forum: systemctl start forum.service forum-outbox.timer forum-trust.timer")
    click.echo("     forum-prune.timer (or `make run`).")
    click.echo(f"  5. Keep {source.database} until you are satisfied; the forum no longer uses it.")


def _copy_progress(table: str, rows: int) -> None:
    """A line now and then while a big table is copied (a million posts take minutes)."""
    if rows % 100_000 == 0:
        click.echo(f"  {table}: {rows:,} rows copied ...")


@main.group("outbox")
def outbox_group() -> None:
    """The outbox: mail and search updates waiting to be delivered."""


@outbox_group.command("status")
def outbox_status() -> None:
    """Rows per kind (due now, waiting for a retry, given up on) and the failed rows."""
    from forum import outbox

    with _app_context(drain=False):
        kinds = outbox.status()
        if not kinds:
            click.echo("The outbox is empty.")
        for kind in kinds:
            click.echo(
                f"{kind.kind}: {kind.due} due, {kind.waiting} waiting for a retry,"
                f" {kind.failed} failed"
            )
        for row in outbox.failed_rows():
            click.echo(
                f"failed #{row.id} {row.kind} after {row.attempts} attempts"
                f" ({row.failed_at:%Y-%m-%d %H:%M} UTC): {row.last_error}"
            )


@outbox_group.command("drain")
@click.option("--retry", is_flag=True, help="First make waiting and failed rows due now.")
@click.option("--budget", default=300, show_default=True, help="Seconds to spend at most.")
def outbox_drain(retry: bool, budget: int) -> None:
    """Deliver what is due (for cron or a systemd timer), after queueing the reminders
    and e-mail digests that are due; fails if a delivery failed."""
    from forum import outbox

    with _periodic_job("outbox-drain", "outbox drain") as app:
        if app is None:
            return
        if retry:
            click.echo(f"{outbox.retry()} rows made due now")
        _queue_due_notices()
        result = outbox.drain_all(app, budget_seconds=float(budget))
        click.echo(f"delivered {result.delivered}, failed {result.failed}")
        if result.failed:
            raise click.exceptions.Exit(1)


def _queue_due_notices() -> None:
    """Meeting and personal reminders, then e-mail digests, that are due (every run of
    the timer: cheap when none are). Each step commits on its own before the outbox is
    drained, so that its mail goes now; one that fails is reported and retried by the
    next run, and never stops the drain."""
    from forum.extensions import db
    from forum.services import notification_mail
    from forum.services import reminders

    def reminders_sent(counts: tuple[int, int]) -> str:
        meetings, personal = counts
        return (
            f"reminders sent: {meetings} for meetings, {personal} personal" if any(counts) else ""
        )

    def digests_queued(count: int) -> str:
        return f"queued {count} digest{'' if count == 1 else 's'}" if count else ""

    steps: tuple[tuple[str, Callable[[], Any], Callable[[Any], str]], ...] = (
        ("reminders", reminders.send_all_due, reminders_sent),
        ("digests", notification_mail.send_due_digests, digests_queued),
    )
    for name, step, report in steps:
        try:
            result = step()
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - the outbox must still be drained
            db.session.rollback()
            click.echo(f"Warning: {name} were not queued ({exc}); the next run tries again.")
            continue
        if line := report(result):
            click.echo(line)


DEPLOY_PATH = PROJECT_ROOT / "deploy"
UNITS = (
    "forum.service",
    "forum-outbox.service",
    "forum-outbox.timer",
    "forum-trust.service",
    "forum-trust.timer",
    "forum-prune.service",
    "forum-prune.timer",
    "forum-backup.service",
    "forum-backup.timer",
)


def render_units(
    *,
    root: Path,
    forum: Path,
    user: str,
    env_file: Path,
    port: int,
    workers: int,
    host: str = "127.0.0.1",
) -> dict[str, str]:
    """deploy/systemd's unit files with this install's paths, user and port filled in."""
    values = {
        "@ROOT@": str(root),
        "@FORUM@": str(forum),
        "@USER@": user,
        "@ENV_FILE@": str(env_file),
        "@HOST@": host,
        "@PORT@": str(port),
        "@WORKERS@": str(workers),
    }
    rendered = {}
    for name in UNITS:
        text = (DEPLOY_PATH / "systemd" / name).read_text()
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        rendered[name] = text
    return rendered


@main.command("install-systemd")
@click.option("--user", default="forum", show_default=True, help="The system user to run as.")
@click.option("--domain", default="forum.example.org", show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address gunicorn listens on: this machine's private address when the proxy"
    " runs on another machine (several app servers).",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--env-file",
    default="/etc/forum/forum.env",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--unit-dir",
    default="/etc/systemd/system",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option("--write", is_flag=True, help="Write the files (as root) instead of printing them.")
def install_systemd(
    user: str,
    domain: str,
    host: str,
    port: int,
    workers: int,
    env_file: Path,
    unit_dir: Path,
    write: bool,
) -> None:
    """The systemd units for this install: gunicorn on 127.0.0.1 and the periodic jobs'
    timers (outbox every 5 minutes; trust, prune and backup daily). Prints them; with
    --write (as root) writes them, and the settings file if it does not exist yet."""
    units = render_units(
        root=PROJECT_ROOT,
        forum=Path(sys.executable).parent / "forum",
        user=user,
        env_file=env_file,
        port=port,
        workers=workers,
        host=host,
    )
    settings = (DEPLOY_PATH / "systemd" / "forum.env").read_text().replace("@DOMAIN@", domain)
    if not write:
        for name, text in units.items():
            click.echo(f"# ----- {unit_dir / name}\n{text}")
        click.echo(f"# ----- {env_file} (written only if missing)\n{settings}")
        return
    if os.geteuid() != 0:
        _fail("--write needs root (run it with sudo); without it the files are printed.")
    for name, text in units.items():
        (unit_dir / name).write_text(text)
        click.echo(f"wrote {unit_dir / name}")
    if env_file.exists():
        click.echo(f"kept {env_file} (already there)")
    else:
        env_file.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        # Root-owned and readable by root only: systemd reads it before dropping to the user.
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(settings)
        click.echo(f"wrote {env_file}")
    click.echo(
        "Next: systemctl daemon-reload && systemctl enable --now forum.service"
        " forum-outbox.timer forum-trust.timer forum-prune.timer forum-backup.timer"
    )


@main.command("make-migration")
@click.argument("message")
def make_migration(message: str) -> None:
    """Autogenerate a migration from the models (for developers; review it by hand)."""
    from flask_migrate import migrate

    from forum.extensions import MIGRATIONS_PATH
    from forum.extensions import init_migrations

    with _app_context(_default_base_url("127.0.0.1", _port_from_env())) as app:
        init_migrations(app)
        migrate(directory=str(MIGRATIONS_PATH), message=message)


def run(*args: Any) -> None:
    """Entry point for `python -m forum.cli`."""
    main(*args)


if __name__ == "__main__":
    main()
