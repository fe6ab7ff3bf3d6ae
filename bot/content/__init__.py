"""Content: clinician-editable texts and crisis resources, loaded from content/.

Every sentence a client reads lives in content/ (DESIGN: "Content is data"). This package
reads it into typed objects, refuses a broken file at start-up with one clear message,
and checks reading grade and word rules in CI (`python -m bot.content`).

    content = load_content(DEFAULT_CONTENT_DIR)
    pack = content.language(update.effective_user.language_code)
    await bot.send_message(chat_id, pack.crisis_card("US"), parse_mode="HTML")
    text = render(pack.staff.clinician_welcome, name=user.first_name)
"""

from bot.content.check import (
    ContentReport,
    Failure,
    GradeResult,
    check_content,
    content_check_main,
)
from bot.content.loader import (
    DEFAULT_CONTENT_DIR,
    FALLBACK_LANGUAGE,
    Content,
    ContentError,
    GradedText,
    LanguagePack,
    load_content,
)
from bot.content.markup import render
from bot.content.schema import (
    ClientText,
    CrisisText,
    CrisisTexts,
    GradeLimit,
    Resource,
    ResourceKind,
    StaffText,
    StaffTexts,
    StyleRules,
    UiTexts,
)

__all__ = [
    "DEFAULT_CONTENT_DIR",
    "FALLBACK_LANGUAGE",
    "ClientText",
    "Content",
    "ContentError",
    "ContentReport",
    "CrisisText",
    "CrisisTexts",
    "Failure",
    "GradeLimit",
    "GradeResult",
    "GradedText",
    "LanguagePack",
    "Resource",
    "ResourceKind",
    "StaffText",
    "StaffTexts",
    "StyleRules",
    "UiTexts",
    "check_content",
    "content_check_main",
    "load_content",
    "render",
]
