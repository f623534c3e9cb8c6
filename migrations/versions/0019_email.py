"""email: digest and body settings, and the per-topic throttle of immediate mail

Revision ID: 0019_email
Revises: 0018_unread
Create Date: 2026-12-06 15:30:00

`email_settings`: a member's digest frequency (off, daily, weekly), whether mail bodies
carry only a link, and the digest job's schedule (`next_digest_at`, indexed: the job
every 5 minutes looks only at rows that are due). `mail_throttles`: when a member was
last mailed about one topic, so that a busy topic sends one mail, not one per post.
The lead chains this after the other revisions of the day.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019_email"
down_revision = "0018_unread"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "email_settings",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(length=8), nullable=False),
        sa.Column("link_only", sa.Boolean(), nullable=False),
        sa.Column("next_digest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_email_settings")),
    )
    with op.batch_alter_table("email_settings", schema=None) as batch_op:
        batch_op.create_index("ix_email_settings_next_digest_at", ["next_digest_at"], unique=False)
    op.create_table(
        "mail_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mail_throttles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_throttles")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_mail_throttles_user_id")),
    )
    with op.batch_alter_table("mail_throttles", schema=None) as batch_op:
        batch_op.create_index("ix_mail_throttles_sent_at", ["sent_at"], unique=False)


def downgrade():
    op.drop_table("mail_throttles")
    op.drop_table("email_settings")
