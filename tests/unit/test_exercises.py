"""The pure rules of guided practice: the distress rule, what the clinician's settings
filter out, and how a version becomes timed steps."""

from __future__ import annotations

import pytest

from bot.content import Content, LanguagePack
from bot.exercises import Restrictions, distress_rose, offered, offered_variants, step_plan


@pytest.fixture
def pack(content: Content) -> LanguagePack:
    return content.language("en")


@pytest.mark.parametrize(
    ("before", "after", "rose"),
    [
        (4, 8, True),  # 8 or more
        (9, 8, True),  # high even if lower than before
        (2, 5, True),  # up 3
        (5, 7, False),  # up 2
        (6, 3, False),
        (None, 7, False),  # no before rating: only the 8+ rule
        (None, 8, True),
        (0, 10, True),
    ],
)
def test_the_distress_rule(before: int | None, after: int, rose: bool) -> None:
    assert distress_rose(before, after) is rose


def test_no_breath_holds_removes_holds_and_tipps_cold_and_exercise(pack: LanguagePack) -> None:
    box, tipp = pack.exercise("box_breathing"), pack.exercise("tipp")
    assert box is not None and tipp is not None
    careful = Restrictions(no_breath_holds=True)
    assert [v.key for v in offered_variants(box, Restrictions())] == ["box", "exhale"]
    assert [v.key for v in offered_variants(box, careful)] == ["exhale"]
    assert [v.key for v in offered_variants(tipp, careful)] == ["gentle"]
    for exercise in offered(pack.exercises, careful):
        for variant in offered_variants(exercise, careful):
            assert all(p.phase != "hold" for p in step_plan(variant)), exercise.slug


def test_no_long_inward_practice_removes_long_body_scans_and_kind_wishes(
    pack: LanguagePack,
) -> None:
    careful = Restrictions(no_long_inward=True)
    scan = pack.exercise("body_scan")
    assert scan is not None
    assert [v.key for v in offered_variants(scan, careful)] == ["short"]
    slugs = [e.slug for e in offered(pack.exercises, careful)]
    assert "loving_kindness" not in slugs and "grounding" in slugs
    assert len(offered(pack.exercises, Restrictions())) == 8


def test_a_breathing_pattern_becomes_one_edited_step_per_phase(pack: LanguagePack) -> None:
    box = pack.exercise("box_breathing")
    assert box is not None
    plan = step_plan(box.variants[0])
    counts = [p for p in plan if p.phase]
    assert len(counts) == 16  # 4 phases x 4 rounds
    assert [p.phase for p in counts[:4]] == ["in", "hold", "out", "hold"]
    assert not counts[0].edits_previous and all(p.edits_previous for p in counts[1:])
    assert plan[0].text is not None and not plan[0].edits_previous
    assert sum(p.seconds for p in counts) == 64
