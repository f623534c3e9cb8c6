"""The JSON API under /api/v1: one module per resource, serialisers in one place.

Errors come out in the contract's shape through `forum.blueprints.errors`; the modules
below only raise the domain exceptions.
"""

from __future__ import annotations

from flask import Blueprint

from forum.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")


# Bearer requests must pass without a CSRF token; `auth._authenticate` checks the token
# itself for writes that rely on the session cookie.
csrf.exempt(bp)

# Importing the modules registers their routes on `bp`.
from forum.blueprints.api import account  # noqa: E402
from forum.blueprints.api import admin  # noqa: E402
from forum.blueprints.api import auth  # noqa: E402
from forum.blueprints.api import boards  # noqa: E402
from forum.blueprints.api import contracts  # noqa: E402
from forum.blueprints.api import groups  # noqa: E402
from forum.blueprints.api import invitations  # noqa: E402
from forum.blueprints.api import moderation  # noqa: E402
from forum.blueprints.api import notifications  # noqa: E402
from forum.blueprints.api import openapi  # noqa: E402
from forum.blueprints.api import posts  # noqa: E402
from forum.blueprints.api import search  # noqa: E402
from forum.blueprints.api import settings  # noqa: E402
from forum.blueprints.api import topics  # noqa: E402
from forum.blueprints.api import users  # noqa: E402

__all__ = [
    "account",
    "admin",
    "auth",
    "boards",
    "bp",
    "contracts",
    "groups",
    "invitations",
    "moderation",
    "notifications",
    "openapi",
    "posts",
    "search",
    "settings",
    "topics",
    "users",
]
