"""Telegram's HTML parse_mode: validation and conversion to plain text + entities.

Follows the Bot API rules (https://core.telegram.org/bots/api#html-style) and the
behaviour of Telegram's own parser (tdlib ``parse_html``):

* supported tags: b, strong, i, em, u, ins, s, strike, del, span class="tg-spoiler",
  tg-spoiler, a href, tg-emoji emoji-id, tg-time unix/format, code, pre,
  code class="language-..." inside pre, blockquote (optionally ``expandable``);
  tag names are case-insensitive, unknown attributes are ignored;
* only &lt; &gt; &amp; &quot; and numeric entities (&#38; &#x26;) are decoded.

Errors (the description is ``Bad Request: can't parse entities: <reason>``):

* ``Unsupported start tag "br" at byte offset 5`` (also a bare ``<`` followed by a
  space: ``Unsupported start tag "" at byte offset N``);
* ``Unclosed start tag at byte offset N`` (``<`` that never reaches ``>``);
* ``Can't find end tag corresponding to start tag "b"``;
* ``Unexpected end tag at byte offset N`` (nothing open) and
  ``Unmatched end tag at byte offset N, expected "</i>", found "</b>"`` (misnesting);
* ``Tag "span" must have class "tg-spoiler" at byte offset N``;
* ``Invalid custom emoji identifier specified`` / ``Invalid Unix time specified``;
* stricter than Telegram, on purpose: a bare ``&`` in text that does not start a
  supported entity -> ``Unescaped "&" at byte offset N; use "&amp;"`` (Telegram keeps it
  as text, but in our code it always means a value was not escaped). Inside attribute
  values a bare ``&`` is kept, as Telegram does (URLs with query strings).

Byte offsets are UTF-8 offsets into the original text, entity offsets/lengths are UTF-16
code units. The text is then stripped of surrounding whitespace like Telegram does.
"""

from __future__ import annotations

import re
from typing import Any

from .base import utf16_len

_SUPPORTED = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "tg-time", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_SPECIAL_RE = re.compile(r"[<&]")
_SPACES = " \t\r\n\v\f"
_URL_RE = re.compile(r"(?i)^(?:(?:https?|tg|ftp|ton)://\S+|[\w-]+(?:\.[\w-]+)+(?:[/?#]\S*)?)$")


class HtmlError(ValueError):
    """The text is not valid Telegram HTML; ``str(err)`` is the reason."""


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, pos)
    if match is None:
        return None
    name, dec, hexa = match.groups()
    if name:
        return _NAMED[name], match.end()
    code = int(dec) if dec else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


class _Open:
    __slots__ = ("arg", "extra", "offset", "tag")

    def __init__(self, tag: str, arg: str, extra: str, offset: int) -> None:
        self.tag = tag
        self.arg = arg
        self.extra = extra
        self.offset = offset  # UTF-16 offset in the output where the entity starts


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Return ``(plain_text, entities)`` or raise HtmlError with Telegram's reason."""
    if "<" not in text and "&" not in text:
        return strip_text(text, [])
    out: list[str] = []
    utf16 = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded is None:
                raise HtmlError(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)}; use "&amp;"'
                )
            out.append(decoded[0])
            utf16 += utf16_len(decoded[0])
            i = decoded[1]
            continue
        if char != "<":
            match = _SPECIAL_RE.search(text, i)
            end = match.start() if match else n
            chunk = text[i:end]
            out.append(chunk)
            utf16 += utf16_len(chunk)
            i = end
            continue
        if i + 1 < n and text[i + 1] == "/":
            i = _end_tag(text, i, stack, entities, utf16, out)
        else:
            i, opened = _start_tag(text, i, utf16)
            stack.append(opened)
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return strip_text("".join(out), entities)


def _start_tag(text: str, begin: int, utf16: int) -> tuple[int, _Open]:
    n = len(text)
    i = begin + 1
    while i < n and text[i] not in _SPACES and text[i] != ">":
        i += 1
    if i >= n:
        raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    tag = text[begin + 1 : i].lower()
    if tag not in _SUPPORTED:
        raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
    attrs: dict[str, str] = {}
    while True:
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] == ">":
            break
        name_start = i
        while i < n and text[i] not in _SPACES and text[i] not in "=>":
            i += 1
        name = text[name_start:i].lower()
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n or text[i] != "=":
            if tag == "blockquote" and name == "expandable":
                attrs[name] = ""
                continue
            raise HtmlError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        i += 1
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise HtmlError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        i, value = _attribute_value(text, i)
        attrs[name] = value
    return i + 1, _open_entity(text, begin, tag, attrs, utf16)


def _attribute_value(text: str, i: int) -> tuple[int, str]:
    n = len(text)
    quote = text[i]
    if quote not in "\"'":  # unquoted: a name token
        start = i
        while i < n and (text[i].isalnum() or text[i] in ".-"):
            i += 1
        if i < n and text[i] not in _SPACES and text[i] != ">":
            raise HtmlError(
                f"Unexpected end of name token at byte offset {_byte_offset(text, start)}"
            )
        return i, text[start:i].lower()
    i += 1
    parts: list[str] = []
    while i < n and text[i] != quote:
        if text[i] == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                parts.append(decoded[0])
                i = decoded[1]
                continue
        parts.append(text[i])
        i += 1
    return i + 1 if i < n else i, "".join(parts)


def _open_entity(text: str, begin: int, tag: str, attrs: dict[str, str], utf16: int) -> _Open:
    arg, extra = "", ""
    if tag == "a":
        arg = attrs.get("href", "")
    elif tag == "code":
        language = attrs.get("class", "")
        arg = language[9:] if language.startswith("language-") else ""
    elif tag == "span":
        if attrs.get("class") != "tg-spoiler":
            offset = _byte_offset(text, begin)
            raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    elif tag == "tg-emoji":
        arg = attrs.get("emoji-id", "")
        if not arg.isdigit():
            raise HtmlError("Invalid custom emoji identifier specified")
    elif tag == "tg-time":
        arg = attrs.get("unix", "")
        extra = attrs.get("format", "")
        if not re.fullmatch(r"-?\d+", arg):
            raise HtmlError("Invalid Unix time specified")
    elif tag == "blockquote" and "expandable" in attrs:
        arg = "expandable"
    return _Open(tag, arg, extra, utf16)


def _end_tag(
    text: str,
    begin: int,
    stack: list[_Open],
    entities: list[dict[str, Any]],
    utf16: int,
    out: list[str],
) -> int:
    n = len(text)
    if not stack:
        raise HtmlError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
    i = begin + 2
    while i < n and text[i] not in _SPACES and text[i] != ">":
        i += 1
    name = text[begin + 2 : i]
    while i < n and text[i] in _SPACES:
        i += 1
    if i >= n or text[i] != ">":
        raise HtmlError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
    opened = stack.pop()
    if name and name.lower() != opened.tag:
        raise HtmlError(
            f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
            f'expected "</{opened.tag}>", found "</{name}>"'
        )
    length = utf16 - opened.offset
    if length > 0:
        entity = _make_entity(opened, length, stack, entities, out)
        if entity is not None:
            entities.append(entity)
    return i + 1


def _make_entity(
    opened: _Open,
    length: int,
    stack: list[_Open],
    entities: list[dict[str, Any]],
    out: list[str],
) -> dict[str, Any] | None:
    tag, offset = opened.tag, opened.offset
    entity: dict[str, Any] = {"type": _SIMPLE.get(tag, tag), "offset": offset, "length": length}
    if tag in _SIMPLE:
        return entity
    if tag == "a":
        url = opened.arg or _tail_utf16("".join(out), length)
        if not _URL_RE.match(url):
            return None  # Telegram silently drops links it cannot use
        if "://" not in url:
            url = "http://" + url
        return {"type": "text_link", "offset": offset, "length": length, "url": url}
    if tag == "code":
        if stack and stack[-1].tag == "pre" and opened.arg:
            entity["language"] = opened.arg  # merged into the enclosing pre when it closes
        return entity
    if tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
            and "language" in last
        ):
            entities.pop()
            return {"type": "pre", "offset": offset, "length": length, "language": last["language"]}
        return entity
    if tag == "blockquote":
        entity["type"] = "expandable_blockquote" if opened.arg else "blockquote"
        return entity
    if tag == "tg-emoji":
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": opened.arg,
        }
    # tg-time
    entity = {"type": "date_time", "offset": offset, "length": length, "unix_time": int(opened.arg)}
    if opened.extra:
        entity["date_time_format"] = opened.extra
    return entity


def _tail_utf16(text: str, length: int) -> str:
    """The last ``length`` UTF-16 units of ``text`` (the link text of an <a> without href)."""
    encoded = text.encode("utf-16-le")
    return encoded[len(encoded) - 2 * length :].decode("utf-16-le")


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace as Telegram does and clip entities to what is left."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    if not stripped:
        return "", []
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def plain_markdown(text: str) -> str:
    """MarkdownV2/Markdown are only accepted, not parsed: drop backslash escapes."""
    return re.sub(r"\\(.)", r"\1", text).strip()
