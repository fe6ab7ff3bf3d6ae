"""`python -m bot screen train`: build the screen's model file from the labelled corpus.

Deterministic: the corpus files are read in name order, the classifier's solver has no
randomness left once its seed is fixed, and the file is written with sorted keys and no
timestamp, so the same corpus gives the same model file byte for byte.

Thresholds are chosen on held-out passes (train on every pass but one, score that pass, for
each pass): the figures that pick them are the ones a new writer's messages would get.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from bot.safety.model import CHAR_N, CROSS_N, DEFAULT_MODEL_PATH, FORMAT, ModelError, features
from bot.safety.models import CATEGORIES, URGENCIES

DEFAULT_CORPUS_DIR = DEFAULT_MODEL_PATH.parent / "corpus"
SEED = 17
C = 16.0  # inverse regularisation, chosen by held-out-pass figures (see content/safety/README)
MIN_DF = 2
MAX_FEATURES = 60_000
# Thresholds are set on held-out-pass probabilities of messages labelled none that the rules
# leave alone: the share of that ordinary talk the model may add to the rules' false alarms
# (what the rules already flag costs nothing more). Together they stay under the 8% target.
NONE_FLAG_BUDGET = 0.02
NONE_URGENT_BUDGET = 0.015
# Confidence (past which an idiom cannot veto the model) is set on all ordinary talk.
NONE_CONFIDENT_BUDGET = 0.004


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    urgency: str
    lang: str
    group: str  # the writing pass


def load_corpus(directory: Path) -> list[Example]:
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise ModelError(f"{directory}: no corpus files (*.jsonl)")
    out: list[Example] = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                ex = Example(
                    text=obj["text"],
                    category=obj["category"],
                    urgency=obj["urgency"],
                    lang=obj.get("lang", "en"),
                    group=str(obj.get("pass") or file.stem),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ModelError(f"{file}, line {number}: not a corpus line: {exc}") from None
            if ex.urgency not in URGENCIES or ex.category not in CATEGORIES:
                raise ModelError(f"{file}, line {number}: unknown urgency or category")
            if not isinstance(ex.text, str) or not ex.text.strip():
                raise ModelError(f"{file}, line {number}: empty text")
            out.append(ex)
    return out


def _identity(items: list[str]) -> list[str]:
    return items


class _Fitted:
    """A vectorizer and the two classifiers, trained on some examples."""

    def __init__(self, examples: Sequence[Example], c: float = C, categories: bool = True) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        def classifier() -> OneVsRestClassifier:
            # One versus rest with liblinear: fast on sparse n-grams, and deterministic.
            return OneVsRestClassifier(
                LogisticRegression(
                    C=c,
                    class_weight="balanced",
                    solver="liblinear",
                    dual=True,  # far faster when there are more n-grams than messages
                    random_state=SEED,
                )
            )

        self.vectorizer = TfidfVectorizer(
            analyzer=_identity,
            min_df=MIN_DF,
            max_features=MAX_FEATURES,
            sublinear_tf=True,
            dtype=np.float64,
        )
        docs = [features(e.text) for e in examples]
        x = self.vectorizer.fit_transform(docs)
        self.urgency = classifier()
        self.urgency.fit(x, [e.urgency for e in examples])
        self.category = classifier()
        if categories:  # held-out folds need only the urgency
            self.category.fit(x, [e.category for e in examples])

    def p_urgency(self, texts: Sequence[str]) -> np.ndarray:
        x = self.vectorizer.transform([features(t) for t in texts])
        return self.urgency.predict_proba(x)

    def export(self, thresholds: dict[str, float], meta: dict[str, Any]) -> dict[str, Any]:
        vocab = self.vectorizer.vocabulary_
        order = sorted(vocab, key=vocab.__getitem__)

        def r(a: np.ndarray) -> list[Any]:
            return np.round(a, 4).tolist()  # 1e-4 is far below what moves a score

        def coef(clf: Any) -> np.ndarray:
            return np.vstack([est.coef_ for est in clf.estimators_])

        def intercept(clf: Any) -> np.ndarray:
            return np.concatenate([est.intercept_ for est in clf.estimators_])

        return {
            "format": FORMAT,
            "features": order,
            "idf": r(self.vectorizer.idf_),
            "urgency_classes": [str(c) for c in self.urgency.classes_],
            "link": "ovr",
            "urgency_coef": r(coef(self.urgency)),
            "urgency_intercept": r(intercept(self.urgency)),
            "category_classes": [str(c) for c in self.category.classes_],
            "category_coef": r(coef(self.category)),
            "category_intercept": r(intercept(self.category)),
            "thresholds": thresholds,
            "meta": meta,
        }


def held_out_probabilities(
    examples: Sequence[Example], c: float = C
) -> tuple[np.ndarray, np.ndarray]:
    """(p_urgent, p_flag) for every example, each from a model trained without its pass."""
    groups = sorted({e.group for e in examples})
    if len(groups) < 2:
        raise ModelError("the corpus needs at least two writing passes to hold one out")
    p_urgent = np.zeros(len(examples))
    p_flag = np.zeros(len(examples))
    for g in groups:
        train = [e for e in examples if e.group != g]
        test_idx = [i for i, e in enumerate(examples) if e.group == g]
        fitted = _Fitted(train, c, categories=False)
        probs = fitted.p_urgency([examples[i].text for i in test_idx])
        classes = list(fitted.urgency.classes_)
        u, s = classes.index("urgent"), classes.index("same_day")
        p_urgent[test_idx] = probs[:, u]
        p_flag[test_idx] = probs[:, u] + probs[:, s]
    return p_urgent, p_flag


def _threshold(scores: np.ndarray, budget: float, floor: float) -> float:
    """The lowest threshold that flags at most `budget` of these (none-labelled) scores."""
    if len(scores) == 0:
        return floor
    ordered = np.sort(scores)[::-1]
    allowed = int(budget * len(ordered))
    t = float(ordered[allowed]) + 1e-6 if allowed < len(ordered) else floor
    return round(max(t, floor), 6)


def rules_flag(examples: Sequence[Example], rules_dir: Path | None = None) -> np.ndarray:
    """Which examples the rules layer alone flags (urgent or same day)."""
    from bot.safety.screener import Screener

    rules = Screener.from_dir(rules_dir)
    return np.array([rules.screen_rules(e.text, e.lang).flagged for e in examples], dtype=bool)


def choose_thresholds(
    examples: Sequence[Example],
    p_urgent: np.ndarray,
    p_flag: np.ndarray,
    flagged_by_rules: np.ndarray | None = None,
) -> dict[str, float]:
    none = np.array([e.urgency == "none" for e in examples], dtype=bool)
    free = none if flagged_by_rules is None else none & ~flagged_by_rules
    return {
        "urgent": _threshold(p_urgent[free], NONE_URGENT_BUDGET, 0.1),
        "flag": _threshold(p_flag[free], NONE_FLAG_BUDGET, 0.1),
        "confident": _threshold(p_flag[none], NONE_CONFIDENT_BUDGET, 0.6),
    }


def train(corpus_dir: Path, out: Path, stdout: TextIO, rules_dir: Path | None = None) -> int:
    started = time.perf_counter()
    examples = load_corpus(corpus_dir)
    groups = sorted({e.group for e in examples})
    stdout.write(f"corpus: {len(examples)} messages in {len(groups)} passes ({corpus_dir})\n")
    p_urgent, p_flag = held_out_probabilities(examples)
    thresholds = choose_thresholds(examples, p_urgent, p_flag, rules_flag(examples, rules_dir))
    fitted = _Fitted(examples)
    meta = {
        "trained_on": len(examples),
        "passes": groups,
        "seed": SEED,
        "C": C,
        "char_n": list(CHAR_N),
        "cross_n": list(CROSS_N),
        "min_df": MIN_DF,
    }
    data = fitted.export(thresholds, meta)
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(raw.encode("utf-8"), compresslevel=9, mtime=0))
    stdout.write(
        f"model: {len(data['features'])} features, thresholds {thresholds}, "
        f"{out.stat().st_size / 1e6:.2f} MB -> {out}\n"
        f"trained in {time.perf_counter() - started:.1f} s\n"
    )
    return 0


def held_out_screens(corpus_dir: Path, rules_dir: Path | None = None) -> tuple[Any, Any, Any]:
    """For each pass, the screen (rules + a model trained on the other passes) on that pass.

    Returns ({pass: cases}, all cases with rules + model, all cases with the model alone).
    Each fold's model uses thresholds chosen on held-out probabilities of the other passes'
    folds, as `train` chooses them.
    """
    from bot.safety.cli import Case
    from bot.safety.model import Model
    from bot.safety.models import NONE_RESULT, ScreenResult
    from bot.safety.screener import Screener

    examples = load_corpus(corpus_dir)
    p_urgent, p_flag = held_out_probabilities(examples)
    base = Screener.from_dir(rules_dir)
    by_rules = rules_flag(examples, rules_dir)
    per_pass: dict[str, list[Any]] = {}
    combined: list[Any] = []
    alone: list[Any] = []
    for g in sorted({e.group for e in examples}):
        others = [i for i, e in enumerate(examples) if e.group != g]
        thresholds = choose_thresholds(
            [examples[i] for i in others], p_urgent[others], p_flag[others], by_rules[others]
        )
        fitted = _Fitted([examples[i] for i in others])
        model = Model(fitted.export(thresholds, {}))
        screener = Screener(base.rulesets, base.cross_language, model=model)
        cases = []
        for e in (e for e in examples if e.group == g):
            result = screener.screen(e.text, e.lang)
            cases.append(Case(e.text, e.lang, e.urgency, e.category, result))
            # The screen skips the model when a rule already says urgent; alone, it is asked.
            m = result.model or model.score(e.text)
            alone_result = (
                ScreenResult(m.urgency, m.category, "model", layer="model", model=m)
                if m.urgency != "none"
                else NONE_RESULT
            )
            alone.append(Case(e.text, e.lang, e.urgency, e.category, alone_result))
        per_pass[g] = cases
        combined.extend(cases)
    return per_pass, combined, alone
