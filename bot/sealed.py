"""Free text encrypted at rest when ENCRYPTION_KEY is set (Fernet: AES-128-CBC + HMAC).

`SealedText` is a column type: it seals on write and opens on read, so feature code
never handles ciphertext. Rows written before a key was set stay readable; rows
sealed with a key cannot be read without it (start-up would then fail loudly on use).
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_PREFIX = "fernet:"
_fernet: Fernet | None = None


class SealedTextError(Exception):
    """Sealed text cannot be opened: no key, or the wrong key."""


def configure_encryption(key: str | None) -> None:
    """Called once at start-up with the ENCRYPTION_KEY setting (None: store as is)."""
    global _fernet
    _fernet = Fernet(key.encode()) if key else None


def seal(text: str) -> str:
    if _fernet is None:
        return text
    return _PREFIX + _fernet.encrypt(text.encode()).decode()


def unseal(stored: str) -> str:
    if not stored.startswith(_PREFIX):
        return stored
    if _fernet is None:
        raise SealedTextError("encrypted text found but ENCRYPTION_KEY is not set")
    try:
        return _fernet.decrypt(stored.removeprefix(_PREFIX).encode()).decode()
    except InvalidToken:
        raise SealedTextError("encrypted text does not open with this ENCRYPTION_KEY") from None


class SealedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else unseal(value)


# A sealed JSON value is stored as {_SEALED: "fernet:…"}: still valid JSON, so the column
# keeps its type and rows written before a key was set (plain JSON) stay readable.
_SEALED = "_sealed"


class SealedJSON(TypeDecorator[Any]):
    """A JSON column sealed whole when a key is set (a delivery's payload may hold what
    the message says: an alert's detail quotes the client)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or _fernet is None:
            return value
        return {_SEALED: seal(json.dumps(value, separators=(",", ":")))}

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, dict) and len(value) == 1 and isinstance(value.get(_SEALED), str):
            return json.loads(unseal(value[_SEALED]))
        return value
