"""Scheduled messages: the JobQueue is the clock of the delivery engine, not its ledger.

The JobQueue holds three kinds of job, none of them per client: the tick (heartbeat,
plan, dispatch) every DISPATCH_INTERVAL seconds, a sync that keeps one cron job per
program time (digests) in step with the Program table, and those cron jobs, which
enqueue rows. Everything that must survive a restart is a row (bot/scheduling).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from telegram.ext import ContextTypes

from bot.inbox import inbox_of
from bot.inbox import sweep as inbox_sweep
from bot.scheduling import program_cron
from bot.scheduling.builtin_kinds import cancel_nudges_after_activity
from bot.scheduling.clock import Clock, SystemClock
from bot.scheduling.dispatcher import DispatchConfig
from bot.scheduling.engine import DeliveryEngine
from bot.scheduling.local_times import parse_hhmm
from bot.scheduling.rate_limiter import PriorityRateLimiter
from bot.scheduling.send_budget import LocalBudget, budget_for
from bot.scheduling.telegram_sender import TelegramSender
from bot.services import AnyApplication, AnyContext, Services, services
from bot.settings import Settings

log = logging.getLogger(__name__)

_ENGINE_KEY = "waypoint.delivery"
PROGRAM_JOB_PREFIX = "program:"
PROGRAM_SYNC_SECONDS = 60
INBOX_SWEEP_SECONDS = 30


def rate_limiter(settings: Settings) -> PriorityRateLimiter | None:
    """Telegram's limits (TELEGRAM_RATE_LIMIT a second overall, 20 a minute per group),
    the most urgent request first; None when set to 0. This process's own budget until
    `register` shares it through the database (PostgreSQL). A 429 from the outbox is not
    retried here: the dispatcher delays that one message and goes on with other chats."""
    if settings.telegram_rate_limit <= 0:
        return None
    return PriorityRateLimiter(
        LocalBudget(settings.telegram_rate_limit), by_class=settings.priority_classes
    )


def build_engine(
    svc: Services, bot: object, *, role: str = "bot", clock: Clock | None = None
) -> DeliveryEngine:
    settings = svc.settings
    batch = (
        100 if settings.telegram_rate_limit <= 0 else max(1, int(settings.telegram_rate_limit * 2))
    )
    return DeliveryEngine(
        engine=svc.engine,
        sessions=svc.sessions,
        content=svc.content,
        sender=TelegramSender(bot, paid_broadcast=settings.paid_broadcast),
        worker_id=settings.worker_id,
        clock=clock or SystemClock(),
        role=role,
        dispatch=DispatchConfig(
            batch_size=batch,
            lease=timedelta(seconds=settings.delivery_lease),
            in_flight=settings.delivery_in_flight,
            retention=timedelta(days=settings.delivery_retention_days),
            priority_classes=settings.priority_classes,
        ),
        # Only on the real clock: a timer in real seconds means nothing on a test's clock.
        wake_within=settings.dispatch_interval if clock is None else 0.0,
    )


def delivery_engine(source: AnyApplication | AnyContext) -> DeliveryEngine:
    return source.bot_data[_ENGINE_KEY]  # type: ignore[no-any-return]


# --- the clock ---------------------------------------------------------------------------


async def _tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await delivery_engine(context).tick()
    except Exception:
        log.exception("delivery tick failed; the next one tries again")


async def sync_program_jobs(application: AnyApplication) -> None:
    """One cron job per (program, schedule, local time), in the program's zone."""
    job_queue = application.job_queue
    if job_queue is None:
        return
    svc = services(application)
    async with svc.sessions() as session:
        programs = await program_cron.load_programs(session)
    wanted = {spec.job_id: spec for spec in program_cron.cron_specs(programs)}
    for job in job_queue.jobs():
        if not (job.name or "").startswith(PROGRAM_JOB_PREFIX):
            continue
        if wanted.get(job.name or "") != job.data:
            job.schedule_removal()
        else:
            del wanted[job.name or ""]
    for spec in wanted.values():
        at = parse_hhmm(spec.hhmm)
        job_queue.run_custom(
            _program_fire,
            job_kwargs={
                "trigger": CronTrigger(
                    hour=at.hour, minute=at.minute, timezone=ZoneInfo(spec.zone)
                ),
                # A fire delayed by a busy loop runs late rather than not at all; a
                # fire missed while down is caught up by the engine's first tick.
                "misfire_grace_time": 3600,
                "coalesce": True,
            },
            data=spec,
            name=spec.job_id,
        )


async def _sync(context: ContextTypes.DEFAULT_TYPE) -> None:
    engine = delivery_engine(context)
    try:
        await sync_program_jobs(context.application)
        if await program_cron.catch_up(engine.engine, engine.sessions, engine.clock.now()):
            engine.kick()
    except Exception:
        log.exception("could not sync program jobs; the next sync tries again")


async def _program_fire(context: ContextTypes.DEFAULT_TYPE) -> None:
    assert context.job is not None
    spec = context.job.data
    assert isinstance(spec, program_cron.CronSpec)
    engine = delivery_engine(context)
    try:
        created = await program_cron.enqueue(
            engine.engine, engine.sessions, spec, engine.clock.now()
        )
    except Exception:
        log.exception("program job %s failed; the catch-up at the next start retries", spec.job_id)
        return
    if created:
        engine.kick()


async def stop(application: AnyApplication) -> None:
    """Before Application.stop(): finish the message in flight, put the rest back."""
    engine = application.bot_data.get(_ENGINE_KEY)
    if isinstance(engine, DeliveryEngine):
        await engine.stop()


def register(application: AnyApplication) -> None:
    svc = services(application)
    limiter = getattr(application.bot, "rate_limiter", None)
    if isinstance(limiter, PriorityRateLimiter):
        # PostgreSQL: one budget for every worker (SQLite: this one process's).
        limiter.share_through(budget_for(svc.engine, svc.settings.telegram_rate_limit))
    engine = build_engine(svc, application.bot)
    application.bot_data[_ENGINE_KEY] = engine
    inbox = inbox_of(application)
    if inbox is not None:
        inbox.activity_hooks.append(cancel_nudges_after_activity)
    job_queue = application.job_queue
    interval = svc.settings.dispatch_interval
    if job_queue is None or interval <= 0:
        return
    job_queue.run_repeating(_tick, interval=interval, first=0.1, name="delivery.tick")
    job_queue.run_repeating(_sync, interval=PROGRAM_SYNC_SECONDS, first=0.2, name="delivery.sync")
    if inbox_of(application) is not None:
        # Updates whose worker died mid-handling (webhook mode, several workers).
        job_queue.run_repeating(_sweep_inbox, interval=INBOX_SWEEP_SECONDS, name="inbox.sweep")


async def _sweep_inbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    await inbox_sweep(context.application)
