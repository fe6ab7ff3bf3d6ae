"""Delivery engine: the inbox, the planner's cursor, worker heartbeats, and the outbox's
retry time, deadline, reason and Telegram message id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel types without importing them
from alembic import op

import bot.sealed

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inboundupdate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('update_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('payload', bot.sealed.SealedText(), nullable=True),
    sa.Column('status', sa.Enum('received', 'done', 'failed', name='inboundstatus', native_enum=False, length=16), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('handled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inboundupdate')),
    sa.UniqueConstraint('update_id', name=op.f('uq_inboundupdate_update_id'))
    )
    with op.batch_alter_table('inboundupdate', schema=None) as batch_op:
        batch_op.create_index('ix_inboundupdate_status_claimed_at', ['status', 'claimed_at'], unique=False)

    op.create_table('plannercursor',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('planned_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_plannercursor'))
    )
    op.create_table('workerheartbeat',
    sa.Column('worker_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('beat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_workerheartbeat'))
    )

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('available_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('telegram_message_id', sa.BigInteger(), nullable=True))
    # Rows queued before the engine existed become available at their due time.
    op.execute("UPDATE delivery SET available_at = due_at WHERE available_at IS NULL")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.alter_column('available_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
        batch_op.create_index('ix_delivery_status_available_at', ['status', 'available_at'], unique=False)
        batch_op.create_index('ix_delivery_recipient_chat_id_status', ['recipient_chat_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_recipient_chat_id_status')
        batch_op.drop_index('ix_delivery_status_available_at')
        batch_op.drop_column('telegram_message_id')
        batch_op.drop_column('reason')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('available_at')

    op.drop_table('workerheartbeat')
    op.drop_table('plannercursor')
    with op.batch_alter_table('inboundupdate', schema=None) as batch_op:
        batch_op.drop_index('ix_inboundupdate_status_claimed_at')

    op.drop_table('inboundupdate')
