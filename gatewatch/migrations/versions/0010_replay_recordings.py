"""replays of recorded time: a replay run is of a footage file or of a camera's recorded period

Revision ID: 0010
Revises: 0009

``kind`` says which (every replay before this one was of a file); ``period_end`` is a recorded
period's end, ``footage_start`` its start. A camera's segments of a period are found through an
index on (camera_id, started_at).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatewatch.models.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('replayrun', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='file'))
        batch_op.add_column(sa.Column('period_end', gatewatch.models.types.UTCDateTime(), nullable=True))
    op.create_index('ix_recordingsegment_camera_started', 'recordingsegment', ['camera_id', 'started_at'])


def downgrade() -> None:
    op.drop_index('ix_recordingsegment_camera_started', table_name='recordingsegment')
    with op.batch_alter_table('replayrun', schema=None) as batch_op:
        batch_op.drop_column('period_end')
        batch_op.drop_column('kind')
