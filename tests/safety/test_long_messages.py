"""Issue 16, defect 9: the screen's time grows with a message's length, not with the square
of its matches, and a long message is screened whole (window by window), never skipped."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from bot.safety import screen
from bot.safety.screener import MAX_EVIDENCE, WINDOW

REPO = Path(__file__).resolve().parents[2]

# Worst cases found for the old screen: repeated crisis words (every word a match, each match
# scanning the whole text), obfuscated words (each span mapped back through every rewrite) and
# one run-together word (split by trying every cut).
WORST = {
    "repeated crisis words": "i want to kill myself tonight pills overdose ",
    "obfuscated crisis words": "k1ll mys3lf $uicide killllll ",
    "crisis words with context cues": "kill myself. not going to die, used to cut but it passed! ",
    "spanish crisis words": "quiero morirme esta noche, me voy a matar, tomé pastillas ",
}
SIZE = 256 * 1024


def _time_in_child(texts: dict[str, str]) -> dict[str, dict[str, object]]:
    """Screen in a child process, so that a regression fails by timeout instead of hanging."""
    code = textwrap.dedent(
        """
        import json, sys, time
        from bot.safety import load_screener
        s = load_screener()
        s.screen("warm up")
        out = {}
        for name, text in json.load(sys.stdin).items():
            t = time.perf_counter()
            r = s.screen(text)
            out[name] = {"seconds": time.perf_counter() - t, "urgency": r.urgency,
                         "evidence": len(r.evidence)}
        print(json.dumps(out))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)


def test_256_kb_of_repeated_crisis_words_is_screened_in_a_few_seconds() -> None:
    texts = {name: (unit * (SIZE // len(unit) + 1))[:SIZE] for name, unit in WORST.items()}
    texts["one run-together word"] = "killmyself" * (SIZE // 10)
    got = _time_in_child(texts)
    for name in WORST:
        assert got[name]["urgency"] == "urgent", name
        assert got[name]["evidence"] <= MAX_EVIDENCE, name
    for name, figures in got.items():
        # The old screen needed 30-45 s for 64 KB (more than 90 s for 256 KB, the child's
        # time limit); now 2-6 s with the model, on two cores shared by eight engineers. The
        # bound leaves room for a busy machine and still fails the quadratic screen.
        assert figures["seconds"] < 20.0, (name, figures)


def test_a_crisis_anywhere_in_a_very_long_message_is_found_with_its_place() -> None:
    filler = "today i went to group and we talked about triggers and sleep. " * 800
    for where in (0, len(filler) // 2, len(filler)):
        text = filler[:where] + "i am going to kill myself tonight " + filler[where:]
        result = screen(text, "en")
        assert result.urgency == "urgent", where
        assert result.category == "suicidal_ideation"
        best = next(e for e in result.evidence if e.rule == result.rule)
        assert text[best.start : best.end] == best.text
        assert where <= best.start < where + 40


def test_a_phrase_across_a_window_cut_is_not_lost() -> None:
    filler = "ok " * 2000
    for shift in range(-40, 41, 4):
        at = WINDOW + shift
        text = (filler[:at] + " i want to end my life " + filler)[: 3 * WINDOW]
        assert screen(text, "en").urgency == "urgent", shift


def test_a_negated_match_far_from_a_real_one_still_counts_the_real_one() -> None:
    text = "i'm not going to kill myself. " * 400 + " tonight i will kill myself"
    assert screen(text, "en").urgency == "urgent"
