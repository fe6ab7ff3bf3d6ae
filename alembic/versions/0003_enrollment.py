"""Enrollment: invitations, the wrong-token limit, client set-up and program hours.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel types without importing them
from alembic import op

import bot.sealed

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrollmentattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollmentattempt")),
    )
    with op.batch_alter_table("enrollmentattempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollmentattempt_sender_hash"), ["sender_hash"], unique=False
        )

    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum("client", "clinician", name="invitepurpose", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("clinician_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("declined_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_invitation_client_id_client")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["clinician.id"], name=op.f("fk_invitation_clinician_id_clinician")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_invitation_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invitation_clinician_id"), ["clinician_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invitation_program_id"), ["program_id"], unique=False)

    # Server defaults fill the rows that exist already; the models set them from then on.
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", bot.sealed.SealedText(), nullable=True))
        batch_op.add_column(
            sa.Column("setup_step", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("session_reminders", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column(
                "medication_reminders", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("paused_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("left_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("on_call_24_7", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "care_team_hours", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("care_team_hours")
        batch_op.drop_column("on_call_24_7")

    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("left_at")
        batch_op.drop_column("paused_at")
        batch_op.drop_column("medication_reminders")
        batch_op.drop_column("session_reminders")
        batch_op.drop_column("setup_step")
        batch_op.drop_column("label")

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_program_id"))
        batch_op.drop_index(batch_op.f("ix_invitation_clinician_id"))
        batch_op.drop_index(batch_op.f("ix_invitation_client_id"))
    op.drop_table("invitation")

    with op.batch_alter_table("enrollmentattempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollmentattempt_sender_hash"))
    op.drop_table("enrollmentattempt")
