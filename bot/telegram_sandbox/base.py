"""Small shared pieces: the Bot API error, an uploaded file, UTF-16 length."""

from __future__ import annotations

from dataclasses import dataclass


class ApiError(Exception):
    """A refusal answered in Telegram's shape: ``{"ok": false, "error_code", "description"}``."""

    def __init__(
        self,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        *,
        arranged: bool = False,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        # Set up by whoever drives the sandbox (an injected fault, a blocked chat), not a
        # request Telegram would refuse: the request log says so, for tests to tell apart.
        self.arranged = arranged

    def payload(self) -> dict[str, object]:
        body: dict[str, object] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(slots=True)
class Upload:
    """One file part of a multipart request."""

    name: str
    filename: str
    content_type: str
    data: bytes

    def summary(self) -> dict[str, object]:
        # What the request log shows instead of the bytes.
        return {
            "upload": self.name,
            "file_name": self.filename,
            "mime_type": self.content_type,
            "file_size": len(self.data),
        }


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts message length and offsets in."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2
