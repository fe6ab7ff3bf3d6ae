"""Programs, clinicians, clients and their invitations: the rules, without Telegram.

Used by the admin command line and by the chat features alike, so a rule (a token works
once, a code is unique in its program, a deletion leaves nothing behind) lives in one place.
Functions take the session keyword-only and leave committing to the caller.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.invites import derived_attempt_secret, new_code, new_token, sender_hash, token_hash
from bot.models import (
    Alert,
    AlertAction,
    AuditEvent,
    CheckIn,
    CheckinFlag,
    Client,
    ClientStatus,
    Clinician,
    ClinicianRole,
    CravingMoment,
    Delivery,
    DeploymentSecret,
    EnrollmentAttempt,
    Invitation,
    InvitePurpose,
    Program,
    SafetyPlan,
    Screening,
    ScreenMark,
)
from bot.settings import Settings

WRONG_TOKENS_PER_HOUR = 5
ATTEMPT_WINDOW = timedelta(hours=1)


class RosterError(Exception):
    """A request that breaks a rule; the message is one sentence for the person asking."""


def audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    at: datetime,
    **detail: Any,
) -> None:
    session.add(AuditEvent(actor=actor, action=action, subject=subject, at=at, detail=detail))


# --- invitations ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewInvite:
    token: str  # shown once, never stored
    invitation: Invitation
    client: Client | None = None
    clinician: Clinician | None = None


def _new_invitation(
    session: AsyncSession,
    *,
    program: Program,
    purpose: InvitePurpose,
    by: str,
    now: datetime,
    ttl: timedelta,
    client_id: int | None = None,
    clinician_id: int | None = None,
) -> tuple[str, Invitation]:
    """A one-time token (returned, never stored) and its invitation row (its hash)."""
    assert program.id is not None
    token = new_token()
    invitation = Invitation(
        program_id=program.id,
        purpose=purpose,
        client_id=client_id,
        clinician_id=clinician_id,
        token_hash=token_hash(token),
        created_by=by,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invitation)
    return token, invitation


async def invite_client(
    session: AsyncSession,
    *,
    program: Program,
    by: Clinician,
    now: datetime,
    ttl: timedelta,
    label: str | None = None,
) -> NewInvite:
    """A new client (status invited) with a fresh pseudonym and a one-time token."""
    assert program.id is not None and by.id is not None
    taken = set(
        (await session.exec(select(Client.code).where(Client.program_id == program.id))).all()
    )
    code = new_code()
    while code in taken:
        code = new_code()
    client = Client(
        program_id=program.id,
        code=code,
        status=ClientStatus.invited,
        primary_clinician_id=by.id,
        label=label or None,
        created_at=now,
    )
    session.add(client)
    await session.flush()
    token, invitation = _new_invitation(
        session,
        program=program,
        purpose=InvitePurpose.client,
        by=f"clinician:{by.id}",
        now=now,
        ttl=ttl,
        client_id=client.id,
    )
    audit(
        session,
        actor=f"clinician:{by.id}",
        action="client_invited",
        subject=f"client:{client.id}",
        at=now,
    )
    return NewInvite(token=token, invitation=invitation, client=client)


async def invite_clinician(
    session: AsyncSession,
    *,
    program: Program,
    role: ClinicianRole,
    name: str,
    now: datetime,
    ttl: timedelta,
) -> NewInvite:
    assert program.id is not None
    clinician = Clinician(
        program_id=program.id, display_name=name, role=role, active=True, created_at=now
    )
    session.add(clinician)
    await session.flush()
    token, invitation = _new_invitation(
        session,
        program=program,
        purpose=InvitePurpose.clinician,
        by="admin-cli",
        now=now,
        ttl=ttl,
        clinician_id=clinician.id,
    )
    audit(
        session,
        actor="admin-cli",
        action="clinician_invited",
        subject=f"clinician:{clinician.id}",
        at=now,
        role=role.value,
    )
    return NewInvite(token=token, invitation=invitation, clinician=clinician)


ATTEMPT_SECRET = "attempt_hash"  # DeploymentSecret.name


def configured_attempt_key(settings: Settings) -> bytes | None:
    """ATTEMPT_HASH_SECRET, else derived from ENCRYPTION_KEY; None: neither is set."""
    dedicated, key = settings.attempt_hash_secret, settings.encryption_key
    return derived_attempt_secret(
        dedicated.get_secret_value() if dedicated else None,
        key.get_secret_value() if key else None,
    )


async def existing_attempt_secret(session: AsyncSession, configured: bytes | None) -> bytes | None:
    """The key if one is configured or was made; None: no attempt was ever hashed here."""
    if configured:
        return configured
    row = await session.get(DeploymentSecret, ATTEMPT_SECRET)
    return row.value.encode() if row else None


async def attempt_secret(session: AsyncSession, configured: bytes | None) -> bytes:
    """The wrong-invite limiter's HMAC key: the configured one (bot/invites.py
    `derived_attempt_secret`), else this deployment's random one, made on first use."""
    if configured:
        return configured
    row = await session.get(DeploymentSecret, ATTEMPT_SECRET)
    if row is None:
        try:
            async with session.begin_nested():  # two first uses at once: one row wins
                session.add(DeploymentSecret(name=ATTEMPT_SECRET, value=secrets.token_hex(32)))
        except IntegrityError:
            pass
        row = await session.get(DeploymentSecret, ATTEMPT_SECRET, populate_existing=True)
        assert row is not None
    return row.value.encode()


async def locked_out(
    session: AsyncSession, *, telegram_user_id: int, now: datetime, secret: bytes
) -> bool:
    await session.exec(  # type: ignore[call-overload]
        delete(EnrollmentAttempt).where(col(EnrollmentAttempt.at) < now - ATTEMPT_WINDOW)
    )
    count = (
        await session.exec(
            select(func.count()).where(
                EnrollmentAttempt.sender_hash == sender_hash(telegram_user_id, secret),
                col(EnrollmentAttempt.at) >= now - ATTEMPT_WINDOW,
            )
        )
    ).one()
    return count >= WRONG_TOKENS_PER_HOUR


def record_wrong_token(
    session: AsyncSession, *, telegram_user_id: int, now: datetime, secret: bytes
) -> None:
    session.add(EnrollmentAttempt(sender_hash=sender_hash(telegram_user_id, secret), at=now))


async def open_invitation(session: AsyncSession, *, token: str, now: datetime) -> Invitation | None:
    """The invitation a token opens: unexpired, unused, not declined; else None."""
    invitation = (
        await session.exec(select(Invitation).where(Invitation.token_hash == token_hash(token)))
    ).first()
    if invitation is None or invitation.used_at or invitation.declined_at:
        return None
    if invitation.expires_at <= now:
        return None
    return invitation


async def use_invitation(session: AsyncSession, *, invitation: Invitation, now: datetime) -> bool:
    """Mark used, atomically: of two presses at once, exactly one gets True."""
    result = await session.exec(  # type: ignore[call-overload]
        update(Invitation)
        .where(
            col(Invitation.id) == invitation.id,
            col(Invitation.used_at).is_(None),
            col(Invitation.declined_at).is_(None),
        )
        .values(used_at=now)
    )
    return bool(result.rowcount == 1)


async def decline_invitation(
    session: AsyncSession, *, invitation: Invitation, now: datetime
) -> bool:
    result = await session.exec(  # type: ignore[call-overload]
        update(Invitation)
        .where(
            col(Invitation.id) == invitation.id,
            col(Invitation.used_at).is_(None),
            col(Invitation.declined_at).is_(None),
        )
        .values(declined_at=now)
    )
    if result.rowcount == 1:
        audit(
            session,
            actor="system",
            action="invitation_declined",
            subject=f"invitation:{invitation.id}",
            at=now,
        )
    return bool(result.rowcount == 1)


# --- clients --------------------------------------------------------------------------


async def find_client_by_code(
    session: AsyncSession, *, program_id: int, code: str
) -> Client | None:
    return (
        await session.exec(
            select(Client).where(Client.program_id == program_id, Client.code == code)
        )
    ).first()


async def clinicians_client(
    session: AsyncSession, *, clinician: Clinician, code: str
) -> Client | None:
    """The client with this code if this clinician may see them: their own, or any client
    of the program for an admin; None otherwise (the caller says "no such client")."""
    client = await find_client_by_code(session, program_id=clinician.program_id, code=code)
    if client is None:
        return None
    if clinician.role is not ClinicianRole.admin and client.primary_clinician_id != clinician.id:
        return None
    return client


async def caseload(session: AsyncSession, *, clinician: Clinician) -> list[Client]:
    """A clinician's own clients (an admin sees the whole program), by code."""
    query = select(Client).where(Client.program_id == clinician.program_id)
    if clinician.role is not ClinicianRole.admin:
        query = query.where(Client.primary_clinician_id == clinician.id)
    return list((await session.exec(query.order_by(col(Client.code)))).all())


async def client_by_telegram_id(session: AsyncSession, *, telegram_user_id: int) -> Client | None:
    """Any client row for this Telegram user, whatever its status."""
    return (
        await session.exec(select(Client).where(Client.telegram_user_id == telegram_user_id))
    ).first()


async def _erase_sessions_data(session: AsyncSession, client_id: int) -> None:
    """Sessions, daily reminders and aftercare rows about a client (their one-off
    sessions with everything attached to them)."""
    from bot.models import (
        AftercarePlan,
        CareFlag,
        MedicationAnswer,
        SessionAttendance,
        SessionMember,
        SessionSeries,
    )

    own = select(SessionSeries.id).where(SessionSeries.client_id == client_id)
    for table in (SessionAttendance, SessionMember):
        await session.exec(  # type: ignore[call-overload]
            delete(table).where(
                or_(col(table.client_id) == client_id, col(table.series_id).in_(own))
            )
        )
    for table in (CareFlag, MedicationAnswer, AftercarePlan):  # type: ignore[assignment]
        await session.exec(delete(table).where(col(table.client_id) == client_id))  # type: ignore[call-overload]
    await session.exec(delete(SessionSeries).where(col(SessionSeries.client_id) == client_id))  # type: ignore[call-overload]


async def erase_screen_marks(session: AsyncSession, client: Client) -> None:
    """Clinicians' marks on the screen name the client by pseudonym (and may hold words
    the clinician copied in): they go with the client."""
    await session.exec(  # type: ignore[call-overload]
        delete(ScreenMark).where(
            ScreenMark.program_id == client.program_id, ScreenMark.client_code == client.code
        )
    )


async def erase_client(
    session: AsyncSession, *, client: Client, now: datetime, attempt_key: bytes | None = None
) -> None:
    """Erase everything about a client; keep one audit entry that a deletion happened.

    Every row that names the client goes: deliveries, invitations, their safety plan,
    alerts (they hold the client's words) and the presses on them, audit entries about
    them, and the client row itself with its Telegram ids, settings and label.
    """
    assert client.id is not None
    subject = f"client:{client.id}"
    alert_ids = select(Alert.id).where(Alert.client_id == client.id)
    # Check-in records: flags first (they point at alerts), moments before their check-in.
    for model in (CheckinFlag, CravingMoment, Screening, CheckIn):
        await session.exec(delete(model).where(col(model.client_id) == client.id))  # type: ignore[call-overload,attr-defined]
    await session.exec(delete(AlertAction).where(col(AlertAction.alert_id).in_(alert_ids)))  # type: ignore[call-overload]
    await session.exec(  # type: ignore[call-overload]
        update(Clinician)
        .where(col(Clinician.note_for_alert_id).in_(alert_ids))
        .values(note_for_alert_id=None)
    )
    await _erase_sessions_data(session, client.id)
    await session.exec(delete(Alert).where(col(Alert.client_id) == client.id))  # type: ignore[call-overload]
    await session.exec(delete(Delivery).where(col(Delivery.client_id) == client.id))  # type: ignore[call-overload]
    await session.exec(delete(Invitation).where(col(Invitation.client_id) == client.id))  # type: ignore[call-overload]
    await session.exec(delete(SafetyPlan).where(col(SafetyPlan.client_id) == client.id))  # type: ignore[call-overload]
    await erase_screen_marks(session, client)
    await session.exec(  # type: ignore[call-overload]
        delete(AuditEvent).where(
            or_(col(AuditEvent.subject) == subject, col(AuditEvent.actor) == subject)
        )
    )
    secret = await existing_attempt_secret(session, attempt_key)
    if client.telegram_user_id is not None and secret is not None:
        await session.exec(  # type: ignore[call-overload]
            delete(EnrollmentAttempt).where(
                col(EnrollmentAttempt.sender_hash) == sender_hash(client.telegram_user_id, secret)
            )
        )
    await session.delete(client)
    audit(
        session, actor="system", action="client_data_deleted", at=now, program_id=client.program_id
    )
