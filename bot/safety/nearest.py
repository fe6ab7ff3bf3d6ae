"""The labelled corpus examples nearest to a message, for the care team's "why" line.

When the trained layer raises an alert, a clinician sees its score and the categories of
the corpus messages most like the client's (for example "suicidal thoughts 4, self-harm
1"), so a surprising alert can be judged. Only labels leave this module: the corpus texts
are dropped once the index is built, so they can never be shown to anyone.

TF-IDF on character 2-4-grams within word edges (typos, slang and Spanish endings still
meet) and cosine similarity over the L2-normalized rows; built once per process from
content/safety/corpus/*.jsonl (a few thousand lines: well under a second).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.safety.normalize import fold
from bot.safety.rules import RulesError

DEFAULT_CORPUS_DIR = Path(__file__).resolve().parents[2] / "content" / "safety" / "corpus"
K = 5  # neighbours reported
MIN_SIMILARITY = 0.05  # below this a "neighbour" shares only common letter runs


@dataclass(frozen=True, slots=True)
class Neighbour:
    category: str
    urgency: str
    similarity: float


@dataclass(frozen=True, slots=True)
class Label:
    text: str
    category: str
    urgency: str


class NearestIndex:
    """Cosine nearest neighbours over the corpus; `nearest` is pure and thread-safe."""

    def __init__(self, examples: Iterable[Label]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer  # only when built

        rows = [e for e in examples if e.text.strip()]
        if not rows:
            raise RulesError("nearest examples: the corpus is empty")
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 4),
            preprocessor=fold,
            sublinear_tf=True,
            min_df=1,
            dtype=np.float32,
        )
        # Rows are L2-normalized, so a dot product is the cosine.
        self._matrix = self._vectorizer.fit_transform([e.text for e in rows]).tocsr()
        self._categories = np.array([e.category for e in rows])
        self._urgencies = np.array([e.urgency for e in rows])

    def __len__(self) -> int:
        return int(self._matrix.shape[0])

    @classmethod
    def from_dir(cls, directory: Path | str | None = None) -> NearestIndex:
        folder = Path(directory) if directory is not None else DEFAULT_CORPUS_DIR
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            raise RulesError(f"{folder}: no corpus files (*.jsonl)")
        return cls(_read(files))

    def nearest(self, text: str, k: int = K) -> tuple[Neighbour, ...]:
        """The k most similar corpus examples' labels, most similar first (ties: corpus
        order, so the answer never changes between runs)."""
        if not text.strip() or k <= 0:
            return ()
        query = self._vectorizer.transform([text])
        sims = np.asarray((self._matrix @ query.T).todense()).ravel()
        k = min(k, sims.size)
        top = np.argpartition(-sims, k - 1)[:k]
        order = sorted(top.tolist(), key=lambda i: (-float(sims[i]), i))
        return tuple(
            Neighbour(str(self._categories[i]), str(self._urgencies[i]), float(sims[i]))
            for i in order
            if sims[i] >= MIN_SIMILARITY
        )

    def categories(self, text: str, k: int = K) -> list[tuple[str, int]]:
        """The neighbours' categories with counts, commonest first ("none" included: a
        clinician should see when the nearest examples were ordinary talk)."""
        return summarize(self.nearest(text, k))


def summarize(neighbours: Sequence[Neighbour]) -> list[tuple[str, int]]:
    counts = Counter(n.category for n in neighbours)
    first = {}
    for i, n in enumerate(neighbours):
        first.setdefault(n.category, i)
    return sorted(counts.items(), key=lambda kv: (-kv[1], first[kv[0]]))


def _read(files: Sequence[Path]) -> list[Label]:
    out: list[Label] = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                out.append(Label(str(obj["text"]), str(obj["category"]), str(obj["urgency"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise RulesError(f"{file}:{number}: not a labelled example: {exc}") from None
    return out


_lock = threading.Lock()
_built: dict[str, NearestIndex] = {}


def load_nearest(directory: Path | str | None = None) -> NearestIndex:
    """The index, built once per process."""
    key = _key(directory)
    with _lock:
        if key not in _built:
            _built[key] = NearestIndex.from_dir(key)
        return _built[key]


def nearest_if_built(directory: Path | str | None = None) -> NearestIndex | None:
    """The index if it is built already, else None at once: an alert raised while it is
    still being built must not wait seconds for it (the crisis reply comes after)."""
    return _built.get(_key(directory))


def _key(directory: Path | str | None) -> str:
    return str((Path(directory) if directory is not None else DEFAULT_CORPUS_DIR).resolve())
