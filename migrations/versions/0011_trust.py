"""trust levels granted by a group stay inside the group

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-28 10:00:00

A group owner could set (and lock) a member's site-wide trust level. A level granted by a
group now belongs to the membership (`memberships.trust_level`, with who granted it and
when) and applies on that group's boards only. Each flag now records the reporter's
level in the post's scope when they reported (what its weight was based on).

Data: the damage already done is repaired from the moderation log. Each
"trust_level_granted" entry with a group, written by someone who was not acting as an
admin, was an owner's grant:

* the latest such grant per member and group becomes that membership's grant (if the
  member is still in the group and the level is above 0);
* where the member's site level was last set by such grants (no admin grant after them),
  the site level and lock go back to the "before" of the earliest of those trailing
  owner grants. An unlocked level is then brought up to date by the next `forum trust`.

Reports and appeals about posts are moved to their post's current scope (handled ones
used to stay behind when a topic moved).
"""

import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# policy.RANK_ADMIN: the rank recorded on entries written while acting as an admin.
RANK_ADMIN = 4
MAX_GROUP_GRANT = 3


def upgrade():
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trust_level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("trust_granted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("trust_granted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_memberships_trust_granted_by_id_users"),
            "users",
            ["trust_granted_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trust_level", sa.Integer(), server_default="0", nullable=False)
        )
    bind = op.get_bind()
    # Existing flags were weighed by the reporter's (site) level: record that one.
    bind.execute(
        sa.text(
            "UPDATE flags SET trust_level ="
            " (SELECT users.trust_level FROM users WHERE users.id = flags.reporter_id)"
        )
    )
    _repair_owner_grants(bind)
    # Reports and appeals about posts follow their post's current scope: those decided
    # before a topic moved were left in the old one.
    post_scope = (
        "SELECT boards.group_id FROM posts"
        " JOIN topics ON topics.id = posts.topic_id"
        " JOIN boards ON boards.id = topics.board_id"
    )
    bind.execute(
        sa.text(f"UPDATE reports SET group_id = ({post_scope} WHERE posts.id = reports.post_id)")
    )
    bind.execute(
        sa.text(
            f"UPDATE appeals SET group_id = ({post_scope} WHERE posts.id = appeals.target_id)"
            " WHERE target_type = 'post'"
            " AND EXISTS (SELECT 1 FROM posts WHERE posts.id = appeals.target_id)"
        )
    )


def _data(raw):
    try:
        found = json.loads(raw or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _level(value, maximum):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        return None
    return value


def _repair_owner_grants(bind):
    log = sa.table(
        "moderation_log",
        sa.column("id", sa.Integer),
        sa.column("actor_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("target_type", sa.String),
        sa.column("target_id", sa.Integer),
        sa.column("group_id", sa.Integer),
        sa.column("data", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("actor_rank", sa.Integer),
    )
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("is_admin", sa.Boolean),
        sa.column("trust_level", sa.Integer),
        sa.column("trust_level_locked", sa.Boolean),
        sa.column("memberships_version", sa.Integer),
    )
    memberships = sa.table(
        "memberships",
        sa.column("id", sa.Integer),
        sa.column("group_id", sa.Integer),
        sa.column("user_id", sa.Integer),
        sa.column("trust_level", sa.Integer),
        sa.column("trust_granted_by_id", sa.Integer),
        sa.column("trust_granted_at", sa.DateTime(timezone=True)),
    )
    admins = {row[0] for row in bind.execute(sa.select(users.c.id).where(users.c.is_admin))}
    rows = bind.execute(
        sa.select(
            log.c.actor_id,
            log.c.target_id,
            log.c.group_id,
            log.c.data,
            log.c.created_at,
            log.c.actor_rank,
        )
        .where(log.c.action == "trust_level_granted", log.c.target_type == "user")
        .order_by(log.c.target_id, log.c.id)
    ).all()
    entries = {}
    for actor_id, target_id, group_id, data, created_at, actor_rank in rows:
        # An admin's grant (an admin now, or acting as one then) set the site level on
        # purpose; everything else with a group was a group owner's.
        by_owner = (
            group_id is not None and actor_id not in admins and (actor_rank or 0) < RANK_ADMIN
        )
        entries.setdefault(target_id, []).append(
            (by_owner, actor_id, group_id, _data(data), created_at)
        )
    for user_id, found in entries.items():
        trailing = []
        for entry in reversed(found):
            if not entry[0]:
                break
            trailing.append(entry)
        if trailing:
            before = trailing[-1][3].get("before")
            before = before if isinstance(before, dict) else {}
            level = _level(before.get("level"), 4)
            if level is not None:
                bind.execute(
                    users.update()
                    .where(users.c.id == user_id)
                    .values(trust_level=level, trust_level_locked=bool(before.get("locked")))
                )
        latest = {}
        for by_owner, actor_id, group_id, data, created_at in found:
            if by_owner:
                latest[group_id] = (actor_id, data, created_at)
        for group_id, (actor_id, data, created_at) in latest.items():
            after = data.get("after")
            level = _level(after.get("level") if isinstance(after, dict) else None, 4)
            if not level:
                continue
            bind.execute(
                memberships.update()
                .where(memberships.c.group_id == group_id, memberships.c.user_id == user_id)
                .values(
                    trust_level=min(level, MAX_GROUP_GRANT),
                    trust_granted_by_id=actor_id,
                    trust_granted_at=created_at,
                )
            )
        if latest:
            # Workers cache members' group facts by this version: retire them.
            bind.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(memberships_version=users.c.memberships_version + 1)
            )


def downgrade():
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_column("trust_level")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_memberships_trust_granted_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("trust_granted_at")
        batch_op.drop_column("trust_granted_by_id")
        batch_op.drop_column("trust_level")
