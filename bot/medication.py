"""Daily (medication) reminders: opt-in, neutral, answered Taken · Later · Skip.

No Telegram here. The reminder says only "Daily reminder ✓" (SPEC §4: never the
medicine). Reminders are planned like check-ins, one row per local date and time under
`med:{client}:{date}:{HH:MM}`; "Later" queues one more, 30 minutes on, under the same key
plus ":later" (so only once). The answers feed the check-in's D6 item
(`medicine_answer`, `has_medication_reminders`) so the client is not asked twice, and two
days running without "Taken" raise one same-day flag (SPEC §5.1 Tier 1).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import Finding
from bot.content import Content
from bot.models import (
    AlertTier,
    CareFlag,
    Client,
    ClientStatus,
    Delivery,
    DeliveryStatus,
    MedicationAnswer,
    Program,
)
from bot.scheduling.kinds import Kind, Rule, register_kind
from bot.scheduling.local_times import daily_slots, end_of_local_day, local_date_of
from bot.scheduling.planner import insert_new, register_plan_step
from bot.scheduling.rendering import (
    Button,
    DueDelivery,
    Outgoing,
    RenderContext,
    Skip,
    register_renderer,
)

MED_REMINDER = register_kind(Kind("med_reminder", Rule.at_most_once, grace=timedelta(hours=2)))
DEFAULT_TIME = "09:00"
SNOOZE = timedelta(minutes=30)
ANSWERS = {"t": "taken", "l": "later", "s": "skipped"}
MAX_TIMES = 4


def times_of(client: Client) -> list[str]:
    return sorted(set(client.medication_times or [])) or [DEFAULT_TIME]


def reminder_key(client_id: int, local_date: date, slot: str) -> str:
    return f"med:{client_id}:{local_date.isoformat()}:{slot}"


def _zone(client: Client, program: Program | None) -> str:
    return client.timezone or (program.timezone if program else "UTC")


# --- for the daily check-in (D6) ---------------------------------------------------------


async def has_medication_reminders(session: AsyncSession, client_id: int) -> bool:
    """Whether the client has opted in to daily reminders (then D6 is not asked)."""
    client = await session.get(Client, client_id)
    return bool(client is not None and client.medication_reminders)


async def medicine_answer(session: AsyncSession, client_id: int, local_date: date) -> str | None:
    """The client's day by their reminder answers: "taken" (every reminder of the day
    answered Taken), "skipped" (Skip pressed on one), "missed" (a reminder sent and not
    answered Taken or Skip, "Later" included), or None (no reminder was sent that day)."""
    prefix = f"med:{client_id}:{local_date.isoformat()}:"
    sent = (
        await session.exec(
            select(Delivery.dedupe_key).where(
                Delivery.kind == MED_REMINDER.name,
                col(Delivery.dedupe_key).startswith(prefix),
                col(Delivery.status).in_([DeliveryStatus.sent, DeliveryStatus.sending]),
            )
        )
    ).all()
    slots = {key.removeprefix(prefix).removesuffix(":later") for key in sent}
    if not slots:
        return None
    answers = {
        a.slot: a.answer
        for a in (
            await session.exec(
                select(MedicationAnswer).where(
                    MedicationAnswer.client_id == client_id,
                    MedicationAnswer.local_date == local_date,
                )
            )
        ).all()
    }
    if any(answers.get(slot) == "skipped" for slot in slots):
        return "skipped"
    if all(answers.get(slot) == "taken" for slot in slots):
        return "taken"
    return "missed"


# --- planning and sending ------------------------------------------------------------------


async def plan_medication_reminders(
    engine: AsyncEngine, start: datetime, end: datetime, now: datetime, content: Content | None
) -> dict[str, int]:
    """A planner step: the daily reminders due in [start, end); then, for clients whose
    local day ended in the window, the missed-two-days check."""
    rows: list[dict[str, Any]] = []
    ended: list[tuple[Client, date]] = []
    async with AsyncSession(engine, expire_on_commit=False) as session:
        clients = (
            await session.exec(
                select(Client).where(
                    col(Client.medication_reminders).is_(True),
                    Client.status == ClientStatus.active,
                    col(Client.chat_id).is_not(None),
                )
            )
        ).all()
        programs: dict[int, Program | None] = {}
        for client in clients:
            assert client.id is not None and client.chat_id is not None
            if client.program_id not in programs:
                programs[client.program_id] = await session.get(Program, client.program_id)
            zone = _zone(client, programs[client.program_id])
            for hhmm in times_of(client):
                try:
                    slots = daily_slots(zone, hhmm, start, end)
                except (ValueError, KeyError):
                    continue
                for slot in slots:
                    rows.append(
                        {
                            "kind": MED_REMINDER.name,
                            "recipient_chat_id": client.chat_id,
                            "client_id": client.id,
                            "due_at": slot.at,
                            "available_at": slot.at,
                            "expires_at": end_of_local_day(zone, slot.local_date),
                            "payload": {"local_date": slot.local_date.isoformat(), "slot": hhmm},
                            "status": DeliveryStatus.pending.value,
                            "attempts": 0,
                            "dedupe_key": reminder_key(client.id, slot.local_date, hhmm),
                            "created_at": now,
                        }
                    )
            for midnight in daily_slots(zone, "00:00", start, end):
                ended.append((client, midnight.local_date - timedelta(days=1)))
    created = 0
    if rows:
        async with engine.begin() as connection:
            created = await insert_new(connection, rows)
    if ended and content is not None:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            for client, day in ended:
                await check_missed(session, content=content, client=client, day=day, now=now)
            await session.commit()
    return {MED_REMINDER.name: created} if created else {}


async def check_missed(
    session: AsyncSession, *, content: Content, client: Client, day: date, now: datetime
) -> bool:
    """Flag once when `day` and the day before both went without "Taken" (a run of
    missed days raises one flag, not one a day). True when a flag was raised now."""
    from bot.sessions import raise_once

    assert client.id is not None
    before = day - timedelta(days=1)
    for d in (day, before):
        if await medicine_answer(session, client.id, d) not in ("missed", "skipped"):
            return False
    earlier = await session.exec(
        select(CareFlag.id).where(
            CareFlag.key == f"medication_missed:{client.id}:{before.isoformat()}"
        )
    )
    if earlier.first() is not None:
        # Already flagged for the run that includes yesterday: carry it on, silently.
        key_only = CareFlag(
            key=f"medication_missed:{client.id}:{day.isoformat()}", client_id=client.id, at=now
        )
        existing = await session.exec(select(CareFlag.id).where(CareFlag.key == key_only.key))
        if existing.first() is None:
            session.add(key_only)
        return False
    return await raise_once(
        session,
        content=content,
        client=client,
        key=f"medication_missed:{client.id}:{day.isoformat()}",
        finding=Finding(
            tier=AlertTier.same_day,
            category="medication_missed",
            rule="daily reminder not taken 2 days running",
            evidence=f"{before.isoformat()} and {day.isoformat()}: not marked taken",
        ),
        now=now,
        source="medication",
    )


async def render_med_reminder(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    client = ctx.client(item)
    if client is None:
        return Skip("no such client")
    if not client.medication_reminders:
        return Skip("client turned daily reminders off")
    later = item.dedupe_key.endswith(":later")
    if not later and item.payload.get("slot") not in times_of(client):
        return Skip("reminder time changed")
    local_date = item.payload.get("local_date")
    answered = (
        await ctx.session.exec(
            select(MedicationAnswer.answer).where(
                MedicationAnswer.client_id == client.id,
                MedicationAnswer.local_date == date.fromisoformat(str(local_date)),
                MedicationAnswer.slot == item.payload.get("slot"),
            )
        )
    ).first()
    if answered in ("taken", "skipped"):
        return Skip("already answered")
    texts = ctx.content.language(client.language).sessions.client
    buttons = [Button(texts.taken_button, f"md:{item.id}:t")]
    if not later:
        buttons.append(Button(texts.later_button, f"md:{item.id}:l"))
    buttons.append(Button(texts.skip_button, f"md:{item.id}:s"))
    return Outgoing(texts.daily_reminder, (tuple(buttons),))


register_renderer(MED_REMINDER.name, render_med_reminder)
register_plan_step("medication_reminders", plan_medication_reminders)


# --- answers -------------------------------------------------------------------------------


async def record_answer(
    session: AsyncSession,
    *,
    content: Content,
    client: Client,
    reminder: Delivery,
    answer: str,
    now: datetime,
) -> str:
    """Record Taken / Later / Skip for the reminder pressed; returns what happened:
    "taken", "later" (one more reminder queued), "later_used" (already snoozed once:
    treated as nothing recorded), or "skipped"."""
    assert client.id is not None
    local_date = date.fromisoformat(str(reminder.payload["local_date"]))
    slot = str(reminder.payload["slot"])
    row = (
        await session.exec(
            select(MedicationAnswer).where(
                MedicationAnswer.client_id == client.id,
                MedicationAnswer.local_date == local_date,
                MedicationAnswer.slot == slot,
            )
        )
    ).first()
    if answer == "later":
        if reminder.dedupe_key.endswith(":later") or (row is not None and row.answer == "later"):
            return "later_used"
        session.add(
            Delivery(
                kind=MED_REMINDER.name,
                recipient_chat_id=reminder.recipient_chat_id,
                client_id=client.id,
                due_at=now + SNOOZE,
                available_at=now + SNOOZE,
                # No end-of-day limit (the kind's grace still applies): a dose snoozed at
                # 23:50 still wants its nudge at 00:20.
                expires_at=None,
                payload={"local_date": local_date.isoformat(), "slot": slot},
                dedupe_key=f"{reminder_key(client.id, local_date, slot)}:later",
                created_at=now,
            )
        )
    if row is None:
        row = MedicationAnswer(
            client_id=client.id, local_date=local_date, slot=slot, answer=answer, answered_at=now
        )
        session.add(row)
    else:
        row.answer = answer
        row.answered_at = now
    await session.flush()
    if answer == "skipped":
        # Pressed Skip today after a day without Taken: flag now, not at midnight.
        await check_missed(session, content=content, client=client, day=local_date, now=now)
    return answer


def today_for(client: Client, program: Program | None, now: datetime | None = None) -> date:
    return local_date_of(_zone(client, program), now or datetime.now(UTC))


def valid_times(values: list[str]) -> list[str] | None:
    """ "9:00", "21:30" -> ["09:00", "21:30"]; None if any is not a time."""
    out = []
    for value in values:
        hour, _, minute = value.partition(":")
        if not (hour.isdigit() and minute.isdigit() and len(minute) == 2):
            return None
        if not (0 <= int(hour) < 24 and 0 <= int(minute) < 60):
            return None
        out.append(f"{int(hour):02d}:{minute}")
    return sorted(set(out))[:MAX_TIMES] if out else None
