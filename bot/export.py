"""Everything Waypoint keeps about one client, as a document a person can read (/mydata).

Later features add their own sections here (check-ins, lessons, safety plan), so the
export stays complete as the product grows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import AuditEvent, Client, Clinician, Delivery, Program
from bot.safety_plan import SECTIONS, items_of, load_plan


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


async def export_client(session: AsyncSession, *, client: Client, now: datetime) -> dict[str, Any]:
    assert client.id is not None
    program = await session.get(Program, client.program_id)
    clinician = (
        await session.get(Clinician, client.primary_clinician_id)
        if client.primary_clinician_id
        else None
    )
    deliveries = (
        await session.exec(
            select(Delivery).where(Delivery.client_id == client.id).order_by(col(Delivery.due_at))
        )
    ).all()
    plan = await load_plan(session, client.id)
    subject = f"client:{client.id}"
    events = (
        await session.exec(
            select(AuditEvent)
            .where(or_(col(AuditEvent.subject) == subject, col(AuditEvent.actor) == subject))
            .order_by(col(AuditEvent.at))
        )
    ).all()
    return {
        "about": (
            "Everything Waypoint stores about you, made on request. Times are in UTC. "
            "Send /delete in the chat to erase it."
        ),
        "made_at": _when(now),
        "you": {
            "code": client.code,
            "status": client.status.value,
            "telegram_user_id": client.telegram_user_id,
            "telegram_chat_id": client.chat_id,
            "joined_at": _when(client.enrolled_at),
            "paused_at": _when(client.paused_at),
            "left_at": _when(client.left_at),
        },
        "settings": {
            "language": client.language,
            "time_zone": client.timezone,
            "daily_check_in_time": client.checkin_time,
            "session_reminders": client.session_reminders,
            "medication_reminders": client.medication_reminders,
        },
        "care_team": {
            "program": program.name if program else None,
            "primary_clinician": clinician.display_name if clinician else None,
            "their_private_label_for_you": client.label,
        },
        # The client's own words, one list per step (the region's help lines are added
        # from content when the plan is shown, so they are not stored or exported).
        "safety_plan": {
            **{section: items_of(plan, section) for section in SECTIONS},
            "updated_at": _when(plan.updated_at) if plan else None,
        },
        "messages_scheduled_for_you": [
            {
                "kind": d.kind,
                "due_at": _when(d.due_at),
                "status": d.status.value,
                "sent_at": _when(d.sent_at),
            }
            for d in deliveries
        ],
        "record_of_changes_and_views": [
            {"at": _when(e.at), "action": e.action, "by": e.actor} for e in events
        ],
    }
