"""The client's safety plan: one row per client, the six steps sealed at rest.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel types without importing them
from alembic import op

import bot.sealed

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "safetyplan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("warning_signs", bot.sealed.SealedText(), nullable=True),
        sa.Column("coping_alone", bot.sealed.SealedText(), nullable=True),
        sa.Column("distractions", bot.sealed.SealedText(), nullable=True),
        sa.Column("help_people", bot.sealed.SealedText(), nullable=True),
        sa.Column("professionals", bot.sealed.SealedText(), nullable=True),
        sa.Column("safer_space", bot.sealed.SealedText(), nullable=True),
        sa.Column(
            "editing_section", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True
        ),
        sa.Column("step_by_step", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("last_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_safetyplan_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safetyplan")),
        sa.UniqueConstraint("client_id", name=op.f("uq_safetyplan_client_id")),
    )


def downgrade() -> None:
    op.drop_table("safetyplan")
