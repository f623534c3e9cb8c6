"""labels: role labels for helpers and professionals

Revision ID: 0023_labels
Revises: 0022_meetings
Create Date: 2026-12-06 15:10:00

A site label on `users` (given by admins), a group label and the member's "hide my label
here" choice on `memberships` (given by the group's owners), and `users.group_labels`, the
hint that lets a group's topic page skip looking for memberships. The lead chains this.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0023_labels'
down_revision = '0022_meetings'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column('group_labels', sa.Boolean(), server_default='0', nullable=False)
        )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column('hide_label', sa.Boolean(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('hide_label')
        batch_op.drop_column('label')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('group_labels')
        batch_op.drop_column('label')
