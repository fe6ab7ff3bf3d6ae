"""Checks and rendering for content text: Telegram HTML, {placeholders}, word lists.

Pure functions; each check raises ValueError with a sentence a clinician can act on.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterable

# Telegram accepts more tags (s, code, pre, tg-spoiler, blockquote ...); content keeps to
# the few a chat message needs, so every client sees the same thing.
ALLOWED_TAGS = ("b", "i", "u", "a")

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
_HREF = re.compile(r"""\s+href\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)')\s*""")
# Telegram's HTML mode knows only these named entities, plus numeric ones.
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


def check_telegram_html(text: str) -> str:
    """Refuse what Telegram's sendMessage(parse_mode="HTML") would refuse, or what we don't use.

    Allowed: <b> <i> <u> and <a href="...">, properly nested and closed; entities &lt;
    &gt; &amp; &quot; and numeric ones. A bare < > or & is refused.
    """
    open_tags: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "&":
            if not _ENTITY.match(text, i):
                raise ValueError("a bare & must be written &amp;")
        elif ch == ">":
            raise ValueError("a bare > must be written &gt;")
        elif ch == "<":
            tag = _TAG.match(text, i)
            if tag is None:
                raise ValueError("a bare < must be written &lt;")
            closing, name, attrs = tag.group(1) == "/", tag.group(2).lower(), tag.group(3)
            if name not in ALLOWED_TAGS:
                raise ValueError(
                    f'<{name}> is not allowed; use only <b>, <i>, <u> or <a href="...">'
                )
            if closing:
                if attrs.strip():
                    raise ValueError(f"</{name}> cannot have attributes")
                if not open_tags:
                    raise ValueError(f"</{name}> closes a tag that was never opened")
                if open_tags[-1] != name:
                    raise ValueError(
                        f"</{name}> comes before </{open_tags[-1]}>; close tags in order"
                    )
                open_tags.pop()
            elif name == "a":
                href = _HREF.fullmatch(attrs)
                if href is None or not (href.group(1) or href.group(2) or "").strip():
                    raise ValueError('a link must be written <a href="https://...">text</a>')
                open_tags.append(name)
            else:
                if attrs.strip():
                    raise ValueError(f"<{name}> cannot have attributes")
                open_tags.append(name)
            i = tag.end()
            continue
        i += 1
    if open_tags:
        raise ValueError(f"<{open_tags[-1]}> is never closed; add </{open_tags[-1]}>")
    return text


def check_plain(text: str) -> str:
    """Buttons and the command menu show plain text: Telegram reads no HTML there, so a
    tag or an entity would show as typed."""
    if "<" in text or ">" in text:
        raise ValueError("buttons and menu texts are plain text: no HTML tags, no < or >")
    if _ENTITY.search(text):
        raise ValueError("buttons and menu texts are plain text: write & itself, not &amp;")
    return text


def placeholders(template: str) -> list[str]:
    """The {names} a template uses, in order ("lifeline.call" for {lifeline.call})."""
    stray = ValueError(
        "has a stray { or }; placeholders are written like {name}, "
        "and a text cannot show { or } otherwise"
    )
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        raise stray from None
    # "{{" would show as "{" once rendered, but a text read without rendering would show
    # "{{"; refusing braces keeps a text with no placeholders ready to send as it is.
    if any("{" in literal or "}" in literal for literal, _, _, _ in parsed):
        raise stray
    fields = [name for _, name, _, _ in parsed if name is not None]
    for name in fields:
        if not name or name.isdigit():
            raise ValueError("has an empty placeholder {}; give it a name, like {name}")
    return fields


def check_placeholders(template: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    for name in placeholders(template):
        if name not in allowed:
            offer = ", ".join("{" + a + "}" for a in allowed) if allowed else "none"
            raise ValueError(f"placeholder {{{name}}} is not known here (allowed: {offer})")
    return template


class _HtmlFormatter(string.Formatter):
    def format_field(self, value: object, format_spec: str) -> str:
        return html.escape(super().format_field(value, format_spec), quote=True)


_FORMATTER = _HtmlFormatter()


def render(template: str, /, **values: object) -> str:
    """str.format, with every value HTML-escaped so the result stays valid Telegram HTML.

    A placeholder with no value raises KeyError naming it.
    """
    return _FORMATTER.vformat(template, (), values)


def word_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of `words` as whole words or phrases."""
    words = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)
