"""The first kinds the engine sends: the daily check-in prompt, its one nudge, and the
generic alert. Later features register their own kinds the same way."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select

from bot.models import CheckIn, Delivery, DeliveryStatus
from bot.scheduling.kinds import ALERT, CHECKIN, CHECKIN_NUDGE
from bot.scheduling.rendering import (
    Button,
    DueDelivery,
    Outgoing,
    RenderContext,
    Skip,
    register_renderer,
)

delivery = Delivery.__table__  # type: ignore[attr-defined]

# "ci:<id of the check-in prompt's Delivery row>": an id, checked against the database
# on every press (callback data can be forged).
CHECKIN_CALLBACK_PREFIX = "ci:"


def checkin_callback(prompt_id: int) -> str:
    return f"{CHECKIN_CALLBACK_PREFIX}{prompt_id}"


async def render_checkin(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    client = ctx.client(item)
    ui = ctx.content.language(client.language if client else None).ui
    return Outgoing(ui.checkin_prompt, ((Button(ui.checkin_button, checkin_callback(item.id)),),))


async def cancel_nudges_after_activity(
    connection: AsyncConnection, chat_id: int, received_at: datetime
) -> int:
    """The client wrote (or pressed anything) at `received_at`: a pending nudge whose
    prompt was already sent is skipped. Until the check-in itself exists, this is what
    "the client has started" means. Called by the inbox as each update is marked done,
    so no record of who wrote when is kept."""
    nudges = (
        await connection.execute(
            sa.select(delivery.c.id, delivery.c.client_id, delivery.c.dedupe_key).where(
                delivery.c.recipient_chat_id == chat_id,
                delivery.c.status == DeliveryStatus.pending.value,
                delivery.c.kind == CHECKIN_NUDGE.name,
            )
        )
    ).all()
    if not nudges:
        return 0
    prompt_keys = {_prompt_key(n.dedupe_key): n.id for n in nudges}
    prompted = (
        await connection.execute(
            sa.select(delivery.c.dedupe_key).where(
                delivery.c.dedupe_key.in_(prompt_keys),
                delivery.c.status == DeliveryStatus.sent.value,
                delivery.c.sent_at <= received_at,
            )
        )
    ).scalars()
    started = [prompt_keys[key] for key in prompted]
    if not started:
        return 0
    result = await connection.execute(
        sa.update(delivery)
        .where(delivery.c.id.in_(started), delivery.c.status == DeliveryStatus.pending.value)
        .values(status=DeliveryStatus.skipped.value, reason="client already started")
    )
    return result.rowcount


def _prompt_key(nudge_key: str) -> str:
    """checkin_nudge:{client}:{date} -> checkin:{client}:{date}"""
    return CHECKIN.name + nudge_key.removeprefix(CHECKIN_NUDGE.name)


async def render_checkin_nudge(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    """Sent only if today's prompt went out; a client who wrote since has had their
    nudge cancelled already (cancel_nudges_after_activity)."""
    prompt = (
        await ctx.session.exec(
            select(Delivery).where(Delivery.dedupe_key == _prompt_key(item.dedupe_key))
        )
    ).first()
    if prompt is None or prompt.status != DeliveryStatus.sent or prompt.id is None:
        return Skip("today's check-in prompt was not sent")
    local_date = date.fromisoformat(item.dedupe_key.rsplit(":", 1)[1])
    started = (
        await ctx.session.exec(
            select(CheckIn.id).where(
                CheckIn.client_id == item.client_id, CheckIn.local_date == local_date
            )
        )
    ).first()
    if started is not None:
        return Skip("client already started")
    client = ctx.client(item)
    ui = ctx.content.language(client.language if client else None).ui
    return Outgoing(ui.checkin_nudge, ((Button(ui.checkin_button, checkin_callback(prompt.id)),),))


async def render_alert(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    """An alert's text is rendered from content when it is raised (with the pseudonym,
    never the client's words) and stored in the payload; buttons likewise."""
    text = item.payload.get("text")
    if not isinstance(text, str) or not text:
        raise ValueError(f"alert delivery {item.id} has no text")
    buttons = tuple(
        tuple(Button(b["text"], b["callback_data"]) for b in row)
        for row in item.payload.get("buttons", [])
    )
    return Outgoing(text, buttons)


register_renderer(CHECKIN.name, render_checkin)
register_renderer(CHECKIN_NUDGE.name, render_checkin_nudge)
register_renderer(ALERT.name, render_alert)
