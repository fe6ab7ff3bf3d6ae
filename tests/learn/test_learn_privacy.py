"""Lessons and practice in the client's /mydata, and gone with /delete."""

from __future__ import annotations

import json

from sqlmodel import func, select

from bot.content import LanguagePack, render
from bot.models import ExerciseRun, LessonOverride, LessonProgress, PracticeSettings
from bot.telegram_sandbox import Person
from tests.harness import BotHarness
from tests.learn.conftest import CLINICIAN, CODE
from tests.learn.test_care_team_e2e import finish_lesson_one, one_practice

LEARN_TABLES = (LessonProgress, LessonOverride, PracticeSettings, ExerciseRun)


async def counts(bot: BotHarness) -> list[int]:
    async with bot.services.sessions() as session:
        return [
            (await session.exec(select(func.count()).select_from(table))).one()
            for table in LEARN_TABLES
        ]


async def test_mydata_holds_lessons_and_practice_and_delete_erases_them(
    bot: BotHarness, alex: Person, pack: LanguagePack
) -> None:
    await finish_lesson_one(alex, pack, first_try=True)
    await one_practice(alex, pack, "5", "3")
    rivera = bot.person(CLINICIAN, "Dr. Rivera")
    await rivera.send(f"/assign {CODE} 9")
    await rivera.send(f"/practice {CODE}")
    staff = pack.learning.staff
    await rivera.press(render(staff.inward_button, state=staff.off_word))
    assert await counts(bot) == [1, 1, 1, 1]
    (document,) = await alex.send("/mydata")
    assert document.document is not None
    data = json.loads(await bot.sandbox.download(document.document["file_id"]))
    (lesson,) = data["lessons"]
    assert lesson["lesson"] == 1 and lesson["finished_at"]
    assert lesson["check_questions_right_first_time"] == {"0": True, "1": True}
    (practice,) = data["practice"]
    assert (practice["practice"], practice["rating_before"], practice["rating_after"]) == (
        "stop",
        5,
        3,
    )
    assert data["lessons_chosen_by_your_care_team"][0]["choice"] == "assigned"
    assert data["practice_settings_from_your_care_team"]["no_long_eyes_closed_practice"]
    await alex.send("/delete")
    await alex.press(pack.account.delete_yes)
    assert await counts(bot) == [0, 0, 0, 0]
