"""Who is writing: an enrolled client, a clinician, or someone Waypoint does not know.

Pure database lookups, no Telegram imports. Nothing is stored about unknown people.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Client, ClientStatus, Clinician, Program

# Statuses in which a client still talks with Waypoint (an unreachable client who
# writes again is reachable again).
ENROLLED = (ClientStatus.active, ClientStatus.paused, ClientStatus.unreachable)


@dataclass(frozen=True)
class Who:
    client: Client | None = None
    clinician: Clinician | None = None
    program: Program | None = None

    @property
    def is_client(self) -> bool:
        return self.client is not None

    @property
    def is_clinician(self) -> bool:
        return self.clinician is not None

    @property
    def language(self) -> str | None:
        return self.client.language if self.client else None


# Built once, with the person as a parameter: these run on nearly every update, and
# building and keying a statement costs about as much as SQLite running it.
CLIENT_BY_USER = (
    select(Client, Program)
    .join(Program, col(Program.id) == Client.program_id)
    .where(Client.telegram_user_id == sa.bindparam("user"), col(Client.status).in_(ENROLLED))
)
STAFF_BY_USER = (
    select(Clinician, Program)
    .join(Program, col(Program.id) == Clinician.program_id)
    .where(Clinician.telegram_user_id == sa.bindparam("user"), col(Clinician.active).is_(True))
)


async def identify(session: AsyncSession, telegram_user_id: int) -> Who:
    """One query for a client (with their program), one more for anyone else: this runs
    on every update, so it is kept to the fewest round trips."""
    person = {"user": telegram_user_id}
    found = (await session.exec(CLIENT_BY_USER, params=person)).first()
    if found is not None:
        return Who(client=found[0], program=found[1])
    staff = (await session.exec(STAFF_BY_USER, params=person)).first()
    if staff is not None:
        return Who(clinician=staff[0], program=staff[1])
    return Who()


async def crisis_region(session: AsyncSession, who: Who, default_region: str) -> str:
    """The region whose crisis lines to show: the person's program, else the only
    program this deployment serves, else the configured default."""
    if who.program is not None:
        return who.program.region
    programs = (await session.exec(select(Program.region).limit(2))).all()
    if len(programs) == 1:
        return programs[0]
    return default_region
