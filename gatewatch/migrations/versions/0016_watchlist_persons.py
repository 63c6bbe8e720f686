"""the persons watch list: NIKs of people who must not enter, each with a reason

Revision ID: 0016
Revises: 0015

Mirrors ``watchlistplate``: entries are never deleted, removing one sets ``removed_at``. The
cross-check looks entries up by NIK, hence the index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatewatch.models.types

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_UTC = gatewatch.models.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'watchlistperson',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('nik', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('added_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', _UTC(), nullable=False),
        sa.Column('removed_at', _UTC(), nullable=True),
        sa.Column('removed_by', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('watchlistperson', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watchlistperson_nik'), ['nik'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('watchlistperson', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watchlistperson_nik'))
    op.drop_table('watchlistperson')
