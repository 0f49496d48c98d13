"""Charts as PNG bytes (matplotlib, no screen).

matplotlib is imported when a chart is drawn, not with this module: it costs more to load than
most commands take to run.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, NamedTuple

from bot.periods import month_name
from bot.slack.words import count, unpriced


def score_chart(names: Sequence[str], scores: Sequence[float], bars: Sequence[float | None], *, title: str) -> bytes:
    """Horizontal bars of artifacts per $100 per team, with each team's bar marked."""
    # A Figure without pyplot: no global figure manager or GUI backend, safe in worker threads
    # (matplotlib's "embedding in a web application server" recipe).
    from matplotlib.figure import Figure

    n = len(names)
    fig = Figure(figsize=(8, max(2.5, 0.45 * n + 1.2)), dpi=100)
    ax = fig.subplots()
    y = list(range(n))[::-1]
    ax.barh(y, scores, color="#2eb67d", label="artifacts per $100")
    marked = False
    for yi, bar in zip(y, bars, strict=True):
        if bar is not None:
            ax.plot(
                [bar, bar],
                [yi - 0.4, yi + 0.4],
                color="#e01e5a",
                linewidth=2.5,
                label=None if marked else "bar (last month)",
            )
            marked = True
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlabel("artifacts per $100 of AI spend")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


TREND_CHART_VERSION = 2  # part of each App Home chart's data hash: a new drawing uploads every chart afresh


class TrendMonth(NamedTuple):
    """One month of a person's trend: artifacts per $100, artifacts and spend, all None for a month with
    no data; the usage the price table could not price (not in ``spend``, never drawn as $0)."""

    period: str
    score: float | None
    artifacts: float | None
    spend: float | None
    unpriced_rows: int = 0
    unpriced_tokens: int = 0


def month_labels(periods: Sequence[str]) -> list[str]:
    """``Jul 2026``, ``Aug``, … ``Jan 2027``: the year on the first month and where it changes."""
    out = []
    year = None
    for p in periods:
        name = month_name(p)[:3]  # "Sep" of "September 2026"
        out.append(name if p[:4] == year else f"{name} {p[:4]}")
        year = p[:4]
    return out


def trend_tick_labels(months: Sequence[TrendMonth]) -> list[str]:
    """Under each month: its name (and year where it changes), its artifacts and its spend, or "no data"."""
    labels = []
    for label, m in zip(month_labels([m.period for m in months]), months, strict=True):
        if m.artifacts is None or m.spend is None:
            labels.append(f"{label}\nno data")
        elif m.unpriced_rows:  # "$0.00" would say the unpriced usage cost nothing
            money = f"${m.spend:,.2f} + unpriced" if m.spend else unpriced(m.unpriced_rows, None)
            labels.append(f"{label}\n{count(m.artifacts, 'artifact')}\n{money}")
        else:
            labels.append(f"{label}\n{count(m.artifacts, 'artifact')}\n${m.spend:,.2f}")
    return labels


def _trend_figure(months: Sequence[TrendMonth]) -> Any:
    """The App Home trend as a matplotlib Figure (see ``trend_chart``)."""
    from matplotlib.figure import Figure

    x = list(range(len(months)))
    # NaN breaks the line: a month with no data is a gap, never a fall to zero.
    y = [float("nan") if m.score is None else m.score for m in months]
    fig = Figure(figsize=(8, 4.2), dpi=100)
    ax = fig.subplots()
    ax.plot(x, y, color="#2eb67d", linewidth=2.5, marker="o", markersize=7, label="artifacts per $100")
    for xi, yi in zip(x, y, strict=True):
        if yi != yi:  # NaN: shade the month, so the gap reads as "no data"
            ax.axvspan(xi - 0.5, xi + 0.5, color="#e8e8e8", alpha=0.6, linewidth=0)
        else:
            ax.annotate(f"{yi:.2f}", (xi, yi), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=9)
    ax.set_xticks(x)
    ax.set_xticklabels(trend_tick_labels(months), fontsize=8)
    ax.set_xlim(-0.5, len(months) - 0.5)
    top = max((v for v in y if v == v), default=0.0)
    top = top if top > 0 else 1.0
    ax.set_ylim(-0.05 * top, top * 1.25)
    ax.set_ylabel("artifacts per $100 of AI spend")
    ax.set_title("Your last six months: artifacts per $100 of AI spend")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def trend_chart(months: Sequence[TrendMonth]) -> bytes:
    """A person's monthly trend as PNG bytes: artifacts per $100 as a line (a gap where a month has no
    data), each month's artifacts and spend written under it."""
    fig = _trend_figure(months)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
