"""Boards: created, renamed, described, nested and reordered by admins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import select

from forum import policy
from forum import validation
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import Group
from forum.policy import Actor
from forum.policy import require_board
from forum.policy import visible_boards

_UNSET: Any = object()


def _parent(
    actor: Actor, parent_id: Any, *, group_id: int | None, board: Board | None = None
) -> int | None:
    if parent_id in (None, "", 0):
        return None
    pid = validation.integer(parent_id, "parent_id", minimum=1)
    try:
        parent = require_board(actor, pid)
    except NotFound as exc:
        raise Invalid("parent_id", "That parent board does not exist.") from exc
    if parent.parent_id is not None:
        raise Invalid("parent_id", "Sub-boards cannot have sub-boards of their own.")
    if parent.group_id != group_id:
        raise Invalid("parent_id", "A sub-board belongs to the same group as its parent.")
    if board is not None:
        if parent.id == board.id:
            raise Invalid("parent_id", "A board cannot be its own parent.")
        has_children = db.session.scalar(
            select(func.count()).select_from(Board).where(Board.parent_id == board.id)
        )
        if has_children:
            raise Invalid("parent_id", "A board with sub-boards cannot become a sub-board.")
    return parent.id


def _require_board_admin(actor: Actor, group: Group | None) -> None:
    policy.check_create_board(actor, group)


def _level(group_id: int | None, parent_id: int | None) -> ColumnElement[bool]:
    """SQL condition: boards on one level of one scope (the site's, or one group's).

    Positions are numbered per level and scope. Numbered across the site, the gaps in
    the positions a reader sees would count the secret groups' boards between them.
    """
    return and_(
        Board.group_id.is_(None) if group_id is None else Board.group_id == group_id,
        Board.parent_id.is_(None) if parent_id is None else Board.parent_id == parent_id,
    )


def _next_position(group_id: int | None, parent_id: int | None, *, moving: int = 0) -> int:
    """The position after the last board of a level (`moving`: a board joining it)."""
    last = db.session.scalar(
        select(func.max(Board.position)).where(_level(group_id, parent_id), Board.id != moving)
    )
    return (last or 0) + 1


def create_board(
    actor: Actor,
    *,
    name: Any,
    description: Any = "",
    parent_id: Any = None,
    group: Group | None = None,
) -> Board:
    """Add a board (at the end of its level), on the site or in a group."""
    _require_board_admin(actor, group)
    clean_name = validation.text(name, "name", min_len=1, max_len=validation.NAME_MAX)
    clean_description = validation.text(
        description, "description", max_len=validation.DESCRIPTION_MAX
    )
    group_id = group.id if group else None
    parent = _parent(actor, parent_id, group_id=group_id)
    board = Board(
        group_id=group_id,
        name=clean_name,
        description=clean_description,
        parent_id=parent,
        position=_next_position(group_id, parent),
        created_at=utcnow(),
    )
    db.session.add(board)
    db.session.flush()
    return board


def update_board(
    actor: Actor,
    board: Board,
    *,
    name: Any = _UNSET,
    description: Any = _UNSET,
    parent_id: Any = _UNSET,
    position: Any = _UNSET,
) -> Board:
    """Rename, describe, move under another board, or set the position of a board."""
    _require_board_admin(actor, board.group)
    given = {"name": name, "description": description, "parent_id": parent_id}
    given["position"] = position
    checks: dict[str, Callable[[Any], Any]] = {
        "name": lambda v: validation.text(v, "name", min_len=1, max_len=validation.NAME_MAX),
        "description": lambda v: validation.text(
            v, "description", max_len=validation.DESCRIPTION_MAX
        ),
        "parent_id": lambda v: _parent(actor, v, group_id=board.group_id, board=board),
        "position": lambda v: validation.integer(v, "position", minimum=0),
    }
    errors: dict[str, str] = {}
    parent_before = board.parent_id
    for field, value in given.items():
        if value is _UNSET:
            continue
        try:
            setattr(board, field, checks[field](value))
        except Invalid as exc:
            errors.update(exc.fields)
    if errors:
        raise Invalid(errors)
    if board.parent_id != parent_before and position is _UNSET:
        # A board moved to another level goes to its end (not to a number of the old one).
        board.position = _next_position(board.group_id, board.parent_id, moving=board.id)
    db.session.flush()
    return board


def move_board(actor: Actor, board: Board, *, direction: str) -> bool:
    """Swap a board with its neighbour above ("up") or below ("down"); True if it moved."""
    _require_board_admin(actor, board.group)
    validation.choice(direction, "direction", ("up", "down"))
    siblings = list(
        db.session.scalars(
            visible_boards(actor)
            .where(_level(board.group_id, board.parent_id))
            .order_by(Board.position, Board.id)
        )
    )
    index = siblings.index(board)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(siblings):
        return False
    siblings[index], siblings[other] = siblings[other], siblings[index]
    # Renumber the whole level: positions stay dense and unique whatever came before.
    for number, sibling in enumerate(siblings, start=1):
        sibling.position = number
    db.session.flush()
    return True
