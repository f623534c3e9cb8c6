"""doors: removals that stick, and invitations by name

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 10:00:00

Two tables. `group_exclusions` remembers whom a group keeps out (removed, or a join
request declined for good) until an owner lets them back; every door into a group checks
it. `member_invitations` holds an owner's invitation of one member, by name: being added
to a group needs the member's consent.

Removals made before this revision were only written to the moderation log: each member
removed from a group (by its latest `remove_member` row) who is not in it now is kept out
from here on, as if removed today, so that an old open link does not let them back.
Someone who came back after a removal stays a member.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('group_exclusions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('removed', 'declined', name='group_exclusion_kind', native_enum=False, length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lifted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_group_exclusions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_exclusions_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'], name=op.f('fk_group_exclusions_lifted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_exclusions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_exclusions'))
    )
    with op.batch_alter_table('group_exclusions', schema=None) as batch_op:
        batch_op.create_index('ix_group_exclusions_group_user', ['group_id', 'user_id'], unique=False)

    op.create_table('member_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('member', 'moderator', 'owner', name='member_invitation_role', native_enum=False, length=16), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('pending', 'accepted', 'declined', 'withdrawn', name='member_invitation_state', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_member_invitations_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_member_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_member_invitations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_invitations'))
    )
    with op.batch_alter_table('member_invitations', schema=None) as batch_op:
        batch_op.create_index('ix_member_invitations_group_state', ['group_id', 'state'], unique=False)
        batch_op.create_index('ix_member_invitations_user_state', ['user_id', 'state'], unique=False)

    # Earlier removals stick too (see the module docstring).
    op.execute(
        sa.text(
            "INSERT INTO group_exclusions (group_id, user_id, kind, created_by_id, created_at)"
            " SELECT l.group_id, l.target_id, 'removed', l.actor_id, l.created_at"
            " FROM moderation_log l"
            " WHERE l.action = 'remove_member' AND l.target_type = 'user'"
            " AND l.group_id IS NOT NULL"
            " AND l.id = (SELECT MAX(l2.id) FROM moderation_log l2"
            "  WHERE l2.action = 'remove_member' AND l2.target_type = 'user'"
            "  AND l2.group_id = l.group_id AND l2.target_id = l.target_id)"
            " AND EXISTS (SELECT 1 FROM users u WHERE u.id = l.target_id)"
            " AND NOT EXISTS (SELECT 1 FROM memberships m"
            "  WHERE m.group_id = l.group_id AND m.user_id = l.target_id)"
        )
    )


def downgrade():
    with op.batch_alter_table('member_invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_member_invitations_user_state')
        batch_op.drop_index('ix_member_invitations_group_state')

    op.drop_table('member_invitations')
    with op.batch_alter_table('group_exclusions', schema=None) as batch_op:
        batch_op.drop_index('ix_group_exclusions_group_user')

    op.drop_table('group_exclusions')
