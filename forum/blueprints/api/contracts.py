"""Holding each endpoint to its declared contract while FORUM_CHECK_CONTRACTS is on.

The operation table (`openapi.OPERATIONS`) names, per route, the body model and the
answer model of each status. With the check on (the test suite), every answer is
validated against its model and every body must have been read with the model the table
names, so a serialiser that grows a field, a view that reads another model or an answer
that drifts from the document fails the test that made the request. Off in production:
the declarations are the same, the check costs a validation per answer.
"""

from __future__ import annotations

import re
from functools import cache

from flask import Response
from flask import current_app
from flask import request
from pydantic import BaseModel
from pydantic import ValidationError

from forum.blueprints.api import openapi
from forum.blueprints.api import schemas
from forum.blueprints.api.blueprint import bp
from forum.blueprints.api.inputs import PARSED_WITH


class ContractBroken(AssertionError):
    """An answer or a body reading that disagrees with the declared contract."""


_PARAM = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


@cache
def _operations() -> dict[tuple[str, str], openapi.Operation]:
    return {(op.method, op.path): op for op in openapi.OPERATIONS}


def operation_for(rule: str, method: str) -> openapi.Operation | None:
    """The table's operation for a URL rule (`/api/v1/boards/<id:board_id>`) and method."""
    path = _PARAM.sub(r"{\1}", rule.removeprefix(bp.url_prefix or ""))
    return _operations().get((method.lower(), path))


def answer_model(op: openapi.Operation, status: int) -> type[BaseModel] | None:
    """The model an answer with `status` must match; None for an empty body."""
    if status >= 400:
        return schemas.site.Error
    if status == 304 and op.not_modified:
        return None
    for alternative, name in op.alternatives:
        if status == alternative:
            return schemas.MODELS[name]
    if status not in (op.status, *op.also):
        raise ContractBroken(f"{op.method} {op.path} answered {status}, which is not declared")
    return schemas.MODELS[op.response] if op.response else None


@bp.after_request
def _check_contract(response: Response) -> Response:
    if not current_app.config.get("FORUM_CHECK_CONTRACTS") or request.url_rule is None:
        return response
    op = operation_for(request.url_rule.rule, request.method)
    where = f"{request.method} {request.url_rule.rule}"
    if op is None:
        if request.method in ("HEAD", "OPTIONS"):
            return response
        raise ContractBroken(f"{where} has no operation in the table")
    parsed = getattr(request, PARSED_WITH, None)
    if parsed is not None:
        model, optional = parsed
        if model.__name__ != op.body:
            raise ContractBroken(f"{where} read its body as {model.__name__}, declared {op.body}")
        if optional == op.body_required:
            raise ContractBroken(f"{where}: the body's being optional disagrees with the table")
    elif op.body and response.status_code < 400:
        raise ContractBroken(f"{where} never read its declared body {op.body}")
    if op.media_type != "application/json" and response.status_code < 400:
        if response.mimetype != op.media_type:
            raise ContractBroken(f"{where} answered {response.mimetype}, not {op.media_type}")
        return response
    model = answer_model(op, response.status_code)
    if model is None:
        if response.get_data():
            raise ContractBroken(f"{where}: {response.status_code} should have no body")
        return response
    try:
        model.model_validate(response.get_json())
    except ValidationError as exc:
        raise ContractBroken(f"{where} answered against {model.__name__}: {exc}") from exc
    return response
