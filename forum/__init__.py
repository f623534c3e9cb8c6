"""The forum application: `create_app` builds it from small configuration steps."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from forum import config as config_module
from forum.instance import ensure_private_folder
from forum.instance import restrict_umask

THEMES_PATH = Path(__file__).resolve().parent.parent / "themes"


def create_app(config: type | dict[str, Any] | None = None) -> Flask:
    """Build the app; `config` is a config class or a mapping of overrides."""
    # Before anything is written: the database, index, key and backups are the owner's only.
    restrict_umask()
    base = config if isinstance(config, type) else config_module.BaseConfig
    instance_path = config_module.instance_path_from_env()
    explicit = (
        config.get("FORUM_INSTANCE_PATH")
        if isinstance(config, dict)
        else getattr(base, "FORUM_INSTANCE_PATH", None)
    )
    if explicit:
        instance_path = Path(explicit).resolve()
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=True,
        static_folder=None,
        template_folder=None,
    )
    _configure_settings(app, base, config if isinstance(config, dict) else None)
    _configure_theme(app)
    _configure_database(app)
    _configure_search(app)
    _configure_outbox(app)
    _configure_auth(app)
    _configure_throttle(app)
    _configure_requests(app)
    _configure_errors(app)
    _configure_blueprints(app)
    return app


def _configure_settings(app: Flask, base: type, extra: dict[str, Any] | None) -> None:
    app.config.from_object(base)
    if not app.testing:
        app.config.update(config_module.overrides(Path(app.instance_path)))
    if extra:
        app.config.update(extra)
    if not app.config.get("FORUM_DATABASE_URL"):
        ensure_private_folder(Path(app.instance_path))
        app.config["FORUM_DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'forum.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["FORUM_DATABASE_URL"]
    secret = app.config.get("FORUM_SECRET_KEY")
    if not secret:
        secret = config_module.load_or_create_secret_key(Path(app.instance_path))
    app.config["SECRET_KEY"] = secret
    if str(app.config["FORUM_BASE_URL"]).startswith("https://"):
        # Behind HTTPS every cookie is Secure too.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config["FORUM_RATELIMITS_ON"] = str(app.config["FORUM_RATELIMITS"]).lower() != "off"
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)


def _configure_theme(app: Flask) -> None:
    import jinja2

    theme = THEMES_PATH / app.config["FORUM_THEME"]
    app.jinja_loader = jinja2.FileSystemLoader(str(theme / "templates"))
    app.static_folder = str(theme / "static")
    app.static_url_path = "/static"
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=app.send_static_file)
    app.add_url_rule("/favicon.ico", endpoint="favicon", view_func=_favicon)
    # Theme files are revalidated (Flask's default max-age None: a cheap 304 by ETag), so a
    # new release's CSS shows at once; only the icon is kept longer (below).


# Browsers ask for /favicon.ico on every new session whatever the page links to. The
# theme's icon is kept for a week (it changes with a release, if ever); other theme files
# are revalidated, so that a new release's CSS shows at once.
FAVICON_MAX_AGE = 7 * 24 * 3600


def _favicon() -> Any:
    from flask import current_app
    from flask import send_from_directory

    folder = current_app.static_folder or ""
    return send_from_directory(folder, "favicon.ico", max_age=FAVICON_MAX_AGE)


def _configure_database(app: Flask) -> None:
    from forum import models  # noqa: F401 - registers every table
    from forum.database import configure_sqlite
    from forum.extensions import db

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, synchronous=app.config["FORUM_SQLITE_SYNCHRONOUS"])


def _configure_search(app: Flask) -> None:
    from forum.search.service import init_search

    init_search(app)


def _configure_outbox(app: Flask) -> None:
    # The kinds the outbox delivers register themselves on import (forum.outbox):
    # search (forum.search.service, above), mail, notification mail and digests, and
    # reminders through the configured senders (forum.senders).
    import forum.mail  # noqa: F401
    import forum.services.notification_mail  # noqa: F401
    import forum.services.reminder_senders  # noqa: F401 - the reminder kind, the e-mail sender
    from forum import senders

    # Said at start (and by `forum init`), not at the first reminder.
    senders.configure(app)

    ca_file = app.config.get("FORUM_MAIL_CA_FILE")
    if ca_file and not Path(ca_file).is_file():
        # Said at start, not at the first mail: every mail would fail until fixed.
        raise RuntimeError(f"FORUM_MAIL_CA_FILE={ca_file!r} is not a file.")


def _configure_auth(app: Flask) -> None:
    from forum.blueprints import context
    from forum.extensions import csrf
    from forum.extensions import login_manager
    from forum.models.users import User

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    # "strong" would log members out whenever their phone changes network.
    login_manager.session_protection = "basic"

    @login_manager.user_loader  # type: ignore[untyped-decorator]
    def load_user(session_key: str) -> User | None:
        # The cookie (session or remember-me) carries a server-side session's key: once
        # that session has ended (logout, here or on another device; a password change;
        # a suspension; 30 days for "remember me"), both cookies open nothing.
        return context.member_for_session_key(session_key)


def _configure_throttle(app: Flask) -> None:
    import hashlib

    from forum.throttle import DatabaseStore
    from forum.throttle import Fallback
    from forum.throttle import RedisStore
    from forum.throttle import Store
    from forum.throttle import Throttle

    store: Store = (
        Fallback(RedisStore(app.config["FORUM_REDIS_URL"]), DatabaseStore())
        if app.config.get("FORUM_REDIS_URL")
        else DatabaseStore()
    )
    salt = hashlib.sha256(f"throttle:{app.config['SECRET_KEY']}".encode()).digest()
    app.extensions["forum_throttle"] = Throttle(
        store, salt, enabled=app.config["FORUM_RATELIMITS_ON"]
    )


def _configure_requests(app: Flask) -> None:
    from forum.blueprints import context

    _make_caches(app)
    context.init_app(app)


def _make_caches(app: Flask) -> None:
    from forum.fragments import LRU

    app.extensions["forum_fragments"] = LRU(budget=app.config["FORUM_FRAGMENT_CACHE_BYTES"])
    # Members' group memberships, keyed by (user id, memberships_version): 10,000 members.
    app.extensions["forum_group_facts"] = LRU(budget=10_000)


# What a worker keeps between requests, made on first use: the site settings, the pages'
# read/visit memo, the search backend (with its in-memory index in tests), captured mail.
LAZY_EXTENSIONS = (
    "forum_settings_cache",
    "forum_activity",
    "forum_forwarded_warned",
    "forum_outbox",
)


def reset_caches(app: Flask) -> None:
    """Forget everything this worker remembers between requests, as after a restart.

    The tests reuse one app for many tests, each on an emptied database: ids start at 1
    again, so a cache keyed by id would answer for the previous test's rows. A new
    per-worker cache must be reset here too.
    """
    from forum.search.service import EXTENSION as SEARCH_EXTENSION

    for name in LAZY_EXTENSIONS:
        app.extensions.pop(name, None)
    app.extensions[SEARCH_EXTENSION] = None
    _make_caches(app)
    _configure_throttle(app)


def _configure_errors(app: Flask) -> None:
    from forum.blueprints import errors

    errors.init_app(app)


def _configure_blueprints(app: Flask) -> None:
    from forum.blueprints import admin
    from forum.blueprints import auth
    from forum.blueprints import boards
    from forum.blueprints import chat
    from forum.blueprints import groups
    from forum.blueprints import health
    from forum.blueprints import meetings
    from forum.blueprints import messages
    from forum.blueprints import moderation
    from forum.blueprints import notifications
    from forum.blueprints import pages
    from forum.blueprints import search
    from forum.blueprints import topics
    from forum.blueprints import unread
    from forum.blueprints import users
    from forum.blueprints.api import bp as api_bp
    from forum.blueprints.converters import IdConverter

    # Before any route is added: every blueprint uses `<id:...>`.
    app.url_map.converters["id"] = IdConverter
    for blueprint in (
        auth.bp,
        boards.bp,
        groups.bp,
        topics.bp,
        users.bp,
        admin.bp,
        moderation.bp,
        notifications.bp,
        messages.bp,
        meetings.bp,
        pages.bp,
        search.bp,
        unread.bp,
        chat.bp,
        health.bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)
