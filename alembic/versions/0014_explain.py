"""Why an alert fired (alert.why), and clinicians' marks on the screen (screenmark).

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.sealed

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("why", bot.sealed.SealedText(), nullable=True))
    op.create_table(
        "screenmark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("client_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("text", bot.sealed.SealedText(), nullable=True),
        sa.ForeignKeyConstraint(["clinician_id"], ["clinician.id"]),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"]),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("screenmark", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screenmark_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_screenmark_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screenmark", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screenmark_at"))
        batch_op.drop_index(batch_op.f("ix_screenmark_program_id"))
    op.drop_table("screenmark")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_column("why")
