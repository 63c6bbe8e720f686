"""licence plates on entry events, and the watch list

Revision ID: 0004
Revises: 0003

The new event columns are all nullable: events stored before have no plate_status, and the
cross-check treats them as it did before. Their ``event.recorded`` audit records do not name
the new fields, so the integrity check does not expect them.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import gatewatch.models.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('watchlistplate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plate', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('plate_key', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('removed_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.Column('removed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('watchlistplate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watchlistplate_plate_key'), ['plate_key'], unique=False)

    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plate_text', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('plate_confidence', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('plate_crop_path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.add_column(sa.Column('plate_crop_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('plate_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('plate_corrected_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.drop_column('plate_corrected_by')
        batch_op.drop_column('plate_status')
        batch_op.drop_column('plate_crop_sha256')
        batch_op.drop_column('plate_crop_path')
        batch_op.drop_column('plate_confidence')
        batch_op.drop_column('plate_text')

    with op.batch_alter_table('watchlistplate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watchlistplate_plate_key'))

    op.drop_table('watchlistplate')
