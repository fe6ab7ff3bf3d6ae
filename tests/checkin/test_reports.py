"""What the client and the care team see of check-ins over time: /progress as a chart,
the digest's section and caseload chart for a seeded week, and /client."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from PIL import Image
from sqlmodel import select

from bot.db import session_scope
from bot.features.delivery import build_engine
from bot.models import CravingMoment, Program, Screening
from bot.scheduling.clock import ManualClock
from tests.checkin.conftest import Care
from tests.e2e.test_digest import _next_local, _plain


async def _png(care: Care, message: object) -> Image.Image:
    photo = message.photo  # type: ignore[attr-defined]
    data = await care.bot.sandbox.download(photo["file_id"])
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes the whole image: a broken PNG raises here
    return image


async def test_progress_with_no_check_ins_says_so(care: Care) -> None:
    (reply,) = await care.alex.send("/progress")
    assert care.texts.progress_empty in (reply.text or "")


async def test_progress_sends_a_decodable_chart_of_14_days_with_a_summary(care: Care) -> None:
    for days_ago, craving, mood in ((12, 7, 3), (9, 6, 4), (5, 4, 6), (2, 3, 7), (1, 2, 8)):
        await care.seed(
            days_ago,
            craving=craving,
            mood=mood,
            confidence=6,
            sleep_hours="from_6_to_8",
            use="no",
        )
    reply, lessons = await care.alex.send("/progress")
    assert care.texts.progress_empty not in (lessons.text or "")
    image = await _png(care, reply)
    assert image.format == "PNG" and image.size == (800, 450)
    assert reply.photo["width"] == 800 and reply.photo["height"] == 450
    assert reply.caption == ("Last 14 days: 5 check-ins, urge going down, mood going up.")
    assert reply.protect_content


async def test_the_digest_has_a_check_in_section_and_a_caseload_chart(care: Care) -> None:
    # A seeded week: five check-ins, two short nights, one use day, boredom twice.
    week = [
        (6, {"craving": 2, "mood": 6, "sleep_hours": "from_6_to_8", "triggers": "boredom",
             "use": "no", "support": "yes", "confidence": 7}),
        (5, {"craving": 4, "mood": 5, "sleep_hours": "from_4_to_6", "triggers": "boredom,people",
             "use": "no", "support": "no", "confidence": 6}),
        (3, {"craving": 6, "mood": 4, "sleep_hours": "under_4", "triggers": "stress",
             "use": "yes", "substances": "alcohol", "support": "yes", "confidence": 5}),
        (2, {"craving": 8, "mood": 4, "sleep_hours": "from_6_to_8", "use": "no",
             "support": "yes", "confidence": 5}),
        (1, {"craving": 5, "mood": 6, "sleep_hours": "over_8", "use": "no", "support": "no",
             "confidence": 6, "medicine": "missed"}),
    ]  # fmt: skip
    async with care.bot.services.sessions() as session:
        program = (await session.exec(select(Program))).one()
    clock = ManualClock(_next_local(program.timezone, program.digest_times[0]))
    # Days before the digest's own day (it may be tomorrow morning).
    digest_day = clock.now().astimezone(ZoneInfo(program.timezone)).date()
    shift = (digest_day - await care.today()).days
    for days_before, answers in week:
        await care.seed(days_before - shift, **answers)  # type: ignore[arg-type]
    async with session_scope(care.bot.services.sessions) as session:
        session.add(
            Screening(
                client_id=care.client.id or 0,
                kind="bam",
                local_date=await care.today() - timedelta(days=2),
                answers={},
                result={"use": 2, "risk": 11, "protective": 14},
                completed_at=datetime.now(UTC) - timedelta(days=2),
            )
        )
    async with care.bot.services.sessions() as session:
        assert not (await session.exec(select(CravingMoment))).all()
    engine = build_engine(care.bot.services, care.bot.application.bot, clock=clock)
    await engine.tick()
    await engine.wait_idle()
    for _ in range(4):  # one message a second per chat
        clock.set(clock.now() + timedelta(seconds=2))
        await engine.run_once()
    messages = await care.rivera.messages()
    (digest,) = [m for m in messages if "Waypoint digest" in (m.text or "")]
    text = _plain(digest.text)
    assert "Check-ins, last 7 days" in text
    line = next(x for x in text.splitlines() if x.startswith(f"{care.client.code}:"))
    assert line.startswith(f"{care.client.code}: 5/7 done · urge mean 5, max 8")
    assert "mood mean 5, lowest 4" in line
    assert "use days: 1" in line and "support days: 3" in line
    assert "nights under 6 h: 2" in line
    assert "Boredom (2)" in line
    assert "medicine missed: 1" in line
    assert "weekly check-in: use 2, risk 11, protective 14" in line
    assert "max 8" in line
    (chart,) = [m for m in messages if m.photo is not None]
    image = await _png(care, chart)
    assert image.format == "PNG" and image.size[0] >= 200
    assert chart.caption and care.client.code not in chart.caption
    assert chart.protect_content


async def test_client_view_shows_the_chart_and_last_check_ins_and_is_audited(care: Care) -> None:
    await care.seed(1, craving=3, mood=6, sleep_hours="from_6_to_8", use="no", note="tired")
    out = await care.rivera.send(f"/client {care.client.code}")
    photos = [m for m in out if m.photo is not None]
    assert len(photos) == 1 and (await _png(care, photos[0])).size == (800, 450)
    (listing,) = [m for m in out if m.text and "Check-ins" in m.text]
    assert "urge 3 · mood 6 · sleep ~7 h" in _plain(listing.text)
    assert "note: tired" in _plain(listing.text)
    # A stranger cannot see it.
    stranger = care.bot.person(5550499, "Sam")
    out = await stranger.send(f"/client {care.client.code}")
    assert all("Check-ins" not in (m.text or "") for m in out)
