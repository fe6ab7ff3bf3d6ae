"""Joining: `/start <token>` from an invite link, the disclosures and consent, then set-up.

Nothing about a person is stored before they agree: the token rides in the consent
buttons' callback data, and a wrong token leaves only a hashed sender id for the
5-an-hour limit. Each set-up answer is committed as it arrives, and the current step
lives on the client row, so a restart or a second worker resumes where the client was;
a button of any other step (an old message, a double tap, forged data) changes nothing.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime, time

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.careteam_notices import notify_care_team
from bot.content import LanguagePack, render
from bot.db import session_scope
from bot.invites import looks_like_token
from bot.keyboards import PRIVATE_NEW, data_fields, help_only_keyboard, main_menu
from bot.localtime import (
    CHECKIN_CHOICES,
    format_hhmm,
    parse_hhmm,
    parse_time_of_day,
    time_label,
    zone_label,
    zones_for,
)
from bot.models import Client, ClientStatus, Clinician, Invitation, InvitePurpose, Program
from bot.people import identify
from bot.roster import (
    attempt_secret,
    audit,
    configured_attempt_key,
    decline_invitation,
    locked_out,
    open_invitation,
    record_wrong_token,
    use_invitation,
)
from bot.services import AnyApplication, Services, services
from bot.zone_aliases import resolve_place

log = logging.getLogger(__name__)

# Set-up steps in order; "edit:<step>" is the same question asked from /settings. The
# medicine reminder's time is asked only after a "Yes" to the reminder.
STEPS = (
    "language",
    "timezone",
    "checkin_time",
    "session_reminders",
    "medication_reminders",
    "medication_time",
)
# Short names for callback data (Telegram allows 64 bytes).
_STEP_CODES = {
    "language": "lang",
    "timezone": "tz",
    "checkin_time": "time",
    "session_reminders": "sess",
    "medication_reminders": "meds",
    "medication_time": "mtime",
}
_CODE_STEPS = {v: k for k, v in _STEP_CODES.items()}
TYPED_STEPS = ("timezone", "checkin_time", "medication_time")
# Times offered for the daily medicine reminder, one tap each; any other can be typed.
MEDICATION_TIME_CHOICES: tuple[time, ...] = (time(8), time(9), time(12), time(18), time(21))


def _time_choices(step: str) -> tuple[time, ...]:
    return MEDICATION_TIME_CHOICES if step == "medication_time" else CHECKIN_CHOICES


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- joining --------------------------------------------------------------------------


async def start_with_token(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    assert user is not None and chat is not None and message is not None
    token = (context.args or [""])[0]
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        pack = svc.content.language(who.language or user.language_code)
        if who.is_client or who.is_clinician:
            # Already in: a second link changes nothing; show where they are.
            await _resume_or_menu(update, context, who.client, pack)
            return
        secret = await attempt_secret(session, configured_attempt_key(svc.settings))
        if await locked_out(session, telegram_user_id=user.id, now=now, secret=secret):
            await chat.send_message(pack.join.too_many_tries, reply_markup=help_only_keyboard(pack))
            return
        invitation = (
            await open_invitation(session, token=token, now=now)
            if looks_like_token(token)
            else None
        )
        if invitation is None:
            record_wrong_token(session, telegram_user_id=user.id, now=now, secret=secret)
            await chat.send_message(pack.join.invalid_link, reply_markup=help_only_keyboard(pack))
            return
        program = await session.get(Program, invitation.program_id)
        assert program is not None
        if invitation.purpose is InvitePurpose.clinician:
            await _register_clinician(update, context, session, invitation, program, now)
            return
    await _send_disclosures(update, context, pack, program, token)


async def _register_clinician(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    session: AsyncSession,
    invitation: Invitation,
    program: Program,
    now: datetime,
) -> None:
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    clinician = await session.get(Clinician, invitation.clinician_id)
    pack = svc.content.language(user.language_code)
    if clinician is None or not await use_invitation(session, invitation=invitation, now=now):
        await chat.send_message(pack.join.invalid_link)
        return
    clinician.telegram_user_id = user.id
    if not clinician.display_name:
        clinician.display_name = user.first_name
    audit(
        session,
        actor=f"clinician:{clinician.id}",
        action="clinician_joined",
        subject=f"clinician:{clinician.id}",
        at=now,
    )
    await chat.send_message(
        render(
            pack.staff.clinician_registered,
            program=program.name,
            role=pack.staff.roles[clinician.role.value],
        )
    )


async def _send_disclosures(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    pack: LanguagePack,
    program: Program,
    token: str,
) -> None:
    chat = update.effective_chat
    assert chat is not None
    for i, part in enumerate(pack.join.disclosures):
        # The first message puts 🆘 Help now on screen: it stays through set-up.
        await chat.send_message(part, reply_markup=help_only_keyboard(pack) if i == 0 else None)
    await chat.send_message(pack.crisis_card(program.region))
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(pack.join.agree_button, callback_data=f"join:y:{token}")],
            [InlineKeyboardButton(pack.join.decline_button, callback_data=f"join:n:{token}")],
        ]
    )
    await chat.send_message(pack.join.consent_question, reply_markup=buttons)


async def consent_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and query.data is not None and user is not None and chat is not None
    _, answer, token = data_fields(query.data, 3)
    now = now_utc()
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        pack = svc.content.language(who.language or user.language_code)
        if who.is_client or who.is_clinician:
            # A double tap after joining: nothing to do twice.
            await query.answer(pack.join.already_joined)
            return
        invitation = (
            await open_invitation(session, token=token, now=now)
            if looks_like_token(token)
            else None
        )
        if (
            invitation is None
            or invitation.purpose is not InvitePurpose.client
            or answer
            not in (
                "y",
                "n",
            )
        ):
            await query.answer()
            await chat.send_message(pack.join.invalid_link, reply_markup=help_only_keyboard(pack))
            return
        if answer == "n":
            await decline_invitation(session, invitation=invitation, now=now)
            await query.answer()
            await _close_question(query, pack.join.decline_button)
            await chat.send_message(pack.join.declined, reply_markup=help_only_keyboard(pack))
            return
        client = await session.get(Client, invitation.client_id)
        if (
            client is None
            or client.status is not ClientStatus.invited
            or not await use_invitation(session, invitation=invitation, now=now)
        ):
            await query.answer()
            await chat.send_message(pack.join.invalid_link, reply_markup=help_only_keyboard(pack))
            return
        client.telegram_user_id = user.id
        client.chat_id = chat.id
        client.status = ClientStatus.active
        client.enrolled_at = now
        client.setup_step = STEPS[0]
        audit(
            session,
            actor=f"client:{client.id}",
            action="client_consented",
            subject=f"client:{client.id}",
            at=now,
        )
        await notify_care_team(session, client=client, event="joined", now=now)
    await query.answer()
    await _close_question(query, pack.join.agree_button)
    await ask_step(update, context, client, pack)


# --- set-up steps ---------------------------------------------------------------------


def _base_step(step: str | None) -> str | None:
    return step.removeprefix("edit:") if step else None


async def ask_step(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    pack: LanguagePack,
    *,
    text: str | None = None,
) -> None:
    """Send the question of the client's current step, with its buttons (`text` instead
    of the question's own words: after a typed answer that was not understood)."""
    chat = update.effective_chat
    assert chat is not None
    question = await _question(services(context), client, pack)
    if question is not None:
        own, rows = question
        await chat.send_message(text or own, reply_markup=InlineKeyboardMarkup(rows))


async def _question(
    svc: Services, client: Client, pack: LanguagePack
) -> tuple[str, list[list[InlineKeyboardButton]]] | None:
    step = _base_step(client.setup_step)
    code = _STEP_CODES.get(step or "")
    if step is None or code is None:
        return None
    other = [InlineKeyboardButton(pack.setup.other_button, callback_data=f"setup:{code}:other")]
    rows: list[list[InlineKeyboardButton]]
    if step == "language":
        rows = [
            [
                InlineKeyboardButton(
                    svc.content.language(lang).language_name, callback_data=f"setup:{code}:{lang}"
                )
            ]
            for lang in svc.content.languages
        ]
        return pack.setup.ask_language, rows
    if step == "timezone":
        zones = await _offered_zones(svc, client)
        rows = [
            [InlineKeyboardButton(zone_label(zone), callback_data=f"setup:{code}:{i}")]
            for i, zone in enumerate(zones)
        ]
        return pack.setup.ask_timezone, [*rows, other]
    if step in ("checkin_time", "medication_time"):
        rows = [
            [InlineKeyboardButton(time_label(t, pack.code), callback_data=f"setup:{code}:{i}")]
            for i, t in enumerate(_time_choices(step))
        ]
        text = (
            pack.setup.ask_checkin_time
            if step == "checkin_time"
            else pack.setup.ask_medication_time
        )
        return text, [*rows, other]
    rows = [
        [
            InlineKeyboardButton(pack.setup.yes_button, callback_data=f"setup:{code}:y"),
            InlineKeyboardButton(pack.setup.no_button, callback_data=f"setup:{code}:n"),
        ]
    ]
    return (
        pack.setup.ask_session_reminders
        if step == "session_reminders"
        else pack.setup.ask_medication_reminders
    ), rows


async def _offered_zones(svc: Services, client: Client) -> list[str]:
    async with svc.sessions() as session:
        program = await session.get(Program, client.program_id)
    assert program is not None
    return zones_for(program.region, program.timezone)


async def step_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    _, code, value = data_fields(query.data, 3)
    step = _CODE_STEPS.get(code)
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = who.client
        pack = svc.content.language(who.language or user.language_code)
        if client is None:
            await query.answer()
            return
        if step is None or _base_step(client.setup_step) != step:
            # An old question, a double tap or forged data: nothing changes.
            await query.answer(pack.setup.stale_button)
            return
        if value == "other" and step in TYPED_STEPS:
            await query.answer()
            await _close_question(query, pack.setup.other_button)
            prompt = (
                pack.setup.type_timezone if step == "timezone" else pack.setup.type_checkin_time
            )
            assert update.effective_chat is not None
            await update.effective_chat.send_message(prompt)
            return
        chosen = await _apply_choice(svc, client, step, value)
        if chosen is None:
            await query.answer(pack.setup.stale_button)
            return
        pack = svc.content.language(client.language)
        editing = (client.setup_step or "").startswith("edit:")
        client.setup_step = _next_step(client)
    await query.answer()
    await _close_question(query, chosen)
    await _after_step(update, context, client, pack, editing)


async def _apply_choice(svc: Services, client: Client, step: str, value: str) -> str | None:
    """Validate a pressed value against what was offered and save it; the label or None."""
    if step == "language":
        if value not in svc.content.languages:
            return None
        client.language = value
        return svc.content.language(value).language_name
    if step == "timezone":
        zones = await _offered_zones(svc, client)
        if not value.isdigit() or int(value) >= len(zones):
            return None
        client.timezone = zones[int(value)]
        return zone_label(client.timezone)
    if step in ("checkin_time", "medication_time"):
        choices = _time_choices(step)
        if not value.isdigit() or int(value) >= len(choices):
            return None
        chosen = choices[int(value)]
        _save_time(client, step, chosen)
        return time_label(chosen, client.language)
    if value not in ("y", "n"):
        return None
    pack = svc.content.language(client.language)
    if step == "session_reminders":
        client.session_reminders = value == "y"
    else:
        client.medication_reminders = value == "y"
    return pack.setup.yes_button if value == "y" else pack.setup.no_button


def _save_time(client: Client, step: str, at: time) -> None:
    if step == "checkin_time":
        client.checkin_time = format_hhmm(at)
    else:
        client.medication_times = [format_hhmm(at)]


def _next_step(client: Client) -> str | None:
    """The step after the client's current one: a "Yes" to the medicine reminder asks
    its time next, in set-up and from /settings alike."""
    current = client.setup_step
    if current is None:
        return None
    if _base_step(current) == "medication_reminders" and client.medication_reminders:
        return "edit:medication_time" if current.startswith("edit:") else "medication_time"
    if current.startswith("edit:"):
        return None
    index = STEPS.index(current)
    following = STEPS[index + 1] if index + 1 < len(STEPS) else None
    return None if following == "medication_time" else following


async def _after_step(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    client: Client,
    pack: LanguagePack,
    editing: bool,
) -> None:
    chat = update.effective_chat
    assert chat is not None
    if client.setup_step is not None:
        await ask_step(update, context, client, pack)
    elif editing:
        await chat.send_message(pack.setup.saved, reply_markup=main_menu(pack))
    else:
        await chat.send_message(
            render(
                pack.setup.done,
                time=time_label(parse_hhmm(client.checkin_time or "20:00"), pack.code),
                zone=zone_label(client.timezone or ""),
            ),
            reply_markup=main_menu(pack),
        )


async def typed_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Typed text while a time zone or a check-in time is being asked for."""
    svc = services(context)
    user, message, chat = update.effective_user, update.effective_message, update.effective_chat
    assert user is not None and message is not None and chat is not None and message.text
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = who.client
        step = _base_step(client.setup_step) if client else None
        if client is None or step not in TYPED_STEPS:
            return  # not ours: the next handler group answers
        pack = svc.content.language(client.language)
        editing = (client.setup_step or "").startswith("edit:")
        if step == "timezone":
            zone = resolve_place(message.text)
            if zone is None:
                # The list again, with the way back to typing: never a dead end.
                await ask_step(update, context, client, pack, text=pack.setup.timezone_not_found)
                raise ApplicationHandlerStop
            client.timezone = zone
        else:
            parsed = parse_time_of_day(message.text)
            if parsed is None:
                await ask_step(update, context, client, pack, text=pack.setup.time_not_understood)
                raise ApplicationHandlerStop
            _save_time(client, step, parsed)
        client.setup_step = _next_step(client)
    await _after_step(update, context, client, pack, editing)
    raise ApplicationHandlerStop


async def _close_question(query: CallbackQuery, chosen: str) -> None:
    """Show the choice under the question and remove its buttons (one answer per question)."""
    message = query.message
    if not isinstance(message, Message) or not message.text:
        return
    try:
        await query.edit_message_text(f"{message.text_html}\n\n✓ {_escape(chosen)}")
    except BadRequest as exc:  # already closed by an earlier press: fine
        log.warning("could not close question: %s", exc)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


async def _resume_or_menu(
    update: Update, context: ContextTypes.DEFAULT_TYPE, client: Client | None, pack: LanguagePack
) -> None:
    chat = update.effective_chat
    assert chat is not None
    if client is not None and client.setup_step is not None:
        await ask_step(update, context, client, pack)
    elif client is not None:
        await chat.send_message(pack.ui.welcome_back, reply_markup=main_menu(pack))
    else:
        await chat.send_message(pack.staff.clinician_welcome)


async def start_in_setup(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain /start from a client in the middle of set-up: ask the current question again."""
    svc = services(context)
    user = update.effective_user
    assert user is not None
    async with svc.sessions() as session:
        who = await identify(session, user.id)
    if who.client is None or who.client.setup_step is None:
        return
    await ask_step(update, context, who.client, svc.content.language(who.client.language))
    raise ApplicationHandlerStop


def register(application: AnyApplication) -> None:
    private = PRIVATE_NEW
    application.add_handler(
        CommandHandler("start", start_with_token, filters=private & filters.Regex(r"^/start\s+\S"))
    )
    application.add_handler(CallbackQueryHandler(consent_pressed, pattern=r"^join:"))
    application.add_handler(CallbackQueryHandler(step_pressed, pattern=r"^setup:"))
    # Before group 0: typed answers to a set-up question, and /start during set-up.
    application.add_handler(
        MessageHandler(
            private & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, typed_answer
        ),
        -1,
    )
    application.add_handler(CommandHandler("start", start_in_setup, filters=private), -1)
