"""chat rooms, their messages and reports

Revision ID: 0021_chat
Revises: 0020_messages
Create Date: 2026-12-06 15:30:00

`chat_rooms`: a group's (or, with no group, the site's) rooms, each with its slow mode,
its history's retention (default 30 days; `forum prune` deletes older messages) and a
revision counter the live endpoint answers from. `chat_messages`: sanitised like posts,
hidden by moderators. `chat_reports`: one per member and message. The lead re-chains
this after the other branches' revisions.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0021_chat'
down_revision = '0020_messages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'chat_rooms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('slow_mode_seconds', sa.Integer(), server_default='0', nullable=False),
        sa.Column('retention_days', sa.Integer(), server_default='30', nullable=False),
        sa.Column('revision', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(
            ['group_id'], ['groups.id'], name=op.f('fk_chat_rooms_group_id_groups'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'], name=op.f('fk_chat_rooms_created_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_rooms')),
    )
    with op.batch_alter_table('chat_rooms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_rooms_group_id'), ['group_id'], unique=False)
    op.create_table(
        'chat_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('room_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('hidden_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['room_id'], ['chat_rooms.id'], name=op.f('fk_chat_messages_room_id_chat_rooms'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['author_id'], ['users.id'], name=op.f('fk_chat_messages_author_id_users'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['hidden_by_id'], ['users.id'], name=op.f('fk_chat_messages_hidden_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_messages')),
    )
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.create_index('ix_chat_messages_room_id', ['room_id', 'id'], unique=False)
        batch_op.create_index(
            'ix_chat_messages_room_author', ['room_id', 'author_id', 'created_at'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_chat_messages_created_at'), ['created_at'], unique=False
        )
    op.create_table(
        'chat_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('reporter_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['message_id'], ['chat_messages.id'],
            name=op.f('fk_chat_reports_message_id_chat_messages'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['reporter_id'], ['users.id'], name=op.f('fk_chat_reports_reporter_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_reports')),
        sa.UniqueConstraint(
            'message_id', 'reporter_id', name=op.f('uq_chat_reports_message_id')
        ),
    )


def downgrade():
    op.drop_table('chat_reports')
    op.drop_table('chat_messages')
    op.drop_table('chat_rooms')
