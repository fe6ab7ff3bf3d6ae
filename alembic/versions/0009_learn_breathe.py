"""Learn and Breathe: lesson progress, clinicians' lesson choices, practice settings, the
program's lesson setting, and guided practice runs with their ratings.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel types without importing them
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programlessons",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("mental_health_only", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_programlessons_program_id_program")
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_programlessons")),
    )
    op.create_table(
        "exerciserun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("exercise", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("variant", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "rating_before",
                "running",
                "rating_after",
                "finished",
                "ended",
                name="runstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("next_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("before", sa.Integer(), nullable=True),
        sa.Column("after", sa.Integer(), nullable=True),
        sa.Column("stopped_early", sa.Boolean(), nullable=False),
        sa.Column("interrupted", sa.Boolean(), nullable=False),
        sa.Column("distress_rose", sa.Boolean(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_exerciserun_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exerciserun")),
    )
    with op.batch_alter_table("exerciserun", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exerciserun_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exerciserun_started_at"), ["started_at"], unique=False)
        batch_op.create_index("ix_exerciserun_status_next_at", ["status", "next_at"], unique=False)

    op.create_table(
        "lessonoverride",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("module", sa.Integer(), nullable=False),
        sa.Column(
            "access",
            sa.Enum(
                "assigned", "unlocked", "hidden", name="lessonaccess", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("clinician_id", sa.Integer(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_lessonoverride_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["clinician.id"],
            name=op.f("fk_lessonoverride_clinician_id_clinician"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessonoverride")),
        sa.UniqueConstraint("client_id", "module", name=op.f("uq_lessonoverride_client_id_module")),
    )
    with op.batch_alter_table("lessonoverride", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lessonoverride_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "lessonprogress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("module", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("completed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_lessonprogress_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessonprogress")),
        sa.UniqueConstraint("client_id", "module", name=op.f("uq_lessonprogress_client_id_module")),
    )
    with op.batch_alter_table("lessonprogress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lessonprogress_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "practicesettings",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("no_breath_holds", sa.Boolean(), nullable=False),
        sa.Column("no_long_inward", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_practicesettings_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["clinician.id"], name=op.f("fk_practicesettings_updated_by_clinician")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_practicesettings")),
    )


def downgrade() -> None:
    op.drop_table("practicesettings")
    with op.batch_alter_table("lessonprogress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lessonprogress_client_id"))

    op.drop_table("lessonprogress")
    with op.batch_alter_table("lessonoverride", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lessonoverride_client_id"))

    op.drop_table("lessonoverride")
    with op.batch_alter_table("exerciserun", schema=None) as batch_op:
        batch_op.drop_index("ix_exerciserun_status_next_at")
        batch_op.drop_index(batch_op.f("ix_exerciserun_started_at"))
        batch_op.drop_index(batch_op.f("ix_exerciserun_client_id"))

    op.drop_table("exerciserun")
    op.drop_table("programlessons")
