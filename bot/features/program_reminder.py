"""The weekly reminder that Waypoint is a program (issue 18; SPEC §0.2, Utah HB 452).

A client who comes back after 7 days or more without using Waypoint is told plainly,
before anything else, that Waypoint is a program and that no one reads the chat live.
At most once a week: the reminder marks the client as heard from now, so the next one
needs another 7 quiet days. A message the safety screen flags gets the crisis reply first,
and the reminder right after it (bot/features/crisis.py calls send_pending).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot import safety
from bot.db import session_scope
from bot.features.crisis import screened_text
from bot.models import Client
from bot.people import ENROLLED
from bot.services import AnyApplication, services

AWAY = timedelta(days=7)
# Before everything else, the crisis screen (-10) included.
GROUP = -30


def now_utc() -> datetime:
    return datetime.now(UTC)


_EPOCH = datetime.min.replace(tzinfo=UTC)
_MEMORY = "program_reminder_not_before"
_PENDING = "program_reminder_pending"


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite: naive UTC


def due(last_seen: datetime | None, now: datetime) -> bool:
    """Back after 7 days or more without using Waypoint (pure)."""
    return last_seen is not None and now - _aware(last_seen) >= AWAY


async def remind_if_away(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return
    svc = services(context)
    now = now_utc()
    # Telegram user id -> the earliest moment a reminder can be due (this process).
    not_before: dict[int, datetime] = context.application.bot_data.setdefault(_MEMORY, {})
    if now < not_before.get(user.id, _EPOCH):
        return  # known not due: no query on the common path
    async with svc.sessions() as session:
        row = (
            await session.exec(
                select(Client.id, Client.last_contact_at, Client.language).where(
                    Client.telegram_user_id == user.id, col(Client.status).in_(ENROLLED)
                )
            )
        ).first()
    if row is None:
        # Not a client (a clinician, a stranger): someone who joins later is new anyway.
        not_before[user.id] = now + AWAY
        return
    # Heard from last (the inbox notes every update; enrollment itself is contact).
    client_id, seen, language = row
    if not due(seen, now):
        if seen is not None:
            # Contact only moves later, so this is the earliest it can be due.
            not_before[user.id] = _aware(seen) + AWAY
        return
    # A person's own words only (a button press carries the bot's message).
    text = screened_text(update.message or update.edited_message)
    if text and safety.screen(text, language or "en").flagged:
        # The crisis reply first: the screen sends the reminder after it (send_pending).
        if context.chat_data is not None:
            context.chat_data[_PENDING] = (update.update_id, client_id, language)
        return
    await _claim_and_send(update, context, client_id, language, now)


async def send_pending(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After the crisis reply to a flagged message: the reminder that waited for it."""
    pending = context.chat_data.pop(_PENDING, None) if context.chat_data is not None else None
    if pending is None or pending[0] != update.update_id:
        return
    _, client_id, language = pending
    await _claim_and_send(update, context, client_id, language, now_utc())


async def _claim_and_send(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client_id: int,
    language: str | None,
    now: datetime,
) -> None:
    svc = services(context)
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    not_before: dict[int, datetime] = context.application.bot_data.setdefault(_MEMORY, {})
    # Claimed by one conditional write, so two workers (or a burst) send it once.
    async with session_scope(svc.sessions) as session:
        claimed = await session.exec(  # type: ignore[call-overload]
            sa.update(Client)
            .where(col(Client.id) == client_id)
            .where(
                sa.or_(
                    col(Client.last_contact_at).is_(None),
                    col(Client.last_contact_at) <= now - AWAY,
                )
            )
            .values(last_contact_at=now)
        )
        if claimed.rowcount != 1:
            return
    not_before[user.id] = now + AWAY
    pack = svc.content.language(language)
    await chat.send_message(pack.ui.program_reminder)


def register(application: AnyApplication) -> None:
    application.add_handler(TypeHandler(Update, remind_if_away), GROUP)
