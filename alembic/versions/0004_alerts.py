"""Alerts to the care team, the presses on them, and escalation settings.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel types without importing them
from alembic import op

import bot.sealed

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column(
            "tier",
            sa.Enum("urgent", "same_day", name="alerttier", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("evidence", bot.sealed.SealedText(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("raised_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("high_priority", sa.Boolean(), nullable=False),
        sa.Column("acknowledged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolution_note", bot.sealed.SealedText(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_alert_client_id_client")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_alert_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_raised_at"), ["raised_at"], unique=False)

    op.create_table(
        "alertaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alertaction_alert_id_alert")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["clinician.id"], name=op.f("fk_alertaction_clinician_id_clinician")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alertaction")),
    )
    with op.batch_alter_table("alertaction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alertaction_alert_id"), ["alert_id"], unique=False)

    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalate_after_minutes", sa.Integer(), nullable=False, server_default="15")
        )
    with op.batch_alter_table("clinician", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note_for_alert_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clinician", schema=None) as batch_op:
        batch_op.drop_column("note_for_alert_id")
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("escalate_after_minutes")
    with op.batch_alter_table("alertaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alertaction_alert_id"))
    op.drop_table("alertaction")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_raised_at"))
        batch_op.drop_index(batch_op.f("ix_alert_program_id"))
        batch_op.drop_index(batch_op.f("ix_alert_client_id"))
    op.drop_table("alert")
