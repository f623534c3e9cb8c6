"""sessions: server-side browser sessions; API tokens' idle clock

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-02 10:00:00

Browser sessions get a table (`user_sessions`): the session and remember-me cookies
now carry a session's random key instead of "user id:auth epoch", so logging out ends
both. Cookies made before this revision open nothing afterwards: every member logs in
once more.

API tokens now stop working after `api_token_idle_days` without use. Their
`last_used_at` was never written before, so it starts now for every existing token:
otherwise every token older than the limit would die at the upgrade, in use or not.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('auth_epoch', sa.Integer(), nullable=False),
    sa.Column('remembered', sa.Boolean(), nullable=False),
    sa.Column('device', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_user_sessions_key_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    # The idle clock of existing tokens starts at the upgrade (see the docstring).
    api_tokens = sa.table('api_tokens', sa.column('last_used_at', sa.DateTime(timezone=True)))
    op.execute(
        api_tokens.update()
        .where(api_tokens.c.last_used_at.is_(None))
        .values(last_used_at=sa.func.current_timestamp())
    )


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
