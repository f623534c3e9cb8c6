"""The API's blueprint, apart from the package that gathers its modules.

Each resource module registers its routes on `bp` from here, and the package imports
them all: so no module imports the package it is part of (no import circle).
"""

from __future__ import annotations

from flask import Blueprint

from forum.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")


# Bearer requests must pass without a CSRF token; `auth._authenticate` checks the token
# itself for writes that rely on the session cookie.
csrf.exempt(bp)
