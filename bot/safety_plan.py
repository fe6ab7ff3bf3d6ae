"""The client's safety plan: its rules and its rendering, without Telegram.

The six Stanley–Brown steps (SPEC §5.1, step 4), in the client's own words. A step holds
at most MAX_ITEMS lines of at most MAX_ITEM_CHARS characters each; one message is one
line, or several lines when it has line breaks. Each step is stored as a JSON list in a
sealed column of `SafetyPlan` (bot/models.py).

The help lines of step 5 are never stored: they are the program region's help card
from content, added when the plan is shown, so a number changed in content is current
in every plan at once.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import LanguagePack, render
from bot.content.schema import MESSAGE_MAX, PlanSectionTexts
from bot.models import SafetyPlan
from bot.sealed import SealedTextError

log = logging.getLogger(__name__)

# The steps in the plan's order: the names of SafetyPlan's columns and of the content keys.
SECTIONS: tuple[str, ...] = (
    "warning_signs",
    "coping_alone",
    "distractions",
    "help_people",
    "professionals",
    "safer_space",
)
# Short codes for callback data (Telegram allows 64 bytes).
CODES: dict[str, str] = {
    "warning_signs": "warn",
    "coping_alone": "cope",
    "distractions": "dist",
    "help_people": "ask",
    "professionals": "pro",
    "safer_space": "safe",
}
SECTION_OF_CODE: dict[str, str] = {code: section for section, code in CODES.items()}
# The step whose help lines come from the region's help card.
HELP_LINES_SECTION = "professionals"

MAX_ITEMS = 10
MAX_ITEM_CHARS = 200
# The plan in the crisis reply stays well inside one Telegram message, with room for the
# reply's own text around it.
CRISIS_TEXT_LIMIT = 3000
# In a plan too long for that, each line is first shortened to this many characters.
CRISIS_ITEM_CHARS = 80

# "- call Ana", "• walk", "1. shower", "2) music": a list typed or pasted by habit.
_BULLET = re.compile(r"^\s*(?:[-*•·‣◦–—]+|\d{1,2}[.)])\s*")


class Outcome(StrEnum):
    """What happened to a message typed while a step is being edited."""

    saved = "saved"
    too_long = "too_long"  # a line over MAX_ITEM_CHARS: nothing saved
    full = "full"  # the step holds MAX_ITEMS already: nothing saved
    too_many = "too_many"  # the lines would not fit: nothing saved
    empty = "empty"  # no words in it


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- lines --------------------------------------------------------------------------


def split_items(text: str) -> list[str]:
    """The lines of a message, without list bullets, blank lines and outer spaces."""
    items = []
    for line in text.splitlines():
        item = _BULLET.sub("", line, count=1).strip()
        if item:
            items.append(item)
    return items


def add_items(existing: Sequence[str], text: str) -> tuple[list[str], Outcome]:
    """The step's lines after adding `text`, and the outcome.

    All or nothing: a message is saved whole or not at all, so a refused message can be
    sent again as it is once it is fixed, and nothing is half-saved.
    """
    new = split_items(text)
    items = list(existing)
    if not new:
        return items, Outcome.empty
    if len(items) >= MAX_ITEMS:
        return items, Outcome.full
    if any(len(item) > MAX_ITEM_CHARS for item in new):
        return items, Outcome.too_long
    if len(items) + len(new) > MAX_ITEMS:
        return items, Outcome.too_many
    return items + new, Outcome.saved


def decode(stored: str | None) -> list[str]:
    """A step's lines from its column (a JSON list); anything else reads as empty."""
    if not stored:
        return []
    try:
        value = json.loads(stored)
    except ValueError:
        log.error("a safety plan step is not valid JSON; shown as empty")
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        log.error("a safety plan step is not a list of lines; shown as empty")
        return []
    return value


def encode(items: Sequence[str]) -> str | None:
    return json.dumps(list(items), ensure_ascii=False) if items else None


def items_of(plan: SafetyPlan | None, section: str) -> list[str]:
    if plan is None:
        return []
    return decode(getattr(plan, section))


def set_items(plan: SafetyPlan, section: str, items: Sequence[str], *, now: datetime) -> None:
    setattr(plan, section, encode(items))
    plan.revision += 1
    plan.updated_at = now


def all_items(plan: SafetyPlan | None) -> dict[str, list[str]]:
    return {section: items_of(plan, section) for section in SECTIONS}


def is_empty(plan: SafetyPlan | None) -> bool:
    return not any(all_items(plan).values())


def next_empty(plan: SafetyPlan | None, after: str | None = None) -> str | None:
    """The first step with nothing in it, after `after` (from the start when None)."""
    start = SECTIONS.index(after) + 1 if after else 0
    for section in SECTIONS[start:]:
        if not items_of(plan, section):
            return section
    return None


# --- the rows -------------------------------------------------------------------------


async def load_plan(session: AsyncSession, client_id: int) -> SafetyPlan | None:
    return (await session.exec(select(SafetyPlan).where(SafetyPlan.client_id == client_id))).first()


async def plan_for(session: AsyncSession, client_id: int) -> SafetyPlan:
    """The client's plan row, created when missing (one per client).

    Created with INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL both have it), so
    two workers creating it at once both end up with the one row."""
    plan = await load_plan(session, client_id)
    if plan is not None:
        return plan
    assert session.bind is not None
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    now = now_utc()
    statement = (
        insert(SafetyPlan)
        .values(client_id=client_id, step_by_step=False, revision=0, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["client_id"])
    )
    await session.exec(statement)  # type: ignore[call-overload]
    plan = await load_plan(session, client_id)
    assert plan is not None
    return plan


# --- rendering -------------------------------------------------------------------------


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _section_texts(pack: LanguagePack, section: str) -> PlanSectionTexts:
    texts: PlanSectionTexts = getattr(pack.safety_plan.sections, section)
    return texts


def bullet_list(items: Sequence[str]) -> str:
    return "\n".join(f"• {_escape(item)}" for item in items)


def plan_messages(
    plan: SafetyPlan | None, pack: LanguagePack, help_lines: Sequence[str]
) -> list[str]:
    """The whole plan as the client reads it with /safetyplan, in as many messages as it
    needs (each at most Telegram's 4096 characters): every step, filled or not, and the
    region's help lines (`help_lines`: the card's paragraphs) in step 5."""
    texts = pack.safety_plan
    blocks = [texts.heading]
    for number, section in enumerate(SECTIONS, start=1):
        items = items_of(plan, section)
        lines = [f"<b>{number}. {_section_texts(pack, section).title}</b>"]
        if items:
            lines.append(bullet_list(items))
        elif section != HELP_LINES_SECTION or not help_lines:
            lines.append(texts.nothing_yet)
        if section == HELP_LINES_SECTION and help_lines:
            lines.append(texts.area_lines)
            lines.extend(help_lines)
        blocks.append("\n".join(lines))
    blocks.append(texts.view_hint)
    return pack_messages(blocks)


def pack_messages(blocks: Sequence[str], limit: int = MESSAGE_MAX) -> list[str]:
    """Join blocks with blank lines into as few messages as fit in `limit` each.

    A block is never split (a step is at most about 2,100 characters)."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if current and len(candidate) > limit:
            messages.append(current)
            current = block
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


def crisis_text(
    sections: dict[str, list[str]], pack: LanguagePack, limit: int = CRISIS_TEXT_LIMIT
) -> str | None:
    """The plan for the crisis reply: only the steps that hold something, in order, each
    a bold title and its lines; None when nothing is in the plan.

    Step 5 shows only the client's own entries: the reply shows the help card anyway.
    A plan that does not fit `limit` is shortened: long lines first, then lines are left
    out from the fullest steps (every step keeps its first lines longest), and a last
    line points to /safetyplan.
    """
    filled = [(s, sections.get(s) or []) for s in SECTIONS if sections.get(s)]
    if not filled:
        return None
    text = _compact(filled, pack, None)
    if len(text) <= limit:
        return text
    shortened = [(s, [_shorten(i, CRISIS_ITEM_CHARS) for i in items]) for s, items in filled]
    text = _compact(shortened, pack, None)
    left_out = 0
    while len(text) > limit:
        # Leave out one line of the step that has the most (the later one on a tie), so
        # every step keeps its first lines as long as possible; then try again.
        index = max(range(len(shortened)), key=lambda i: (len(shortened[i][1]), i))
        section, items = shortened[index]
        if not items:
            break  # nothing left to leave out
        shortened[index] = (section, items[:-1])
        left_out += 1
        text = _compact(shortened, pack, left_out)
    return text


def _compact(
    sections: Sequence[tuple[str, Sequence[str]]], pack: LanguagePack, left_out: int | None
) -> str:
    blocks = [
        f"<b>{_section_texts(pack, section).title}</b>\n{bullet_list(items)}"
        for section, items in sections
        if items
    ]
    if left_out:
        blocks.append(render(pack.safety_plan.more_in_plan, count=left_out))
    return "\n\n".join(blocks)


def _shorten(item: str, chars: int) -> str:
    return item if len(item) <= chars else item[: chars - 1].rstrip() + "…"


async def safety_plan_text(session: AsyncSession, client_id: int, pack: LanguagePack) -> str | None:
    """The client's plan as HTML for the crisis reply, or None when it is empty.

    Never raises for the plan's sake: a crisis reply must go out even if the plan cannot
    be read (for example a wrong ENCRYPTION_KEY); that is logged and None is returned.
    """
    try:
        plan = await load_plan(session, client_id)
    except SealedTextError as exc:
        log.error("the safety plan of client %s cannot be read: %s", client_id, exc)
        return None
    if plan is None:
        return None
    return crisis_text(all_items(plan), pack)
