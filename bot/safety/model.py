"""The trained layer of the screen: a linear model on character and word n-grams.

Trained by `python -m bot screen train` (bot/safety/train.py, scikit-learn, fixed seed) from
the labelled corpus in content/safety/corpus/, and saved as plain numbers (gzipped JSON: the
n-grams, their IDF weights and the classifiers' coefficients). Scoring here needs only numpy:
no scikit-learn import at start-up, no pickle, nothing downloaded.

The n-grams are made by `features`, the same function the trainer hands to scikit-learn, so
training and scoring can never disagree about what a message's features are.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.safety.normalize import fold
from bot.safety.rules import RulesError

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[2] / "content" / "safety" / "model.json.gz"
FORMAT = 2
CHAR_N = (2, 5)  # character n-grams within words (with the word's edges marked by spaces)
# Character n-grams that cross a space ("s up", "e ton"): they read short phrases the way
# they are typed, run-together or split, and measured better on held-out passes (issue 17).
CROSS_N = (3, 5)
# Punctuation is a separator; emoji and letters stay (💊 and 🪦 say something).
_PUNCT_RE = re.compile(r"[!-/:-@\[-`{-~¿¡…“”«»]+")
_WORD_RE = re.compile(r"[^\W_]+")
_SPACE_RE = re.compile(r"\s+")
MODEL_WINDOW = 2000  # characters scored at once; a longer message is scored window by window


class ModelError(RulesError):
    """The model file is missing or unusable: the screen must not start without it."""


def features(text: str) -> list[str]:
    """Character 2-5-grams of each word, character 3-5-grams that cross a space (prefixed
    "x:"), plus word 1-2-grams (prefixed "w:")."""
    folded = _SPACE_RE.sub(" ", _PUNCT_RE.sub(" ", fold(text))).strip()
    out: list[str] = []
    lo, hi = CHAR_N
    for word in folded.split(" "):
        if not word:
            continue
        w = f" {word} "
        size = len(w)
        for n in range(lo, min(hi, size) + 1):
            out.extend(w[i : i + n] for i in range(size - n + 1))
    line = f" {folded} "
    lo, hi = CROSS_N
    for n in range(lo, hi + 1):
        # A space strictly inside the n-gram: the within-word ones are already counted.
        for i in range(len(line) - n + 1):
            if " " in line[i + 1 : i + n - 1]:
                out.append("x:" + line[i : i + n])
    words = _WORD_RE.findall(folded)
    out.extend("w:" + w for w in words)
    out.extend(f"w:{a} {b}" for a, b in itertools.pairwise(words))
    return out


@dataclass(frozen=True, slots=True)
class ModelScore:
    """What the trained layer saw in one message."""

    urgency: str  # after the thresholds: urgent | same_day | none
    category: str  # the most likely risk category (none when nothing is flagged)
    p_urgent: float
    p_flag: float  # probability of urgent or same_day
    confident: bool  # far enough past its threshold that an idiom cannot veto it

    def to_dict(self) -> dict[str, Any]:
        return {
            "urgency": self.urgency,
            "category": self.category,
            "p_urgent": round(self.p_urgent, 3),
            "p_flag": round(self.p_flag, 3),
            "confident": self.confident,
        }


class Model:
    """Loaded once; `score` is pure and thread-safe."""

    def __init__(self, data: dict[str, Any], source: Path | None = None) -> None:
        if data.get("format") != FORMAT or data.get("link") != "ovr":
            raise ModelError(f"{source}: model format {data.get('format')!r}, expected {FORMAT}")
        self.source = source
        self.index = {f: i for i, f in enumerate(data["features"])}
        self.idf = np.asarray(data["idf"], dtype=np.float64)
        self.urgency_classes: list[str] = list(data["urgency_classes"])
        self.category_classes: list[str] = list(data["category_classes"])
        # One matrix for both classifiers: a message's scores are one product.
        self.weights = np.ascontiguousarray(  # one row per n-gram, gathered by row
            np.hstack(
                [
                    np.asarray(data["urgency_coef"], dtype=np.float64).T,
                    np.asarray(data["category_coef"], dtype=np.float64).T,
                ]
            )
        )
        self.intercept = np.concatenate(
            [
                np.asarray(data["urgency_intercept"], dtype=np.float64),
                np.asarray(data["category_intercept"], dtype=np.float64),
            ]
        )
        self.n_urgency = len(self.urgency_classes)
        t = data["thresholds"]
        self.t_urgent = float(t["urgent"])
        self.t_flag = float(t["flag"])
        self.t_confident = float(t["confident"])
        self.meta: dict[str, Any] = data.get("meta", {})
        self._u = self.urgency_classes.index("urgent")
        self._s = self.urgency_classes.index("same_day")
        self._risk = [i for i, c in enumerate(self.category_classes) if c != "none"]

    @classmethod
    def load(cls, path: Path | str | None = None) -> Model:
        file = Path(path) if path is not None else DEFAULT_MODEL_PATH
        if not file.is_file():
            raise ModelError(
                f"{file}: the safety screen's model file is missing. Build it with "
                "`python -m bot screen train` (it reads content/safety/corpus/*.jsonl); "
                "the screen does not run on its rules alone."
            )
        try:
            data = json.loads(gzip.decompress(file.read_bytes()))
            return cls(data, file)
        except ModelError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise ModelError(f"{file}: not a usable model file: {exc}") from None

    def probabilities(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(urgency probabilities, category probabilities), in the classes' order."""
        get = self.index.get
        known = [i for i in map(get, features(text)) if i is not None]
        logits = self.intercept.copy()
        if known:
            cols, counts = np.unique(np.asarray(known, dtype=np.intp), return_counts=True)
            values = (1.0 + np.log(counts)) * self.idf[cols]  # sublinear tf, as trained
            values /= np.sqrt(values @ values)
            logits += values @ self.weights[cols]
        # One-versus-rest logistic classifiers: each class's sigmoid, normalized to sum to 1
        # (as scikit-learn's OneVsRestClassifier.predict_proba does).
        p = 1.0 / (1.0 + np.exp(-logits))
        pu, pc = p[: self.n_urgency], p[self.n_urgency :]
        return pu / pu.sum(), pc / pc.sum()

    def score(self, text: str) -> ModelScore:
        if len(text) > MODEL_WINDOW:  # a long message: its most worrying stretch decides
            step = MODEL_WINDOW - 200
            scores = [
                self.score(text[i : i + MODEL_WINDOW]) for i in range(0, len(text) - 200, step)
            ]
            return max(scores, key=lambda s: (s.p_urgent >= self.t_urgent, s.p_flag, s.p_urgent))
        pu, pc = self.probabilities(text)
        p_urgent = float(pu[self._u])
        p_flag = float(pu[self._u] + pu[self._s])
        if p_urgent >= self.t_urgent:
            urgency = "urgent"
            confident = p_urgent >= self.t_confident
        elif p_flag >= self.t_flag:
            urgency = "same_day"
            confident = p_flag >= self.t_confident and p_urgent < self.t_urgent / 2
        else:
            urgency, confident = "none", False
        category = "none"
        if urgency != "none":
            category = self.category_classes[max(self._risk, key=lambda i: pc[i])]
        return ModelScore(urgency, category, p_urgent, p_flag, confident)
