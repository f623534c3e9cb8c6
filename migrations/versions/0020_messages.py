"""messages: private conversations, blocks, message reports

Revision ID: 0020_messages
Revises: 0019_email
Create Date: 2026-12-06 15:20:00

Private messages live in their own tables (conversations, conversation_participants
with joined_at/left_at history, conversation_messages), never in topics and posts, so
that no board, topic, post or search query can reach them. `user_blocks`: who blocked
whom (`users.has_blocks` says whether to look). `message_reports`: a participant's report of one message (the moderators handling
it read that message and the two before it). `users.messages_from_groups_only`: on for
new members (the model's default), off for members from before. Notifications about a
message keep `conversation_id`/`message_id` and show only while the member takes part.
The lead chains this after the other revisions of the day.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_messages'
down_revision = '0019_email'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'conversations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('starter_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_message_id', sa.Integer(), nullable=True),
        sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['starter_id'],
            ['users.id'],
            name=op.f('fk_conversations_starter_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    )
    op.create_table(
        'conversation_participants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_read_message_id', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(
            ['conversation_id'],
            ['conversations.id'],
            name=op.f('fk_conversation_participants_conversation_id_conversations'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['users.id'],
            name=op.f('fk_conversation_participants_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_participants')),
        sa.UniqueConstraint(
            'conversation_id',
            'user_id',
            name=op.f('uq_conversation_participants_conversation_id'),
        ),
    )
    with op.batch_alter_table('conversation_participants', schema=None) as batch_op:
        batch_op.create_index(
            'ix_conversation_participants_user', ['user_id', 'left_at'], unique=False
        )
    op.create_table(
        'conversation_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['author_id'],
            ['users.id'],
            name=op.f('fk_conversation_messages_author_id_users'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['conversation_id'],
            ['conversations.id'],
            name=op.f('fk_conversation_messages_conversation_id_conversations'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_messages')),
    )
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.create_index(
            'ix_conversation_messages_conversation', ['conversation_id', 'id'], unique=False
        )
        batch_op.create_index(
            'ix_conversation_messages_author_created', ['author_id', 'created_at'], unique=False
        )
    op.create_table(
        'user_blocks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('blocker_id', sa.Integer(), nullable=False),
        sa.Column('blocked_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['blocked_id'],
            ['users.id'],
            name=op.f('fk_user_blocks_blocked_id_users'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['blocker_id'],
            ['users.id'],
            name=op.f('fk_user_blocks_blocker_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_blocks')),
        sa.UniqueConstraint('blocker_id', 'blocked_id', name=op.f('uq_user_blocks_blocker_id')),
    )
    with op.batch_alter_table('user_blocks', schema=None) as batch_op:
        batch_op.create_index('ix_user_blocks_blocked', ['blocked_id'], unique=False)
    op.create_table(
        'message_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('reporter_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['message_id'],
            ['conversation_messages.id'],
            name=op.f('fk_message_reports_message_id_conversation_messages'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['reporter_id'],
            ['users.id'],
            name=op.f('fk_message_reports_reporter_id_users'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['resolved_by_id'],
            ['users.id'],
            name=op.f('fk_message_reports_resolved_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_reports')),
        sa.UniqueConstraint(
            'message_id', 'reporter_id', name=op.f('uq_message_reports_message_id')
        ),
    )
    with op.batch_alter_table('message_reports', schema=None) as batch_op:
        batch_op.create_index('ix_message_reports_status', ['status'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'messages_from_groups_only', sa.Boolean(), server_default='0', nullable=False
            )
        )
        batch_op.add_column(
            sa.Column('has_blocks', sa.Boolean(), server_default='0', nullable=False)
        )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conversation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_notifications_conversation_id_conversations'),
            'conversations',
            ['conversation_id'],
            ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_notifications_message_id_conversation_messages'),
            'conversation_messages',
            ['message_id'],
            ['id'],
            ondelete='CASCADE',
        )


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_notifications_message_id_conversation_messages'), type_='foreignkey'
        )
        batch_op.drop_constraint(
            batch_op.f('fk_notifications_conversation_id_conversations'), type_='foreignkey'
        )
        batch_op.drop_column('message_id')
        batch_op.drop_column('conversation_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('has_blocks')
        batch_op.drop_column('messages_from_groups_only')
    op.drop_table('message_reports')
    op.drop_table('user_blocks')
    op.drop_table('conversation_messages')
    op.drop_table('conversation_participants')
    op.drop_table('conversations')
