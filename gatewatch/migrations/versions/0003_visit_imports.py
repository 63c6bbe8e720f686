"""visit imports

Revision ID: 0003
Revises: 0002

CSV files of visits uploaded through the web and imported in the background.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import gatewatch.models.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('visitimport',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('stored', sa.Integer(), nullable=False),
    sa.Column('errors', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('started_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.Column('finished_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('visitimport')
