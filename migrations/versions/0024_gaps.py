"""gaps: meeting reminders lead to their meeting, deleted messages, unread messages flag

Revision ID: 0024_gaps
Revises: 0023_labels
Create Date: 2026-12-06 16:30:00

`notifications.meeting_id`: a meeting reminder names its meeting (and goes when the
meeting does: ON DELETE CASCADE). `conversation_messages.deleted_at`: a member deleted
their own message (the others see a placeholder). `users.has_unread_messages`: set when
someone writes to the member, cleared when they have read everything, so that the
header counts unread conversations only when there may be some. The lead chains this.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0024_gaps"
down_revision = "0023_labels"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_meeting_id_meetings"),
            "meetings",
            ["meeting_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("has_unread_messages", sa.Boolean(), server_default="0", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("has_unread_messages")
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_meeting_id_meetings"), type_="foreignkey"
        )
        batch_op.drop_column("meeting_id")
