"""the camera's load on the box and whether its analysis is degraded, as the worker last measured them

Revision ID: 0012
Revises: 0011

Cameras share one box (one process, one detector): the camera page shows each one's share of the
box's work and whether it is degraded by overload (detection thinned out far from the line, or
frames dropped), which only the worker knows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place: SQLite adds these columns with ALTER TABLE; copying ``camera`` (what batch mode
    # does for a column with a server default) would drop the table every event refers to.
    with op.batch_alter_table('camera', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('analysis_load', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('degraded', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    # In place, as 0011: copying ``camera`` would drop the table every event refers to.
    with op.batch_alter_table('camera', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('degraded')
        batch_op.drop_column('analysis_load')
