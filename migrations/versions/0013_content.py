"""content: revision redaction, edit grace period, edits counted, no direction controls

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-06 06:00:00

Issue 10, finding 4 and the low items about revisions and direction controls:

- post_revisions: `replaced_at` (when the edit that made the revision happened; an
  author's edits within a few minutes of it replace the post's text without a new
  revision), and `redacted_at`, `redacted_as`, `redacted_by_id` (a version whose text its
  author or a moderator removed). Existing revisions get no `replaced_at`: they are never
  coalesced with.
- post_edits: one row per edit, kept a day, so that edits per hour can be limited.
- Topic titles, board and group names and descriptions, and members' bios may no longer
  hold the bidirectional embedding, override and isolate controls (U+202A-U+202E,
  U+2066-U+2069): existing ones are removed, so that no old title reads backwards.
  Post bodies keep theirs in the source; rendering drops them (renderer version 2). The
  stored HTML of posts and revisions that holds one, as a character or a numeric
  reference, is cleaned here, so that it stops at once rather than at the next
  `forum rerender`.
"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
# (table, column): short texts shown inline in pages and lists.
CLEANED = [
    ('topics', 'title'),
    ('boards', 'name'),
    ('boards', 'description'),
    ('groups', 'name'),
    ('groups', 'description'),
    ('users', 'bio'),
]


def upgrade():
    with op.batch_alter_table('post_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('redacted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('redacted_as', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('redacted_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_post_revisions_redacted_by_id_users'),
            'users',
            ['redacted_by_id'],
            ['id'],
            ondelete='SET NULL',
        )

    op.create_table(
        'post_edits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('editor_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['editor_id'], ['users.id'], name=op.f('fk_post_edits_editor_id_users'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['post_id'], ['posts.id'], name=op.f('fk_post_edits_post_id_posts'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_post_edits')),
    )
    with op.batch_alter_table('post_edits', schema=None) as batch_op:
        batch_op.create_index('ix_post_edits_editor_at', ['editor_id', 'created_at'], unique=False)

    # Data: remove direction controls from existing short texts (portable SQL: REPLACE
    # and LIKE with bound parameters work the same on SQLite and PostgreSQL).
    bind = op.get_bind()
    for table, column in CLEANED:
        for char in BIDI_CONTROLS:
            bind.execute(
                sa.text(
                    f'UPDATE {table} SET {column} = REPLACE({column}, :char, :empty) '
                    f'WHERE {column} LIKE :pattern'
                ),
                {'char': char, 'empty': '', 'pattern': f'%{char}%'},
            )
    for table in ('posts', 'post_revisions'):
        _clean_html(bind, table)


HTML_CONTROLS = re.compile(
    '[\u202a-\u202e\u2066-\u2069]'
    '|&#(?:[xX]0*(?:202[a-eA-E]|206[6-9])|0*(?:823[4-8]|829[4-7]));?'
)
# A superset of what HTML_CONTROLS finds, for one scan of each table.
HTML_CANDIDATES = [*(f'%{char}%' for char in BIDI_CONTROLS), '%&#x20%', '%&#X20%', '%&#82%']


def _clean_html(bind, table):
    matches = ' OR '.join(f'html LIKE :p{i}' for i in range(len(HTML_CANDIDATES)))
    params = {f'p{i}': pattern for i, pattern in enumerate(HTML_CANDIDATES)}
    rows = bind.execute(sa.text(f'SELECT id, html FROM {table} WHERE {matches}'), params)
    for row_id, html in rows.fetchall():
        cleaned = HTML_CONTROLS.sub('', html)
        if cleaned != html:
            bind.execute(
                sa.text(f'UPDATE {table} SET html = :html WHERE id = :id'),
                {'html': cleaned, 'id': row_id},
            )


def downgrade():
    with op.batch_alter_table('post_edits', schema=None) as batch_op:
        batch_op.drop_index('ix_post_edits_editor_at')
    op.drop_table('post_edits')
    with op.batch_alter_table('post_revisions', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_post_revisions_redacted_by_id_users'), type_='foreignkey'
        )
        batch_op.drop_column('redacted_by_id')
        batch_op.drop_column('redacted_as')
        batch_op.drop_column('redacted_at')
        batch_op.drop_column('replaced_at')
