"""The safety plan's rules and rendering (bot/safety_plan.py), without Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import safety_plan
from bot.content import Content, LanguagePack, render
from bot.content.schema import MESSAGE_MAX
from bot.db import make_engine, make_sessionmaker
from bot.models import Client, Program, SafetyPlan
from bot.safety_plan import (
    CODES,
    MAX_ITEM_CHARS,
    MAX_ITEMS,
    SECTIONS,
    Outcome,
    add_items,
    crisis_text,
    decode,
    encode,
    next_empty,
    pack_messages,
    plan_for,
    plan_messages,
    safety_plan_text,
    split_items,
)
from bot.sealed import configure_encryption


@pytest.fixture
def pack(content: Content) -> LanguagePack:
    return content.language("en")


def test_one_line_per_message_or_per_line_without_bullets() -> None:
    assert split_items("  Call Ana  ") == ["Call Ana"]
    assert split_items("- walk\n\n• shower\n* music\n1. tea\n2) a game\n   \n") == [
        "walk",
        "shower",
        "music",
        "tea",
        "a game",
    ]
    # Numbers that are not list markers stay.
    assert split_items("10 deep breaths\n2pm walk") == ["10 deep breaths", "2pm walk"]
    assert split_items(" - \n\n") == []


def test_adding_is_all_or_nothing_within_the_limits() -> None:
    assert add_items([], "a\nb") == (["a", "b"], Outcome.saved)
    assert add_items(["a"], "   ") == (["a"], Outcome.empty)
    long = "x" * (MAX_ITEM_CHARS + 1)
    assert add_items(["a"], f"fine\n{long}") == (["a"], Outcome.too_long)
    assert add_items([], "y" * MAX_ITEM_CHARS)[1] is Outcome.saved
    nine = [str(n) for n in range(MAX_ITEMS - 1)]
    assert add_items(nine, "one\ntwo") == (nine, Outcome.too_many)
    ten, outcome = add_items(nine, "one")
    assert outcome is Outcome.saved and len(ten) == MAX_ITEMS
    # Full is said before "too long": the client cannot add anything anyway.
    assert add_items(ten, long) == (ten, Outcome.full)
    assert add_items(ten, "eleven") == (ten, Outcome.full)


def test_stored_steps_are_json_lists_and_anything_else_reads_as_empty() -> None:
    assert encode([]) is None
    assert decode(encode(["Ana’s number", "a & b"])) == ["Ana’s number", "a & b"]
    assert decode(None) == decode("") == decode("not json") == decode('{"a": 1}') == []
    assert decode("[1, 2]") == []


def test_callback_codes_are_short_and_unique() -> None:
    assert list(CODES) == list(SECTIONS)
    assert len(set(CODES.values())) == len(SECTIONS)
    longest = max(CODES.values(), key=len)
    assert len(f"sp:clry:{longest}:{10**12}".encode()) <= 64


def _plan(**sections: list[str]) -> SafetyPlan:
    return SafetyPlan(client_id=1, **{name: encode(items) for name, items in sections.items()})


def test_next_empty_step() -> None:
    plan = _plan(warning_signs=["a"], distractions=["b"])
    assert next_empty(None) == "warning_signs"
    assert next_empty(plan) == "coping_alone"
    assert next_empty(plan, after="coping_alone") == "help_people"
    full = _plan(**{s: ["x"] for s in SECTIONS})
    assert next_empty(full) is None
    assert next_empty(plan, after="safer_space") is None


def test_the_crisis_text_shows_filled_steps_in_order(pack: LanguagePack) -> None:
    sections = {
        "safer_space": ["Put sharp things away"],
        "warning_signs": ["I stop answering my phone", "I <can't> sleep"],
        "help_people": ["My sister Ana & her husband"],
        "coping_alone": [],
    }
    shown = crisis_text(sections, pack)
    titles = {s: getattr(pack.safety_plan.sections, s).title for s in SECTIONS}
    assert shown == (
        f"<b>{titles['warning_signs']}</b>\n"
        "• I stop answering my phone\n"
        "• I &lt;can't&gt; sleep\n\n"
        f"<b>{titles['help_people']}</b>\n"
        "• My sister Ana &amp; her husband\n\n"
        f"<b>{titles['safer_space']}</b>\n"
        "• Put sharp things away"
    )
    assert titles["coping_alone"] not in shown
    assert crisis_text({}, pack) is None
    assert crisis_text({s: [] for s in SECTIONS}, pack) is None


def test_a_very_long_plan_is_shortened_for_the_crisis_reply(pack: LanguagePack) -> None:
    full = {s: [f"{s} {n} " + "x" * 190 for n in range(MAX_ITEMS)] for s in SECTIONS}
    shown = crisis_text(full, pack, limit=3000)
    assert shown is not None and len(shown) <= 3000
    # Every step still has its title and its first line, shortened.
    for section in SECTIONS:
        assert getattr(pack.safety_plan.sections, section).title in shown
        assert f"• {section} 0 " in shown
    assert "…" in shown
    left_out = int(shown.rsplit("and ", 1)[1].split()[0])
    assert shown.endswith(render(pack.safety_plan.more_in_plan, count=left_out))
    # Lines are left out evenly, from the end of each step.
    counts = [shown.count(f"• {s} ") for s in SECTIONS]
    assert max(counts) - min(counts) <= 1
    assert "• safer_space 9 " not in shown


def test_the_whole_plan_is_split_into_messages_telegram_accepts(pack: LanguagePack) -> None:
    plan = _plan(**{s: [f"{n} " + "é" * 195 for n in range(MAX_ITEMS)] for s in SECTIONS})
    help_lines = list(pack.crisis_card_parts("US")[:-1])
    messages = plan_messages(plan, pack, help_lines)
    assert len(messages) > 1
    assert all(len(m) <= MESSAGE_MAX for m in messages)
    joined = "\n\n".join(messages)
    assert joined.startswith(pack.safety_plan.heading)
    assert all(part in joined for part in help_lines)
    assert pack_messages(["a", "b"], limit=3) == ["a", "b"]
    assert pack_messages(["a", "b"], limit=4) == ["a\n\nb"]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


async def _client_with_plan(engine: AsyncEngine, **sections: list[str]) -> int:
    async with make_sessionmaker(engine)() as session:
        program = Program(name="P", timezone="UTC", region="US")
        session.add(program)
        await session.flush()
        assert program.id is not None
        client = Client(program_id=program.id, code="ACE-2")
        session.add(client)
        await session.flush()
        assert client.id is not None
        if sections:
            session.add(
                SafetyPlan(
                    client_id=client.id,
                    **{name: encode(items) for name, items in sections.items()},
                )
            )
        await session.commit()
        return client.id


async def test_safety_plan_text_reads_the_row(engine: AsyncEngine, pack: LanguagePack) -> None:
    client_id = await _client_with_plan(
        engine, safer_space=["Put sharp things away"], warning_signs=["I can't sleep"]
    )
    async with make_sessionmaker(engine)() as session:
        shown = await safety_plan_text(session, client_id, pack)
        assert await safety_plan_text(session, client_id + 1, pack) is None
    assert shown is not None
    assert shown.index("I can't sleep") < shown.index("Put sharp things away")


async def test_an_empty_plan_gives_no_text(engine: AsyncEngine, pack: LanguagePack) -> None:
    client_id = await _client_with_plan(engine, warning_signs=[])
    async with make_sessionmaker(engine)() as session:
        assert await safety_plan_text(session, client_id, pack) is None


@pytest.fixture
def key() -> Iterator[str]:
    value = Fernet.generate_key().decode()
    configure_encryption(value)
    yield value
    configure_encryption(None)


async def test_a_plan_that_cannot_be_opened_never_breaks_the_crisis_reply(
    key: str, engine: AsyncEngine, pack: LanguagePack
) -> None:
    client_id = await _client_with_plan(engine, warning_signs=["I can't sleep"])
    async with engine.connect() as connection:
        raw = (await connection.execute(text("SELECT warning_signs FROM safetyplan"))).scalar_one()
    assert raw.startswith("fernet:") and "sleep" not in raw
    configure_encryption(Fernet.generate_key().decode())  # the wrong key
    async with make_sessionmaker(engine)() as session:
        assert await safety_plan_text(session, client_id, pack) is None


async def test_plan_for_makes_one_row_per_client(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = await _client_with_plan(engine)
    sessions = make_sessionmaker(engine)
    async with sessions() as first:
        made = await plan_for(first, client_id)
        await first.commit()
    # Another worker that looked a moment before the row existed: its insert does
    # nothing (ON CONFLICT DO NOTHING), and it reads the row that is there.
    real_load = safety_plan.load_plan
    looks = iter([None])

    async def late_look(session: AsyncSession, client_id: int) -> SafetyPlan | None:
        return next(looks, None) or await real_load(session, client_id)

    monkeypatch.setattr(safety_plan, "load_plan", late_look)
    async with sessions() as second:
        again = await plan_for(second, client_id)
        await second.commit()
    assert made.id == again.id
    async with engine.connect() as connection:
        count = (await connection.execute(text("SELECT COUNT(*) FROM safetyplan"))).scalar_one()
    assert count == 1
