"""deleted members

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 11:00:00

A member who deletes their account (or whom an admin deletes on request) leaves a
tombstone row, so that the posts kept as "deleted member" and the moderation log keep
their foreign keys: `deleted_at` marks it. The tombstone has a placeholder name, no
e-mail, no password and no profile.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
