"""How fast is the safety screen? (a script, not a test)

    .venv/bin/python benchmarks/screen_speed.py [--messages 4000] [--rounds 5]

Screens a generated mix of messages (ordinary chat, risky, obfuscated, Spanish, long ones of
500+ characters) on one core with the whole screen (rules and the trained model together),
and compares with a naive baseline in the same run: `str.lower()` plus one compiled regex
search per message. Also prints the rules layer alone, the 99th percentile per message, what
loading the screen adds to start-up, and the memory it adds (issue 17's targets: 2,000
messages a second, p99 under 5 ms, start-up under 2 s, memory under 150 MB).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.safety import load_screener
from bot.safety.nearest import load_nearest

ORDINARY = [
    "had a good day at group",
    "my sponsor called me after work, we talked for an hour",
    "can I move my check-in to 7pm?",
    "slept ok, mood is a 6 today",
    "went to a meeting and grabbed coffee after",
    "this traffic is killing me lol",
    "I'm dying to see my kids this weekend",
    "i killed it at my interview!!",
    "craving was a 2, used the breathing exercise",
    "my back hurts from moving boxes",
    "we read about triggers in the workbook",
    "thanks for the reminder 👍",
    "i'm dead tired but proud of myself",
    "family session went better than I expected",
    "made dinner for my daughter, first time in a while",
    "court is next week and I'm nervous",
    "hoy fue un buen día, fui al grupo",
    "me siento cansado pero bien",
    "tuve ganas pero llamé a mi padrino",
    "I used to drink every day, now 60 days sober",
]
RISKY = [
    "i want to kill myself",
    "i don't want to be alive anymore",
    "how many pills would it take",
    "whats the tallest bridge around here",
    "i cut myself again last night",
    "my friend is blue and not breathing",
    "can't wake him up, he used tonight",
    "i relapsed on saturday",
    "i'm high right now",
    "cravings are a 9 and i'm going to the bar",
    "he is hitting me right now",
    "i'm going to kill him when he gets home",
    "everyone would be better off without me",
    "quiero morirme",
    "tomé demasiadas pastillas",
    "recaí el fin de semana",
]
OBFUSCATED = [
    "i want to k1ll mys3lf",
    "I WANT TO DIEEEEE",
    "$uicide is on my mind",
    "thinking about sucide again",
    "kms 🪦",
    "s u i c i d e",
    "i dont wanna be here anymore",
    "i think i 0d'd",
    "ya no quiero vivír",
    "wanna   end...it   all",
]
KINDS = ("ordinary", "risky", "obfuscated", "long")
FILLER = [
    "Today I went to group and we talked about HALT and how being tired makes everything harder.",
    "After that I drove home, picked up groceries, and called my mom to check on her.",
    "My counselor said I'm making progress with the thought records, which felt good to hear.",
    "I keep a list of reasons for change on my phone and I read it in the morning.",
    "The weather has been cold and grey, so I have been trying to get outside at lunch.",
]


def build_corpus(n: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    corpus: list[tuple[str, str]] = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.55:
            text, kind = rng.choice(ORDINARY), "ordinary"
        elif roll < 0.75:
            text, kind = rng.choice(RISKY), "risky"
        elif roll < 0.87:
            text, kind = rng.choice(OBFUSCATED), "obfuscated"
        else:  # long: several sentences, sometimes with a risk buried inside
            parts = rng.sample(FILLER, k=len(FILLER))
            if rng.random() < 0.4:
                parts.insert(rng.randrange(len(parts)), rng.choice(RISKY))
            text, kind = " ".join(parts * 2), "long"
        if rng.random() < 0.3:  # vary the surface a little
            text = text.upper() if rng.random() < 0.5 else text + rng.choice(["!!", " lol", " 😔"])
        corpus.append((text, kind))
    return corpus


def per_message(
    fn: Callable[[str, str], object], corpus: list[tuple[str, str]], rounds: int
) -> float:
    """Median over rounds of seconds per message."""
    texts = [t for t, _ in corpus]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            fn(text, "en")
        times.append((time.perf_counter() - start) / len(texts))
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):  # one core, as the target says
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    corpus = build_corpus(args.messages)
    kinds = {k: sum(1 for _, kind in corpus if kind == k) for k in KINDS}
    long_chars = [len(t) for t, k in corpus if k == "long"]

    rss_before = _rss_mb()
    started = time.perf_counter()
    screener = load_screener()
    load_s = time.perf_counter() - started
    rss_after_load = _rss_mb()
    for text, _ in corpus:  # warm: the per-word caches fill on first sight of a word
        screener.screen(text)
    rss_warm = _rss_mb()

    baseline_re = re.compile(
        r"\b(?:kill myself|suicid\w*|want to die|overdos\w*|not breathing|relapsed|cut myself"
        r"|end my life|better off without me|high right now|hitting me)\b"
    )

    def baseline(text: str, lang: str) -> object:
        return baseline_re.search(text.lower())

    screen_s = per_message(screener.screen, corpus, args.rounds)
    rules_s = per_message(screener.screen_rules, corpus, args.rounds)
    base_s = per_message(baseline, corpus, args.rounds)
    each = []
    for text, _ in corpus:
        t0 = time.perf_counter()
        screener.screen(text)
        each.append(time.perf_counter() - t0)
    each.sort()
    p50, p99 = each[len(each) // 2], each[int(len(each) * 0.99)]

    flagged = sum(screener.screen(t).urgency != "none" for t, _ in corpus)
    print(
        f"corpus: {len(corpus)} messages {kinds}; long ones {min(long_chars, default=0)}-"
        f"{max(long_chars, default=0)} chars; {flagged} flagged"
    )
    print(
        f"rules and model loaded in {load_s * 1000:.0f} ms ({', '.join(screener.languages)});"
        f" memory +{rss_after_load - rss_before:.0f} MB loaded, +{rss_warm - rss_before:.0f} MB"
        " warm (max RSS)"
    )
    print(f"screen:   {1 / screen_s:10,.0f} messages/s  {screen_s * 1e6:8.1f} µs/message")
    print(
        f"  p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, max {each[-1] * 1e3:.2f} ms a message"
    )
    print(f"rules:    {1 / rules_s:10,.0f} messages/s  {rules_s * 1e6:8.1f} µs/message  (layer 1)")
    print(
        f"baseline: {1 / base_s:10,.0f} messages/s  {base_s * 1e6:8.1f} µs/message"
        "  (str.lower + one regex search)"
    )
    print(f"ratio:    screen takes {screen_s / base_s:.1f}x the baseline's time per message")
    for kind in KINDS:
        subset = [(t, k) for t, k in corpus if k == kind]
        if subset:
            s = per_message(screener.screen, subset, args.rounds)
            print(f"  {kind:10} {s * 1e6:8.1f} µs/message")
    # The alert's "nearest examples" index (bot/safety/nearest.py): built in a thread
    # beside start-up, queried once per model alert, never on the screen's path.
    rss_before_nearest = _rss_mb()
    started = time.perf_counter()
    index = load_nearest()
    nearest_s = time.perf_counter() - started
    flagged_texts = [t for t, _ in corpus if screener.screen(t).flagged][:300]
    started = time.perf_counter()
    for text in flagged_texts:
        index.categories(text)
    query_s = (time.perf_counter() - started) / max(1, len(flagged_texts))
    print(
        f"nearest examples: index of {len(index)} built in {nearest_s * 1000:.0f} ms (beside"
        f" start-up), +{_rss_mb() - rss_before_nearest:.0f} MB; {query_s * 1e3:.2f} ms an alert"
    )
    checks = {
        "2,000 messages/s on one core": 1 / screen_s >= 2000,
        "p99 under 5 ms": p99 < 0.005,
        "start-up adds under 2 s": load_s < 2.0,
        "memory adds under 150 MB": rss_warm - rss_before < 150,
    }
    for name, ok in checks.items():
        print(f"target {name}: {'met' if ok else 'NOT met'}")
    return 0 if all(checks.values()) else 1


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
