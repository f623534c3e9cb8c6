"""meetings: group and site meetings, RSVPs, reminders, calendar feeds, personal reminders

Revision ID: 0022_meetings
Revises: 0021_chat
Create Date: 2026-12-06 15:20:00

`meetings` keeps the first occurrence in UTC and the IANA zone: later occurrences are
computed in that zone. `meeting_reminders_sent` is the marker that a member was reminded
of one occurrence (never twice). `member_calendars`: a member's time zone, default
reminder and the hash of their calendar feed's token. `personal_reminders`: "remind me"
on a post. The lead chains this after the other branches' revisions.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_meetings'
down_revision = '0021_chat'
branch_labels = None
depends_on = None


def _user_fk(table, column='user_id', ondelete='CASCADE'):
    return sa.ForeignKeyConstraint(
        [column], ['users.id'], name=op.f(f'fk_{table}_{column}_users'), ondelete=ondelete
    )


def _meeting_fk(table):
    return sa.ForeignKeyConstraint(
        ['meeting_id'],
        ['meetings.id'],
        name=op.f(f'fk_{table}_meeting_id_meetings'),
        ondelete='CASCADE',
    )


def upgrade():
    op.create_table(
        'meetings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('repeat', sa.String(length=16), nullable=False),
        sa.Column('place', sa.String(length=200), nullable=False),
        sa.Column('online', sa.Boolean(), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('notes_html', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['group_id'], ['groups.id'], name=op.f('fk_meetings_group_id_groups'), ondelete='CASCADE'
        ),
        _user_fk('meetings', 'created_by_id', 'SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings')),
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index('ix_meetings_group', ['group_id'], unique=False)
    op.create_table(
        'meeting_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('answer', sa.String(length=8), nullable=False),
        sa.Column('hidden', sa.Boolean(), nullable=False),
        sa.Column('reminder', sa.String(length=8), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        _meeting_fk('meeting_answers'),
        _user_fk('meeting_answers'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_answers')),
        sa.UniqueConstraint('meeting_id', 'user_id', name=op.f('uq_meeting_answers_meeting_id')),
    )
    op.create_table(
        'meeting_reminders_sent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('occurrence', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        _meeting_fk('meeting_reminders_sent'),
        _user_fk('meeting_reminders_sent'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_reminders_sent')),
        sa.UniqueConstraint(
            'meeting_id',
            'user_id',
            'occurrence',
            name=op.f('uq_meeting_reminders_sent_meeting_id'),
        ),
    )
    op.create_table(
        'member_calendars',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('reminder', sa.String(length=8), nullable=False),
        sa.Column('feed_token_hash', sa.String(length=64), nullable=True),
        sa.Column('feed_created_at', sa.DateTime(timezone=True), nullable=True),
        _user_fk('member_calendars'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_calendars')),
        sa.UniqueConstraint('feed_token_hash', name=op.f('uq_member_calendars_feed_token_hash')),
        sa.UniqueConstraint('user_id', name=op.f('uq_member_calendars_user_id')),
    )
    op.create_table(
        'personal_reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('remind_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['post_id'], ['posts.id'], name=op.f('fk_personal_reminders_post_id_posts'),
            ondelete='CASCADE',
        ),
        _user_fk('personal_reminders'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_reminders')),
    )
    with op.batch_alter_table('personal_reminders', schema=None) as batch_op:
        batch_op.create_index('ix_personal_reminders_due', ['sent_at', 'remind_at'], unique=False)
        batch_op.create_index('ix_personal_reminders_user', ['user_id'], unique=False)


def downgrade():
    op.drop_table('personal_reminders')
    op.drop_table('member_calendars')
    op.drop_table('meeting_reminders_sent')
    op.drop_table('meeting_answers')
    op.drop_table('meetings')
