"""Alerts to the care team: raised, delivered through the outbox, acted on, escalated.

No Telegram here. An alert and all of its deliveries are written in the caller's
transaction, so once the client's message is handled the alert cannot be lost; the
outbox delivers it at least once. The group chat gets the pseudonym, the tier, the
category and the time — never a name or the client's words; the words that fired go
only to clinicians' private chats.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content, render
from bot.models import (
    Alert,
    AlertAction,
    AlertTier,
    Client,
    Clinician,
    ClinicianRole,
    Delivery,
    DeliveryStatus,
    Program,
)
from bot.scheduling.kinds import ALERT, Kind, Rule, register_kind
from bot.scheduling.priority import Priority
from bot.scheduling.rendering import (
    Button,
    DueDelivery,
    Outgoing,
    RenderContext,
    Skip,
    register_failure_hook,
    register_renderer,
)

# Sent again to more people while an urgent alert is unacknowledged; skipped (at render
# time) once anyone acknowledged it.
ESCALATION = register_kind(
    Kind(
        "alert_escalation",
        Rule.at_least_once,
        grace=None,
        needs_active_client=False,
        max_attempts=None,
    )
)
# The day after an alert the client is asked how they are (at most once per slot: a
# second identical question would be worse than none). Not sent to a paused client.
FOLLOW_UP = register_kind(Kind("alert_followup", Rule.at_most_once, grace=timedelta(hours=10)))
FOLLOW_UP_HOUR = 11  # local time of the day after
FOLLOW_UP_ANSWERS = {
    "better": "followup_better",
    "same": "followup_same",
    "worse": "followup_worse",
    "reached": "followup_reached",
    "none": "followup_not_reached",
}
# Told to the client when no one on the care team could be reached (every copy of the
# alert failed for good): the crisis lines first, then that plain fact.
UNREACHED = register_kind(
    Kind(
        "alert_unreached",
        Rule.at_least_once,
        grace=None,
        needs_active_client=False,
        max_attempts=None,
    )
)
# A later message added to an open alert: a short note to whoever holds the alert (at
# most one a minute per clinician: a burst of fifty messages is one or two notes).
MORE = register_kind(
    Kind("alert_more", Rule.at_least_once, grace=None, needs_active_client=False, max_attempts=None)
)
# A flagged message while an alert of the same or a higher tier is open (raised this
# long ago at most) is added to that alert instead of raising a new one.
GROUP_WINDOW = timedelta(hours=24)
RANK = {AlertTier.same_day: 1, AlertTier.urgent: 2}
EVIDENCE_MAX = 300
ACTIONS = {"a": "acknowledged", "c": "contacted", "r": "resolved"}


@dataclass(frozen=True)
class Finding:
    """What raised the alert: the screen's verdict (or a check-in rule's)."""

    tier: AlertTier
    category: str
    rule: str
    evidence: str  # the words that fired; shown only in private chats
    # Which layer of the screen fired (bot/alert_why.py), rendered; private chats only.
    why: str = ""


def _local(program: Program, at: datetime) -> str:
    """A time as a clinician reads it: the program's zone, named ("Fri 9:14 pm CST"), so
    a colleague in another zone, or reading it later, is never an hour out."""
    return clock_time(at.astimezone(ZoneInfo(program.timezone)), day=True)


def new_token() -> str:
    """A short random token for an alert's buttons (8 hex digits: guessing is pointless,
    and callback data stays far below Telegram's 64 bytes)."""
    return secrets.token_hex(4)


def alert_ref(alert: Alert) -> str:
    """How every button names an alert: "<id>.<token>" (just "<id>" for an alert older
    than tokens)."""
    assert alert.id is not None
    return f"{alert.id}.{alert.token}" if alert.token else str(alert.id)


async def alert_from_button(session: AsyncSession, ref: str) -> Alert | None:
    """The one check of a button's alert reference: the alert it named when it was sent,
    or None when that alert is gone (erased, or its id now names another alert: the
    token differs). Callers answer None with "This button is out of date"."""
    number, _, token = ref.partition(".")
    if not number.isdigit() or len(number) > 18:
        return None
    alert = await session.get(Alert, int(number))
    if alert is None or not hmac.compare_digest(alert.token.encode(), token.encode()):
        return None
    return alert


def alert_buttons(content: Content, alert: Alert) -> list[list[dict[str, str]]]:
    staff = content.language(None).alerts.staff
    ref = alert_ref(alert)
    return [
        [
            {"text": staff.acknowledge_button, "callback_data": f"al:{ref}:a"},
            {"text": staff.contacted_button, "callback_data": f"al:{ref}:c"},
            {"text": staff.resolved_button, "callback_data": f"al:{ref}:r"},
        ],
        # Marks the screen's mistake for the corpus (bot/features/screen_marks.py).
        [{"text": staff.false_alarm_button, "callback_data": f"alf:{ref}"}],
    ]


async def detail_text(
    session: AsyncSession, content: Content, alert: Alert, *, escalated_minutes: int | None = None
) -> str:
    """The private-chat view of an alert: pseudonym, tier, category, evidence, every press."""
    staff = content.language(None).alerts.staff
    program = await session.get(Program, alert.program_id)
    client = await session.get(Client, alert.client_id)
    assert program is not None and client is not None and alert.id is not None
    actions = (
        await session.exec(
            select(AlertAction)
            .where(AlertAction.alert_id == alert.id)
            .order_by(col(AlertAction.at))
        )
    ).all()
    lines = []
    more = [a for a in actions if a.action == "more"]
    for action in actions:
        if action.action == "more":
            continue
        if action.action == "asked":  # the question asked when the screen was unsure
            lines.append(action.detail or "")  # rendered and escaped when recorded
            continue
        who = "client"
        if action.clinician_id is not None:
            clinician = await session.get(Clinician, action.clinician_id)
            who = clinician.display_name if clinician else "?"
        lines.append(
            render(
                staff.status_line,
                action=staff.actions[action.action],
                who=who,
                time=_local(program, action.at),
            )
        )
    if more:
        # Grouped messages in one line, however many: the message stays short.
        lines.append(
            render(
                staff.more_line,
                count=len(more),
                time=_local(program, more[-1].at),
                evidence=(more[-1].detail or "")[:EVIDENCE_MAX],
            )
        )
    if alert.resolution_note:
        lines.append(render(staff.resolved_note, note=alert.resolution_note))
    text = render(
        staff.detail,
        tier=staff.tiers[alert.tier.value],
        code=client.code,
        time=_local(program, alert.raised_at),
        category=staff.categories.get(alert.category, alert.category),
        evidence=(alert.evidence or "")[:EVIDENCE_MAX],
        status="",
    ).rstrip()
    if alert.why:  # rendered when raised, each value escaped
        text += "\n" + alert.why
    # Status lines are rendered above, each value escaped; join them as they are.
    text += "\n" + ("\n".join(lines) if lines else staff.status_open)
    if escalated_minutes is not None:
        text = render(staff.escalated, minutes=escalated_minutes) + "\n" + text
    return text


async def group_post_text(session: AsyncSession, content: Content, alert: Alert) -> str:
    """The care-team group's post of an urgent alert, with its state: pseudonym, tier,
    category, time and state only — never a name or the client's words."""
    staff = content.language(None).alerts.staff
    program = await session.get(Program, alert.program_id)
    client = await session.get(Client, alert.client_id)
    assert program is not None and client is not None
    state = (
        staff.state_resolved
        if alert.resolved_at is not None
        else staff.state_acknowledged
        if alert.acknowledged_at is not None
        else staff.state_open
    )
    return (
        render(
            staff.group,
            tier=staff.tiers[alert.tier.value],
            code=client.code,
            category=staff.categories.get(alert.category, alert.category),
            time=_local(program, alert.raised_at),
        )
        + "\n"
        + render(staff.group_status, state=state)
    )


async def raise_alert(
    session: AsyncSession,
    *,
    content: Content,
    client: Client,
    finding: Finding,
    now: datetime,
    source: str = "message",
) -> Alert:
    """Record an alert and queue everything it sends, in the caller's transaction.

    While an alert of the same or a higher tier is open for the client, the finding is
    added to that alert (and shown to whoever holds it) and that alert is returned: a
    burst of messages, or one check-in's several flags, is one alert, one group post and
    one escalation. Only a more urgent finding raises a new alert."""
    assert client.id is not None
    program = await session.get(Program, client.program_id)
    assert program is not None
    open_ = await open_alert_for(session, client_id=client.id, tier=finding.tier, now=now)
    if open_ is not None:
        await add_to_alert(session, alert=open_, finding=finding, now=now)
        return open_
    alert = Alert(
        program_id=program.id,
        client_id=client.id,
        tier=finding.tier,  # type: ignore[arg-type]
        category=finding.category,
        rule=finding.rule[:120],
        evidence=finding.evidence[:EVIDENCE_MAX],
        why=finding.why or None,
        source=source,
        raised_at=now,
        token=new_token(),
    )
    session.add(alert)
    await session.flush()
    assert alert.id is not None
    staff = content.language(None).alerts.staff
    category = staff.categories.get(finding.category, finding.category)
    # An urgent alert's messages go before anything else; a same-day alert's with the
    # care team's other messages (bot/scheduling/priority.py).
    rank = Priority.crisis if finding.tier is AlertTier.urgent else Priority.care_team

    def queue(
        key: str,
        chat_id: int,
        text: str,
        buttons: list[list[dict[str, str]]],
        due: datetime,
        kind: str = ALERT.name,
        **extra: object,
    ) -> None:
        session.add(
            Delivery(
                kind=kind,
                recipient_chat_id=chat_id,
                client_id=client.id,
                due_at=due,
                payload={"text": text, "buttons": buttons, "alert_id": alert.id, **extra},
                dedupe_key=f"alert:{alert.id}:{key}",
                created_at=now,
                priority=int(rank),
            )
        )

    urgent = finding.tier is AlertTier.urgent
    if urgent and program.care_team_chat_id is not None:
        queue(
            "group",
            program.care_team_chat_id,
            render(
                staff.group,
                tier=staff.tiers["urgent"],
                code=client.code,
                category=category,
                time=_local(program, now),
            ),
            [[{"text": staff.open_button, "callback_data": f"alx:{alert_ref(alert)}"}]],
            now,
        )
    clinicians = (
        await session.exec(
            select(Clinician).where(
                Clinician.program_id == program.id,
                col(Clinician.active).is_(True),
                col(Clinician.telegram_user_id).is_not(None),
            )
        )
    ).all()
    first = await first_responders(session, alert)
    text = await detail_text(session, content, alert)
    for clinician in first:
        assert clinician.telegram_user_id is not None
        queue(
            f"clinician:{clinician.id}",
            clinician.telegram_user_id,
            text,
            alert_buttons(content, alert),
            now,
        )
    if client.chat_id is not None:
        zone = ZoneInfo(client.timezone or program.timezone)
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        at = datetime.combine(tomorrow, datetime.min.time().replace(hour=FOLLOW_UP_HOUR), zone)
        session.add(
            Delivery(
                kind=FOLLOW_UP.name,
                recipient_chat_id=client.chat_id,
                client_id=client.id,
                due_at=at.astimezone(now.tzinfo),
                payload={"alert_id": alert.id},
                dedupe_key=f"alert:{alert.id}:followup",
                created_at=now,
            )
        )
    if urgent:
        wait = timedelta(minutes=program.escalate_after_minutes)
        for level, group in (
            (1, [c for c in clinicians if c not in first]),
            (2, [c for c in clinicians if c.role is ClinicianRole.admin]),
        ):
            for clinician in group:
                assert clinician.telegram_user_id is not None
                queue(
                    f"escalation{level}:{clinician.id}",
                    clinician.telegram_user_id,
                    "",
                    [],
                    now + wait * level,
                    kind=ESCALATION.name,
                    minutes=program.escalate_after_minutes * level,
                )
    return alert


async def record(
    session: AsyncSession, *, alert: Alert, action: str, clinician: Clinician | None, now: datetime
) -> bool:
    """Record a press (or the client's answer); False when it was already recorded."""
    done = (
        await session.exec(
            select(AlertAction).where(
                AlertAction.alert_id == alert.id,
                AlertAction.action == action,
                AlertAction.clinician_id == (clinician.id if clinician else None),
            )
        )
    ).first()
    if done is not None:  # a double tap, or a replayed press: recorded once
        return False
    session.add(
        AlertAction(
            alert_id=alert.id,
            clinician_id=clinician.id if clinician else None,  # type: ignore[arg-type]
            action=action,
            at=now,
        )
    )
    if action in ("acknowledged", "contacted", "resolved") and alert.acknowledged_at is None:
        alert.acknowledged_at = now  # any response from the team stops the escalation
    if action == "not_safe":
        alert.high_priority = True
    return True


async def first_responders(session: AsyncSession, alert: Alert) -> list[Clinician]:
    """Who gets an alert at once: the client's primary clinician (else the program's
    admins) and every clinician on call."""
    client = await session.get(Client, alert.client_id)
    clinicians = (
        await session.exec(
            select(Clinician).where(
                Clinician.program_id == alert.program_id,
                col(Clinician.active).is_(True),
                col(Clinician.telegram_user_id).is_not(None),
            )
        )
    ).all()
    primary = [c for c in clinicians if client and c.id == client.primary_clinician_id]
    first = primary or [c for c in clinicians if c.role is ClinicianRole.admin]
    return first + [c for c in clinicians if c.on_call and c not in first]


async def requeue_detail(
    session: AsyncSession, content: Content, alert: Alert, now: datetime, *, reason: str
) -> None:
    """Send the updated alert again (the client answered "I'm not safe", say)."""
    assert alert.id is not None
    await session.flush()
    text = await detail_text(session, content, alert)
    for clinician in await first_responders(session, alert):
        key = f"alert:{alert.id}:{reason}:{clinician.id}:{now.isoformat()}"
        session.add(_detail_copy(content, alert, clinician, text, now, key))


def _detail_copy(
    content: Content, alert: Alert, clinician: Clinician, text: str, now: datetime, key: str
) -> Delivery:
    """A clinician's private copy of an alert's detail, with its buttons, to send now."""
    assert clinician.telegram_user_id is not None
    return Delivery(
        kind=ALERT.name,
        recipient_chat_id=clinician.telegram_user_id,
        client_id=alert.client_id,
        due_at=now,
        payload={"text": text, "buttons": alert_buttons(content, alert), "alert_id": alert.id},
        dedupe_key=key,
        created_at=now,
    )


async def render_escalation(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    alert = await ctx.session.get(Alert, item.payload.get("alert_id"))
    if alert is None:
        return Skip("alert erased")
    if alert.acknowledged_at is not None or alert.resolved_at is not None:
        return Skip("acknowledged before escalation")
    text = await detail_text(
        ctx.session, ctx.content, alert, escalated_minutes=int(item.payload.get("minutes", 0))
    )
    buttons = alert_buttons(ctx.content, alert)
    return Outgoing(
        text, tuple(tuple(Button(b["text"], b["callback_data"]) for b in row) for row in buttons)
    )


register_renderer(ESCALATION.name, render_escalation)


async def render_follow_up(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    alert = await ctx.session.get(Alert, item.payload.get("alert_id"))
    client = ctx.client(item)
    if alert is None or client is None:
        return Skip("alert or client erased")
    # Several alerts in one day: one question the next day is enough.
    earlier = (
        await ctx.session.exec(
            select(Delivery.id).where(
                Delivery.kind == FOLLOW_UP.name,
                Delivery.client_id == client.id,
                Delivery.status == DeliveryStatus.sent,
                col(Delivery.sent_at) > ctx.now - timedelta(hours=12),
            )
        )
    ).first()
    if earlier is not None:
        return Skip("asked already today")
    reply = ctx.content.language(client.language).alerts.reply
    data = f"fu:{alert_ref(alert)}:"
    return Outgoing(
        reply.followup,
        (
            (
                Button(reply.better_button, data + "better"),
                Button(reply.same_button, data + "same"),
                Button(reply.worse_button, data + "worse"),
            ),
            (
                Button(reply.reached_button, data + "reached"),
                Button(reply.not_reached_button, data + "none"),
            ),
        ),
    )


register_renderer(FOLLOW_UP.name, render_follow_up)


def reopen(alert: Alert) -> None:
    """ "No one reached me": the alert is open again for the care team."""
    alert.acknowledged_at = None
    alert.resolved_at = None


def age(now: datetime, then: datetime) -> str:
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


async def open_alerts(
    session: AsyncSession, *, clinician: Clinician, now: datetime | None = None
) -> list[tuple[Alert, str]]:
    """Open alerts a clinician holds, most urgent first ("I'm not safe" first, then urgent
    before same-day, then the oldest): their caseload's (an admin's: the program's) and
    every other alert they were sent or escalated to. A colleague paged during an
    escalation must never read "no open alerts" while that alert is open."""
    now = now or datetime.now(UTC)
    query = (
        select(Alert, Client.code, Client.primary_clinician_id)
        .join(Client, col(Client.id) == col(Alert.client_id))
        .where(Alert.program_id == clinician.program_id, col(Alert.resolved_at).is_(None))
    )
    rows = list((await session.exec(query)).all())
    if clinician.role is not ClinicianRole.admin:
        others = [a for a, _, primary in rows if primary != clinician.id]
        reached = await _alerts_sent_to(session, clinician, others, now)
        rows = [r for r in rows if r[2] == clinician.id or r[0].id in reached]
    rows.sort(
        key=lambda r: (not r[0].high_priority, r[0].tier is not AlertTier.urgent, r[0].raised_at)
    )
    return [(alert, code) for alert, code, _ in rows]


def alert_state(content: Content, alert: Alert, program: Program, now: datetime) -> str:
    """open, ESCALATED (urgent, unacknowledged past the program's limit), or acknowledged."""
    staff = content.language(None).alerts.staff
    if alert.acknowledged_at is not None:
        return staff.state_acknowledged
    limit = timedelta(minutes=program.escalate_after_minutes)
    if alert.tier is AlertTier.urgent and now - alert.raised_at >= limit:
        return staff.state_escalated
    return staff.state_open


def alert_line(content: Content, alert: Alert, code: str, now: datetime, program: Program) -> str:
    staff = content.language(None).alerts.staff
    state = alert_state(content, alert, program, now)
    return render(
        staff.alert_line,
        flag="‼️" if alert.high_priority else ("🚨" if alert.tier is AlertTier.urgent else "•"),
        code=code,
        tier=staff.tiers[alert.tier.value],
        category=staff.categories.get(alert.category, alert.category),
        age=age(now, alert.raised_at),
        state=state,
    )


async def client_history(session: AsyncSession, *, client: Client, limit: int = 20) -> list[Alert]:
    return list(
        (
            await session.exec(
                select(Alert)
                .where(Alert.client_id == client.id)
                .order_by(col(Alert.raised_at).desc())
                .limit(limit)
            )
        ).all()
    )


async def _alerts_sent_to(
    session: AsyncSession, clinician: Clinician, alerts: Sequence[Alert], now: datetime
) -> set[int]:
    """Which of `alerts` reached this clinician: a copy or an escalation was sent to their
    chat, or (should those rows be gone) an urgent alert went unacknowledged past the
    program's escalation limit, when it goes to every clinician."""
    if not alerts:
        return set()
    wanted = {a.id for a in alerts if a.id is not None}
    reached: set[int] = set()
    if clinician.telegram_user_id is not None:
        payloads = (
            await session.exec(
                select(Delivery.payload).where(
                    Delivery.recipient_chat_id == clinician.telegram_user_id,
                    col(Delivery.client_id).in_({a.client_id for a in alerts}),
                    Delivery.status == DeliveryStatus.sent,
                )
            )
        ).all()
        reached = {p.get("alert_id") for p in payloads if isinstance(p, dict)} & wanted
    program = await session.get(Program, clinician.program_id)
    if program is not None:
        limit = timedelta(minutes=program.escalate_after_minutes)
        for alert in alerts:
            escalated_at = alert.raised_at + limit
            if (
                alert.tier is AlertTier.urgent
                and escalated_at <= now
                and (alert.acknowledged_at is None or alert.acknowledged_at > escalated_at)
            ):
                reached.add(alert.id)  # type: ignore[arg-type]
    return reached


def clock_time(local: datetime, *, day: bool = False) -> str:
    """ "9:14 pm CST" (with `day`: "Fri 9:14 pm CST") from an aware local datetime."""
    hour = local.hour % 12 or 12
    text = f"{hour}:{local:%M} {'am' if local.hour < 12 else 'pm'} {local:%Z}".rstrip()
    return f"{local:%a} {text}" if day else text


# --- a copy that cannot be delivered goes on to someone else ------------------------------

# A copy in these states reaches (or is about to reach) its clinician.
_HELD = (
    DeliveryStatus.pending,
    DeliveryStatus.claimed,
    DeliveryStatus.sending,
    DeliveryStatus.sent,
)


async def detail_copies(session: AsyncSession, alert_id: int) -> list[Delivery]:
    """The alert's detail messages to clinicians' private chats, oldest first (not the
    group post, the client's messages or escalations due later)."""
    return list(
        (
            await session.exec(
                select(Delivery)
                .where(
                    col(Delivery.dedupe_key).startswith(f"alert:{alert_id}:"),
                    Delivery.kind == ALERT.name,
                    col(Delivery.recipient_chat_id) > 0,
                )
                .order_by(col(Delivery.id))
            )
        ).all()
    )


async def reroute_failed_copy(
    connection: AsyncConnection, content: Content, item: DueDelivery, now: datetime
) -> None:
    """A detail copy failed for good (blocked bot, chat not found, deactivated account).

    Unless someone else holds the detail (or is about to), it goes at once to the next
    people who have not had it: the clinicians on call, then every active clinician of
    the program, then its admins. When nobody is left, the client is told the truth,
    after the crisis lines. Runs in the transaction that records the failure."""
    alert_id = item.payload.get("alert_id")
    if not isinstance(alert_id, int) or item.recipient_chat_id < 0:
        return  # the group post carries no detail: the private copies are what count
    async with AsyncSession(
        bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only"
    ) as session:
        # Locked: two copies failing at once on PostgreSQL decide one after the other.
        alert = await session.get(Alert, alert_id, with_for_update=True)
        if alert is None or alert.resolved_at is not None:
            return
        latest: dict[int, Delivery] = {}
        for copy in await detail_copies(session, alert_id):
            latest[copy.recipient_chat_id] = copy
        if any(copy.status in _HELD for copy in latest.values()):
            return  # someone has it; if their copy fails too, that failure decides again
        clinicians = (
            await session.exec(
                select(Clinician)
                .where(
                    Clinician.program_id == alert.program_id,
                    col(Clinician.active).is_(True),
                    col(Clinician.telegram_user_id).is_not(None),
                )
                .order_by(col(Clinician.id))
            )
        ).all()
        untried = [c for c in clinicians if c.telegram_user_id not in latest]
        for level in (
            [c for c in untried if c.on_call],
            untried,
            [c for c in untried if c.role is ClinicianRole.admin],
        ):
            if level:
                staff = content.language(None).alerts.staff
                text = staff.rerouted + "\n" + await detail_text(session, content, alert)
                for clinician in level:
                    key = f"alert:{alert_id}:reroute:{clinician.id}"
                    session.add(_detail_copy(content, alert, clinician, text, now, key))
                await session.flush()
                return
        client = await session.get(Client, alert.client_id)
        if client is None or client.chat_id is None:
            return
        session.add(
            Delivery(
                kind=UNREACHED.name,
                recipient_chat_id=client.chat_id,
                client_id=client.id,
                due_at=now,
                payload={"alert_id": alert_id},
                dedupe_key=f"alert:{alert_id}:unreached",
                created_at=now,
            )
        )
        await session.flush()


register_failure_hook(ALERT.name, reroute_failed_copy)


async def team_reachable(session: AsyncSession, alert: Alert) -> bool:
    """Whether anything of the alert is on its way to the care team (a clinician's copy
    or the group post): what the client may be told."""
    row = (
        await session.exec(
            select(Delivery.id).where(
                col(Delivery.dedupe_key).startswith(f"alert:{alert.id}:"),
                Delivery.kind == ALERT.name,
                col(Delivery.status).in_(_HELD),
            )
        )
    ).first()
    return row is not None


def unreached_text(content: Content, client: Client, program: Program) -> str:
    """The crisis lines first, then: nobody on the care team could be reached."""
    pack = content.language(client.language)
    return pack.crisis_card(program.region) + "\n\n" + pack.alerts.reply.team_unreached


async def render_unreached(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    client = ctx.client(item)
    if client is None:
        return Skip("client erased")
    program = await ctx.session.get(Program, client.program_id)
    assert program is not None
    return Outgoing(unreached_text(ctx.content, client, program))


register_renderer(UNREACHED.name, render_unreached)


# --- grouping a later message into the open alert ------------------------------------------


async def open_alert_for(
    session: AsyncSession, *, client_id: int, tier: AlertTier, now: datetime
) -> Alert | None:
    """The client's open alert a finding of `tier` belongs to: unresolved, raised within
    GROUP_WINDOW, of the same or a higher tier (the most urgent, then the latest)."""
    rows = (
        await session.exec(
            select(Alert).where(
                Alert.client_id == client_id,
                col(Alert.resolved_at).is_(None),
                col(Alert.raised_at) > now - GROUP_WINDOW,
            )
        )
    ).all()
    fitting = [a for a in rows if RANK[a.tier] >= RANK[tier]]
    if not fitting:
        return None
    return max(fitting, key=lambda a: (RANK[a.tier], a.raised_at, a.id or 0))


async def holders(session: AsyncSession, alert_id: int) -> set[int]:
    """The private chats the alert's detail went (or is going) to, escalations included."""
    rows = (
        await session.exec(
            select(Delivery.recipient_chat_id, Delivery.kind, Delivery.status).where(
                col(Delivery.dedupe_key).startswith(f"alert:{alert_id}:"),
                col(Delivery.kind).in_([ALERT.name, ESCALATION.name]),
                col(Delivery.recipient_chat_id) > 0,
            )
        )
    ).all()
    return {
        chat
        for chat, kind, status in rows
        if status == DeliveryStatus.sent or (kind == ALERT.name and status in _HELD)
    }


async def add_to_alert(
    session: AsyncSession, *, alert: Alert, finding: Finding, now: datetime
) -> None:
    """Add a later finding to an open alert: recorded (its words sealed, like the
    evidence) and a short note queued to each holder, at most one a minute each."""
    assert alert.id is not None
    session.add(
        AlertAction(
            alert_id=alert.id,
            clinician_id=None,
            action="more",
            at=now,
            detail=finding.evidence[:EVIDENCE_MAX],
        )
    )
    minute = int(now.timestamp() // 60)
    table = Delivery.__table__  # type: ignore[attr-defined]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for chat in sorted(await holders(session, alert.id)):
        await session.exec(  # type: ignore[call-overload]
            insert(table)
            .values(
                kind=MORE.name,
                recipient_chat_id=chat,
                client_id=alert.client_id,
                due_at=now,
                available_at=now,
                payload={"alert_id": alert.id, "category": finding.category},
                status=DeliveryStatus.pending.value,
                attempts=0,
                dedupe_key=f"alert:{alert.id}:more:{chat}:{minute}",
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )


async def render_more(ctx: RenderContext, item: DueDelivery) -> Outgoing | Skip:
    """The holder's note, rendered when sent: the latest words added, never a name."""
    alert = await ctx.session.get(Alert, item.payload.get("alert_id"))
    if alert is None:
        return Skip("alert erased")
    if alert.resolved_at is not None:
        return Skip("alert resolved")
    latest = (
        await ctx.session.exec(
            select(AlertAction)
            .where(AlertAction.alert_id == alert.id, AlertAction.action == "more")
            .order_by(col(AlertAction.at).desc(), col(AlertAction.id).desc())
        )
    ).first()
    program = await ctx.session.get(Program, alert.program_id)
    client = await ctx.session.get(Client, alert.client_id)
    if latest is None or program is None or client is None:
        return Skip("nothing added")
    staff = ctx.content.language(None).alerts.staff
    category = str(item.payload.get("category") or alert.category)
    text = render(
        staff.more_note,
        code=client.code,
        category=staff.categories.get(category, category),
        time=_local(program, latest.at),
        evidence=(latest.detail or "")[:EVIDENCE_MAX],
    )
    buttons = alert_buttons(ctx.content, alert)
    return Outgoing(
        text, tuple(tuple(Button(b["text"], b["callback_data"]) for b in row) for row in buttons)
    )


register_renderer(MORE.name, render_more)
