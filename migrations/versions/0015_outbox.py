"""outbox

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:30:00

The search queue becomes one kind ("search") of a general outbox: effects of a change
written in its transaction and delivered after the commit (mail, search updates, and
later notification fan-out and live events). Queued posts move over in their order,
the post id as the row's `subject_id`; ids are never reused (SQLite AUTOINCREMENT), as
the search queue's were (0009). The downgrade moves the search rows back; other rows
(mail not yet delivered) have nowhere to go and are dropped with the table.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column(
            'next_attempt_at', sa.DateTime(timezone=True), nullable=False
        ),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outbox_kind_next_attempt_at', ['kind', 'next_attempt_at'], unique=False
        )
    op.execute(
        "INSERT INTO outbox (kind, subject_id, created_at, attempts, next_attempt_at)"
        " SELECT 'search', post_id, queued_at, 0, queued_at FROM search_queue ORDER BY id"
    )
    with op.batch_alter_table('search_queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_queue_post_id'))
    op.drop_table('search_queue')


def downgrade():
    op.create_table(
        'search_queue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_queue')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('search_queue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_queue_post_id'), ['post_id'], unique=False)
    op.execute(
        "INSERT INTO search_queue (post_id, queued_at)"
        " SELECT subject_id, created_at FROM outbox"
        " WHERE kind = 'search' AND subject_id IS NOT NULL ORDER BY id"
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_kind_next_attempt_at')
    op.drop_table('outbox')
