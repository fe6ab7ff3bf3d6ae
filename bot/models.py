"""The tables. Every change here needs an Alembic migration (`alembic revision --autogenerate`).

Telegram ids do not fit in 32 bits (group ids look like -100xxxxxxxxxx), so every
Telegram id column is a BigInteger. Enums are stored as short strings (not native
PostgreSQL enums) so adding a value is a plain migration on both databases.
Datetimes are timezone-aware UTC (SQLModel 0.0.50 rejects naive ones).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from bot.sealed import SealedText

# Set before the first migration: constraint names must be stable across SQLite and
# PostgreSQL or later ALTERs cannot find them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _due_at(context: Any) -> Any:
    """Column default of Delivery.available_at: the row's own due_at."""
    return context.get_current_parameters()["due_at"]


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
    created_at: datetime = Field(default_factory=utcnow)


class Clinician(SQLModel, table=True):
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

    __table_args__ = (sa.UniqueConstraint("program_id", "code"),)

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
    created_at: datetime = Field(default_factory=utcnow)
    enrolled_at: datetime | None = None  # consent given
    paused_at: datetime | None = None
    left_at: datetime | None = None
    # When the client last wrote or pressed anything (hourly resolution): the digest
    # lists clients nobody has heard from in 3 days.
    last_contact_at: datetime | None = None


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
    """A wrong invite token, for the 5-an-hour limit: a hash of the sender, and when.

    Rows older than an hour are deleted; nothing else about the sender is kept.
    """

    id: int | None = Field(default=None, primary_key=True)
    sender_hash: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """The outbox: everything sent on a schedule is first a row here (DESIGN.md)."""

    __table_args__ = (
        sa.Index("ix_delivery_status_due_at", "status", "due_at"),
        sa.Index("ix_delivery_status_available_at", "status", "available_at"),
        sa.Index("ix_delivery_recipient_chat_id_status", "recipient_chat_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    recipient_chat_id: int = Field(sa_type=sa.BigInteger)
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    due_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
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


class AlertAction(SQLModel, table=True):
    """Each press on an alert, and each answer of the client's: who, what, when."""

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    clinician_id: int | None = Field(default=None, foreign_key="clinician.id")
    action: str = Field(max_length=24)  # acknowledged, contacted, resolved, not_safe, safe
    at: datetime = Field(default_factory=utcnow)


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
)
# The delivery engine's bookkeeping. Not in TABLES, which lists the tables holding
# people's records: a handled update keeps no words and, for someone who is not a
# client, no chat id; cursor and heartbeats change on every tick.
ENGINE_TABLES: tuple[type[SQLModel], ...] = (InboundUpdate, PlannerCursor, WorkerHeartbeat)
