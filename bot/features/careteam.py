"""Clinicians in their private chat: /help, /invite, /clients, /discharge, /pause, /resume.

Only an active clinician of the program may use these; anyone else gets exactly what an
unknown person gets, so the commands reveal nothing. Clients are named by pseudonym
code only; a clinician's private label is shown in their private chat, never in a group.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.ext import ApplicationHandlerStop, CommandHandler, ContextTypes, filters

from bot.content import LanguagePack, render
from bot.db import session_scope
from bot.features import account, welcome
from bot.features.crisis import SCREEN_GROUP
from bot.invites import deep_link, normalize_code
from bot.keyboards import PRIVATE_NEW, help_only_keyboard
from bot.models import ClientStatus, Clinician, ClinicianRole, Program
from bot.people import identify
from bot.roster import audit, caseload, find_client_by_code, invite_client
from bot.services import AnyApplication, services

LABEL_MAX = 60
# How much of a mistyped code is shown back.
TYPED_CODE_SHOWN = 24

log = logging.getLogger(__name__)


async def _clinician(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Clinician | None:
    user = update.effective_user
    assert user is not None
    async with services(context).sessions() as session:
        return (await identify(session, user.id)).clinician


def typed_code(pack: LanguagePack, args: list[str] | None, command: str) -> tuple[str | None, str]:
    """The client code typed after /command, or the reply that says what is wrong: no code
    at all, or something that is not one (shown back, cut short and escaped)."""
    typed = " ".join(args or []).strip()
    code = normalize_code(typed)
    if code is not None:
        return code, ""
    if not typed:
        return None, render(pack.staff.usage_code, command=command)
    shown = typed if len(typed) <= TYPED_CODE_SHOWN else typed[: TYPED_CODE_SHOWN - 1] + "…"
    return None, render(pack.staff.code_not_recognised, code=shown, command=command)


async def staff_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help from a clinician or an admin: their commands, with 🆘 Help now on screen.

    Runs before the crisis card's handler; for anyone else, or if the database cannot say
    who this is, it does nothing and the crisis card answers as always."""
    try:
        clinician = await _clinician(update, context)
    except Exception:
        log.exception("could not look up who sent /help; the crisis card answers")
        return
    chat = update.effective_chat
    if clinician is None or chat is None:
        return
    pack = services(context).content.language(None)
    text = pack.staff.help
    if clinician.role is ClinicianRole.admin:
        text += "\n\n" + pack.staff.help_admin
    await chat.send_message(text, reply_markup=help_only_keyboard(pack))
    raise ApplicationHandlerStop


async def invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    clinician = await _clinician(update, context)
    if clinician is None:
        await welcome.anything_else(update, context)
        return
    chat = update.effective_chat
    assert chat is not None
    pack = svc.content.language(None)
    label = " ".join(context.args or []).strip()[:LABEL_MAX] or None
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        program = await session.get(Program, clinician.program_id)
        assert program is not None
        new = await invite_client(
            session,
            program=program,
            by=clinician,
            now=now,
            ttl=timedelta(days=svc.settings.invite_ttl_days),
            label=label,
        )
    assert new.client is not None
    link = deep_link(context.bot.username, new.token)
    # protect_content: the link is a secret that works once; it should not be forwarded.
    await chat.send_message(
        render(
            pack.staff.invite_created,
            code=new.client.code,
            link=link,
            days=svc.settings.invite_ttl_days,
        ),
        protect_content=True,
    )


async def clients(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    clinician = await _clinician(update, context)
    if clinician is None:
        await welcome.anything_else(update, context)
        return
    chat = update.effective_chat
    assert chat is not None
    pack = svc.content.language(None)
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        rows = await caseload(session, clinician=clinician)
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action="caseload_viewed",
            at=now,
            count=len(rows),
        )
    if not rows:
        await chat.send_message(pack.staff.clients_empty)
        return
    lines = [
        render(
            pack.staff.clients_line, code=c.code, status=c.status.value, label=c.label or ""
        ).rstrip(" ·")
        for c in rows
    ]
    await chat.send_message(
        pack.staff.clients_header + "\n" + "\n".join(lines), protect_content=True
    )


async def _change_status(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, to: ClientStatus, command: str
) -> None:
    svc = services(context)
    clinician = await _clinician(update, context)
    chat = update.effective_chat
    assert chat is not None
    if clinician is None:
        # Not a clinician: /pause and /resume are the client's own commands.
        if command == "pause":
            await account.pause(update, context)
        elif command == "resume":
            await account.resume(update, context)
        else:
            await welcome.anything_else(update, context)
        return
    pack = svc.content.language(None)
    code, problem = typed_code(pack, context.args, command)
    if code is None:
        await chat.send_message(problem)
        return
    now = datetime.now(UTC)
    async with session_scope(svc.sessions) as session:
        client = await find_client_by_code(session, program_id=clinician.program_id, code=code)
        if client is None or (
            clinician.role is not ClinicianRole.admin
            and client.primary_clinician_id != clinician.id
        ):
            await chat.send_message(render(pack.staff.client_not_found, code=code))
            return
        if client.status is ClientStatus.discharged:
            await chat.send_message(render(pack.staff.client_already_left, code=code))
            return
        client.status = to
        if to is ClientStatus.discharged:
            client.left_at = now
            client.setup_step = None
        client.paused_at = now if to is ClientStatus.paused else None
        audit(
            session,
            actor=f"clinician:{clinician.id}",
            action=f"client_{command}",
            subject=f"client:{client.id}",
            at=now,
        )
        client_chat, client_pack = client.chat_id, svc.content.language(client.language)
    done = {
        "discharge": pack.staff.discharged,
        "pause": pack.staff.paused,
        "resume": pack.staff.resumed,
    }[command]
    await chat.send_message(render(done, code=code))
    if client_chat is not None:
        text = {
            "discharge": client_pack.account.discharged_by_team,
            "pause": client_pack.account.paused_by_team,
            "resume": client_pack.account.resumed_by_team,
        }[command]
        keyboard = help_only_keyboard(client_pack) if command == "discharge" else None
        await context.bot.send_message(client_chat, text, reply_markup=keyboard)


async def discharge(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _change_status(update, context, to=ClientStatus.discharged, command="discharge")


async def pause_client(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _change_status(update, context, to=ClientStatus.paused, command="pause")


async def resume_client(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _change_status(update, context, to=ClientStatus.active, command="resume")


def register(application: AnyApplication) -> None:
    private = PRIVATE_NEW
    with_code = filters.Regex(r"^/\w+(@\w+)?\s+\S")
    # Before the crisis card's /help (SCREEN_GROUP): the care team's own command list.
    application.add_handler(CommandHandler("help", staff_help, filters=private), SCREEN_GROUP - 1)
    application.add_handler(CommandHandler("invite", invite, filters=private))
    application.add_handler(CommandHandler("clients", clients, filters=private))
    application.add_handler(CommandHandler("discharge", discharge, filters=private))
    # With a code these are the clinician's; without one, the client's own (account).
    application.add_handler(CommandHandler("pause", pause_client, filters=private & with_code))
    application.add_handler(CommandHandler("resume", resume_client, filters=private & with_code))
