"""evidence from the stream: copied clips with their boxes, legal holds, continuous recording

Revision ID: 0009
Revises: 0008

Events get the boxes file of their clip, the clip's kind and its pre-roll offset. Legal holds
keep evidence from retention; every entry already confirmed as an intrusion is held from the
upgrade on (its hold names the upgrade as who placed it). Recording segments and the gaps
between them are new tables.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import gatewatch.models.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_UTC = gatewatch.models.types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('boxes_path', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('boxes_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('clip_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('clip_start_seconds', sa.Float(), nullable=True))
    op.create_table(
        'evidencehold',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('entryevent.id'), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('held_by', sa.String(length=100), nullable=False),
        sa.Column('held_at', _UTC(), nullable=False),
        sa.Column('released_by', sa.String(length=100), nullable=True),
        sa.Column('released_at', _UTC(), nullable=True),
    )
    op.create_index('ix_evidencehold_event_id', 'evidencehold', ['event_id'])
    op.create_table(
        'recordingsegment',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('camera_id', sa.String(length=64), sa.ForeignKey('camera.id'), nullable=False),
        sa.Column('started_at', _UTC(), nullable=False),
        sa.Column('ended_at', _UTC(), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('frames', sa.Integer(), nullable=False),
        sa.Column('created_at', _UTC(), nullable=False),
        sa.Column('deleted_at', _UTC(), nullable=True),
    )
    for column in ('camera_id', 'started_at', 'ended_at'):
        op.create_index(f'ix_recordingsegment_{column}', 'recordingsegment', [column])
    op.create_table(
        'recordinggap',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('camera_id', sa.String(length=64), sa.ForeignKey('camera.id'), nullable=False),
        sa.Column('started_at', _UTC(), nullable=False),
        sa.Column('ended_at', _UTC(), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=False),
    )
    for column in ('camera_id', 'started_at'):
        op.create_index(f'ix_recordinggap_{column}', 'recordinggap', [column])
    op.get_bind().execute(sa.text(
        "INSERT INTO evidencehold (event_id, reason, held_by, held_at) "
        "SELECT id, 'confirmed intrusion', 'upgrade 0009', :now FROM entryevent WHERE status = 'confirmed'"
    ), {"now": datetime.now(UTC).replace(tzinfo=None)})  # UTC without a zone, as UTCDateTime stores it


def downgrade() -> None:
    op.drop_table('recordinggap')
    op.drop_table('recordingsegment')
    op.drop_table('evidencehold')
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        for column in ('clip_start_seconds', 'clip_kind', 'boxes_sha256', 'boxes_path'):
            batch_op.drop_column(column)
