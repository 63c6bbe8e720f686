"""initial schema

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import gatewatch.models.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auditrecord',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('before', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('after', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('auditrecord', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auditrecord_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_auditrecord_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_auditrecord_at'), ['at'], unique=False)

    op.create_table('camera',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('last_frame_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.Column('frames_per_second', sa.Float(), nullable=True),
    sa.Column('reconnects', sa.Integer(), nullable=False),
    sa.Column('status_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.Column('last_login_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_username'), ['username'], unique=True)

    op.create_table('apitoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('token_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apitoken_token_sha256'), ['token_sha256'], unique=True)
        batch_op.create_index(batch_op.f('ix_apitoken_user_id'), ['user_id'], unique=False)

    op.create_table('authorisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('max_persons', sa.Integer(), nullable=False),
    sa.Column('max_vehicles', sa.Integer(), nullable=False),
    sa.Column('camera_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('valid_from', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('valid_until', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['camera.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('authorisation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorisation_valid_from'), ['valid_from'], unique=False)
        batch_op.create_index(batch_op.f('ix_authorisation_valid_until'), ['valid_until'], unique=False)

    op.create_table('visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visitor_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('id_number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('vehicle_plate', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('vehicle_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('party_size', sa.Integer(), nullable=False),
    sa.Column('camera_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('check_in_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('expected_check_out_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.Column('checked_out_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.Column('registered_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['camera.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_check_in_at'), ['check_in_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_id_number'), ['id_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_vehicle_plate'), ['vehicle_plate'], unique=False)

    op.create_table('entryevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('occurred_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('frame_index', sa.Integer(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('box_x1', sa.Float(), nullable=False),
    sa.Column('box_y1', sa.Float(), nullable=False),
    sa.Column('box_x2', sa.Float(), nullable=False),
    sa.Column('box_y2', sa.Float(), nullable=False),
    sa.Column('snapshot_path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('clip_path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('evidence_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('flag', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('flag_detail', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('authorisation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['authorisation_id'], ['authorisation.id'], ),
    sa.ForeignKeyConstraint(['camera_id'], ['camera.id'], ),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('camera_id', 'source_key', 'track_id', 'frame_index', name='uq_event_occurrence')
    )
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entryevent_authorisation_id'), ['authorisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entryevent_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entryevent_flag'), ['flag'], unique=False)
        batch_op.create_index(batch_op.f('ix_entryevent_label'), ['label'], unique=False)
        batch_op.create_index(batch_op.f('ix_entryevent_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_entryevent_visit_id'), ['visit_id'], unique=False)
        batch_op.create_index('ix_event_queue', ['status', 'occurred_at'], unique=False)

    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['entryevent.id'], ),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_event_id'), ['event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_event_id'))

    op.drop_table('review')
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.drop_index('ix_event_queue')
        batch_op.drop_index(batch_op.f('ix_entryevent_visit_id'))
        batch_op.drop_index(batch_op.f('ix_entryevent_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_entryevent_label'))
        batch_op.drop_index(batch_op.f('ix_entryevent_flag'))
        batch_op.drop_index(batch_op.f('ix_entryevent_camera_id'))
        batch_op.drop_index(batch_op.f('ix_entryevent_authorisation_id'))

    op.drop_table('entryevent')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_vehicle_plate'))
        batch_op.drop_index(batch_op.f('ix_visit_id_number'))
        batch_op.drop_index(batch_op.f('ix_visit_check_in_at'))

    op.drop_table('visit')
    with op.batch_alter_table('authorisation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorisation_valid_until'))
        batch_op.drop_index(batch_op.f('ix_authorisation_valid_from'))

    op.drop_table('authorisation')
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apitoken_user_id'))
        batch_op.drop_index(batch_op.f('ix_apitoken_token_sha256'))

    op.drop_table('apitoken')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_username'))

    op.drop_table('user')
    op.drop_table('camera')
    with op.batch_alter_table('auditrecord', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auditrecord_at'))
        batch_op.drop_index(batch_op.f('ix_auditrecord_actor'))
        batch_op.drop_index(batch_op.f('ix_auditrecord_action'))

    op.drop_table('auditrecord')
