"""/safetyplan: the client's own safety plan, filled in step by step and changed any time.

The plan's rules and rendering live in bot/safety_plan.py; this module is the chat.
Which step the client is adding to lives on their SafetyPlan row, and every button is
checked against that row, so a restart or a second worker goes on where the client was,
and an old or forged button changes nothing.

Typed lines and the safety screen
---------------------------------
Every typed message passes the safety screen (bot/features/crisis.py, group -9), which
answers a concerning one with the crisis reply and stops all later handlers. A client
writing their warning signs ("when I start thinking I want to die") would then lose the
line they wrote. So a typed line is handled in two steps, around the screen:

1. `save_typed` (group SAVE_GROUP, before the screen) saves the line, or records why it
   was refused, on the plan row, and never answers. Processing goes on.
2. The screen runs as for any message. If it finds a crisis, the crisis reply is what the
   client sees, and it shows their plan, the new line included. The client does not
   have to type it again, and nothing of ours comes between them and the help lines.
3. Otherwise `answer_typed` (group ANSWER_GROUP, after the screen) confirms it.

Nothing here calls the crisis feature or is called by it beyond `safety_plan_text`; the
order of the groups is the whole contract (tests/e2e/test_safety_plan.py checks it).
`last_message_id` on the row makes a message that is handled twice (after a crash) save
once.

While a step is being edited, a command other than /help, or a tap on a main-menu
button, ends the editing: the client has moved on, and later words are not theirs to
file in the plan.
"""

from __future__ import annotations

import logging

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.content import LanguagePack, render
from bot.db import session_scope
from bot.features.enrollment import TYPED_STEPS
from bot.keyboards import PRIVATE_NEW, data_fields, help_only_keyboard
from bot.models import Client, SafetyPlan
from bot.people import identify
from bot.safety_plan import (
    CODES,
    MAX_ITEM_CHARS,
    MAX_ITEMS,
    SECTION_OF_CODE,
    SECTIONS,
    Outcome,
    add_items,
    bullet_list,
    is_empty,
    items_of,
    load_plan,
    next_empty,
    now_utc,
    plan_for,
    plan_messages,
    safety_plan_text,
    set_items,
)
from bot.services import AnyApplication, services

# safety_plan_text is re-exported for the crisis reply (bot/features/crisis.py).
__all__ = ["register", "safety_plan_text"]

log = logging.getLogger(__name__)

# Before the safety screen (crisis.py: groups -10 and -9): saves typed lines, never answers.
SAVE_GROUP = -15
# After the screen (-9), before other features' typed answers (-2, -1) and group 0; a group
# of its own, since in a group only the first matching handler runs.
ANSWER_GROUP = -5

PREFIX = "sp"


# --- who is asking ---------------------------------------------------------------------


async def _not_a_client(chat: Chat, pack: LanguagePack, is_clinician: bool) -> None:
    if is_clinician:
        await chat.send_message(pack.staff.clinician_welcome)
    else:
        await chat.send_message(pack.ui.welcome, reply_markup=help_only_keyboard(pack))


def _setup_question_waiting(client: Client) -> bool:
    """A set-up question that takes typed text (a time zone, a time) is open."""
    step = (client.setup_step or "").removeprefix("edit:")
    return step in TYPED_STEPS


def _help_lines(pack: LanguagePack, region: str) -> list[str]:
    # The card's paragraphs, without the last ("this chat is not a crisis service").
    return list(pack.crisis_card_parts(region)[:-1])


# --- showing the plan ----------------------------------------------------------------


def _plan_keyboard(plan: SafetyPlan | None, pack: LanguagePack) -> InlineKeyboardMarkup:
    texts = pack.safety_plan
    edit = InlineKeyboardButton(texts.edit_button, callback_data=f"{PREFIX}:menu")
    if is_empty(plan):
        start = InlineKeyboardButton(texts.start_button, callback_data=f"{PREFIX}:start")
        return InlineKeyboardMarkup([[start], [edit]])
    rows = [[edit]]
    if next_empty(plan) is not None:
        rows.append([InlineKeyboardButton(texts.continue_button, callback_data=f"{PREFIX}:cont")])
    return InlineKeyboardMarkup(rows)


async def _send_plan(
    chat: Chat, plan: SafetyPlan | None, pack: LanguagePack, region: str, lead: str | None
) -> None:
    """The plan (or the intro when it is empty), with its buttons under the last part.

    Sent with protect_content (SPEC §7.3): the client's own words cannot be forwarded."""
    keyboard = _plan_keyboard(plan, pack)
    if lead:
        await chat.send_message(lead)
    if is_empty(plan):
        await chat.send_message(pack.safety_plan.intro, reply_markup=keyboard)
        return
    messages = plan_messages(plan, pack, _help_lines(pack, region))
    for i, text in enumerate(messages):
        last = i == len(messages) - 1
        await chat.send_message(text, reply_markup=keyboard if last else None, protect_content=True)


async def show_plan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/safetyplan: the plan, or an intro when nothing is in it yet."""
    svc = services(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with svc.sessions() as session:
        who = await identify(session, user.id)
        pack = svc.content.language(who.language or user.language_code)
        if who.client is None or who.program is None:
            await _not_a_client(chat, pack, who.is_clinician)
            return
        assert who.client.id is not None
        plan = await load_plan(session, who.client.id)
    await _send_plan(chat, plan, pack, who.program.region, None)


# --- asking for one step -------------------------------------------------------------


def _question(
    pack: LanguagePack, plan: SafetyPlan, section: str
) -> tuple[str, InlineKeyboardMarkup]:
    texts = pack.safety_plan
    part = getattr(texts.sections, section)
    title = f"<b>{part.title}</b>"
    if plan.step_by_step:
        step = render(texts.step_label, step=SECTIONS.index(section) + 1, total=len(SECTIONS))
        title = f"<b>{step} · {part.title}</b>"
    blocks = [f"{title}\n{part.question}\n<i>{part.example}</i>"]
    items = items_of(plan, section)
    if items:
        blocks.append(f"{texts.so_far}\n{bullet_list(items)}")
    blocks.append(texts.how_to_add)
    return "\n\n".join(blocks), _editing_keyboard(pack, plan, section, question=True)


def _editing_keyboard(
    pack: LanguagePack, plan: SafetyPlan, section: str, *, question: bool = False
) -> InlineKeyboardMarkup:
    """Done (and Skip on a question, going step by step); Clear when there is something."""
    texts, code = pack.safety_plan, CODES[section]
    first = [InlineKeyboardButton(texts.done_button, callback_data=f"{PREFIX}:done:{code}")]
    if question and plan.step_by_step:
        first.append(InlineKeyboardButton(texts.skip_button, callback_data=f"{PREFIX}:skip:{code}"))
    rows = [first]
    if items_of(plan, section):
        rows.append(
            [InlineKeyboardButton(texts.clear_button, callback_data=f"{PREFIX}:clr:{code}")]
        )
    return InlineKeyboardMarkup(rows)


async def _ask(chat: Chat, pack: LanguagePack, plan: SafetyPlan, section: str) -> None:
    text, keyboard = _question(pack, plan, section)
    await chat.send_message(text, reply_markup=keyboard, protect_content=True)


def _begin(client: Client, plan: SafetyPlan, section: str, *, step_by_step: bool) -> None:
    plan.editing_section = section
    plan.step_by_step = step_by_step
    plan.updated_at = now_utc()
    if (client.setup_step or "").startswith("edit:"):
        # A settings question the client left open: they have moved on to their plan, and
        # their next words are for the plan, not an answer to that question.
        client.setup_step = None


def _stop_editing(plan: SafetyPlan) -> None:
    plan.editing_section = None
    plan.step_by_step = False
    plan.updated_at = now_utc()


# --- typed lines -----------------------------------------------------------------------


async def save_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before the safety screen: file a typed line in the step being edited. Never answers
    and never stops the update (see the module's docstring)."""
    svc = services(context)
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not message.text:
        return
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client = who.client
        if client is None or client.id is None or _setup_question_waiting(client):
            return
        plan = await load_plan(session, client.id)
        if plan is None or plan.editing_section not in SECTIONS:
            return
        if plan.last_message_id is not None and message.message_id <= plan.last_message_id:
            return  # handled before (a redelivery after a crash): save it only once
        section = plan.editing_section
        items, outcome = add_items(items_of(plan, section), message.text)
        if outcome is Outcome.saved:
            set_items(plan, section, items, now=now_utc())
        plan.last_message_id = message.message_id
        plan.last_outcome = outcome.value


async def answer_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After the safety screen let the message through: say what happened to the line."""
    svc = services(context)
    user, message, chat = update.effective_user, update.effective_message, update.effective_chat
    if user is None or message is None or chat is None:
        return
    async with svc.sessions() as session:
        who = await identify(session, user.id)
        client = who.client
        if client is None or client.id is None:
            return
        plan = await load_plan(session, client.id)
        if (
            plan is None
            or plan.editing_section not in SECTIONS
            or plan.last_message_id != message.message_id
        ):
            return  # not a line for the plan: other features answer it
        section = plan.editing_section
    pack = svc.content.language(client.language)
    texts = pack.safety_plan
    outcome = plan.last_outcome
    room = MAX_ITEMS - len(items_of(plan, section))
    if outcome == Outcome.saved:
        text = render(texts.saved, count=len(items_of(plan, section)), max=MAX_ITEMS)
    elif outcome == Outcome.too_long:
        text = render(texts.too_long, max=MAX_ITEM_CHARS)
    elif outcome == Outcome.full:
        text = render(texts.section_full, max=MAX_ITEMS)
    elif outcome == Outcome.too_many:
        text = render(texts.too_many, room=room)
    else:
        text = texts.nothing_found
    await chat.send_message(text, reply_markup=_editing_keyboard(pack, plan, section))
    raise ApplicationHandlerStop


async def moved_on(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command (except /help) or a main-menu button while a step is being edited ends
    the editing. Never answers: the command or button is handled as usual."""
    svc = services(context)
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not message.text:
        return
    command = message.text.split(maxsplit=1)[0].split("@", 1)[0].lower()
    if command == "/help":
        return  # help mid-edit: the client may well go on with their plan after it
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        if who.client is None or who.client.id is None:
            return
        plan = await load_plan(session, who.client.id)
        if plan is not None and plan.editing_section is not None:
            _stop_editing(plan)


# --- buttons ---------------------------------------------------------------------------


async def _close(query: CallbackQuery) -> None:
    """Remove the buttons of the pressed message: each question is answered once."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None or not message.text:
        return
    try:
        # The same text without buttons (protect_content stays with the message).
        await query.edit_message_text(message.text_html, reply_markup=None)
    except BadRequest as exc:  # already closed by an earlier press: fine
        log.warning("could not close a safety plan question: %s", exc)


async def plan_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every safety-plan button: "sp:<action>[:<step code>[:<revision>]]".

    Each press is checked against the plan row: a step's buttons work only while that
    step is being edited, and "clear" only on the plan the client saw."""
    svc = services(context)
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    _, action, code, revision = data_fields(query.data, 4)
    section = SECTION_OF_CODE.get(code)
    async with session_scope(svc.sessions) as session:
        who = await identify(session, user.id)
        client, program = who.client, who.program
        if client is None or client.id is None or program is None:
            await query.answer()  # not (or no longer) a client: nothing to do
            return
        pack = svc.content.language(client.language)
        plan = await load_plan(session, client.id)
        editing = plan is not None and section is not None and plan.editing_section == section
        if action == "menu" and not code:
            send = "menu"
        elif action == "start" and not code and is_empty(plan):
            plan = await plan_for(session, client.id)
            _begin(client, plan, SECTIONS[0], step_by_step=True)
            send = "ask"
        elif action == "cont" and not code and (first := next_empty(plan)) is not None:
            plan = await plan_for(session, client.id)
            _begin(client, plan, first, step_by_step=True)
            send = "ask"
        elif action == "open" and section is not None:
            plan = await plan_for(session, client.id)
            _begin(client, plan, section, step_by_step=False)
            send = "ask"
        elif action in ("done", "skip") and editing and plan is not None:
            if action == "skip" and not plan.step_by_step:
                await query.answer(pack.setup.stale_button)
                return
            following = next_empty(plan, after=section) if plan.step_by_step else None
            if following is not None:
                plan.editing_section = following
                plan.updated_at = now_utc()
                send = "ask"
            else:
                send = "finished" if plan.step_by_step else "saved"
                _stop_editing(plan)
        elif action == "clr" and editing and plan is not None and items_of(plan, section):
            send = "confirm"
        elif (
            action == "clry"
            and editing
            and plan is not None
            and revision == str(plan.revision)
            and section is not None
        ):
            set_items(plan, section, [], now=now_utc())
            send = "cleared"
        elif action == "clrn" and editing:
            send = "kept"
        else:
            # An old question, a double tap or forged data: nothing changes.
            await query.answer(pack.setup.stale_button)
            return
    await query.answer()
    await _close(query)
    texts = pack.safety_plan
    if send == "menu":
        rows = [
            [
                InlineKeyboardButton(
                    getattr(texts.sections, s).button, callback_data=f"{PREFIX}:open:{CODES[s]}"
                )
            ]
            for s in SECTIONS
        ]
        await chat.send_message(texts.choose_section, reply_markup=InlineKeyboardMarkup(rows))
        return
    assert plan is not None
    if send == "ask":
        assert plan.editing_section is not None
        await _ask(chat, pack, plan, plan.editing_section)
    elif send in ("finished", "saved"):
        lead = texts.finished if send == "finished" else texts.section_saved
        await _send_plan(chat, plan, pack, program.region, lead)
    elif send == "confirm":
        assert section is not None
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        texts.clear_yes,
                        callback_data=f"{PREFIX}:clry:{code}:{plan.revision}",
                    ),
                    InlineKeyboardButton(texts.clear_no, callback_data=f"{PREFIX}:clrn:{code}"),
                ]
            ]
        )
        await chat.send_message(texts.clear_confirm, reply_markup=keyboard)
    elif send in ("cleared", "kept"):
        assert section is not None
        await chat.send_message(
            texts.cleared if send == "cleared" else texts.kept,
            reply_markup=_editing_keyboard(pack, plan, section),
        )


# --- wiring ----------------------------------------------------------------------------


def register(application: AnyApplication) -> None:
    content = services(application).content
    packs = [content.language(code) for code in content.languages]
    private = PRIVATE_NEW
    menu_labels = sorted(
        {getattr(p.menu, name) for p in packs for name in type(p.menu).model_fields}
    )
    help_labels = sorted({p.ui.help_button for p in packs})
    typed = private & filters.TEXT & ~filters.COMMAND & ~filters.Text([*menu_labels, *help_labels])
    # Before the safety screen: save (never answer); and notice when the client moves on.
    application.add_handler(MessageHandler(typed, save_typed), SAVE_GROUP)
    application.add_handler(
        MessageHandler(private & (filters.COMMAND | filters.Text(menu_labels)), moved_on),
        SAVE_GROUP,
    )
    # After the screen: the answer to a line typed for the plan.
    application.add_handler(MessageHandler(typed, answer_typed), ANSWER_GROUP)
    application.add_handler(CommandHandler("safetyplan", show_plan, filters=private))
    application.add_handler(CallbackQueryHandler(plan_pressed, pattern=rf"^{PREFIX}:"))
