"""The tables. Every change here needs an Alembic migration (`alembic revision --autogenerate`).

Telegram ids do not fit in 32 bits (group ids look like -100xxxxxxxxxx), so every
Telegram id column is a BigInteger. Enums are stored as short strings (not native
PostgreSQL enums) so adding a value is a plain migration on both databases.
Datetimes are timezone-aware UTC (SQLModel 0.0.50 rejects naive ones).
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from bot.scheduling.priority import class_of_kind
from bot.sealed import SealedJSON, SealedText

# Set before the first migration: constraint names must be stable across SQLite and
# PostgreSQL or later ALTERs cannot find them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Tables whose ids a button names (or whose rows a button's id leads to): SQLite reuses
# the id of a deleted last row unless the table is AUTOINCREMENT, and a stale button
# would then name someone else's row. PostgreSQL sequences never reuse ids.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _due_at(context: Any) -> Any:
    """Column default of Delivery.available_at: the row's own due_at."""
    return context.get_current_parameters()["due_at"]


def _priority(context: Any) -> Any:
    """Column default of Delivery.priority: its kind's class (bot/scheduling/priority.py)."""
    return int(class_of_kind(context.get_current_parameters()["kind"]))


def _enum(cls: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(
        cls,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class ClinicianRole(enum.StrEnum):
    clinician = "clinician"
    admin = "admin"


class ClientStatus(enum.StrEnum):
    invited = "invited"
    active = "active"
    paused = "paused"
    discharged = "discharged"
    unreachable = "unreachable"


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    claimed = "claimed"
    # The request to Telegram is (about to be) on its way: if the worker dies now, nobody
    # knows whether it arrived (at-most-once kinds are then not resent).
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


class Program(SQLModel, table=True):
    """An intensive outpatient program: one care team, one schedule, one region."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    timezone: str = Field(max_length=64)  # IANA name
    region: str = Field(max_length=8)  # crisis-resources region: US, UK, IE, CA, AU, EU
    care_team_chat_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    digest_times: list[str] = Field(default_factory=lambda: ["08:00"], sa_type=JSON)  # "HH:MM"
    # Stated honestly in every crisis reply: who may see an alert, and when.
    on_call_24_7: bool = False
    care_team_hours: str | None = Field(default=None, max_length=120)  # "Mon-Fri 9am-5pm"
    # An urgent alert nobody acknowledged goes to every clinician after this, and to the
    # program's admins after twice this.
    escalate_after_minutes: int = 15
    # After an urgent or same-day alert about a client, their bulk messages (lesson
    # reminders, nudges, offers) are held this long (bot/scheduling/kinds.AfterAlert).
    quiet_after_alert_hours: int = 12
    # The program's check-in flag thresholds (bot/checkin/rules.py), over the defaults.
    checkin_thresholds: dict[str, int] | None = Field(default=None, sa_type=JSON)
    # Session reminders: the local time of the day-before reminder (None: none), and how
    # many hours before a session the same-day one comes (None: none).
    reminder_day_before: str | None = Field(default="18:00", max_length=5)
    reminder_hours_before: int | None = 2
    created_at: datetime = Field(default_factory=utcnow)


class Clinician(SQLModel, table=True):
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    telegram_user_id: int | None = Field(default=None, sa_type=sa.BigInteger, unique=True)
    display_name: str = Field(max_length=120)
    role: ClinicianRole = Field(default=ClinicianRole.clinician, sa_type=_enum(ClinicianRole))
    active: bool = True
    # On call: gets every urgent and same-day alert of the program at once, with the
    # client's primary clinician.
    on_call: bool = False
    # The alert whose resolution note this clinician was asked to type, if any.
    note_for_alert_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Client(SQLModel, table=True):
    """A client, known only by a pseudonym code; no name is ever stored."""

    __table_args__ = (sa.UniqueConstraint("program_id", "code"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    code: str = Field(max_length=16)  # easy to say on the phone, e.g. K7Q-2
    telegram_user_id: int | None = Field(default=None, sa_type=sa.BigInteger, unique=True)
    chat_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    status: ClientStatus = Field(default=ClientStatus.invited, sa_type=_enum(ClientStatus))
    timezone: str | None = Field(default=None, max_length=64)  # None: the program's
    language: str = Field(default="en", max_length=8)
    checkin_time: str | None = Field(default=None, max_length=5)  # local "HH:MM"
    primary_clinician_id: int | None = Field(default=None, foreign_key="clinician.id")
    # The clinician's own note to recognise the client; never shown in groups.
    label: str | None = Field(default=None, sa_type=SealedText)
    # The set-up question the client is on ("timezone"; "edit:timezone" when changing
    # it from /settings); None when nothing is being asked. Buttons of any other step
    # are stale, so a double tap or an old message cannot write twice.
    setup_step: str | None = Field(default=None, max_length=32)
    session_reminders: bool = True
    medication_reminders: bool = False
    # The check-in asks about the recovery medicine (D6) only when a clinician turned it
    # on; the question never names the medicine.
    checkin_medicine: bool = False
    # The weekday (0 = Monday) of the weekly safety questions and the longer check-in;
    # None: the weekday the client joined.
    weekly_day: int | None = None
    # The clinician's overrides of the program's check-in flag thresholds.
    checkin_thresholds: dict[str, int] | None = Field(default=None, sa_type=JSON)
    # Local "HH:MM" times of the medication reminder (opt-in); empty: one at 09:00.
    medication_times: list[str] = Field(default_factory=list, sa_type=JSON)
    # "iop" while in the program; "aftercare" after a step-down (history is kept).
    care_stage: str = Field(default="iop", max_length=16)
    # ISO weekdays (1 = Monday) the check-in is planned on, e.g. "135"; None: every day.
    checkin_days: str | None = Field(default=None, max_length=7)
    created_at: datetime = Field(default_factory=utcnow)
    enrolled_at: datetime | None = None  # consent given
    paused_at: datetime | None = None
    left_at: datetime | None = None
    # When the client last wrote or pressed anything (hourly resolution): the digest
    # lists clients nobody has heard from in 3 days.
    last_contact_at: datetime | None = None
    # /delete: the one-time nonce of the confirmation last shown (its buttons carry it,
    # so an old or forged "Yes, erase it all" erases nothing).
    erase_nonce: str | None = Field(default=None, max_length=16)
    # /delete while an alert was open: everything else is erased, and this row (with no
    # Telegram ids) and the open alerts stay until the care team resolves them.
    erase_requested_at: datetime | None = None


class InvitePurpose(enum.StrEnum):
    client = "client"
    clinician = "clinician"


class Invitation(SQLModel, table=True):
    """A one-time deep link. Only the token's SHA-256 is stored, never the token."""

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    purpose: InvitePurpose = Field(sa_type=_enum(InvitePurpose))
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    clinician_id: int | None = Field(default=None, foreign_key="clinician.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=64)  # "clinician:3" or "admin-cli"
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    declined_at: datetime | None = None


class EnrollmentAttempt(SQLModel, table=True):
    """A wrong invite token, for the 5-an-hour limit: a keyed hash (HMAC) of the
    sender, and when.

    Rows older than an hour are deleted; nothing else about the sender is kept.
    """

    id: int | None = Field(default=None, primary_key=True)
    sender_hash: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow)


class DeploymentSecret(SQLModel, table=True):
    """A random secret made once per deployment, when none is configured (for example
    the key of the wrong-invite limiter's hashes, bot/invites.py `attempt_secret`)."""

    name: str = Field(primary_key=True, max_length=32)
    value: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)


class SendBudget(SQLModel, table=True):
    """Telegram's overall cap, shared by every worker that sends (PostgreSQL): the next
    free send slot and the end of a 429's pause, in seconds on the database's clock
    (bot/scheduling/send_budget.py). One row per bot."""

    __tablename__ = "send_budget"

    name: str = Field(primary_key=True, max_length=64)
    next_at: float
    paused_until: float


class Delivery(SQLModel, table=True):
    """The outbox: everything sent on a schedule is first a row here (DESIGN.md)."""

    __table_args__ = (
        sa.Index("ix_delivery_status_due_at", "status", "due_at"),
        sa.Index("ix_delivery_status_available_at", "status", "available_at"),
        sa.Index("ix_delivery_recipient_chat_id_status", "recipient_chat_id", "status"),
        sa.Index("ix_delivery_status_priority_due_at", "status", "priority", "due_at"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    recipient_chat_id: int = Field(sa_type=sa.BigInteger)
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    due_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=SealedJSON)
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=_enum(DeliveryStatus))
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = None
    # One row per slot, e.g. "checkin:{client}:{local date}": a slot cannot be sent twice.
    dedupe_key: str = Field(max_length=160, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    # The delivery engine (bot/scheduling). When it may next be claimed: due_at at first,
    # later after a retry's backoff, so due_at keeps the slot's own time.
    available_at: datetime | None = Field(
        default=None, sa_column_kwargs={"default": _due_at, "nullable": False}
    )
    # Not sent after this instant (e.g. the end of the client's local day); None: the
    # kind's grace alone decides.
    expires_at: datetime | None = None
    # Why it was skipped, or why "sent" is uncertain (a timeout: it may not have arrived).
    reason: str | None = Field(default=None, max_length=200)
    telegram_message_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    # Its priority class (bot/scheduling/priority.Priority: 0 crisis … 4 bulk): claimed by
    # class, then due time. Set from the kind when not given.
    priority: int | None = Field(
        default=None,
        sa_type=sa.SmallInteger,
        sa_column_kwargs={"default": _priority, "nullable": False},
    )


class InboundStatus(enum.StrEnum):
    received = "received"
    done = "done"
    failed = "failed"  # crashed its handler's process again and again: set aside


class InboundUpdate(SQLModel, table=True):
    """The inbox: each update from Telegram, written before it is handled (DESIGN.md).

    The unique update_id makes a redelivered update a no-op; a row not done after a
    crash is handled on the next start. The update's JSON holds the person's words, so
    it is sealed at rest, and it and the chat id are erased once handled; the row stays
    for deduplication only.
    """

    __table_args__ = (sa.Index("ix_inboundupdate_status_claimed_at", "status", "claimed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    update_id: int = Field(sa_type=sa.BigInteger, unique=True)
    chat_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    payload: str | None = Field(default=None, sa_type=SealedText)
    status: InboundStatus = Field(default=InboundStatus.received, sa_type=_enum(InboundStatus))
    received_at: datetime = Field(default_factory=utcnow)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None
    attempts: int = 1
    handled_at: datetime | None = None


class PlannerCursor(SQLModel, table=True):
    """How far ahead the planner has created deliveries; the next run starts there, so
    whatever fell due while every worker was down is planned (then sent or skipped)."""

    name: str = Field(primary_key=True, max_length=32)
    planned_until: datetime


class WorkerHeartbeat(SQLModel, table=True):
    """Each worker's last dispatcher tick, for `python -m bot health` and `deliveries`."""

    worker_id: str = Field(primary_key=True, max_length=64)
    role: str = Field(max_length=16)  # polling, webhook, dispatch
    started_at: datetime
    beat_at: datetime


class AuditEvent(SQLModel, table=True):
    """Who did or viewed what, and when. Holds ids and actions, never a client's words."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)  # "clinician:3", "client:7", "admin-cli", "system"
    action: str = Field(max_length=64)
    subject: str | None = Field(default=None, max_length=64)  # "client:7"
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class AlertTier(enum.StrEnum):
    urgent = "urgent"
    same_day = "same_day"


class Alert(SQLModel, table=True):
    """A concern raised for the care team. The evidence (the words that fired) is sealed
    at rest and shown only in a clinician's private chat, never in a group."""

    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    tier: AlertTier = Field(sa_type=_enum(AlertTier))
    category: str = Field(max_length=32)
    rule: str = Field(max_length=120)
    evidence: str | None = Field(default=None, sa_type=SealedText)
    source: str = Field(default="message", max_length=16)  # message, checkin, exercise, …
    raised_at: datetime = Field(default_factory=utcnow, index=True)
    # Raised by the client's "I'm not safe": the alert goes to the top of every list.
    high_priority: bool = False
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = Field(default=None, sa_type=SealedText)
    # Carried by every button that names this alert ("al:<id>.<token>:a"): a press whose
    # token differs names an alert that no longer exists. "" for alerts older than tokens.
    token: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    # When the client last got the crisis reply about this alert, and a short "got it"
    # for a later message grouped into it: a burst of messages is answered once.
    client_replied_at: datetime | None = None
    client_acked_at: datetime | None = None
    # Which layer of the screen fired, for the clinician to judge the alert: the rule id
    # and its words, or the trained model's score and the categories of the nearest corpus
    # examples. Sealed: a rule's evidence span is the client's words.
    why: str | None = Field(default=None, sa_type=SealedText)


class AlertAction(SQLModel, table=True):
    """Each press on an alert, and each answer of the client's: who, what, when."""

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    clinician_id: int | None = Field(default=None, foreign_key="clinician.id")
    action: str = Field(max_length=24)  # acknowledged, contacted, resolved, not_safe, safe, more
    at: datetime = Field(default_factory=utcnow)
    # "more": the words of a later message grouped into the alert (sealed, like evidence).
    detail: str | None = Field(default=None, sa_type=SealedText)


class ScreenMark(SQLModel, table=True):
    """A clinician's mark on the safety screen, so the corpus can grow from real use: a
    "false alarm" on an alert, or a message that "should have been flagged". Keeps the
    pseudonym, never the client's words unless the clinician typed them in (`text`). No
    foreign key to the client or the alert: the mark outlives their erasure, and its
    typed words are erased with the client (bot/deletion.py)."""

    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    kind: str = Field(max_length=16)  # false_alarm | missed
    client_code: str = Field(max_length=16)
    alert_id: int | None = None  # the alert marked a false alarm
    # missed: the category the clinician chose (None until chosen); false alarm: the
    # alert's category, and `rule` what fired (a rule id, "model", …).
    category: str | None = Field(default=None, max_length=32)
    rule: str | None = Field(default=None, max_length=120)
    clinician_id: int = Field(foreign_key="clinician.id")
    at: datetime = Field(default_factory=utcnow, index=True)
    text: str | None = Field(default=None, sa_type=SealedText)


class SafetyPlan(SQLModel, table=True):
    """A client's own safety plan: the six Stanley–Brown steps (SPEC §5.1, step 4).

    One sealed column per step, each holding a JSON list of the client's lines (None when
    empty): a step is edited on its own, so saving a line re-seals only that step, and
    each step reads back on its own. The help lines of the program's region are not
    stored here; they come from content when the plan is shown, so they stay current.

    The step being edited lives on the row (DESIGN: "Conversations are rows"), so a
    restart or another worker goes on where the client was. `revision` counts changes
    (a "clear" button carries it, so only the plan the client saw is cleared);
    `last_message_id` makes a re-handled message save once, and `last_outcome` is what
    happened to it, for the answer that is sent after the safety screen.
    """

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", unique=True)
    warning_signs: str | None = Field(default=None, sa_type=SealedText)
    coping_alone: str | None = Field(default=None, sa_type=SealedText)
    distractions: str | None = Field(default=None, sa_type=SealedText)
    help_people: str | None = Field(default=None, sa_type=SealedText)
    professionals: str | None = Field(default=None, sa_type=SealedText)
    safer_space: str | None = Field(default=None, sa_type=SealedText)
    # The step the client is adding to (a column name above), or None.
    editing_section: str | None = Field(default=None, max_length=32)
    # Going through the steps in order ("Start" / "Continue"), not editing just one.
    step_by_step: bool = False
    revision: int = 0
    last_message_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_outcome: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CheckIn(SQLModel, table=True):
    """One client's check-in of one local day; a second check-in that day updates it.

    `step` is the question waiting for an answer (None: finished). An answer is written
    with `WHERE step = <its question>`, so a double tap, an old button or a second worker
    cannot write twice, and a restart resumes at `step` (DESIGN: "Conversations are rows").
    """

    __table_args__ = (sa.UniqueConstraint("client_id", "local_date"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    local_date: date
    step: str | None = Field(default=None, max_length=16)
    # The Telegram update that wrote the latest answer: when the bot stopped between saving
    # it and asking the next question, the inbox handles that update again on start, and
    # this tells a replay (ask again) from a double tap (change nothing).
    last_update_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    rounds: int = 1  # how many times it was started that day
    started_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None
    craving: int | None = None  # D1, 0-10
    mood: int | None = None  # D2, 0-10
    sleep_hours: str | None = Field(default=None, max_length=16)  # D3 band
    sleep_quality: str | None = Field(default=None, max_length=8)
    triggers: str | None = Field(default=None, max_length=120)  # D4, comma-separated keys
    use: str | None = Field(default=None, max_length=8)  # D5: no, yes, skip
    substances: str | None = Field(default=None, max_length=120)  # comma-separated keys
    safe_now: str | None = Field(default=None, max_length=8)
    medicine: str | None = Field(default=None, max_length=8)  # D6: taken, missed, not_due
    confidence: int | None = None  # D7, 0-10
    support: str | None = Field(default=None, max_length=8)  # D8: yes, no
    # "Anything else?": the client's own words, sealed; read by their clinician only.
    note: str | None = Field(default=None, sa_type=SealedText)
    # This check-in carries the suicide-risk questions (weekly, or after low mood).
    asq_due: bool = False


class CravingMoment(SQLModel, table=True):
    """Every craving answer, also several in a day (the check-in keeps the latest)."""

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    checkin_id: int = Field(foreign_key="checkin.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    craving: int


class Screening(SQLModel, table=True):
    """A weekly questionnaire: "asq" (suicide-risk questions) or "bam" (the longer
    check-in). Answers are question key -> answer; `result` holds the tier or scores."""

    __table_args__ = (sa.UniqueConstraint("client_id", "kind", "local_date"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    kind: str = Field(max_length=8)
    local_date: date
    step: str | None = Field(default=None, max_length=16)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    started_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None


class CheckinFlag(SQLModel, table=True):
    """A check-in rule that fired, once per key ("craving:2026-06-10"): the unique key
    makes an alert exactly once, whichever worker or second check-in sees it."""

    __table_args__ = (sa.UniqueConstraint("client_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    key: str = Field(max_length=48)
    alert_id: int | None = Field(default=None, foreign_key="alert.id")
    raised_at: datetime = Field(default_factory=utcnow)


class SessionAudience(enum.StrEnum):
    program = "program"  # every client of the program in the IOP stage
    client = "client"  # one client (individual or family therapy)
    aftercare = "aftercare"  # the clients a clinician named at step-down


class SessionSeries(SQLModel, table=True):
    """A session on the program's timetable: recurring (an RRULE) or one-off.

    Times are local wall times in `timezone` (the program's unless imported otherwise);
    each occurrence is computed from its local date, so daylight-saving changes keep it
    at the same local hour. `exdates` lists the local dates with no session (holidays).
    The title is for staff; clients see only a neutral name of the kind.
    """

    __table_args__ = (sa.UniqueConstraint("program_id", "uid"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    title: str = Field(max_length=120)
    kind: str = Field(default="group", max_length=16)  # group, individual, family
    audience: SessionAudience = Field(
        default=SessionAudience.program, sa_type=_enum(SessionAudience)
    )
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    timezone: str = Field(max_length=64)
    starts_on: date  # the local date of the first occurrence
    start_time: str = Field(max_length=5)  # local "HH:MM"
    duration_minutes: int = 60
    rrule: str | None = Field(default=None, max_length=500)  # None: one-off
    exdates: list[str] = Field(default_factory=list, sa_type=JSON)  # local ISO dates
    uid: str | None = Field(default=None, max_length=255)  # iCalendar UID, when imported
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    cancelled_at: datetime | None = None


class SessionMember(SQLModel, table=True):
    """A client in an aftercare group (audience "aftercare")."""

    __table_args__ = (sa.UniqueConstraint("series_id", "client_id"),)

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="sessionseries.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)


class SessionAttendance(SQLModel, table=True):
    """One client at one occurrence: their RSVP and the attendance marked after."""

    __table_args__ = (sa.UniqueConstraint("series_id", "client_id", "occurrence"),)

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="sessionseries.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    occurrence: str = Field(max_length=13)  # local start, "20260310T1800"
    starts_at: datetime = Field(index=True)
    rsvp: str | None = Field(default=None, max_length=8)  # going, late, cant
    rsvp_reason: str | None = Field(default=None, max_length=16)
    rsvp_at: datetime | None = None
    reschedule_requested_at: datetime | None = None
    attendance: str | None = Field(default=None, max_length=8)  # present, absent, excused
    marked_by: int | None = Field(default=None, foreign_key="clinician.id")
    marked_at: datetime | None = None


class MedicationAnswer(SQLModel, table=True):
    """The client's answer to one medication reminder (never which medicine)."""

    __table_args__ = (sa.UniqueConstraint("client_id", "local_date", "slot"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    local_date: date
    slot: str = Field(max_length=5)  # the reminder's local "HH:MM"
    answer: str = Field(max_length=8)  # taken, later, skipped
    answered_at: datetime


class CareFlag(SQLModel, table=True):
    """A flag raised at most once: the unique key (e.g. one absence) makes a second
    attempt, a double tap or another worker, a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    alert_id: int | None = Field(default=None, foreign_key="alert.id")
    at: datetime = Field(default_factory=utcnow)


class AftercarePlan(SQLModel, table=True):
    """The client's plan for after the program (SPEC module 16): their own words, sealed."""

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", unique=True)
    therapy: str | None = Field(default=None, sa_type=SealedText)
    groups: str | None = Field(default=None, sa_type=SealedText)
    people: str | None = Field(default=None, sa_type=SealedText)
    warning_signs: str | None = Field(default=None, sa_type=SealedText)
    editing: str | None = Field(default=None, max_length=16)  # the part being typed
    updated_at: datetime = Field(default_factory=utcnow)


class SessionDraft(SQLModel, table=True):
    """A clinician's `/session add` in progress: the answers so far, one row each."""

    id: int | None = Field(default=None, primary_key=True)
    clinician_id: int = Field(foreign_key="clinician.id", unique=True)
    step: str = Field(max_length=16)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow)


# --- Learn and Breathe (lessons and guided practice) -----------------------------------
# Every row below belongs to one client and goes with them: deleting a client deletes
# these rows in the database (ON DELETE CASCADE).


class LessonProgress(SQLModel, table=True):
    """How far a client is in one lesson, card by card. Only the position, completion and
    right/wrong of each check question are kept: never anything the client typed."""

    __table_args__ = (sa.UniqueConstraint("client_id", "module"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    module: int  # the lesson's number
    # 0 .. cards-1: the card shown; cards + i: check question i.
    position: int = 0
    # Check question index -> right the first time (the first answer only).
    results: dict[str, bool] = Field(default_factory=dict, sa_type=JSON)
    started_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None  # the first time the lesson was finished


class LessonAccess(enum.StrEnum):
    assigned = "assigned"  # opened, and first on the client's list
    unlocked = "unlocked"  # opened before its week
    hidden = "hidden"  # not offered to this client


class LessonOverride(SQLModel, table=True):
    """A clinician's choice about one lesson for one client (`/assign CODE N ...`)."""

    __table_args__ = (sa.UniqueConstraint("client_id", "module"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    module: int
    access: LessonAccess = Field(sa_type=_enum(LessonAccess))
    clinician_id: int | None = Field(default=None, foreign_key="clinician.id")
    at: datetime = Field(default_factory=utcnow)


class PracticeSettings(SQLModel, table=True):
    """A clinician's safety settings for one client's practice (SPEC §2.1 rules 3-4)."""

    client_id: int = Field(primary_key=True, foreign_key="client.id", ondelete="CASCADE")
    # No breath-holds (pregnant, heart or lung conditions): box breathing's holds and
    # TIPP's cold water and hard exercise are not offered.
    no_breath_holds: bool = False
    # No long eyes-closed or body-focused practice (psychosis, dissociation, withdrawal).
    no_long_inward: bool = False
    updated_by: int | None = Field(default=None, foreign_key="clinician.id")
    updated_at: datetime = Field(default_factory=utcnow)


class ProgramLessons(SQLModel, table=True):
    """A program's lesson settings: a mental-health-only program hides the
    substance-specific lessons (SPEC §1.2)."""

    program_id: int = Field(primary_key=True, foreign_key="program.id")
    mental_health_only: bool = False
    updated_at: datetime = Field(default_factory=utcnow)


class RunStatus(enum.StrEnum):
    rating_before = "rating_before"  # asked the 0-10 rating before the steps
    running = "running"  # steps are being sent
    rating_after = "rating_after"  # asked the rating after
    finished = "finished"
    ended = "ended"  # left without an after rating (another practice started)


class ExerciseRun(SQLModel, table=True):
    """One guided practice of one client, with its step and its ratings.

    The step being shown and when the next one is due are on the row, so a restart (or
    another worker) goes on from here: each step is claimed with a conditional UPDATE
    on `step`, so it is sent at most once, and a run whose next step is long overdue is
    ended with one message instead of a burst of stale steps."""

    __table_args__ = (sa.Index("ix_exerciserun_status_next_at", "status", "next_at"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    exercise: str = Field(max_length=24)
    variant: str = Field(max_length=24)
    status: RunStatus = Field(default=RunStatus.rating_before, sa_type=_enum(RunStatus))
    step: int = -1  # index of the step shown; -1 before the first
    next_at: datetime | None = None  # when the next step is due (while running)
    message_id: int | None = Field(default=None, sa_type=sa.BigInteger)  # the count being edited
    before: int | None = None  # 0-10, craving or distress
    after: int | None = None
    stopped_early: bool = False
    interrupted: bool = False  # the bot was away past the step's time
    distress_rose: bool = False  # SPEC §2.1 rule 2 fired (an alert was raised)
    source: str = Field(default="menu", max_length=16)  # menu, lesson, checkin
    started_at: datetime = Field(default_factory=utcnow, index=True)
    ended_at: datetime | None = None


# --- The conversation the screen reads, and its question when unsure (issue 17) ---------


class RecentMessage(SQLModel, table=True):
    """A client's message, kept only while the safety screen may read it with the next
    ones: sealed at rest and deleted RECENT_FOR (30 minutes) after it was sent."""

    __table_args__ = (sa.Index("ix_recentmessage_client_id_sent_at", "client_id", "sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", ondelete="CASCADE")
    message_id: int = Field(sa_type=sa.BigInteger)  # Telegram's, in the client's chat
    text: str = Field(sa_type=SealedText)
    sent_at: datetime = Field(index=True)


class UnsureQuestion(SQLModel, table=True):
    """The direct question asked when the screen was unsure about a message, and the
    answer: yes, no, declined ("I'd rather not say"), or none (no answer in 30 minutes).

    Buttons name a row by id and token, so ids are never reused. `message_id` is the
    message asked about: it is never asked about twice. The words that prompted it are
    sealed, for the alert or the digest, and the row goes after a week."""

    __table_args__ = (
        sa.Index("ix_unsurequestion_answer_asked_at", "answer", "asked_at"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    message_id: int = Field(sa_type=sa.BigInteger)
    token: str = Field(max_length=16)
    question: str = Field(max_length=16)  # suicide, self_harm, others, danger
    category: str = Field(max_length=32)  # what the screen leaned to
    evidence: str | None = Field(default=None, sa_type=SealedText)
    asked_at: datetime
    answer: str | None = Field(default=None, max_length=8)
    answered_at: datetime | None = None
    alert_id: int | None = None  # the alert it raised (no foreign key: alerts are erased)


TABLES: tuple[type[SQLModel], ...] = (
    Program,
    Clinician,
    Client,
    Invitation,
    EnrollmentAttempt,
    Delivery,
    AuditEvent,
    Alert,
    AlertAction,
    SafetyPlan,
    CheckIn,
    CravingMoment,
    Screening,
    CheckinFlag,
    SessionSeries,
    SessionMember,
    SessionAttendance,
    MedicationAnswer,
    CareFlag,
    AftercarePlan,
    SessionDraft,
    LessonProgress,
    LessonOverride,
    PracticeSettings,
    ProgramLessons,
    ExerciseRun,
    RecentMessage,
    UnsureQuestion,
)
# The delivery engine's bookkeeping. Not in TABLES, which lists the tables holding
# people's records: a handled update keeps no words and, for someone who is not a
# client, no chat id; cursor and heartbeats change on every tick; a deployment's secret
# is about no one.
ENGINE_TABLES: tuple[type[SQLModel], ...] = (
    InboundUpdate,
    PlannerCursor,
    WorkerHeartbeat,
    DeploymentSecret,
)
