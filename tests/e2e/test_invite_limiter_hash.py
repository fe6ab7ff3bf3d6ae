"""The wrong-invite limiter keeps a keyed hash (HMAC-SHA256) of a sender's Telegram id,
never a plain hash anyone can reverse by trying every id (issue 16, smaller defect)."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr
from sqlmodel import select

from bot.content import Content
from bot.invites import derived_attempt_secret, sender_hash
from bot.models import DeploymentSecret, EnrollmentAttempt
from bot.roster import attempt_secret, configured_attempt_key
from bot.services import Services
from tests.e2e.enrollment_steps import program_with_clinician
from tests.harness import BotHarness

CLINICIAN, SAM = 9461, 5550461


def _plain_hashes(user_id: int) -> set[str]:
    """What an attacker with a copy of the table would try: unsalted hashes of the id."""
    return {
        hashlib.sha256(text.encode()).hexdigest()
        for text in (str(user_id), f"waypoint-attempt:{user_id}")
    }


async def test_a_wrong_invite_is_kept_as_a_keyed_hash_not_a_plain_one(
    bot: BotHarness, content: Content
) -> None:
    await program_with_clinician(bot, bot.person(CLINICIAN, "Dr. Rivera"))
    (reply,) = await bot.person(SAM, "Sam").send("/start not-a-real-token-at-all")
    assert reply.text == content.language("en").join.invalid_link
    async with bot.services.sessions() as session:
        (attempt,) = (await session.exec(select(EnrollmentAttempt))).all()
        (secret,) = (await session.exec(select(DeploymentSecret))).all()
    assert attempt.sender_hash not in _plain_hashes(SAM)
    # No key is set in the tests: this deployment's random secret, made once, is the key.
    expected = hmac.new(secret.value.encode(), f"waypoint-attempt:{SAM}".encode(), "sha256")
    assert attempt.sender_hash == expected.hexdigest()
    assert len(secret.value) == 64


async def test_the_key_comes_from_settings_first_then_encryption_key_then_the_database(
    services: Services,
) -> None:
    settings = services.settings
    assert configured_attempt_key(settings) is None
    async with services.sessions() as session:
        first = await attempt_secret(session, None)
        await session.commit()
    async with services.sessions() as session:
        assert await attempt_secret(session, None) == first  # kept: hashes stay comparable
    fernet = "A" * 43 + "="
    with_key = settings.model_copy(update={"encryption_key": SecretStr(fernet)})
    derived = configured_attempt_key(with_key)
    assert derived is not None and derived != fernet.encode() and derived != first
    assert derived == derived_attempt_secret(None, fernet)
    dedicated = with_key.model_copy(update={"attempt_hash_secret": SecretStr("s3cret-value")})
    assert configured_attempt_key(dedicated) == b"s3cret-value"
    # Different keys, different hashes; neither is the plain one.
    hashes = {sender_hash(SAM, key) for key in (first, derived, b"s3cret-value")}
    assert len(hashes) == 3 and not hashes & _plain_hashes(SAM)
