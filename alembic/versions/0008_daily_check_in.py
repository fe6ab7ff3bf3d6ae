"""The daily check-in: its answers, craving moments, weekly screens and the flags fired.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel types without importing them
from alembic import op

import bot.sealed


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('last_update_id', sa.BigInteger(), nullable=True),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('completed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('craving', sa.Integer(), nullable=True),
    sa.Column('mood', sa.Integer(), nullable=True),
    sa.Column('sleep_hours', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('sleep_quality', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('triggers', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('use', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('substances', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('safe_now', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('medicine', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('confidence', sa.Integer(), nullable=True),
    sa.Column('support', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('note', bot.sealed.SealedText(), nullable=True),
    sa.Column('asq_due', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_checkin_client_id_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin')),
    sa.UniqueConstraint('client_id', 'local_date', name=op.f('uq_checkin_client_id_local_date'))
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_client_id'), ['client_id'], unique=False)

    op.create_table('screening',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('completed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_screening_client_id_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening')),
    sa.UniqueConstraint('client_id', 'kind', 'local_date', name=op.f('uq_screening_client_id_kind_local_date'))
    )
    with op.batch_alter_table('screening', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_client_id'), ['client_id'], unique=False)

    op.create_table('checkinflag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('raised_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_checkinflag_alert_id_alert')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_checkinflag_client_id_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkinflag')),
    sa.UniqueConstraint('client_id', 'key', name=op.f('uq_checkinflag_client_id_key'))
    )
    with op.batch_alter_table('checkinflag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkinflag_client_id'), ['client_id'], unique=False)

    op.create_table('cravingmoment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('craving', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkin.id'], name=op.f('fk_cravingmoment_checkin_id_checkin')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_cravingmoment_client_id_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cravingmoment'))
    )
    with op.batch_alter_table('cravingmoment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cravingmoment_checkin_id'), ['checkin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cravingmoment_client_id'), ['client_id'], unique=False)

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_medicine', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('weekly_day', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('checkin_thresholds', sa.JSON(), nullable=True))

    with op.batch_alter_table('program', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_thresholds', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('program', schema=None) as batch_op:
        batch_op.drop_column('checkin_thresholds')

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('checkin_thresholds')
        batch_op.drop_column('weekly_day')
        batch_op.drop_column('checkin_medicine')

    with op.batch_alter_table('cravingmoment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cravingmoment_client_id'))
        batch_op.drop_index(batch_op.f('ix_cravingmoment_checkin_id'))

    op.drop_table('cravingmoment')
    with op.batch_alter_table('checkinflag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkinflag_client_id'))

    op.drop_table('checkinflag')
    with op.batch_alter_table('screening', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_client_id'))

    op.drop_table('screening')
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_client_id'))

    op.drop_table('checkin')
