"""security: revocable sessions, login throttles shared by all workers, background exports, job locks

Revision ID: 0007
Revises: 0006

Every user starts at session_version 0: sessions issued before the upgrade carry none and are
refused once, so everyone logs in again after it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatewatch.models.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))
    op.create_table(
        'loginthrottle',
        sa.Column('scope', sa.String(length=300), primary_key=True),
        sa.Column('failures', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('last_failure_at', gatewatch.models.types.UTCDateTime(), nullable=True),
        sa.Column('blocked_until', gatewatch.models.types.UTCDateTime(), nullable=True),
    )
    op.create_table(
        'exportjob',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('parameters', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('items_done', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('items_total', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('requested_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', gatewatch.models.types.UTCDateTime(), nullable=False),
        sa.Column('started_at', gatewatch.models.types.UTCDateTime(), nullable=True),
        sa.Column('finished_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    )
    op.create_table(
        'joblock',
        sa.Column('name', sa.String(length=64), primary_key=True),
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('acquired_at', gatewatch.models.types.UTCDateTime(), nullable=False),
        sa.Column('expires_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('joblock')
    op.drop_table('exportjob')
    op.drop_table('loginthrottle')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
