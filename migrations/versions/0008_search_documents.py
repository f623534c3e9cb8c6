"""search documents (the postgres search backend's index; PostgreSQL only)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 23:45:00

The table is derived data (rebuilt by `forum reindex`) and deliberately not a model:
forum.search.postgres_backend defines it on a metadata of its own, and migrations/env.py
keeps autogenerate from proposing to drop it. SQLite databases never get it: there the
`whoosh` backend keeps its index in files.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def upgrade():
    if not _postgresql():
        return
    op.create_table(
        'search_documents',
        sa.Column('post_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('topic_id', sa.Integer(), nullable=False),
        sa.Column('board_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('author', sa.Text(), nullable=False),
        sa.Column('board', sa.Text(), nullable=False),
        sa.Column('vector', postgresql.TSVECTOR(), nullable=False),
        sa.PrimaryKeyConstraint('post_id', name=op.f('pk_search_documents')),
    )
    op.create_index(
        'ix_search_documents_vector', 'search_documents', ['vector'],
        unique=False, postgresql_using='gin',
    )
    # Ranking reads every match's vector: keep it in the row, not in TOAST.
    op.execute('ALTER TABLE search_documents ALTER COLUMN vector SET STORAGE MAIN')


def downgrade():
    if not _postgresql():
        return
    op.drop_index('ix_search_documents_vector', table_name='search_documents')
    op.drop_table('search_documents')
