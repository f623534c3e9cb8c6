"""unread: where a member's "new topics" start

Revision ID: 0018_unread
Revises: 0016
Create Date: 2026-12-06 13:20:00

Read positions reuse `topic_reads.last_read_number`. Dismissing the "new topics" list
moves `users.new_topics_since` instead of writing a row per topic (rows of topic_reads
count as "topics entered" for trust levels). The lead chains this after 0017.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0018_unread'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('new_topics_since', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('new_topics_since')
