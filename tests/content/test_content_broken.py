"""Broken content is refused with the file, the place and the problem in one message."""

import io
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.content import ContentError, check_content, content_check_main, load_content
from tests.content.helpers import edit, line_of

DENSE = (
    "The committee recommended that the organization reconsider its environmental "
    "policies before the next evaluation."
)


def refused(root: Path) -> str:
    with pytest.raises(ContentError) as caught:
        load_content(root)
    return str(caught.value)


def test_malformed_yaml_names_file_and_line(content_dir: Path) -> None:
    ui = content_dir / "en" / "ui.yaml"
    line = line_of(ui, "coming_soon:")
    edit(ui, "coming_soon: This part", "coming_soon: Note: this part")
    message = refused(content_dir)
    assert message.startswith(f"content/en/ui.yaml, line {line}, column ")
    assert "not valid YAML" in message
    assert "needs quotes" in message


def test_missing_colon_points_at_the_key_line(content_dir: Path) -> None:
    ui = content_dir / "en" / "ui.yaml"
    line = line_of(ui, "welcome_back: |-")
    edit(ui, "welcome_back: |-", "welcome_back |-")
    message = refused(content_dir)
    assert message.startswith("content/en/ui.yaml, line ")
    assert f"starts at line {line}" in message


def test_missing_required_key(content_dir: Path) -> None:
    edit(content_dir / "en" / "ui.yaml", "coming_soon: This part of Waypoint", "coming_son: Th")
    message = refused(content_dir)
    assert message.startswith("content/en/ui.yaml: coming_soon: required key is missing")


def test_missing_nested_key_points_at_its_parent(content_dir: Path) -> None:
    ui = content_dir / "en" / "ui.yaml"
    edit(ui, "  help: Help lines for a crisis, right now\n", "")
    line = line_of(ui, "commands:")
    assert refused(content_dir) == (
        f"content/en/ui.yaml, line {line}: commands.help: required key is missing"
    )


def test_unknown_key(content_dir: Path) -> None:
    ui = content_dir / "en" / "ui.yaml"
    with ui.open("a", encoding="utf-8") as f:
        f.write("welcom_again: Hello again\n")
    line = line_of(ui, "welcom_again")
    message = refused(content_dir)
    assert message.startswith(f"content/en/ui.yaml, line {line}: welcom_again: unknown key")


def test_wrong_type(content_dir: Path) -> None:
    resources = content_dir / "crisis_resources.yaml"
    edit(resources, 'press: "1"', "press: 1")
    line = line_of(resources, "press: 1")
    assert refused(content_dir) == (
        f"content/crisis_resources.yaml, line {line}: regions.US.veterans.press: "
        'should be text, but it is a number; put it in quotes ("...")'
    )


def test_empty_text(content_dir: Path) -> None:
    edit(
        content_dir / "en" / "ui.yaml",
        "coming_soon: This part of Waypoint is not ready yet. It's coming soon.",
        "coming_soon:",
    )
    assert "coming_soon: is empty; write the text" in refused(content_dir)


def test_crisis_placeholder_naming_no_resource(content_dir: Path) -> None:
    crisis = content_dir / "en" / "crisis.yaml"
    edit(crisis, "press {lifeline_spanish.press},", "press {spanish.press},")
    message = refused(content_dir)
    assert message.startswith("content/en/crisis.yaml, line ")
    assert "regions.US.card[1]: placeholder {spanish.press} names no resource" in message
    assert "lifeline_spanish" in message  # it lists what the region has


def test_crisis_placeholder_naming_a_missing_field(content_dir: Path) -> None:
    edit(
        content_dir / "en" / "crisis.yaml",
        "press {lifeline_spanish.press},",
        "press {lifeline_spanish.web},",
    )
    assert "resource lifeline_spanish of region US has no web" in refused(content_dir)


def test_crisis_text_with_a_typed_number(content_dir: Path) -> None:
    edit(content_dir / "en" / "crisis.yaml", "Call or text {lifeline.call}", "Call or text 988")
    message = refused(content_dir)
    assert "content/en/crisis.yaml, line " in message
    assert "regions.US.card[1]: '988' looks like a phone number" in message


def test_card_missing_for_a_region(content_dir: Path) -> None:
    edit(content_dir / "crisis_resources.yaml", "  EU:\n", "  FR:\n")
    assert "content/en/crisis.yaml" in (message := refused(content_dir))
    assert "regions.EU: no region EU in crisis_resources.yaml" in message


def test_unbalanced_html(content_dir: Path) -> None:
    ui = content_dir / "en" / "ui.yaml"
    edit(ui, "Sorry, something went wrong", "<b>Sorry, something went wrong")
    line = line_of(ui, "error: |-")
    assert refused(content_dir) == (
        f"content/en/ui.yaml, line {line}: error: <b> is never closed; add </b>"
    )


def test_unsupported_tag(content_dir: Path) -> None:
    edit(content_dir / "en" / "ui.yaml", "Sorry, something", "Sorry,<br>something")
    assert "error: <br> is not allowed" in refused(content_dir)


def test_bare_ampersand(content_dir: Path) -> None:
    edit(content_dir / "en" / "ui.yaml", "Sorry, something", "Sorry & something")
    assert "error: a bare & must be written &amp;" in refused(content_dir)


def test_html_in_a_button(content_dir: Path) -> None:
    edit(content_dir / "en" / "ui.yaml", "help_button: 🆘 Help now", "help_button: <b>Help</b>")
    assert "help_button: buttons and menu texts are plain text" in refused(content_dir)


def test_unknown_placeholder_in_a_ui_text(content_dir: Path) -> None:
    edit(content_dir / "en" / "ui.yaml", "Welcome back 👋", "Welcome back {name} 👋")
    assert "welcome_back: placeholder {name} is not known here (allowed: none)" in refused(
        content_dir
    )


def test_duplicate_key(content_dir: Path) -> None:
    ui = content_dir / "en" / "ui.yaml"
    with ui.open("a", encoding="utf-8") as f:
        f.write("coming_soon: Again\n")
    assert "content/en/ui.yaml, line " in (message := refused(content_dir))
    assert "key 'coming_soon' appears twice" in message


def test_missing_file_and_missing_english(content_dir: Path) -> None:
    (content_dir / "en" / "style.yaml").unlink()
    assert refused(content_dir) == "content/en/style.yaml: file is missing"
    shutil.rmtree(content_dir / "en")
    assert "content/en/: folder is missing" in refused(content_dir)


def test_broken_added_language_is_refused_too(content_dir: Path) -> None:
    shutil.copytree(content_dir / "en", content_dir / "es")
    edit(content_dir / "es" / "ui.yaml", "coming_soon:", "coming_son:")
    assert "content/es/ui.yaml, line " in refused(content_dir)


# --- the check (style rules: block a release, never start-up) -----------------------


def check_output(root: Path) -> tuple[int, str]:
    out = io.StringIO()
    status = content_check_main(root, out, today=date(2026, 11, 22))
    return status, out.getvalue()


def test_text_above_its_grade_fails_the_check(content_dir: Path) -> None:
    edit(
        content_dir / "en" / "ui.yaml",
        "coming_soon: This part of Waypoint is not ready yet. It's coming soon.",
        f"coming_soon: {DENSE}",
    )
    status, out = check_output(content_dir)
    assert status == 1
    assert "content/en/ui.yaml: coming_soon  <- above limit" in out
    assert (
        "FAIL content/en/ui.yaml: coming_soon: grade 19.4 is above the client text limit 8" in out
    )
    report = check_content(load_content(content_dir))
    assert [f.where for f in report.failures] == ["content/en/ui.yaml: coming_soon"]


def test_crisis_card_above_grade_6_fails(content_dir: Path) -> None:
    edit(
        content_dir / "en" / "crisis.yaml",
        "if you are in danger\n        or someone may have overdosed.",
        "if institutional circumstances necessitate immediate medical intervention. "
        "Emergency organizations coordinate comprehensive intervention.",
    )
    status, out = check_output(content_dir)
    assert status == 1
    assert "FAIL content/en/crisis.yaml: regions.IE.card: grade" in out
    assert "above the crisis text limit 6" in out


def test_long_crisis_paragraph_fails(content_dir: Path) -> None:
    edit(
        content_dir / "en" / "crisis.yaml",
        "overdosed.\n      - >-\n        📞 <b>Call or text {lifeline.call}",
        "overdosed. Stay with them. Keep them warm. Stay calm.\n      - >-\n"
        "        📞 <b>Call or text {lifeline.call}",
    )
    status, out = check_output(content_dir)
    assert status == 1
    assert "FAIL content/en/crisis.yaml: regions.US.card[0]: has 4 sentences" in out


def test_long_more_help_paragraph_fails(content_dir: Path) -> None:
    edit(
        content_dir / "en" / "crisis.yaml",
        "Then call {emergency.call} and stay with them.",
        "Then call {emergency.call} and stay with them. Keep them warm. Stay calm.",
    )
    status, out = check_output(content_dir)
    assert status == 1
    assert "FAIL content/en/crisis.yaml: regions.US.more_help[0]: has 4 sentences" in out


def test_stigmatizing_word_fails(content_dir: Path) -> None:
    edit(content_dir / "en" / "ui.yaml", "It's coming soon.", "It's coming soon, stay clean.")
    status, out = check_output(content_dir)
    assert status == 1
    assert "FAIL content/en/ui.yaml: coming_soon: uses the stigmatizing word 'clean'" in out


def test_stigmatizing_word_in_a_crisis_card_fails(content_dir: Path) -> None:
    edit(
        content_dir / "en" / "crisis.yaml",
        "if you are thinking of suicide or can't cope.\n        En español",
        "if you are an addict thinking of suicide or can't cope.\n        En español",
    )
    report = check_content(load_content(content_dir))
    assert any(
        f.where == "content/en/crisis.yaml: regions.US.card" and "'addict'" in f.problem
        for f in report.failures
    )


def test_lock_screen_word_in_a_ui_text_fails(content_dir: Path) -> None:
    edit(content_dir / "en" / "ui.yaml", "breathing exercises", "breathing exercises for sobriety")
    status, out = check_output(content_dir)
    assert status == 1
    assert "FAIL content/en/ui.yaml: welcome: names 'sobriety'" in out


def test_check_reports_a_load_error(content_dir: Path) -> None:
    edit(content_dir / "en" / "ui.yaml", "welcome_back: |-", "welcome_back |-")
    status, out = check_output(content_dir)
    assert status == 1
    assert "cannot be loaded" in out and "content/en/ui.yaml, line " in out


def test_source_checks_older_than_6_months_warn_but_pass(content_dir: Path) -> None:
    out = io.StringIO()
    # 2026-11-22 + 183 days is 2027-05-24: no warning that day, one the day after.
    assert content_check_main(content_dir, out, today=date(2027, 5, 24)) == 0
    assert "regions.US.lifeline: source last checked" not in out.getvalue()
    out = io.StringIO()
    assert content_check_main(content_dir, out, today=date(2027, 5, 25)) == 0
    assert (
        "warning: content/crisis_resources.yaml: regions.US.lifeline: source last checked "
        "2026-11-22, 184 days ago (more than 6 months)"
    ) in out.getvalue()


def test_every_resource_names_its_source_page(shipped_dir: Path = Path("content")) -> None:
    content = load_content(shipped_dir)
    for region, resources in content.resources.items():
        for rid, resource in resources.items():
            assert resource.source and resource.source_checked, (region, rid)
