"""`python -m bot screen`: screen JSON lines, or measure the screen on a labelled file.

    python -m bot screen < messages.jsonl          one JSON result per input line
    python -m bot screen --eval labelled.jsonl     recall, false alarms, confusion, misses
    python -m bot screen --eval FILE --heldout     and the trained layer's held-out passes

`--eval` reports urgent recall, urgent flagged at all (at any urgency), same-day recall,
ordinary talk flagged, and the figures by category and by language; it exits 0 when issue
17's targets are met (urgent recall >= 95%, urgent flagged at all >= 98%, same-day recall
>= 90%, messages labelled none flagged <= 8%), 1 when not.
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

# Issue 17's targets, on the development set and on held-out passes.
URGENT_RECALL_TARGET = 0.95
URGENT_FLAGGED_TARGET = 0.98
SAME_DAY_RECALL_TARGET = 0.90
NONE_FLAGGED_TARGET = 0.08


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
    model = (
        f"; model p_urgent {r.model.p_urgent:.2f} p_flag {r.model.p_flag:.2f}" if r.model else ""
    )
    return (
        f"  label {case.urgency}/{case.category} -> screen {r.urgency}/{r.category}"
        f" (rule {r.rule or '-'}; {words}{model}) [{case.lang}]\n    {text}\n"
    )


def run_eval(screener: Screener, path: Path, default_lang: str, stdout: TextIO) -> int:
    cases = _load_cases(screener, path, default_lang, stdout)
    if not cases:  # nothing measured is not a target met
        stdout.write(f"no labelled message could be read from {path}\nresult: nothing measured\n")
        return 2
    met = report(cases, str(path), stdout)
    return 0 if met else 1


def report(cases: list[Case], title: str, stdout: TextIO, details: bool = True) -> bool:
    """The figures of a labelled set; True when the targets are met."""
    langs = Counter(c.lang for c in cases)
    by_label = {u: [c for c in cases if c.urgency == u] for u in URGENCIES}
    urgent_hit = sum(c.caught for c in by_label["urgent"])
    urgent_any = sum(c.result.urgency != "none" for c in by_label["urgent"])
    same_hit = sum(c.caught for c in by_label["same_day"])
    flagged = [c for c in by_label["none"] if c.result.urgency != "none"]
    caught_risk = [c for c in cases if c.urgency != "none" and c.caught]
    right_category = [c for c in caught_risk if c.result.category == c.category]

    n_urgent, n_same, n_none = (len(by_label[u]) for u in URGENCIES)
    ok_urgent = n_urgent == 0 or urgent_hit / n_urgent >= URGENT_RECALL_TARGET
    ok_any = n_urgent == 0 or urgent_any / n_urgent >= URGENT_FLAGGED_TARGET
    ok_same = n_same == 0 or same_hit / n_same >= SAME_DAY_RECALL_TARGET
    ok_none = n_none == 0 or len(flagged) / n_none <= NONE_FLAGGED_TARGET
    met = ok_urgent and ok_any and ok_same and ok_none

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    w = stdout.write
    lang_list = ", ".join(f"{k} {v}" for k, v in sorted(langs.items()))
    w(f"safety screen eval: {title} ({len(cases)} messages: {lang_list})\n")
    w(f"urgent recall       {_ratio(urgent_hit, n_urgent)}  target >=95%  {mark(ok_urgent)}\n")
    w(f"urgent flagged      {_ratio(urgent_any, n_urgent)}  target >=98%  {mark(ok_any)}\n")
    w(f"same_day recall     {_ratio(same_hit, n_same)}  target >=90%  {mark(ok_same)}\n")
    w(f"none flagged        {_ratio(len(flagged), n_none)}  target <=8%   {mark(ok_none)}\n")
    w(f"category accuracy   {_ratio(len(right_category), len(caught_risk))}  (among caught)\n")
    layers = Counter(c.result.layer for c in cases if c.result.flagged)
    if layers:
        w("flagged by layer    " + ", ".join(f"{k} {v}" for k, v in sorted(layers.items())) + "\n")
    w("\nconfusion (rows: label, columns: screen)\n")
    w(f"  {'':10}" + "".join(f"{u:>10}" for u in URGENCIES) + "\n")
    for label in URGENCIES:
        counts = Counter(c.result.urgency for c in by_label[label])
        w(f"  {label:10}" + "".join(f"{counts[u]:>10}" for u in URGENCIES) + "\n")

    w("\nby category (label: caught at its urgency / flagged at all / messages)\n")
    for category in CATEGORIES:
        group = [c for c in cases if c.category == category]
        if not group:
            continue
        if category == "none":
            n_flag = sum(c.result.flagged for c in group)
            w(f"  {category:20} flagged {_ratio(n_flag, len(group))}\n")
            continue
        w(
            f"  {category:20} caught  {_ratio(sum(c.caught for c in group), len(group))}"
            f"  flagged {_ratio(sum(c.result.flagged for c in group), len(group))}\n"
        )
    w("\nby language\n")
    for lang in sorted(langs):
        group = [c for c in cases if c.lang == lang]
        urg = [c for c in group if c.urgency == "urgent"]
        same = [c for c in group if c.urgency == "same_day"]
        none = [c for c in group if c.urgency == "none"]
        w(
            f"  {lang:4} urgent {_ratio(sum(c.caught for c in urg), len(urg))}"
            f"  flagged {_ratio(sum(c.result.flagged for c in urg), len(urg))}"
            f"  same_day {_ratio(sum(c.caught for c in same), len(same))}"
            f"  none flagged {_ratio(sum(c.result.flagged for c in none), len(none))}\n"
        )

    if details:
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
    return met


def run_heldout(corpus: Path, rules: Path | None, stdout: TextIO, details: bool) -> int:
    """The trained layer measured honestly: for each writing pass, a model trained on all
    the other passes screens that pass (with the rules, as in production); never a random
    split, whose near-duplicates would flatter it."""
    from bot.safety.train import held_out_screens

    per_pass, combined, model_only = held_out_screens(corpus, rules)
    w = stdout.write
    w("held-out passes (train on all passes but one, screen that one):\n")
    w(f"  {'pass':40} {'urgent':>16} {'same_day':>16} {'none flagged':>16}\n")
    for name, cases in per_pass.items():
        urg = [c for c in cases if c.urgency == "urgent"]
        same = [c for c in cases if c.urgency == "same_day"]
        none = [c for c in cases if c.urgency == "none"]
        w(
            f"  {name[:40]:40} {_ratio(sum(c.caught for c in urg), len(urg)):>16}"
            f" {_ratio(sum(c.caught for c in same), len(same)):>16}"
            f" {_ratio(sum(c.result.flagged for c in none), len(none)):>16}\n"
        )
    w("\nthe trained layer alone, held out:\n")
    report(model_only, f"{corpus} (model alone)", stdout, details=False)
    w("\nrules + trained layer, held out:\n")
    met = report(combined, f"{corpus} (rules + model)", stdout, details=details)
    return 0 if met else 1


def main(argv: list[str], stdin: TextIO, stdout: TextIO) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot screen",
        description="Screen messages for crisis risk (JSON lines in, JSON lines out).",
    )
    parser.add_argument("command", nargs="?", choices=["train"], help="train: build the model file")
    parser.add_argument("--eval", metavar="FILE", type=Path, help="measure on a labelled file")
    parser.add_argument(
        "--heldout",
        action="store_true",
        help="measure the trained layer on each writing pass of the corpus, held out",
    )
    parser.add_argument("--corpus", metavar="DIR", type=Path, help="labelled corpus folder")
    parser.add_argument("--model", metavar="FILE", type=Path, help="model file")
    parser.add_argument("--quiet", action="store_true", help="figures only, no message lists")
    parser.add_argument("--rules", metavar="DIR", type=Path, help="rules folder")
    parser.add_argument("--lang", default="en", help="language of lines without one")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help or bad arguments
        return int(exc.code or 0)
    from bot.safety.train import DEFAULT_CORPUS_DIR

    corpus = args.corpus or DEFAULT_CORPUS_DIR
    if args.command == "train":
        from bot.safety.model import DEFAULT_MODEL_PATH
        from bot.safety.train import train

        try:
            return train(corpus, args.model or DEFAULT_MODEL_PATH, stdout)
        except RulesError as exc:
            stdout.write(f"cannot train: {exc}\n")
            return 2
    if args.heldout and args.eval is None:
        try:
            return run_heldout(corpus, args.rules, stdout, details=not args.quiet)
        except RulesError as exc:
            stdout.write(f"cannot measure: {exc}\n")
            return 2
    reconfigure = getattr(stdin, "reconfigure", None)
    if reconfigure is not None:  # a stray non-UTF-8 byte becomes U+FFFD, not a crash
        reconfigure(errors="replace")
    try:
        screener = load_screener(args.rules, model_path=args.model)
    except RulesError as exc:
        stdout.write(json.dumps({"error": f"screen: {exc}"}) + "\n")
        return 2
    try:
        if args.eval is not None:
            if not args.eval.is_file():
                stdout.write(f"no such file: {args.eval}\n")
                return 2
            status = run_eval(screener, args.eval, args.lang, stdout)
            if not args.heldout:
                stdout.write(
                    "(the trained layer's held-out figures, each writing pass of the corpus"
                    " screened by a model trained without it: add --heldout)\n"
                )
                return status
            # One report: this file's figures, then the corpus's held-out passes.
            stdout.write("\n")
            try:
                held = run_heldout(corpus, args.rules, stdout, details=False)
            except RulesError as exc:
                stdout.write(f"cannot measure the held-out passes: {exc}\n")
                return 2
            return max(status, held)
        return run_screen(screener, stdin, stdout, args.lang)
    except BrokenPipeError:  # the reader went away (`| head`)
        return 1


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    sys.exit(main(sys.argv[1:], sys.stdin, sys.stdout))
