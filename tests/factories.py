"""Rows for tests, built the way the admin commands and enrollment will build them."""

from __future__ import annotations

import re

from sqlalchemy import inspect as sa_inspect
from sqlmodel import func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import session_scope
from bot.models import TABLES, Client, ClientStatus, Clinician, ClinicianRole, Program
from bot.services import Services


async def add_program(
    svc: Services,
    *,
    name: str = "Riverside IOP",
    region: str = "US",
    timezone: str = "America/New_York",
) -> Program:
    async with session_scope(svc.sessions) as session:
        program = Program(name=name, region=region, timezone=timezone)
        session.add(program)
    return program


async def add_clinician(
    svc: Services,
    program: Program,
    *,
    telegram_user_id: int,
    name: str = "Dr. Rivera",
    active: bool = True,
) -> Clinician:
    assert program.id is not None
    async with session_scope(svc.sessions) as session:
        clinician = Clinician(
            program_id=program.id,
            telegram_user_id=telegram_user_id,
            display_name=name,
            role=ClinicianRole.clinician,
            active=active,
        )
        session.add(clinician)
    return clinician


async def add_client(
    svc: Services,
    program: Program,
    *,
    telegram_user_id: int,
    code: str = "K7Q-2",
    status: ClientStatus = ClientStatus.active,
    language: str = "en",
) -> Client:
    assert program.id is not None
    async with session_scope(svc.sessions) as session:
        client = Client(
            program_id=program.id,
            code=code,
            telegram_user_id=telegram_user_id,
            chat_id=telegram_user_id,
            status=status,
            language=language,
        )
        session.add(client)
    return client


async def row_counts(session: AsyncSession) -> dict[str, int]:
    """How many rows every table holds (to prove that nothing was stored)."""
    counts = {}
    for table in TABLES:
        counts[table.__tablename__] = (
            await session.exec(select(func.count()).select_from(table))
        ).one()
    return counts


async def anywhere(svc: Services, value: object) -> list[str]:
    """Every table.column holding `value` in some row: all tables, all columns.

    A number counts only as a whole number: the id 7102 is not found inside a
    timestamp's microseconds ".871024" (that made this check fail now and then)."""
    needle = re.compile(rf"(?<!\d){re.escape(str(value))}(?!\d)")
    found: list[str] = []
    async with svc.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: sa_inspect(c).get_table_names())
        for table in tables:
            rows = (await connection.execute(text(f'SELECT * FROM "{table}"'))).mappings().all()
            for row in rows:
                for column, cell in row.items():
                    if cell is not None and needle.search(str(cell)):
                        found.append(f"{table}.{column}")
    return found
