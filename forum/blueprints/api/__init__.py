"""The JSON API under /api/v1: one module per resource, serialisers in one place.

Errors come out in the contract's shape through `forum.blueprints.errors`; the modules
below only raise the domain exceptions.
"""

from __future__ import annotations

# Importing the modules registers their routes on `bp` (forum.blueprints.api.blueprint).
from forum.blueprints.api import account
from forum.blueprints.api import admin
from forum.blueprints.api import auth
from forum.blueprints.api import boards
from forum.blueprints.api import chat
from forum.blueprints.api import contracts
from forum.blueprints.api import groups
from forum.blueprints.api import invitations
from forum.blueprints.api import meetings
from forum.blueprints.api import messages
from forum.blueprints.api import moderation
from forum.blueprints.api import notifications
from forum.blueprints.api import openapi
from forum.blueprints.api import posts
from forum.blueprints.api import search
from forum.blueprints.api import settings
from forum.blueprints.api import topics
from forum.blueprints.api import unread
from forum.blueprints.api import users
from forum.blueprints.api.blueprint import bp

__all__ = [
    "account",
    "admin",
    "auth",
    "boards",
    "chat",
    "bp",
    "contracts",
    "groups",
    "invitations",
    "messages",
    "meetings",
    "moderation",
    "notifications",
    "openapi",
    "posts",
    "search",
    "settings",
    "topics",
    "unread",
    "users",
]
