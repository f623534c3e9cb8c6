"""search queue

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 23:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'search_queue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_queue')),
    )
    with op.batch_alter_table('search_queue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_queue_post_id'), ['post_id'], unique=False)


def downgrade():
    with op.batch_alter_table('search_queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_queue_post_id'))
    op.drop_table('search_queue')
