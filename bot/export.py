"""Everything Waypoint keeps about one client, as a document a person can read (/mydata).

Later features add their own sections here (check-ins, lessons, safety plan), so the
export stays complete as the product grows.
"""

from __future__ import annotations

import calendar
import html
import re
from datetime import datetime
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.checkin.store import ANSWER_COLUMNS, readable_answers
from bot.medication import times_of
from bot.models import (
    AftercarePlan,
    Alert,
    AlertAction,
    AuditEvent,
    CareFlag,
    CheckIn,
    CheckinFlag,
    Client,
    Clinician,
    CravingMoment,
    Delivery,
    ExerciseRun,
    Invitation,
    LessonOverride,
    LessonProgress,
    MedicationAnswer,
    PracticeSettings,
    Program,
    RecentMessage,
    Screening,
    SessionAttendance,
    SessionMember,
    SessionSeries,
    UnsureQuestion,
)
from bot.safety_plan import SECTIONS, items_of, load_plan


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _days(days: str | None) -> list[str] | str:
    """Check-in days ("135": ISO weekdays) by name; None is every day."""
    if not days:
        return "every day"
    return [calendar.day_name[int(d) - 1] for d in days if d.isdigit() and 1 <= int(d) <= 7]


def _series(series: SessionSeries) -> dict[str, Any]:
    return {
        "session": series.id,
        "title": series.title,
        "kind": series.kind,
        "time_zone": series.timezone,
        "first_date": series.starts_on.isoformat(),
        "local_start_time": series.start_time,
        "minutes": series.duration_minutes,
        "repeats": series.rrule or "once",
        "no_session_on": list(series.exdates or []),
        "cancelled_at": _when(series.cancelled_at),
    }


async def _sessions_part(session: AsyncSession, client_id: int) -> dict[str, Any]:
    """The sessions feature's rows about the client: the same rows /delete erases
    (bot/roster.py `_erase_sessions_data`)."""
    own = (
        await session.exec(
            select(SessionSeries)
            .where(SessionSeries.client_id == client_id)
            .order_by(col(SessionSeries.id))
        )
    ).all()
    groups = (
        await session.exec(
            select(SessionSeries)
            .join(SessionMember, col(SessionMember.series_id) == col(SessionSeries.id))
            .where(SessionMember.client_id == client_id)
            .order_by(col(SessionSeries.id))
        )
    ).all()
    answers = (
        await session.exec(
            select(SessionAttendance, SessionSeries)
            .join(SessionSeries, col(SessionSeries.id) == col(SessionAttendance.series_id))
            .where(SessionAttendance.client_id == client_id)
            .order_by(col(SessionAttendance.starts_at))
        )
    ).all()
    flags = (
        await session.exec(
            select(CareFlag).where(CareFlag.client_id == client_id).order_by(col(CareFlag.at))
        )
    ).all()
    return {
        "your_own_sessions": [_series(s) for s in own],
        "aftercare_groups_you_were_named_for": [_series(s) for s in groups],
        "your_answers_and_attendance": [
            {
                "session": a.series_id,
                "title": series.title,
                "starts_at": _when(a.starts_at),
                "your_answer": a.rsvp,
                "reason": a.rsvp_reason,
                "answered_at": _when(a.rsvp_at),
                "asked_for_another_time_at": _when(a.reschedule_requested_at),
                "attendance": a.attendance,
                "attendance_marked_at": _when(a.marked_at),
            }
            for a, series in answers
        ],
        # Kept so a flag is raised once: what it was about and when.
        "flags_raised_for_your_care_team": [
            {"about": f.key.split(":", 1)[0], "at": _when(f.at)} for f in flags
        ],
    }


async def _alerts_part(session: AsyncSession, client_id: int) -> list[dict[str, Any]]:
    """Each safety alert raised about the client: what it quoted, and what the team did."""
    alerts = (
        await session.exec(
            select(Alert).where(Alert.client_id == client_id).order_by(col(Alert.raised_at))
        )
    ).all()
    names: dict[int, str] = {}
    part = []
    for alert in alerts:
        actions = (
            await session.exec(
                select(AlertAction)
                .where(AlertAction.alert_id == alert.id)
                .order_by(col(AlertAction.at))
            )
        ).all()
        steps = []
        for action in actions:
            who = "you"
            if action.clinician_id is not None:
                if action.clinician_id not in names:
                    clinician = await session.get(Clinician, action.clinician_id)
                    names[action.clinician_id] = clinician.display_name if clinician else "?"
                who = names[action.clinician_id]
            steps.append({"action": action.action, "by": who, "at": _when(action.at)})
        part.append(
            {
                "raised_at": _when(alert.raised_at),
                "level": alert.tier.value,
                "about": alert.category,
                "from": alert.source,
                "what_was_quoted": alert.evidence,
                # What the care team was told about why the screen raised it.
                "why_it_was_raised": _plain(alert.why) if alert.why else None,
                "marked_most_urgent": alert.high_priority,
                "care_team_actions": steps,
                "acknowledged_at": _when(alert.acknowledged_at),
                "resolved_at": _when(alert.resolved_at),
                "resolution_note": alert.resolution_note,
            }
        )
    return part


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def export_client(session: AsyncSession, *, client: Client, now: datetime) -> dict[str, Any]:
    assert client.id is not None
    program = await session.get(Program, client.program_id)
    clinician = (
        await session.get(Clinician, client.primary_clinician_id)
        if client.primary_clinician_id
        else None
    )
    deliveries = (
        await session.exec(
            select(Delivery).where(Delivery.client_id == client.id).order_by(col(Delivery.due_at))
        )
    ).all()
    plan = await load_plan(session, client.id)
    checkins = (
        await session.exec(
            select(CheckIn).where(CheckIn.client_id == client.id).order_by(col(CheckIn.local_date))
        )
    ).all()
    screenings = (
        await session.exec(
            select(Screening)
            .where(Screening.client_id == client.id)
            .order_by(col(Screening.local_date))
        )
    ).all()
    lessons = (
        await session.exec(
            select(LessonProgress)
            .where(LessonProgress.client_id == client.id)
            .order_by(col(LessonProgress.module))
        )
    ).all()
    lesson_choices = (
        await session.exec(select(LessonOverride).where(LessonOverride.client_id == client.id))
    ).all()
    practice = (
        await session.exec(
            select(ExerciseRun)
            .where(ExerciseRun.client_id == client.id)
            .order_by(col(ExerciseRun.started_at))
        )
    ).all()
    practice_settings = await session.get(PracticeSettings, client.id)
    sessions_part = await _sessions_part(session, client.id)
    medication_answers = (
        await session.exec(
            select(MedicationAnswer)
            .where(MedicationAnswer.client_id == client.id)
            .order_by(col(MedicationAnswer.local_date), col(MedicationAnswer.slot))
        )
    ).all()
    aftercare = (
        await session.exec(select(AftercarePlan).where(AftercarePlan.client_id == client.id))
    ).first()
    cravings = (
        await session.exec(
            select(CravingMoment)
            .where(CravingMoment.client_id == client.id)
            .order_by(col(CravingMoment.at))
        )
    ).all()
    checkin_flags = (
        await session.exec(
            select(CheckinFlag)
            .where(CheckinFlag.client_id == client.id)
            .order_by(col(CheckinFlag.raised_at))
        )
    ).all()
    invitations = (
        await session.exec(
            select(Invitation)
            .where(Invitation.client_id == client.id)
            .order_by(col(Invitation.created_at))
        )
    ).all()
    alerts_part = await _alerts_part(session, client.id)
    recent = (
        await session.exec(
            select(RecentMessage)
            .where(RecentMessage.client_id == client.id)
            .order_by(col(RecentMessage.sent_at))
        )
    ).all()
    asked = (
        await session.exec(
            select(UnsureQuestion)
            .where(UnsureQuestion.client_id == client.id)
            .order_by(col(UnsureQuestion.asked_at))
        )
    ).all()
    subject = f"client:{client.id}"
    events = (
        await session.exec(
            select(AuditEvent)
            .where(or_(col(AuditEvent.subject) == subject, col(AuditEvent.actor) == subject))
            .order_by(col(AuditEvent.at))
        )
    ).all()
    return {
        "about": (
            "Everything Waypoint stores about you, made on request. Times are in UTC. "
            "Send /delete in the chat to erase it."
        ),
        "made_at": _when(now),
        "you": {
            "code": client.code,
            "status": client.status.value,
            "telegram_user_id": client.telegram_user_id,
            "telegram_chat_id": client.chat_id,
            "joined_at": _when(client.enrolled_at),
            "paused_at": _when(client.paused_at),
            "left_at": _when(client.left_at),
            "care_stage": client.care_stage,
        },
        "settings": {
            "language": client.language,
            "time_zone": client.timezone,
            "daily_check_in_time": client.checkin_time,
            "session_reminders": client.session_reminders,
            "medication_reminders": client.medication_reminders,
            # The local times the reminder comes at, while it is on.
            "medication_reminder_times": (times_of(client) if client.medication_reminders else []),
            "check_in_days": _days(client.checkin_days),
        },
        "care_team": {
            "program": program.name if program else None,
            "primary_clinician": clinician.display_name if clinician else None,
            "their_private_label_for_you": client.label,
        },
        # The client's own words, one list per step (the region's help lines are added
        # from content when the plan is shown, so they are not stored or exported).
        "safety_plan": {
            **{section: items_of(plan, section) for section in SECTIONS},
            "updated_at": _when(plan.updated_at) if plan else None,
        },
        # The client's own words (SPEC module 16), as they typed them.
        "aftercare_plan": {
            "continuing_therapy": aftercare.therapy if aftercare else None,
            "support_groups": aftercare.groups if aftercare else None,
            "people_to_call": aftercare.people if aftercare else None,
            "warning_signs": aftercare.warning_signs if aftercare else None,
            "updated_at": _when(aftercare.updated_at) if aftercare else None,
        },
        "sessions": sessions_part,
        "medication_reminder_answers": [
            {
                "date": m.local_date.isoformat(),
                "reminder_time": m.slot,
                "answer": m.answer,
                "answered_at": _when(m.answered_at),
            }
            for m in medication_answers
        ],
        "check_ins": [
            {
                "date": c.local_date.isoformat(),
                **{name: getattr(c, name) for name in ANSWER_COLUMNS},
                "note": c.note,
                "finished_at": _when(c.completed_at),
            }
            for c in checkins
        ],
        # Every craving answer, also several in one day (a check-in keeps the latest).
        "craving_moments": [{"at": _when(m.at), "craving": m.craving} for m in cravings],
        # Check-in answers that made Waypoint tell your care team: what about, and when.
        "check_in_flags_for_your_care_team": [
            {
                "about": f.key.split(":", 1)[0],
                "key": f.key,
                "raised_at": _when(f.raised_at),
                "told_the_team": f.alert_id is not None,
            }
            for f in checkin_flags
        ],
        # What Waypoint told your care team about your safety, and what they did.
        "safety_alerts": alerts_part,
        # Your last messages, kept 30 minutes so the safety screen reads them together.
        "messages_kept_for_30_minutes": [
            {"sent_at": _when(m.sent_at), "text": m.text} for m in recent
        ],
        # When Waypoint was unsure about a message and asked you about it (kept a week).
        "safety_questions_asked": [
            {
                "asked_at": _when(q.asked_at),
                "question": q.question,
                "about_your_message": q.evidence,
                "your_answer": q.answer,
                "answered_at": _when(q.answered_at),
            }
            for q in asked
        ],
        "invitations": [
            {
                "made_by": i.created_by,
                "made_at": _when(i.created_at),
                "expires_at": _when(i.expires_at),
                "used_at": _when(i.used_at),
                "declined_at": _when(i.declined_at),
            }
            for i in invitations
        ],
        "weekly_questions": [
            {
                "kind": s.kind,
                "date": s.local_date.isoformat(),
                "answers": readable_answers(s.answers),
                "result": s.result,
            }
            for s in screenings
        ],
        # Lessons: where you are, when you finished, and whether each check question was
        # right the first time (nothing you typed: lessons take no typing).
        "lessons": [
            {
                "lesson": row.module,
                "position": row.position,
                "started_at": _when(row.started_at),
                "finished_at": _when(row.completed_at),
                "check_questions_right_first_time": row.results,
            }
            for row in lessons
        ],
        "lessons_chosen_by_your_care_team": [
            {"lesson": row.module, "choice": row.access.value, "at": _when(row.at)}
            for row in lesson_choices
        ],
        "practice": [
            {
                "practice": run.exercise,
                "version": run.variant,
                "started_at": _when(run.started_at),
                "ended_at": _when(run.ended_at),
                "rating_before": run.before,
                "rating_after": run.after,
                "stopped_early": run.stopped_early,
            }
            for run in practice
        ],
        "practice_settings_from_your_care_team": {
            "no_breath_holds": practice_settings.no_breath_holds if practice_settings else False,
            "no_long_eyes_closed_practice": (
                practice_settings.no_long_inward if practice_settings else False
            ),
        },
        "messages_scheduled_for_you": [
            {
                "kind": d.kind,
                "due_at": _when(d.due_at),
                "status": d.status.value,
                "sent_at": _when(d.sent_at),
            }
            for d in deliveries
        ],
        "record_of_changes_and_views": [
            {"at": _when(e.at), "action": e.action, "by": e.actor} for e in events
        ],
    }
