"""`python -m bot screen`: screen JSON lines, or measure the screen on a labelled file.

    python -m bot screen < messages.jsonl          one JSON result per input line
    python -m bot screen --eval labelled.jsonl     recall, false alarms, confusion, misses

`--eval` exits 0 when the targets are met (urgent recall 100%, same-day recall >= 95%,
messages labelled none flagged <= 5%), 1 when not.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.safety.models import CATEGORIES, URGENCIES, ScreenResult
from bot.safety.rules import RulesError
from bot.safety.screener import Screener, load_screener

URGENT_RECALL_TARGET = 1.0
SAME_DAY_RECALL_TARGET = 0.95
NONE_FLAGGED_TARGET = 0.05


class InputError(ValueError):
    pass


def _parse_line(line: str, default_lang: str) -> tuple[str, str, dict[str, Any]]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:  # [[[[... thousands deep: no message looks like this
        raise InputError("not JSON this program reads: nested too deeply") from None
    if not isinstance(obj, dict):
        raise InputError("expected a JSON object")
    text = obj.get("text")
    if not isinstance(text, str):
        raise InputError('"text" must be a string')
    lang = obj.get("lang", default_lang)
    if not isinstance(lang, str):
        raise InputError('"lang" must be a string')
    return text, lang or default_lang, obj


def run_screen(screener: Screener, stdin: TextIO, stdout: TextIO, default_lang: str) -> int:
    for number, raw in enumerate(stdin, start=1):
        if not raw.strip():
            continue
        try:
            text, lang, obj = _parse_line(raw, default_lang)
        except InputError as exc:
            out: dict[str, Any] = {"line": number, "error": str(exc)}
        else:
            out = screener.screen(text, lang).to_dict()
            if "id" in obj:
                out = {"id": obj["id"], **out}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


@dataclass(frozen=True)
class Case:
    text: str
    lang: str
    urgency: str
    category: str
    result: ScreenResult

    @property
    def caught(self) -> bool:
        if self.urgency == "urgent":
            return self.result.urgency == "urgent"
        if self.urgency == "same_day":
            return self.result.urgency in ("urgent", "same_day")
        return self.result.urgency == "none"


def _load_cases(screener: Screener, path: Path, default_lang: str, stdout: TextIO) -> list[Case]:
    cases = []
    with path.open("rb") as fh:
        for number, raw_bytes in enumerate(fh, start=1):
            try:
                raw = raw_bytes.decode("utf-8")
            except UnicodeDecodeError as exc:
                stdout.write(f"skipped line {number}: not UTF-8 (byte {exc.start + 1})\n")
                continue
            if not raw.strip():
                continue
            try:
                text, lang, obj = _parse_line(raw, default_lang)
                urgency, category = obj.get("urgency"), obj.get("category")
                if urgency not in URGENCIES:
                    raise InputError(f'"urgency" must be one of {", ".join(URGENCIES)}')
                if category not in CATEGORIES:
                    raise InputError(f'"category" must be one of {", ".join(CATEGORIES)}')
            except InputError as exc:
                stdout.write(f"skipped line {number}: {exc}\n")
                continue
            cases.append(Case(text, lang, urgency, category, screener.screen(text, lang)))
    return cases


def _ratio(num: int, den: int) -> str:
    if den == 0:
        return f"{num:>4}/{den:<4}     n/a"
    return f"{num:>4}/{den:<4} {100 * num / den:6.1f}%"


def _describe(case: Case) -> str:
    r = case.result
    words = ", ".join(repr(e.text) for e in r.evidence if e.urgency == r.urgency) or "-"
    text = json.dumps(case.text, ensure_ascii=False)
    return (
        f"  label {case.urgency}/{case.category} -> screen {r.urgency}/{r.category}"
        f" (rule {r.rule or '-'}; {words}) [{case.lang}]\n    {text}\n"
    )


def run_eval(screener: Screener, path: Path, default_lang: str, stdout: TextIO) -> int:
    cases = _load_cases(screener, path, default_lang, stdout)
    if not cases:  # nothing measured is not a target met
        stdout.write(f"no labelled message could be read from {path}\nresult: nothing measured\n")
        return 2
    langs = Counter(c.lang for c in cases)
    by_label = {u: [c for c in cases if c.urgency == u] for u in URGENCIES}
    urgent_hit = sum(c.caught for c in by_label["urgent"])
    same_hit = sum(c.caught for c in by_label["same_day"])
    flagged = [c for c in by_label["none"] if c.result.urgency != "none"]
    caught_risk = [c for c in cases if c.urgency != "none" and c.caught]
    right_category = [c for c in caught_risk if c.result.category == c.category]

    n_urgent, n_same, n_none = (len(by_label[u]) for u in URGENCIES)
    ok_urgent = n_urgent == 0 or urgent_hit / n_urgent >= URGENT_RECALL_TARGET
    ok_same = n_same == 0 or same_hit / n_same >= SAME_DAY_RECALL_TARGET
    ok_none = n_none == 0 or len(flagged) / n_none <= NONE_FLAGGED_TARGET
    met = ok_urgent and ok_same and ok_none

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    w = stdout.write
    lang_list = ", ".join(f"{k} {v}" for k, v in sorted(langs.items()))
    w(f"safety screen eval: {path} ({len(cases)} messages: {lang_list})\n")
    w(f"urgent recall       {_ratio(urgent_hit, n_urgent)}  target 100%   {mark(ok_urgent)}\n")
    w(f"same_day recall     {_ratio(same_hit, n_same)}  target >=95%  {mark(ok_same)}\n")
    w(f"none flagged        {_ratio(len(flagged), n_none)}  target <=5%   {mark(ok_none)}\n")
    w(f"category accuracy   {_ratio(len(right_category), len(caught_risk))}  (among caught)\n")
    w("\nconfusion (rows: label, columns: screen)\n")
    w(f"  {'':10}" + "".join(f"{u:>10}" for u in URGENCIES) + "\n")
    for label in URGENCIES:
        counts = Counter(c.result.urgency for c in by_label[label])
        w(f"  {label:10}" + "".join(f"{counts[u]:>10}" for u in URGENCIES) + "\n")

    misses = [c for c in cases if c.urgency != "none" and not c.caught]
    w(f"\nmisses ({len(misses)})\n")
    for c in misses:
        w(_describe(c))
    w(f"\nfalse alarms ({len(flagged)})\n")
    for c in flagged:
        w(_describe(c))
    wrong = [c for c in caught_risk if c.result.category != c.category]
    w(f"\ncaught with another category ({len(wrong)})\n")
    for c in wrong:
        w(_describe(c))
    w(f"\nresult: {'targets met' if met else 'targets NOT met'}\n")
    return 0 if met else 1


def main(argv: list[str], stdin: TextIO, stdout: TextIO) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot screen",
        description="Screen messages for crisis risk (JSON lines in, JSON lines out).",
    )
    parser.add_argument("--eval", metavar="FILE", type=Path, help="measure on a labelled file")
    parser.add_argument("--rules", metavar="DIR", type=Path, help="rules folder")
    parser.add_argument("--lang", default="en", help="language of lines without one")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help or bad arguments
        return int(exc.code or 0)
    reconfigure = getattr(stdin, "reconfigure", None)
    if reconfigure is not None:  # a stray non-UTF-8 byte becomes U+FFFD, not a crash
        reconfigure(errors="replace")
    try:
        screener = load_screener(args.rules)
    except RulesError as exc:
        stdout.write(json.dumps({"error": f"rules: {exc}"}) + "\n")
        return 2
    try:
        if args.eval is not None:
            if not args.eval.is_file():
                stdout.write(f"no such file: {args.eval}\n")
                return 2
            return run_eval(screener, args.eval, args.lang, stdout)
        return run_screen(screener, stdin, stdout, args.lang)
    except BrokenPipeError:  # the reader went away (`| head`)
        return 1


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    sys.exit(main(sys.argv[1:], sys.stdin, sys.stdout))
