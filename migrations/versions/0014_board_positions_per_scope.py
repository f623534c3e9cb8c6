"""board positions numbered per scope

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-02 09:00:00

Board positions were numbered across the whole site (a new top-level board took the
highest position of any top-level board, a group's included), so the gaps between the
positions a reader sees in `/api/v1/boards` counted the secret groups' boards. From now
on each level of each scope (the site's top-level boards, one group's top-level boards,
one board's sub-boards) is numbered 1, 2, 3...; this renumbers the existing boards that
way, keeping their order.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    boards = sa.table(
        'boards',
        sa.column('id', sa.Integer),
        sa.column('group_id', sa.Integer),
        sa.column('parent_id', sa.Integer),
        sa.column('position', sa.Integer),
    )
    rows = bind.execute(
        sa.select(boards.c.id, boards.c.group_id, boards.c.parent_id).order_by(
            boards.c.position, boards.c.id
        )
    ).all()
    numbers: dict[tuple[int | None, int | None], int] = {}
    for board_id, group_id, parent_id in rows:
        level = (group_id, parent_id)
        numbers[level] = numbers.get(level, 0) + 1
        bind.execute(
            sa.update(boards).where(boards.c.id == board_id).values(position=numbers[level])
        )


def downgrade():
    # The old numbering is not needed back: every position is still a valid order.
    pass
