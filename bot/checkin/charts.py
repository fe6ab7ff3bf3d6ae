"""Check-in charts as PNG bytes (matplotlib, no screen needed; pure: no Telegram).

Matplotlib's pyplot keeps global state and is not thread-safe, so figures are built with
the object API (Figure + FigureCanvasAgg) and never registered with pyplot. Rendering
takes tens of milliseconds; callers run it in a thread so the bot keeps answering.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.checkin.items import SLEEP_HOURS
from bot.checkin.stats import Record

# The client's chart: 8 x 4.5 inches at 100 dpi, 800 x 450 pixels (fits a phone screen).
CLIENT_SIZE = (8.0, 4.5)
DPI = 100
CRAVING_COLOR = "#d9534f"
MOOD_COLOR = "#2f7ed8"
CONFIDENCE_COLOR = "#3c9a5f"
SLEEP_COLOR = "#c9c9e8"


@dataclass(frozen=True)
class ChartLabels:
    title: str
    craving: str
    mood: str
    confidence: str
    sleep: str


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def client_chart(days: Sequence[Record | None], end: date, labels: ChartLabels) -> bytes:
    """Craving, mood and confidence (0-10) as lines over the last len(days) days, sleep
    hours as bars behind them. `days` oldest first, None where there was no check-in."""
    count = len(days)
    dates = [end - timedelta(days=count - 1 - i) for i in range(count)]
    x = list(range(count))
    figure = Figure(figsize=CLIENT_SIZE, dpi=DPI)
    axes = figure.add_subplot()
    sleep_axes = axes.twinx()
    sleep = [SLEEP_HOURS.get(d.sleep_hours or "", 0.0) if d else 0.0 for d in days]
    sleep_axes.bar(x, sleep, color=SLEEP_COLOR, width=0.6, label=labels.sleep, zorder=0)
    sleep_axes.set_ylim(0, 12)
    sleep_axes.set_ylabel(labels.sleep)
    axes.set_zorder(sleep_axes.get_zorder() + 1)
    axes.patch.set_visible(False)
    for name, color, label in (
        ("craving", CRAVING_COLOR, labels.craving),
        ("mood", MOOD_COLOR, labels.mood),
        ("confidence", CONFIDENCE_COLOR, labels.confidence),
    ):
        values = [getattr(d, name) if d else None for d in days]
        points = [(i, v) for i, v in zip(x, values, strict=True) if v is not None]
        if points:
            axes.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker="o",
                color=color,
                label=label,
                linewidth=2,
            )
    axes.set_ylim(-0.5, 10.5)
    axes.set_yticks([0, 2, 4, 6, 8, 10])
    axes.set_xticks(x[::2], [f"{d:%d %b}" for d in dates[::2]], fontsize=8)
    axes.set_xlim(-0.7, count - 0.3)
    axes.grid(axis="y", alpha=0.3)
    axes.set_title(labels.title)
    handles, names = axes.get_legend_handles_labels()
    bar_handles, bar_names = sleep_axes.get_legend_handles_labels()
    axes.legend(handles + bar_handles, names + bar_names, loc="upper left", fontsize=8, ncols=4)
    figure.tight_layout()
    return _png(figure)


def caseload_chart(
    series: Sequence[tuple[str, Sequence[int | None]]], end: date, title: str
) -> bytes:
    """Small multiples: one panel of craving per client (by pseudonym), same axes, so a
    clinician sees at a glance whose line is rising. Each series oldest first."""
    return _png(caseload_figure(series, end, title))


def caseload_figure(
    series: Sequence[tuple[str, Sequence[int | None]]], end: date, title: str
) -> Figure:
    count = max(1, len(series))
    cols = min(4, count)
    rows = (count + cols - 1) // cols
    # One client's panel alone is narrower than the title: the figure never gets narrower
    # than CASELOAD_MIN_WIDTH, and the title wraps to what is left (never clipped).
    width = max(2.6 * cols, CASELOAD_MIN_WIDTH)
    figure = Figure(figsize=(width, 1.9 * rows + 0.7), dpi=DPI)
    heading = figure.suptitle(title, fontsize=11)
    _fit_width(figure, heading)
    for index, (code, values) in enumerate(series):
        axes = figure.add_subplot(rows, cols, index + 1)
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        if points:
            axes.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                color=CRAVING_COLOR,
                marker=".",
                linewidth=1.5,
            )
        axes.axhline(8, color="#999999", linewidth=0.8, linestyle="--")
        axes.set_ylim(-0.5, 10.5)
        axes.set_xlim(-0.5, len(values) - 0.5)
        axes.set_xticks([])
        axes.set_yticks([0, 5, 10])
        axes.tick_params(labelsize=7)
        axes.set_title(code, fontsize=9)
    figure.tight_layout()
    return figure


CASELOAD_MIN_WIDTH = 5.0  # inches


def _fit_width(figure: Figure, text: Text, margin: float = 0.95) -> None:
    """Wrap `text` at word boundaries until it fits within `margin` of the figure's width."""
    renderer = FigureCanvasAgg(figure).get_renderer()
    limit = figure.bbox.width * margin
    words = text.get_text().split()
    chars = len(text.get_text())
    while text.get_window_extent(renderer).width > limit and chars > 10:
        chars = int(chars * 0.85)
        text.set_text(textwrap.fill(" ".join(words), width=chars))
