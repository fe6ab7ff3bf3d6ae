"""Invitation tokens, pseudonym codes and the wrong-invite limiter's keyed hash (pure: no
database, no Telegram).

A token is the only secret in a deep link: 128 bits from `secrets`, shown once, stored
only as its SHA-256 so a copy of the database cannot be used to enroll as someone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 16  # 128 bits
# Telegram deep-link payloads allow A-Z a-z 0-9 _ - and at most 64 characters.
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# No 0/O, 1/I/L, 5/S, 8/B: a code is read aloud on the phone.
_CODE_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
_CODE_DIGITS = "234679"
_CODE_RE = re.compile(rf"^[{_CODE_LETTERS}{_CODE_DIGITS}]{{3}}-[{_CODE_DIGITS}]$")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(payload: str) -> bool:
    return bool(_TOKEN_RE.match(payload))


def new_code() -> str:
    """A pseudonym like K7Q-2; the caller retries on the (rare) clash within a program."""
    head = "".join(secrets.choice(_CODE_LETTERS + _CODE_DIGITS) for _ in range(3))
    return f"{head}-{secrets.choice(_CODE_DIGITS)}"


def normalize_code(text: str) -> str | None:
    """A code as typed by a clinician ("k7q2", "K7Q-2 ") in its stored form, or None."""
    compact = re.sub(r"[\s-]", "", text.upper())
    if len(compact) != 4:
        return None
    code = f"{compact[:3]}-{compact[3]}"
    return code if _CODE_RE.match(code) else None


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


def derived_attempt_secret(dedicated: str | None, encryption_key: str | None) -> bytes | None:
    """The wrong-invite limiter's HMAC key from settings: ATTEMPT_HASH_SECRET, else one
    derived from ENCRYPTION_KEY; None when neither is set (a per-deployment random one
    stored in the database is used then)."""
    if dedicated:
        return dedicated.encode()
    if encryption_key:
        return hmac.new(encryption_key.encode(), b"waypoint-attempt-secret", "sha256").digest()
    return None


def sender_hash(telegram_user_id: int, secret: bytes) -> str:
    """What the wrong-invite limit keeps about a sender: a keyed hash (HMAC-SHA256) of the
    id. Telegram ids are few enough to try them all against a plain hash in a second;
    without the secret, a copy of the table names nobody."""
    return hmac.new(secret, f"waypoint-attempt:{telegram_user_id}".encode(), "sha256").hexdigest()
