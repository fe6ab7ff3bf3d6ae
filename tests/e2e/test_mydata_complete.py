"""/mydata holds everything stored about a client (issue 16, defect 15): their safety
alerts with what was quoted and what the team did, craving moments, check-in flags, and
the medication reminder's real times; and every table with a client id is exported."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import SQLModel, select

import bot.models as models
from bot.content import Content
from bot.db import session_scope
from bot.export import export_client
from bot.features.delivery import build_engine, delivery_engine
from bot.models import (
    AlertTier,
    CheckIn,
    CheckinFlag,
    Client,
    CravingMoment,
    LessonAccess,
    SessionAudience,
)
from bot.scheduling.clock import ManualClock
from bot.services import Services
from tests.e2e.conftest import CLIENT, CLINICIAN
from tests.e2e.enrollment_steps import client_row
from tests.factories import add_client, add_program
from tests.harness import BotHarness

URGENT = "i want to kill myself tonight"


async def _my_data(bot: BotHarness) -> dict[str, Any]:
    (document,) = await bot.person(CLIENT, "Alex").send("/mydata")
    assert document.document is not None
    return json.loads(await bot.sandbox.download(document.document["file_id"]))


async def test_mydata_has_the_alerts_cravings_flags_and_reminder_times(
    team: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = team
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    await alex.send(URGENT)
    await delivery_engine(bot.application).wait_idle()
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=1))
    await build_engine(bot.services, bot.application.bot, clock=clock).run_once()
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    detail = (await bot.sandbox.messages(CLINICIAN))[-1]
    await rivera.press("Acknowledge", detail)
    await rivera.press("Resolved", detail)
    await rivera.send("Called her; her sister is with her tonight.")
    # The medicine reminder turned on in settings, at two times of the client's.
    await alex.send("/settings")
    await alex.press(pack.account.medicine_button)
    await alex.press("Yes")
    row = await client_row(bot.services, code)
    assert row.id is not None and row.medication_reminders
    at = datetime(2026, 3, 10, 20, 5, tzinfo=UTC)
    async with session_scope(bot.services.sessions) as session:
        client = await session.get(Client, row.id)
        assert client is not None
        client.medication_times = ["21:00", "08:30"]
        checkin = CheckIn(client_id=row.id, local_date=date(2026, 3, 10), craving=8)
        session.add(checkin)
        await session.flush()
        assert checkin.id is not None
        session.add(CravingMoment(client_id=row.id, checkin_id=checkin.id, at=at, craving=8))
        session.add(CheckinFlag(client_id=row.id, key="craving:2026-03-10", raised_at=at))

    data = await _my_data(bot)
    assert data["settings"]["medication_reminders"] is True
    assert data["settings"]["medication_reminder_times"] == ["08:30", "21:00"]
    (alert,) = data["safety_alerts"]
    assert alert["level"] == "urgent" and alert["about"] == "suicidal_ideation"
    assert alert["what_was_quoted"] == URGENT
    assert [(a["action"], a["by"]) for a in alert["care_team_actions"]] == [
        ("acknowledged", "Dr. Rivera"),
        ("resolved", "Dr. Rivera"),
    ]
    assert alert["resolution_note"] == "Called her; her sister is with her tonight."
    assert alert["resolved_at"] is not None
    assert data["craving_moments"] == [{"at": "2026-03-10T20:05:00+00:00", "craving": 8}]
    (flag,) = data["check_in_flags_for_your_care_team"]
    assert flag["about"] == "craving" and flag["raised_at"] == "2026-03-10T20:05:00+00:00"


# One row per table that has a client id, built for the client `c` (its id) in program
# `p`. A new table with a client id must be added here, and to the export.
Builder = Callable[[Any, int, int], Awaitable[SQLModel]]
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def _parent(session: Any, row: SQLModel) -> Any:
    session.add(row)
    await session.flush()
    return row.id  # type: ignore[attr-defined]


async def _checkin(session: Any, c: int, p: int) -> SQLModel:
    return models.CheckIn(client_id=c, local_date=date(2026, 3, 9), mood=4)


async def _craving(session: Any, c: int, p: int) -> SQLModel:
    checkin = await _parent(session, models.CheckIn(client_id=c, local_date=date(2026, 3, 8)))
    return models.CravingMoment(client_id=c, checkin_id=checkin, at=NOW, craving=6)


async def _series(p: int, c: int | None = None) -> SQLModel:
    return models.SessionSeries(
        program_id=p,
        title="Group",
        audience=SessionAudience.client if c else SessionAudience.program,
        client_id=c,
        timezone="UTC",
        starts_on=date(2026, 3, 12),
        start_time="18:00",
        created_by="admin-cli",
    )


async def _member(session: Any, c: int, p: int) -> SQLModel:
    series = await _parent(session, await _series(p))
    return models.SessionMember(series_id=series, client_id=c)


async def _attendance(session: Any, c: int, p: int) -> SQLModel:
    series = await _parent(session, await _series(p))
    return models.SessionAttendance(
        series_id=series, client_id=c, occurrence="20260312T1800", starts_at=NOW, rsvp="going"
    )


async def _alert(session: Any, c: int, p: int) -> SQLModel:
    return models.Alert(
        program_id=p,
        client_id=c,
        tier=AlertTier.same_day,
        category="use",
        rule="r",
        evidence="a drink last night",
    )


BUILDERS: dict[str, Builder] = {
    "aftercareplan": lambda s, c, p: _value(models.AftercarePlan(client_id=c, therapy="weekly")),
    "alert": _alert,
    "checkin": _checkin,
    "checkinflag": lambda s, c, p: _value(models.CheckinFlag(client_id=c, key="mood:2026-03-10")),
    "cravingmoment": _craving,
    "careflag": lambda s, c, p: _value(models.CareFlag(client_id=c, key="absent:1")),
    "delivery": lambda s, c, p: _value(
        models.Delivery(
            kind="checkin", recipient_chat_id=1, client_id=c, due_at=NOW, dedupe_key="k"
        )
    ),
    "exerciserun": lambda s, c, p: _value(
        models.ExerciseRun(client_id=c, exercise="box", variant="short")
    ),
    "invitation": lambda s, c, p: _value(
        models.Invitation(
            program_id=p,
            purpose=models.InvitePurpose.client,
            client_id=c,
            token_hash="0" * 64,
            created_by="clinician:1",
            expires_at=NOW,
        )
    ),
    "lessonoverride": lambda s, c, p: _value(
        models.LessonOverride(client_id=c, module=3, access=LessonAccess.assigned)
    ),
    "lessonprogress": lambda s, c, p: _value(models.LessonProgress(client_id=c, module=2)),
    "medicationanswer": lambda s, c, p: _value(
        models.MedicationAnswer(
            client_id=c, local_date=date(2026, 3, 10), slot="09:00", answer="taken", answered_at=NOW
        )
    ),
    "practicesettings": lambda s, c, p: _value(
        models.PracticeSettings(client_id=c, no_breath_holds=True)
    ),
    "recentmessage": lambda s, c, p: _value(
        models.RecentMessage(client_id=c, message_id=5, text="so tired", sent_at=NOW)
    ),
    "safetyplan": lambda s, c, p: _value(models.SafetyPlan(client_id=c)),
    "screening": lambda s, c, p: _value(
        models.Screening(client_id=c, kind="asq", local_date=date(2026, 3, 10))
    ),
    "sessionattendance": _attendance,
    "sessionmember": _member,
    "sessionseries": lambda s, c, p: _series(p, c),
    "unsurequestion": lambda s, c, p: _value(
        models.UnsureQuestion(
            client_id=c,
            message_id=5,
            token="ab12cd34",
            question="suicide",
            category="suicidal_ideation",
            asked_at=NOW,
        )
    ),
}


async def _value(row: SQLModel) -> SQLModel:
    return row


def _client_tables() -> list[str]:
    return [t.name for t in SQLModel.metadata.sorted_tables if "client_id" in t.c]


async def _export(svc: Services, client_id: int) -> str:
    async with svc.sessions() as session:
        client = await session.get(Client, client_id)
        assert client is not None
        document = await export_client(session, client=client, now=NOW)
    return json.dumps(document, sort_keys=True, default=str)


async def test_every_table_with_a_client_id_is_in_the_export(services: Services) -> None:
    program = await add_program(services)
    client = await add_client(services, program, telegram_user_id=7777)
    assert client.id is not None and program.id is not None
    tables = _client_tables()
    missing = sorted(set(tables) - set(BUILDERS))
    assert missing == [], f"tables with a client id that this test (and /mydata) miss: {missing}"
    for table in tables:
        before = await _export(services, client.id)
        async with session_scope(services.sessions) as session:
            session.add(await BUILDERS[table](session, client.id, program.id))
        after = await _export(services, client.id)
        assert after != before, f"a {table} row about the client is not in /mydata"
    async with services.sessions() as session:
        assert (await session.exec(select(models.SafetyPlan))).all()
