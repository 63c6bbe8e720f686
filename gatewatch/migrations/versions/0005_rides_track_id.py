"""riders: the two-wheeler a person crossing rides

Revision ID: 0005
Revises: 0004

The new event column is nullable: events stored before have no rides_track_id (null, as for a
person on foot or a vehicle). Their ``event.recorded`` audit records do not name the field, so
the integrity check does not expect it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rides_track_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.drop_column('rides_track_id')
