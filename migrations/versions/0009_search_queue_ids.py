"""search queue ids never reused (SQLite AUTOINCREMENT)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 03:10:00

A drain deletes the queue rows it read, by id, after writing their posts. SQLite reuses
the highest id once its row is deleted, so a row queued meanwhile could take the id of
one being drained and be deleted unwritten (a post missing from the index). The table is
recreated with AUTOINCREMENT; PostgreSQL's sequences never reuse ids and need nothing.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table(
        'search_queue', recreate='always', table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.alter_column('id', autoincrement=True)


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table(
        'search_queue', recreate='always', table_kwargs={'sqlite_autoincrement': False}
    ) as batch_op:
        batch_op.alter_column('id', autoincrement=True)
