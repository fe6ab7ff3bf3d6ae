"""Free text at rest: sealed with ENCRYPTION_KEY when one is set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.db import make_engine, make_sessionmaker
from bot.models import Client, Program
from bot.sealed import SealedTextError, configure_encryption, seal, unseal


@pytest.fixture
def key() -> Iterator[str]:
    value = Fernet.generate_key().decode()
    configure_encryption(value)
    yield value
    configure_encryption(None)


def test_without_a_key_text_is_stored_as_is() -> None:
    configure_encryption(None)
    assert seal("hello") == "hello"
    assert unseal("hello") == "hello"


def test_with_a_key_text_is_sealed_and_opens_again(key: str) -> None:
    sealed = seal("Maria, Tuesday group")
    assert "Maria" not in sealed and sealed.startswith("fernet:")
    assert unseal(sealed) == "Maria, Tuesday group"
    assert unseal("written before the key was set") == "written before the key was set"


def test_sealed_text_cannot_be_read_without_its_key(key: str) -> None:
    sealed = seal("private")
    configure_encryption(None)
    with pytest.raises(SealedTextError, match="ENCRYPTION_KEY is not set"):
        unseal(sealed)
    configure_encryption(Fernet.generate_key().decode())
    with pytest.raises(SealedTextError, match="does not open"):
        unseal(sealed)


async def test_a_clinicians_label_is_encrypted_in_the_database(key: str, database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            program = Program(name="P", timezone="UTC", region="US")
            session.add(program)
            await session.flush()
            assert program.id is not None
            session.add(Client(program_id=program.id, code="ACE-2", label="Maria, Tuesday"))
            await session.commit()
        async with engine.connect() as connection:
            raw = (await connection.execute(text("SELECT label FROM client"))).scalar_one()
        assert raw.startswith("fernet:") and "Maria" not in raw
        async with sessions() as session:
            client = await session.get(Client, 1)
            assert client is not None and client.label == "Maria, Tuesday"
    finally:
        await engine.dispose()
