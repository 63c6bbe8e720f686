"""webhooks: receivers, their outbox of deliveries and each attempt, and the alert feed's cursor

Revision ID: 0014
Revises: 0013

Alerts are read from the audit trail (which every alerting change already writes, in its own
transaction) and kept in an outbox until delivered, so nothing is lost across restarts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatewatch.models.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_UTC = gatewatch.models.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'webhook',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('url', sa.String(length=1000), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('events', sa.String(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', _UTC(), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=True),
    )
    op.create_table(
        'webhookdelivery',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('delivery_id', sa.String(length=64), nullable=False),
        sa.Column('webhook_id', sa.Integer(), sa.ForeignKey('webhook.id'), nullable=False),
        sa.Column('event', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.String(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', _UTC(), nullable=False),
        sa.Column('created_at', _UTC(), nullable=False),
        sa.Column('delivered_at', _UTC(), nullable=True),
    )
    op.create_index('ix_webhookdelivery_due', 'webhookdelivery', ['status', 'next_attempt_at'])
    op.create_index('ix_webhookdelivery_created_at', 'webhookdelivery', ['created_at'])
    op.create_index('ix_webhookdelivery_delivery_id', 'webhookdelivery', ['delivery_id'], unique=True)
    op.create_index('ix_webhookdelivery_webhook_id', 'webhookdelivery', ['webhook_id'])
    op.create_table(
        'webhookattempt',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('delivery_id', sa.Integer(), sa.ForeignKey('webhookdelivery.id'), nullable=False),
        sa.Column('at', _UTC(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('seconds', sa.Float(), nullable=True),
    )
    op.create_index('ix_webhookattempt_delivery_id', 'webhookattempt', ['delivery_id'])
    op.create_table(
        'alertcursor',
        sa.Column('name', sa.String(length=64), primary_key=True),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.Column('updated_at', _UTC(), nullable=False),
    )


def downgrade() -> None:
    for table in ('alertcursor', 'webhookattempt', 'webhookdelivery', 'webhook'):
        op.drop_table(table)
