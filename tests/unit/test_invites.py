"""Invite tokens and pseudonym codes."""

from __future__ import annotations

import hashlib
import re

from bot.invites import deep_link, looks_like_token, new_code, new_token, normalize_code, token_hash


def test_tokens_carry_128_bits_and_fit_a_deep_link() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        # 16 random bytes in url-safe base64: 22 characters of A-Z a-z 0-9 _ -
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
        assert looks_like_token(token)


def test_only_the_hash_of_a_token_is_kept() -> None:
    token = new_token()
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in token_hash(token)


def test_codes_are_easy_to_say_and_typed_codes_are_understood() -> None:
    for _ in range(500):
        code = new_code()
        assert re.fullmatch(r"[A-Z0-9]{3}-\d", code)
        assert not set(code) & set("01OILSB58")  # nothing that sounds or looks alike
        assert normalize_code(code.lower().replace("-", " ")) == code
    assert normalize_code("K7Q-2") == "K7Q-2"
    assert normalize_code("k7q2") == "K7Q-2"
    assert normalize_code("K7Q-") is None
    assert normalize_code("hello") is None
    assert normalize_code("") is None


def test_deep_link_shape() -> None:
    assert deep_link("waypoint_bot", "abc") == "https://t.me/waypoint_bot?start=abc"


def test_what_does_not_look_like_a_token() -> None:
    for payload in ("", "x", "a b c", "🙂" * 20, "a" * 65, "<script>"):
        assert not looks_like_token(payload)
