"""notifications name who acted, and likes are grouped

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 13:10:00

Notifications about what a member did (a reply, a mention, a quote, likes, a join
request) keep `actor_id`, not the name: the name is shown when the notification is
read, as the reader may see it then ("deleted member" once the account is deleted), and
is never frozen into `text`. `count` groups likes: one unread notification per post
counts the likes since it was last read. `watches`: a member's level (watching,
tracking, normal, muted) for one topic, board or group. `notification_preferences`:
per kind, in-app on/off and e-mail never/immediately/digest (mail is built later).
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'watches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_watches_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watches')),
        sa.UniqueConstraint('user_id', 'scope', 'target_id', name=op.f('uq_watches_user_id')),
    )
    with op.batch_alter_table('watches', schema=None) as batch_op:
        batch_op.create_index('ix_watches_scope_target', ['scope', 'target_id'], unique=False)
    op.create_table(
        'notification_preferences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('in_app', sa.Boolean(), nullable=False),
        sa.Column('email', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['users.id'],
            name=op.f('fk_notification_preferences_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
        sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preferences_user_id')),
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('count', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_foreign_key(
            batch_op.f('fk_notifications_actor_id_users'),
            'users',
            ['actor_id'],
            ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    op.drop_table('notification_preferences')
    op.drop_table('watches')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_actor_id_users'), type_='foreignkey')
        batch_op.drop_column('count')
        batch_op.drop_column('actor_id')
