"""The content Waypoint ships: it loads, every client text passes the check, the cards are right."""

import io
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.content import (
    DEFAULT_CONTENT_DIR,
    Content,
    ContentError,
    check_content,
    content_check_main,
    load_content,
    render,
)
from bot.content.markup import check_telegram_html
from bot.content.schema import CommandDescriptions, UiTexts
from tests.content.helpers import edit

REGIONS = ["US", "UK", "IE", "CA", "AU", "EU"]


def test_shipped_content_loads_with_all_regions(shipped: Content) -> None:
    assert shipped.languages == ["en"]
    assert shipped.regions == REGIONS
    assert Path(__file__).resolve().parents[2] / "content" == DEFAULT_CONTENT_DIR


def test_every_shipped_text_passes_the_check(shipped: Content) -> None:
    report = check_content(shipped, today=date(2026, 11, 22))
    failing = {r.text.where for r in report.results if not r.ok}
    # A failing text is named among the failures ...
    assert failing <= {f.where for f in report.failures}
    # ... and the shipped set has none.
    assert report.failures == []
    assert report.ok
    for result in report.results:
        if result.graded:  # labels under three words have no meaningful grade
            assert result.grade <= (6 if result.text.crisis else 8), result.text.where


def test_short_labels_are_not_graded_but_sentences_are(shipped: Content) -> None:
    report = check_content(shipped, today=date(2026, 11, 22))
    by_where = {r.text.where: r for r in report.results}
    label = by_where["content/en/ui.yaml: other_regions_button"]
    assert label.words < 3 and not label.graded and label.ok
    assert by_where["content/en/ui.yaml: welcome"].graded


def test_graded_texts_cover_every_ui_field_and_card(shipped: Content) -> None:
    wheres = [t.where for t in shipped.graded_texts()]
    assert len(wheres) == len(set(wheres))
    ui = {w.removeprefix("content/en/ui.yaml: ") for w in wheres if "/ui.yaml" in w}
    # Word lists are for matching only (never shown), so they are not graded.
    unshown = {"commands", "feelings", "feeling_words", "real_person_questions"}
    expected = {name for name in UiTexts.model_fields if name not in unshown}
    commands = {f"commands.{name}" for name in CommandDescriptions.model_fields}
    feelings = {f"feelings.{name}" for name in shipped.language("en").ui.feelings}
    assert ui == expected | commands | feelings
    cards = [t for t in shipped.graded_texts() if "/crisis.yaml" in t.where]
    assert [t.where for t in cards] == [
        f"content/en/crisis.yaml: regions.{r}.{part}"
        for r in REGIONS
        for part in ("card", "more_help")
    ]
    assert all(t.crisis and t.limit == 6 for t in cards)
    assert {t.limit for t in shipped.graded_texts() if not t.crisis} == {8}
    # Staff texts are for professionals: not graded.
    assert not any("staff.yaml" in w for w in wheres)


def test_check_main_prints_one_line_per_graded_text_and_exits_0(shipped: Content) -> None:
    out = io.StringIO()
    assert content_check_main(DEFAULT_CONTENT_DIR, out, today=date(2026, 11, 22)) == 0
    lines = out.getvalue().splitlines()
    graded = shipped.graded_texts()
    for item in graded:
        matching = [line for line in lines if line.endswith(f"  {item.where}")]
        assert len(matching) == 1, item.where
        grade, limit, _words = matching[0].split()[:3]
        assert float(limit) == item.limit
        if grade != "-":  # "-": a label too short to grade
            assert -20 < float(grade) <= item.limit
    assert sum(1 for line in lines if re.match(r"\s*(-?\d+\.\d|-)\s+\d", line)) == len(graded)
    assert lines[-1] == f"All {len(graded)} texts pass."


def test_us_card_leads_with_911_and_988_and_is_honest(shipped: Content) -> None:
    pack = shipped.language("en")
    card = pack.crisis_card("US")
    check_telegram_html(card)
    # Action first: danger now, then the lifeline; the text line is one tap away.
    assert card.index("911") < card.index("988")
    assert "Call 911 now" in card
    assert "Call or text 988" in card
    more = pack.crisis_more_help("US")
    check_telegram_html(more)
    assert "Text HOME to 741741" in more
    assert "naloxone" in more
    last = card.split("\n\n")[-1]
    assert "program" in last
    assert "not a crisis service" in last
    assert "press 3" not in (card + more).lower()  # ended 17 July 2025 (SPEC §5.4)


def test_us_card_gives_the_spanish_routes_in_every_language(shipped: Content) -> None:
    for code in shipped.packs:
        card = shipped.language(code).crisis_card("US")
        assert "call 988 and press 2" in card, code
        assert "text AYUDA to 988" in card, code


def test_ireland_card_gives_the_text_line(shipped: Content) -> None:
    card = shipped.language("en").crisis_card("IE")
    assert "text 50808" in card
    assert "086" not in card  # the SPEC's older number is not used


@pytest.mark.parametrize("region", REGIONS)
def test_every_card_is_at_most_60_words(shipped: Content, region: str) -> None:
    from bot.readability import clean, words_of

    for code in shipped.packs:
        card = shipped.language(code).crisis_card(region)
        assert len(words_of(clean(card))) <= 60, (code, region)


def test_more_help_shows_the_services_no_message_showed(shipped: Content) -> None:
    pack = shipped.language("en")
    us = pack.crisis_more_help("US")
    assert "call 1-800-799-7233" in us and "text START to 88788" in us  # domestic violence
    assert "Call Poison Help at 1-800-222-1222" in us
    assert "call 1-800-662-4357" in us  # SAMHSA: finding care, not crisis counseling
    assert "press 1" in us and "838255" in us  # veterans
    assert "13 11 26" in pack.crisis_more_help("AU")  # poisons
    assert "1800 250 015" in pack.crisis_more_help("AU")
    assert "686868" in pack.crisis_more_help("CA")
    assert "111" in pack.crisis_more_help("UK") and "85258" in pack.crisis_more_help("UK")
    assert pack.ui.more_help_button


def test_a_card_over_60_words_fails_the_check(content_dir: Path) -> None:
    edit(
        content_dir / "en" / "crisis.yaml",
        "It is free in every EU country.",
        "It is free in every EU country. " + "Help is here. " * 6,
    )
    report = check_content(load_content(content_dir))
    assert any(
        f.where.endswith("crisis.yaml: regions.EU.card") and "at most 60" in f.problem
        for f in report.failures
    )


def test_every_card_ends_with_the_honest_line(shipped: Content) -> None:
    pack = shipped.language("en")
    for region in REGIONS:
        card = pack.crisis_card(region)
        check_telegram_html(card)
        assert card.endswith(pack.crisis.not_a_crisis_service), region
        assert card.startswith("🚨 <b>Call "), region  # action first
    assert "999" in pack.crisis_card("UK") and "116 123" in pack.crisis_card("UK")
    assert "000" in pack.crisis_card("AU") and "13 11 14" in pack.crisis_card("AU")
    assert "112" in pack.crisis_card("EU")
    # US numbers never leak into another region's card.
    assert "741741" not in pack.crisis_card("UK")


def test_region_lookup(shipped: Content) -> None:
    pack = shipped.language("en")
    assert pack.crisis_card("gb") == pack.crisis_card("UK")
    assert pack.region_name("CA") == "Canada"
    assert shipped.emergency_number("AU") == "000"
    with pytest.raises(ContentError, match="no help card for region 'ZZ'"):
        pack.crisis_card("ZZ")
    with pytest.raises(ContentError):
        pack.region_name("ZZ")


def test_crisis_text_holds_no_typed_numbers(shipped: Content) -> None:
    crisis = shipped.language("en").crisis
    for region in crisis.regions.values():
        for part in region.card:
            assert not re.search(r"\d", re.sub(r"\{[^}]*\}", "", part)), part


def test_unknown_languages_fall_back_to_english(shipped: Content) -> None:
    assert shipped.language("fr").code == "en"
    assert shipped.language(None).code == "en"
    assert shipped.language("").code == "en"
    assert shipped.language("en-GB").code == "en"


def test_an_added_language_folder_is_loaded(content_dir: Path) -> None:
    shutil.copytree(content_dir / "en", content_dir / "es")
    edit(content_dir / "es" / "ui.yaml", "Hi, I'm Waypoint 👋", "Hola, soy Waypoint 👋")
    content = load_content(content_dir)
    assert content.languages == ["en", "es"]
    assert content.language("es-MX").code == "es"
    assert content.language("es_ES").ui.welcome.startswith("Hola, soy Waypoint")
    assert content.language("fr").code == "en"
    assert "content/es/crisis.yaml: regions.US.card" in {t.where for t in content.graded_texts()}
    assert content.language("es").crisis_card("US") == content.language("en").crisis_card("US")


def test_other_folders_are_not_languages(content_dir: Path) -> None:
    (content_dir / "safety").mkdir()
    (content_dir / "safety" / "lexicon.yaml").write_text("anything: [at all\n")
    assert load_content(content_dir).languages == ["en"]


def test_render_escapes_values() -> None:
    assert render("Hi {name}!", name="<b>Ann & Bo</b>") == "Hi &lt;b&gt;Ann &amp; Bo&lt;/b&gt;!"
    check_telegram_html(render("<b>{name}</b>", name="a < b & c"))
    assert render('<a href="{url}">x</a>', url='"><i>') == '<a href="&quot;&gt;&lt;i&gt;">x</a>'
    with pytest.raises(KeyError, match="name"):
        render("Hi {name}")


def test_commands_give_telegram_menu_pairs(shipped: Content) -> None:
    commands = shipped.language("en").ui.commands.items()
    assert [name for name, _ in commands] == [
        "start",
        "help",
        "safetyplan",
        "checkin",
        "progress",
        "weekly",
    ]
    assert all(0 < len(text) <= 256 for _, text in commands)
