"""Issue 17: the layered screen. Rules by composition, the trained layer, how the two combine,
the conversation, and the model file (built reproducibly, required at start-up).

Sentences here are written for these tests; none come from the development set.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.safety import load_screener, screen
from bot.safety.model import DEFAULT_MODEL_PATH, Model, ModelError, ModelScore
from bot.safety.models import NONE_RESULT, Evidence, ScreenResult
from bot.safety.screener import combine

REPO = Path(__file__).resolve().parents[2]

# --- layer 1: rules broadened by composition ------------------------------------------------

COMPOSED = [
    # a means made ready, a place with a time
    ("got the rope set up in the closet for tonight", "en", "urgent", "suicidal_ideation"),
    ("all my sleeping pills are counted out on the dresser", "en", "urgent", "suicidal_ideation"),
    ("been saving up my seroquel for weeks", "en", "urgent", "suicidal_ideation"),
    ("walking to the overpass after work to be done", "en", "urgent", "suicidal_ideation"),
    ("engine running and the garage door shut", "en", "urgent", "suicidal_ideation"),
    ("ya tengo la soga preparada", "es", "urgent", "suicidal_ideation"),
    ("me voy a la azotea al rato para aventarme", "es", "urgent", "suicidal_ideation"),
    # goodbye and finality
    ("found a home for my cat today, she deserves better", "en", "urgent", "suicidal_ideation"),
    ("not gonna be alive by next week", "en", "urgent", "suicidal_ideation"),
    ("le regalé mi gato a la vecina", "es", "urgent", "suicidal_ideation"),
    # command hallucinations
    ("the voice keeps telling me to jump", "en", "urgent", "suicidal_ideation"),
    ("una voz me dice que me corte", "es", "urgent", "suicidal_ideation"),
    # in progress
    ("blood everywhere and it wont stop", "en", "urgent", "self_harm"),
    ("grabbed the box cutter again", "en", "urgent", "self_harm"),
    ("my lips are turning blue", "en", "urgent", "overdose_or_medical"),
    ("took my klonopin with vodka and i keep blacking out", "en", "urgent", "overdose_or_medical"),
    ("my buddy is seizing on the floor", "en", "urgent", "overdose_or_medical"),
    ("swallowed some rubbing alcohol", "en", "urgent", "overdose_or_medical"),
    ("se le pusieron los labios morados", "es", "urgent", "overdose_or_medical"),
    # third-party violence now, harm to others with a means
    ("some guy is kicking in our front door", "en", "urgent", "unsafe_or_abuse"),
    ("i got my cousins pistol and hes gonna find out tonight", "en", "urgent", "harm_to_others"),
    # same-day signs
    ("stopping my xanax cold turkey this week", "en", "same_day", "overdose_or_medical"),
    ("been skipping my antidepressants", "en", "same_day", "overdose_or_medical"),
    ("honestly feel hopeless about all of it", "en", "same_day", "suicidal_ideation"),
    ("got kicked out, nowhere to sleep", "en", "same_day", "unsafe_or_abuse"),
    ("voy a dejar el guaro de golpe", "es", "same_day", "overdose_or_medical"),
    ("no tengo donde dormir hoy", "es", "same_day", "unsafe_or_abuse"),
]


@pytest.mark.parametrize(("text", "lang", "urgency", "category"), COMPOSED)
def test_composed_rules_fire_with_their_rule_and_evidence(
    text: str, lang: str, urgency: str, category: str
) -> None:
    result = load_screener().screen_rules(text, lang)
    assert (result.urgency, result.category) == (urgency, category), result
    assert result.rule and result.layer == "rules"
    fired = [e for e in result.evidence if e.rule == result.rule]
    assert fired and all(text[e.start : e.end] == e.text for e in fired)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my phone died in the garage lol", "en"),
        ("i used to sleep in my car years ago, got my own place now", "en"),
        ("stopped taking my lunch break so i can leave early", "en"),
        ("we drove over the bridge tonight to see the lights", "en"),
        ("se me quemaron las tortillas jaja", "es"),
        ("mi jefa me va a matar jajaja llegué tarde", "es"),
    ],
)
def test_composed_rules_leave_ordinary_talk_alone(text: str, lang: str) -> None:
    assert load_screener().screen_rules(text, lang).urgency == "none"


def test_a_laugh_never_hides_a_crisis_about_oneself() -> None:
    assert load_screener().screen_rules("im going to kill myself lol", "en").urgency == "urgent"
    assert load_screener().screen_rules("me voy a matar jaja", "es").urgency == "urgent"


# --- layer 2: the trained model ---------------------------------------------------------------


def test_model_alone_reads_words_no_rule_lists() -> None:
    model = load_screener().model
    assert model is not None
    risky = model.score("everything is arranged, the letters are in the drawer, goodbye")
    ordinary = model.score("great meeting today, my sponsor bought me coffee")
    assert risky.p_flag > ordinary.p_flag
    assert ordinary.urgency == "none"


def test_the_result_says_which_layer_fired() -> None:
    rules = screen("i want to kill myself", "en")
    assert rules.layer == "rules" and rules.rule == "si.kill_self"
    assert rules.model is None  # urgent by the rules: nothing could raise it further
    same_day = screen("i relapsed last night", "en")
    assert same_day.layer == "rules" and same_day.model is not None  # the model's view too
    out = same_day.to_dict()
    assert out["layer"] == "rules" and set(out["model"]) >= {"p_urgent", "p_flag"}


def _score(urgency: str, confident: bool) -> ModelScore:
    return ModelScore(urgency, "suicidal_ideation", 0.9, 0.95, confident)


def _idiom_result() -> ScreenResult:
    ev = Evidence("si.kill_self", "suicidal_ideation", "none", "killed me", 13, 22, "idiom:x")
    return ScreenResult("none", "none", None, (ev,))


def test_the_higher_urgency_of_rules_and_model_decides() -> None:
    result = combine(NONE_RESULT, _score("urgent", confident=False))
    assert (result.urgency, result.layer, result.rule) == ("urgent", "model", "model")
    rules = ScreenResult("urgent", "self_harm", "sh.act", layer="rules")
    kept = combine(rules, _score("same_day", confident=True))
    assert (kept.urgency, kept.category, kept.layer) == ("urgent", "self_harm", "rules")


def test_an_idiom_vetoes_the_model_only_when_the_model_is_unsure() -> None:
    unsure = combine(_idiom_result(), _score("urgent", confident=False))
    assert unsure.urgency == "none"
    sure = combine(_idiom_result(), _score("urgent", confident=True))
    assert (sure.urgency, sure.layer) == ("urgent", "model")


def test_model_file_missing_stops_start_up_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model file is missing.*screen train"):
        load_screener(model_path=tmp_path / "nope.json.gz")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.safety import load_screener; "
            "load_screener(model_path=sys.argv[1])",
            str(tmp_path / "nope.json.gz"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "the screen does not run on its rules alone" in proc.stderr


def test_a_broken_model_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "model.json.gz"
    bad.write_bytes(gzip.compress(b'{"format": 99}'))
    with pytest.raises(ModelError):
        Model.load(bad)


def test_the_committed_model_was_trained_on_the_corpus() -> None:
    model = Model.load(DEFAULT_MODEL_PATH)
    assert DEFAULT_MODEL_PATH.stat().st_size < 5_000_000
    corpus = sorted((REPO / "content" / "safety" / "corpus").glob("*.jsonl"))
    lines = sum(1 for f in corpus for line in f.read_text("utf-8").splitlines() if line.strip())
    assert model.meta["trained_on"] == lines  # retrain after the corpus changes


def test_training_is_deterministic(tmp_path: Path) -> None:
    """Two runs of the training command on the same corpus give the same file."""
    from bot.safety.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    source = REPO / "content" / "safety" / "corpus"
    for file in sorted(source.glob("*.jsonl"))[:3]:  # three passes: quick, still held out
        shutil.copy(file, corpus / file.name)
    outputs = []
    for run in ("a", "b"):
        out = io.StringIO()
        target = tmp_path / f"model_{run}.json.gz"
        assert (
            main(["train", "--corpus", str(corpus), "--model", str(target)], io.StringIO(), out)
            == 0
        )
        assert "thresholds" in out.getvalue()
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    data = json.loads(gzip.decompress(outputs[0]))
    assert data["meta"]["passes"] == sorted(f.stem for f in corpus.glob("*.jsonl"))


def test_heldout_report_runs_when_the_rules_already_say_urgent(tmp_path: Path) -> None:
    """`--heldout` scores the model alone on every message, also those the rules call urgent
    (the screen skips the model for them); it used to stop on an assertion there."""
    from bot.safety.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for file in sorted((REPO / "content" / "safety" / "corpus").glob("*.jsonl"))[-3:]:
        shutil.copy(file, corpus / file.name)
    out = io.StringIO()
    assert main(["--heldout", "--quiet", "--corpus", str(corpus)], io.StringIO(), out) in (0, 1)
    report = out.getvalue()
    assert "the trained layer alone, held out" in report
    assert "rules + trained layer, held out" in report


def test_thresholds_leave_out_ordinary_talk_the_rules_already_flag() -> None:
    """The model's budget of false alarms is spent on ordinary talk the rules leave alone:
    a harmless message the rules flag anyway does not push the model's thresholds up."""
    import numpy as np

    from bot.safety.train import Example, choose_thresholds

    examples = [Example(f"talk {i}", "none", "none", "en", "p") for i in range(100)]
    p = np.linspace(0.0, 0.5, 100)
    p[:10] = 0.99  # harmless messages the model scores very high...
    alone = choose_thresholds(examples, p, p)
    by_rules = np.zeros(100, dtype=bool)
    by_rules[:10] = True  # ...that the rules flag already
    shared = choose_thresholds(examples, p, p, by_rules)
    assert shared["flag"] < alone["flag"]
    assert shared["urgent"] < alone["urgent"]
    assert shared["confident"] == alone["confident"]  # set on all ordinary talk


# --- layer 3: the conversation ----------------------------------------------------------------

NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


def test_two_messages_read_together() -> None:
    first, second = "i cant do this anymore", "i have the pills ready"
    alone = screen(second, "en")
    together = screen(second, "en", history=[(first, NOW - timedelta(minutes=5))], now=NOW)
    assert together.urgency == "urgent"
    assert together.layer in ("context", "rules", "model")
    assert together.urgency != "none" and (alone.urgency != "urgent" or together.layer != "context")


def test_context_raises_a_quiet_message_after_a_worry() -> None:
    history = [("honestly whats the point of any of it", NOW - timedelta(minutes=3))]
    text = "i went ahead and got everything i need from the pharmacy"
    together = screen(text, "en", history=history, now=NOW)
    alone = screen(text, "en")
    assert together.urgency == "urgent", (alone, together)
    assert together.layer == "context"
    assert together.context == (0,)


def test_messages_older_than_30_minutes_are_not_read() -> None:
    history = [("honestly whats the point of any of it", NOW - timedelta(minutes=31))]
    text = "i went ahead and got everything i need from the pharmacy"
    assert screen(text, "en", history=history, now=NOW) == screen(text, "en")


def test_an_ordinary_reply_after_a_crisis_is_not_raised_again() -> None:
    history = ["i want to kill myself"]
    assert screen("ok thanks, i will call the line", "en", history=history).urgency == "none"
