"""The conversation the safety screen reads (a client's messages of the last 30 minutes,
sealed, deleted after 30 minutes) and the question asked when the screen is unsure.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # autogenerate writes sqlmodel types without importing them
from alembic import op

import bot.sealed

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recentmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("text", bot.sealed.SealedText(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_recentmessage_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recentmessage")),
    )
    with op.batch_alter_table("recentmessage", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recentmessage_client_id_sent_at", ["client_id", "sent_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_recentmessage_sent_at"), ["sent_at"], unique=False)

    op.create_table(
        "unsurequestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("evidence", bot.sealed.SealedText(), nullable=True),
        sa.Column("asked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_unsurequestion_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unsurequestion")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("unsurequestion", schema=None) as batch_op:
        batch_op.create_index(
            "ix_unsurequestion_answer_asked_at", ["answer", "asked_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_unsurequestion_client_id"), ["client_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("unsurequestion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unsurequestion_client_id"))
        batch_op.drop_index("ix_unsurequestion_answer_asked_at")

    op.drop_table("unsurequestion")
    with op.batch_alter_table("recentmessage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recentmessage_sent_at"))
        batch_op.drop_index("ix_recentmessage_client_id_sent_at")

    op.drop_table("recentmessage")
