"""The uncertain band (issue 17): when the screen asks the client instead of deciding."""

from __future__ import annotations

from bot.safety.model import ModelScore
from bot.safety.models import NONE_RESULT, ScreenResult
from bot.safety.unsure import Band, band_of, unsure

BAND = Band(t_urgent=0.57, t_flag=0.79, margin=0.05)
NO_MARGIN = Band(t_urgent=0.57, t_flag=0.79)


def _model(urgency: str, p_urgent: float, p_flag: float, confident: bool) -> ModelScore:
    category = "none" if urgency == "none" else "suicidal_ideation"
    return ModelScore(urgency, category, p_urgent, p_flag, confident)


def _result(urgency: str, rule: str | None, score: ModelScore | None) -> ScreenResult:
    category = "none" if urgency == "none" else "suicidal_ideation"
    layer = None if urgency == "none" else ("model" if rule == "model" else "rules")
    return ScreenResult(urgency, category, rule, layer=layer, model=score)  # type: ignore[arg-type]


def test_a_same_day_the_model_alone_is_not_confident_of_is_unsure() -> None:
    score = _model("same_day", 0.32, 0.96, confident=False)
    assert unsure(_result("same_day", "model", score), BAND)


def test_a_confident_model_a_rule_or_anything_urgent_is_not_unsure() -> None:
    sure = _model("same_day", 0.08, 0.95, confident=True)
    assert not unsure(_result("same_day", "model", sure), BAND)
    unsure_score = _model("same_day", 0.32, 0.96, confident=False)
    assert not unsure(_result("same_day", "si.passive", unsure_score), BAND)
    urgent = _model("urgent", 0.6, 0.9, confident=False)
    assert not unsure(_result("urgent", "model", urgent), BAND)
    assert not unsure(_result("urgent", "si.means", None), BAND)


def test_nothing_flagged_is_unsure_only_just_below_a_threshold_with_a_margin() -> None:
    near_urgent = _model("none", 0.55, 0.63, confident=False)
    near_flag = _model("none", 0.10, 0.76, confident=False)
    far = _model("none", 0.40, 0.70, confident=False)
    assert unsure(_result("none", None, near_urgent), BAND)
    assert unsure(_result("none", None, near_flag), BAND)
    assert not unsure(_result("none", None, far), BAND)
    assert not unsure(NONE_RESULT, BAND)  # no model score: nothing to be unsure of
    # By default (no margin) a message nothing flagged is never asked about.
    assert not unsure(_result("none", None, near_urgent), NO_MARGIN)
    assert not unsure(_result("none", None, near_flag), NO_MARGIN)


def test_a_rules_only_screener_has_no_band() -> None:
    class RulesOnly:
        model = None

    assert band_of(RulesOnly()) is None
