"""Alerts that cannot be mistaken: ids never reused, a token on every alert button, and
what grouping repeated messages into an open alert needs.

SQLite reuses the id of a deleted last row unless the table is AUTOINCREMENT, so a stale
button could name another client's alert. AUTOINCREMENT cannot be added by ALTER: the
tables whose ids buttons name are rebuilt (batch mode copies them; `bot.db.upgrade` turns
foreign keys off for the run and checks them before committing). PostgreSQL sequences
never reuse ids, so there only the columns are added.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.sealed

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Parents before children does not matter with foreign keys off; alphabetical for reading.
REBUILT = ("alert", "client", "clinician", "delivery", "sessionseries")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in REBUILT:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "token",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("client_replied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("client_acked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("alertaction", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", bot.sealed.SealedText(), nullable=True))
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
    with op.batch_alter_table("alertaction", schema=None) as batch_op:
        batch_op.drop_column("detail")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_column("client_acked_at")
        batch_op.drop_column("client_replied_at")
        batch_op.drop_column("token")
