"""The client's own controls: settings, pause and resume, leave, export, delete; and what
clinicians can do with a client (discharge, pause) — end to end through the sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlmodel import select, text

from bot.content import Content
from bot.localtime import local_instant
from bot.models import AuditEvent, ClientStatus, Delivery
from tests.e2e.enrollment_steps import (
    client_row,
    invite,
    join_and_set_up,
    program_with_clinician,
)
from tests.factories import anywhere
from tests.harness import BotHarness

CLINICIAN, CLIENT, OTHER_CLINICIAN = 9201, 7201, 9202


@pytest.fixture
async def enrolled(bot: BotHarness) -> tuple[BotHarness, str]:
    """A program, its clinician, and a client who joined and set up; returns the code."""
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    code, token = await invite(rivera, "Maria, Tuesday group")
    await join_and_set_up(bot.person(CLIENT, "Alex"), token)
    return bot, code


async def _notices(bot: BotHarness) -> list[str]:
    async with bot.services.sessions() as session:
        rows = (await session.exec(select(Delivery).order_by(Delivery.id))).all()
    return [r.payload["event"] for r in rows if r.kind == "careteam_notice"]


async def test_settings_show_and_change_every_choice(
    enrolled: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = enrolled
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    (summary,) = await alex.press(pack.menu.settings)
    assert "New York" in summary.text and "8:00 pm" in summary.text
    (question,) = await alex.press(pack.account.timezone_button)
    assert question.text == pack.setup.ask_timezone
    await alex.press("Something else")
    (saved,) = await alex.send("Los Angeles")
    assert saved.text == pack.setup.saved
    await alex.send("/settings")
    await alex.press(pack.account.checkin_button)
    await alex.press("9:00 pm")
    await alex.send("/settings")
    await alex.press(pack.account.medicine_button)
    await alex.press("Yes")
    (_, saved) = await alex.press("9:00 am")  # "Yes" asks the reminder's time
    assert saved.text == pack.setup.saved
    (summary,) = await alex.send("/settings")
    assert "Los Angeles" in summary.text and "9:00 pm" in summary.text
    row = await client_row(bot.services, code)
    assert (row.timezone, row.checkin_time, row.medication_reminders) == (
        "America/Los_Angeles",
        "21:00",
        True,
    )
    assert row.medication_times == ["09:00"]
    # A change from settings asks one question, then goes back to the menu.
    assert row.setup_step is None


async def test_pause_and_resume_and_the_care_team_sees_both(
    enrolled: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = enrolled
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    (paused,) = await alex.send("/pause")
    assert paused.text == pack.account.paused
    assert (await client_row(bot.services, code)).status is ClientStatus.paused
    (again,) = await alex.send("/pause")
    assert again.text == pack.account.already_paused
    (resumed,) = await alex.send("/resume")
    assert resumed.text == pack.account.resumed
    assert (await client_row(bot.services, code)).status is ClientStatus.active
    assert await _notices(bot) == ["joined", "paused", "resumed"]


async def test_stop_asks_first_then_leaves_and_tells_the_care_team(
    enrolled: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = enrolled
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    (confirm,) = await alex.send("/stop")
    assert confirm.text == pack.account.stop_confirm
    (stay,) = await alex.press(pack.account.stop_no)
    assert stay.text == pack.account.stop_cancelled
    assert (await client_row(bot.services, code)).status is ClientStatus.active
    await alex.send("/stop")
    (left,) = await alex.press(pack.account.stop_yes)
    assert left.text == pack.account.stopped
    row = await client_row(bot.services, code)
    assert row.status is ClientStatus.discharged and row.left_at is not None
    assert await _notices(bot) == ["joined", "left"]
    # From now on the client is answered as someone without an invitation.
    (hello,) = await alex.send("/start")
    assert hello.text == pack.ui.welcome


async def test_mydata_sends_everything_stored_as_readable_json(
    enrolled: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = enrolled
    alex = bot.person(CLIENT, "Alex")
    (document,) = await alex.send("/mydata")
    assert document.document is not None and document.protect_content
    assert document.document["file_name"] == "waypoint-my-data.json"
    assert document.caption == content.language("en").account.mydata_caption
    data = json.loads(await bot.sandbox.download(document.document["file_id"]))
    assert data["you"]["code"] == code
    assert data["you"]["telegram_user_id"] == CLIENT
    assert data["you"]["status"] == "active"
    assert data["settings"] == {
        "language": "en",
        "time_zone": "America/New_York",
        "daily_check_in_time": "20:00",
        "session_reminders": True,
        "medication_reminders": False,
        "medication_reminder_times": [],
        "check_in_days": "every day",
    }
    assert data["you"]["care_stage"] == "iop"
    assert data["sessions"] == {
        "your_own_sessions": [],
        "aftercare_groups_you_were_named_for": [],
        "your_answers_and_attendance": [],
        "flags_raised_for_your_care_team": [],
    }
    assert data["medication_reminder_answers"] == []
    assert set(data["aftercare_plan"].values()) == {None}
    assert data["care_team"]["their_private_label_for_you"] == "Maria, Tuesday group"
    assert [e["action"] for e in data["record_of_changes_and_views"]][:2] == [
        "client_invited",
        "client_consented",
    ]


async def test_delete_erases_every_trace_and_the_client_becomes_unknown(
    enrolled: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = enrolled
    pack = content.language("en")
    alex = bot.person(CLIENT, "Alex")
    row = await client_row(bot.services, code)
    await alex.send("/pause")  # more rows about the client: an audit entry, a notice
    (confirm,) = await alex.send("/delete")
    assert confirm.text == pack.account.delete_confirm
    (kept,) = await alex.press(pack.account.delete_no)
    assert kept.text == pack.account.delete_cancelled
    await alex.send("/delete")
    (gone,) = await alex.press(pack.account.delete_yes)
    assert gone.text == pack.account.deleted

    # Every table, every column: no Telegram id, no label, no row pointing at the client.
    for value in (CLIENT, "Maria, Tuesday group", f"client:{row.id}"):
        assert await anywhere(bot.services, value) == [], value
    async with bot.services.engine.connect() as connection:
        for table, column in await connection.run_sync(_client_fk_columns):
            count = (
                await connection.execute(
                    text(f'SELECT COUNT(*) FROM "{table}" WHERE "{column}" = :id'), {"id": row.id}
                )
            ).scalar_one()
            assert count == 0, f"{table}.{column} still points at the client"
    # The pseudonym is kept only in the notice that tells the clinician who left.
    assert set(await anywhere(bot.services, code)) == {"delivery.payload", "delivery.dedupe_key"}
    assert (await _notices(bot))[-1] == "deleted"
    async with bot.services.sessions() as session:
        audit = (await session.exec(select(AuditEvent))).all()
    assert "client_data_deleted" in [a.action for a in audit]
    # Later messages are answered as from someone unknown; the buttons are dead.
    (hello,) = await alex.send("/start")
    assert hello.text == pack.ui.welcome
    assert await alex.press_data("del:y", gone.message_id) == []


async def test_the_clinician_sees_the_caseload_and_can_discharge_and_pause(
    enrolled: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = enrolled
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    (listing,) = await rivera.send("/clients")
    assert f"{code} · active · Maria, Tuesday group" in listing.text
    assert listing.protect_content
    (paused,) = await rivera.send(f"/pause {code.lower().replace('-', '')}")
    assert paused.text.startswith(f"{code} is paused")
    alex_messages = await bot.sandbox.messages(CLIENT)
    assert alex_messages[-1].text == pack.account.paused_by_team
    assert (await client_row(bot.services, code)).status is ClientStatus.paused
    (usage,) = await rivera.send("/discharge")
    assert "/discharge K7Q-2" in usage.text
    (unknown,) = await rivera.send("/discharge AAA-2")
    assert "no client AAA-2" in unknown.text
    (done,) = await rivera.send(f"/discharge {code}")
    assert done.text.startswith(f"{code} is discharged")
    assert (await bot.sandbox.messages(CLIENT))[-1].text == pack.account.discharged_by_team
    assert (await client_row(bot.services, code)).status is ClientStatus.discharged


async def test_a_clinician_cannot_act_on_another_clinicians_client(
    enrolled: tuple[BotHarness, str], content: Content
) -> None:
    bot, code = enrolled
    from tests.e2e.enrollment_steps import admin, token_in

    status, out, err = await admin(
        bot,
        "clinician",
        "invite",
        "--program",
        "Riverside IOP",
        "--role",
        "clinician",
        "--name",
        "Dr. Chen",
    )
    assert status == 0, err
    chen = bot.person(OTHER_CLINICIAN, "Dr. Chen")
    await chen.send(f"/start {token_in(out)}")
    (listing,) = await chen.send("/clients")
    assert listing.text == content.language("en").staff.clients_empty
    (refused,) = await chen.send(f"/discharge {code}")
    assert f"no client {code}" in refused.text
    assert (await client_row(bot.services, code)).status is ClientStatus.active


async def test_an_unreachable_client_who_writes_again_is_reachable(
    enrolled: tuple[BotHarness, str],
) -> None:
    bot, code = enrolled
    row = await client_row(bot.services, code)
    async with bot.services.sessions() as session:
        row.status = ClientStatus.unreachable
        session.add(row)
        await session.commit()
    await bot.person(CLIENT, "Alex").send("/start")
    assert (await client_row(bot.services, code)).status is ClientStatus.active
    assert (await _notices(bot))[-1] == "reachable"


@pytest.mark.parametrize(
    ("last_heard", "noted"), [(timedelta(days=3), True), (timedelta(minutes=10), False)]
)
async def test_a_client_who_writes_is_noted_as_heard_from(
    enrolled: tuple[BotHarness, str], last_heard: timedelta, noted: bool
) -> None:
    """The digest's "quiet for N days" reads when a client last wrote; it is written at
    most hourly, once the update is handled."""
    bot, code = enrolled
    earlier = datetime.now(UTC) - last_heard
    row = await client_row(bot.services, code)
    async with bot.services.sessions() as session:
        row.last_contact_at = earlier
        session.add(row)
        await session.commit()
    await bot.person(CLIENT, "Alex").send("hello")
    heard = (await client_row(bot.services, code)).last_contact_at
    assert heard is not None
    if noted:
        assert datetime.now(UTC) - heard < timedelta(minutes=1)
    else:
        assert heard == earlier


async def test_media_and_edits_during_set_up_get_calm_answers(
    bot: BotHarness, content: Content
) -> None:
    pack = content.language("en")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await program_with_clinician(bot, rivera)
    code, token = await invite(rivera)
    alex = bot.person(CLIENT, "Alex")
    shown = await alex.send(f"/start {token}")
    await alex.press("I'm 18+ and I agree", shown[-1])
    for send in (alex.send_sticker, alex.send_photo, alex.send_voice):
        (reply,) = await send()
        assert reply.text == pack.ui.unsupported_message
    # An edited message is not a new request: no answer, nothing changes.
    assert await alex.edit(shown[0].message_id - 1, "/start again") == []
    assert (await client_row(bot.services, code)).setup_step == "language"


def test_a_check_in_time_maps_to_the_right_utc_instant_across_daylight_saving() -> None:
    """20:00 in New York is 01:00 UTC in winter and 00:00 UTC in summer, on each side of
    both 2026 changes (8 March and 1 November)."""
    at = time(20)
    assert local_instant(datetime(2026, 3, 7).date(), at, "America/New_York") == datetime(
        2026, 3, 8, 1, tzinfo=UTC
    )
    assert local_instant(datetime(2026, 3, 8).date(), at, "America/New_York") == datetime(
        2026, 3, 9, 0, tzinfo=UTC
    )
    assert local_instant(datetime(2026, 10, 31).date(), at, "America/New_York") == datetime(
        2026, 11, 1, 0, tzinfo=UTC
    )
    assert local_instant(datetime(2026, 11, 1).date(), at, "America/New_York") == datetime(
        2026, 11, 2, 1, tzinfo=UTC
    )


def _client_fk_columns(connection: object) -> list[tuple[str, str]]:
    inspector = sa_inspect(connection)
    return [
        (table, fk["constrained_columns"][0])
        for table in inspector.get_table_names()
        for fk in inspector.get_foreign_keys(table)
        if fk["referred_table"] == "client"
    ]
