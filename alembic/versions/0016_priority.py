"""Priority classes on the outbox, and the send budget shared by every worker.

`delivery.priority`: the row's priority class (bot/scheduling/priority.py), claimed by
class then due time. Existing rows get their kind's class. `send_budget`: one row per
bot, the next free send slot on the database's clock (PostgreSQL workers share it; see
bot/scheduling/send_budget.py).

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A copy of bot/scheduling/priority.KIND_CLASSES as it was: a migration never imports code
# that may change after it.
KIND_CLASSES = {
    "alert": 0,
    "alert_escalation": 0,
    "alert_unreached": 0,
    "alert_followup": 0,
    "alert_more": 0,
    "careteam_notice": 2,
    "session_notice": 2,
    "digest": 2,
    "digest_chart": 2,
    "session_reminder": 3,
    "med_reminder": 3,
    "checkin": 4,
    "checkin_nudge": 4,
    "lesson_nudge": 4,
}


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="2")
        )
        batch_op.create_index(
            "ix_delivery_status_priority_due_at", ["status", "priority", "due_at"], unique=False
        )
    delivery = sa.table("delivery", sa.column("kind", sa.String), sa.column("priority", sa.Integer))
    for kind, rank in KIND_CLASSES.items():
        op.execute(delivery.update().where(delivery.c.kind == kind).values(priority=rank))
    op.create_table(
        "send_budget",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("send_budget")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_status_priority_due_at")
        batch_op.drop_column("priority")
