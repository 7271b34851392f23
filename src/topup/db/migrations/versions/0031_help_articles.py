"""help articles: staff edits of the help centre's articles, one row per slug and language

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 20:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = topup.db.metadata.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'help_articles',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('slug', sa.String(length=60), nullable=False),
        sa.Column('lang', sa.String(length=5), nullable=False),
        sa.Column('topic', sa.String(length=30), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('published', sa.Boolean(), nullable=False),
        sa.Column('updated_at', When(), nullable=False),
        sa.Column('updated_by', Id, nullable=True),
        sa.CheckConstraint("lang IN ('en', 'zh-CN')", name=op.f('ck_help_articles_lang')),
        sa.CheckConstraint('length(title) > 0 AND length(body) > 0',
                           name=op.f('ck_help_articles_not_empty')),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id'],
                                name=op.f('fk_help_articles_updated_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_help_articles')),
        sa.UniqueConstraint('slug', 'lang', name=op.f('uq_help_articles_slug_lang')),
    )


def downgrade() -> None:
    op.drop_table('help_articles')
