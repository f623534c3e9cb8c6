"""`GET /healthz`: is this app server fit to serve? For uptime monitors and load balancers.

Public, as the contract says: no login, no session (the member, if a browser sends a
cookie, is never loaded: not counted as activity, no cookie set), never cached. 200
`{"status": "ok", "checks": {...}}` or 503 `{"status": "failing", "failing": [...],
"checks": {...}}`; what each check means is in `forum.health`.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify

from forum import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """The checks' report: 200 when every part answers, 503 naming the failing ones."""
    report = health.check(current_app._get_current_object())  # type: ignore[attr-defined]
    response = jsonify(report.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if report.ok else 503
